package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/storage"
)

// A refresh record is one compact string, fields separated by US (0x1f):
// used flag, family, client_id, user id, iat (ms), exp (ms), scopes. A
// string costs far less Redis memory than a hash of the same fields.
const sep = "\x1f"

func encodeRecord(used bool, r storage.RefreshToken) string {
	flag := "0"
	if used {
		flag = "1"
	}
	return strings.Join([]string{flag, r.FamilyID, r.ClientID, r.UserID,
		strconv.FormatInt(r.IssuedAt.UnixMilli(), 10), strconv.FormatInt(r.ExpiresAt.UnixMilli(), 10),
		strings.Join(r.Scopes, " ")}, sep)
}

func decodeRecord(id, v string) (storage.RefreshToken, error) {
	f := strings.Split(v, sep)
	if len(f) != 7 {
		return storage.RefreshToken{}, fmt.Errorf("corrupt refresh record")
	}
	iat, err1 := strconv.ParseInt(f[4], 10, 64)
	exp, err2 := strconv.ParseInt(f[5], 10, 64)
	if err1 != nil || err2 != nil {
		return storage.RefreshToken{}, fmt.Errorf("corrupt refresh record")
	}
	r := storage.RefreshToken{ID: id, FamilyID: f[1], ClientID: f[2], UserID: f[3],
		IssuedAt: time.UnixMilli(iat), ExpiresAt: time.UnixMilli(exp), Scopes: []string{}}
	if f[6] != "" {
		r.Scopes = strings.Split(f[6], " ")
	}
	return r, nil
}

// luaRecord parses a record and decides whether it is dead: its family was
// revoked, or a "revoked before" mark on its user or client covers it.
const luaRecord = `
local function parse(v)
  return string.match(v, '^(%d)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31(%d+)\31(%d+)\31(.*)$')
end
local function dead(p, fam, client, user, iat)
  if redis.call('EXISTS', p .. 'f:' .. fam) == 1 then return true end
  local m = redis.call('GET', p .. 'b:u:' .. user)
  if m and tonumber(iat) <= tonumber(m) then return true end
  m = redis.call('GET', p .. 'b:c:' .. client)
  if m and tonumber(iat) <= tonumber(m) then return true end
  return false
end
local function revokeFamily(p, fam, iat, exp)
  local ttl = math.max(tonumber(exp) - tonumber(iat), 1000)
  redis.call('SET', p .. 'f:' .. fam, '1', 'PX', ttl)
end
`

// getScript returns a live, unused record or false.
var getScript = goredis.NewScript(luaRecord + `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local used, fam, client, user, iat = parse(v)
if not used or used == '1' or dead(ARGV[1], fam, client, user, iat) then return false end
return v`)

// rotateScript consumes KEYS[1] and creates KEYS[2] in the same family.
var rotateScript = goredis.NewScript(luaRecord + `
local v = redis.call('GET', KEYS[1])
if not v then return 'missing' end
local used, fam, client, user, iat, exp, scopes = parse(v)
if not used or client ~= ARGV[2] or dead(ARGV[1], fam, client, user, iat) then return 'missing' end
if used == '1' then
  revokeFamily(ARGV[1], fam, iat, exp)
  return 'reused'
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'exists' end
redis.call('SET', KEYS[1], '1' .. string.sub(v, 2), 'KEEPTTL')
local nv = '0\31' .. fam .. '\31' .. client .. '\31' .. user .. '\31' .. ARGV[3] .. '\31' .. ARGV[4] .. '\31' .. scopes
redis.call('SET', KEYS[2], nv, 'PXAT', ARGV[4])
return v`)

// revokeScript revokes the family of a record.
var revokeScript = goredis.NewScript(luaRecord + `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local used, fam, client, user, iat, exp = parse(v)
if not used then return 0 end
revokeFamily(ARGV[1], fam, iat, exp)
return 1`)

func (s *TokenState) recordKey(id string) string { return s.prefix + "t:" + id }

// CreateRefreshToken implements storage.TokenState.
func (s *TokenState) CreateRefreshToken(ctx context.Context, rec storage.RefreshToken) error {
	ok, err := s.rdb.SetArgs(ctx, s.recordKey(rec.ID), encodeRecord(false, rec), goredis.SetArgs{Mode: "NX", ExpireAt: rec.ExpiresAt}).Result()
	if isNil(err) || (err == nil && ok != "OK") {
		return fmt.Errorf("refresh token: %w", storage.ErrAlreadyExists)
	}
	if err != nil {
		return unavailable("create refresh token", err)
	}
	return nil
}

// GetRefreshToken implements storage.TokenState.
func (s *TokenState) GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, error) {
	v, err := getScript.Run(ctx, s.rdb, []string{s.recordKey(id)}, s.prefix).Text()
	if isNil(err) {
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.RefreshToken{}, unavailable("get refresh token", err)
	}
	return decodeRecord(id, v)
}

// RotateRefreshToken implements storage.TokenState: one atomic script.
func (s *TokenState) RotateRefreshToken(ctx context.Context, oldID string, next storage.RefreshToken) (storage.RefreshToken, error) {
	v, err := rotateScript.Run(ctx, s.rdb, []string{s.recordKey(oldID), s.recordKey(next.ID)},
		s.prefix, next.ClientID, next.IssuedAt.UnixMilli(), next.ExpiresAt.UnixMilli()).Text()
	if err != nil {
		return storage.RefreshToken{}, unavailable("rotate refresh token", err)
	}
	switch v {
	case "missing":
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	case "reused":
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrRefreshReused)
	case "exists":
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrAlreadyExists)
	}
	return decodeRecord(oldID, v)
}

// RevokeRefreshToken implements storage.TokenState.
func (s *TokenState) RevokeRefreshToken(ctx context.Context, id string) error {
	if err := revokeScript.Run(ctx, s.rdb, []string{s.recordKey(id)}, s.prefix).Err(); err != nil && !isNil(err) {
		return unavailable("revoke refresh token", err)
	}
	return nil
}

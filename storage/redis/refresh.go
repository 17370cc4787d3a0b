package redis

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/storage"
)

// A refresh record is one compact string, fields separated by US (0x1f):
// family, client_id, user id, iat (µs, compared against marks; ms in
// records written before, see legacyMillisBelow), exp (ms), secret digest,
// previous secret digest, scopes.
// A string costs far less Redis memory than a hash of the same fields.
// There is one per live grant: rotation rewrites it in place.
const sep = "\x1f"

func encodeRecord(r storage.RefreshToken) string {
	return strings.Join([]string{r.FamilyID, r.ClientID, r.UserID,
		strconv.FormatInt(r.IssuedAt.UnixMicro(), 10), strconv.FormatInt(r.ExpiresAt.UnixMilli(), 10),
		r.Secret, r.PrevSecret, strings.Join(r.Scopes, " ")}, sep)
}

func decodeRecord(id, v string) (storage.RefreshToken, error) {
	f := strings.Split(v, sep)
	if len(f) != 8 {
		return storage.RefreshToken{}, fmt.Errorf("corrupt refresh record")
	}
	iat, err1 := strconv.ParseInt(f[3], 10, 64)
	exp, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil {
		return storage.RefreshToken{}, fmt.Errorf("corrupt refresh record")
	}
	r := storage.RefreshToken{ID: id, FamilyID: f[0], ClientID: f[1], UserID: f[2],
		IssuedAt: issuedAt(iat), ExpiresAt: time.UnixMilli(exp), Secret: f[5], PrevSecret: f[6], Scopes: []string{}}
	if f[7] != "" {
		r.Scopes = strings.Split(f[7], " ")
	}
	return r, nil
}

// issuedAt reads a record's iat, see legacyMillisBelow.
func issuedAt(v int64) time.Time {
	if v < legacyMillisBelow {
		return time.UnixMilli(v)
	}
	return time.UnixMicro(v)
}

// luaRecord parses a record and decides whether it is dead: its family was
// revoked, or a "revoked before" mark on its user or client covers it.
const luaRecord = luaMicros + `
local function parse(v)
  return string.match(v, '^([^\31]*)\31([^\31]*)\31([^\31]*)\31(%d+)\31(%d+)\31([^\31]*)\31([^\31]*)\31(.*)$')
end
local function dead(p, fam, client, user, iat)
  if redis.call('EXISTS', p .. 'f:' .. fam) == 1 then return true end
  local m = redis.call('GET', p .. 'b:u:' .. user)
  if m and iatMicros(iat) <= markMicros(m) then return true end
  m = redis.call('GET', p .. 'b:c:' .. client)
  if m and iatMicros(iat) <= markMicros(m) then return true end
  return false
end
local function revokeFamily(p, key, fam, keep)
  redis.call('SET', p .. 'f:' .. fam, '1', 'PX', keep)
  redis.call('DEL', key)
end
`

// getScript returns a live record or false; the caller compares secrets.
var getScript = goredis.NewScript(luaRecord + `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local fam, client, user, iat = parse(v)
if not fam or dead(ARGV[1], fam, client, user, iat) then return false end
return v`)

// rotateScript replaces the secret of KEYS[1] if ARGV[5] is the current
// one (ARGV: prefix, client, next iat, next exp, secret, next secret,
// grace, family keep; iat and grace in µs, the others in ms). The previous secret within the grace
// is refused as missing; any other secret revokes the family. The
// comparisons need not be constant-time: only holders of the family's
// tokens know the handle, and their first wrong secret ends the family,
// so there is nothing to time. The family's index (see familyIndexKey)
// lives as long as the record; like the family mark, it is a key the
// script derives instead of declaring, which Redis Cluster will not
// accept: moving to Cluster must change this script as it changes the
// family mark's.
var rotateScript = goredis.NewScript(luaRecord + `
local v = redis.call('GET', KEYS[1])
if not v then return 'missing' end
local fam, client, user, iat, exp, secret, prev, scopes = parse(v)
if not fam or client ~= ARGV[2] or dead(ARGV[1], fam, client, user, iat) then return 'missing' end
if secret ~= ARGV[5] then
  if prev ~= '' and prev == ARGV[5] and tonumber(ARGV[3]) < iatMicros(iat) + tonumber(ARGV[7]) then return 'missing' end
  revokeFamily(ARGV[1], KEYS[1], fam, ARGV[8])
  return 'reused'
end
redis.call('SET', KEYS[1], fam .. '\31' .. client .. '\31' .. user .. '\31' .. ARGV[3] .. '\31' .. ARGV[4] .. '\31' .. ARGV[6] .. '\31' .. secret .. '\31' .. scopes, 'PXAT', ARGV[4])
redis.call('PEXPIREAT', ARGV[1] .. 'g:' .. fam, ARGV[4])
return v`)

// revokeScript revokes the family of a record (ARGV: prefix, family keep
// in ms).
var revokeScript = goredis.NewScript(luaRecord + `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local fam = parse(v)
if not fam then return 0 end
revokeFamily(ARGV[1], KEYS[1], fam, ARGV[2])
return 1`)

// familyKeep is how long a family's revocation is kept: as long as the
// longest-lived access token issued with it.
var familyKeep = storage.MaxAccessTokenTTL.Milliseconds()

func (s *TokenState) recordKey(id string) string { return s.prefix + "t:" + id }

// familyIndexKey names the record of a family, for RevokeFamily: the
// family id is all that a login session or an authorization code knows
// of a grant, and the family's mark alone would let the record live
// again after storage.MaxAccessTokenTTL. It expires with the record.
// Records written before it existed have none; RevokeFamily still
// revokes their access tokens and, for the mark's lifetime, the record.
func (s *TokenState) familyIndexKey(familyID string) string { return s.prefix + "g:" + familyID }

// CreateRefreshToken implements storage.TokenState. The record and its
// family's index are two keys in two hash slots, written in one pipeline
// rather than one script. When the record's id is taken, the index may
// be overwritten with that id: RevokeFamily deletes a record only if it
// is of the family.
func (s *TokenState) CreateRefreshToken(ctx context.Context, rec storage.RefreshToken) error {
	var set *goredis.StatusCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		set = p.SetArgs(ctx, s.recordKey(rec.ID), encodeRecord(rec), goredis.SetArgs{Mode: "NX", ExpireAt: rec.ExpiresAt})
		p.SetArgs(ctx, s.familyIndexKey(rec.FamilyID), rec.ID, goredis.SetArgs{ExpireAt: rec.ExpiresAt})
		return nil
	})
	ok, setErr := set.Result()
	if isNil(setErr) || (setErr == nil && ok != "OK") {
		return fmt.Errorf("refresh token: %w", storage.ErrAlreadyExists)
	}
	if err != nil {
		return unavailable("create refresh token", err)
	}
	return nil
}

// GetRefreshToken implements storage.TokenState.
func (s *TokenState) GetRefreshToken(ctx context.Context, id, secret string) (storage.RefreshToken, error) {
	v, err := getScript.Run(ctx, s.rdb, []string{s.recordKey(id)}, s.prefix).Text()
	if isNil(err) {
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.RefreshToken{}, unavailable("get refresh token", err)
	}
	rec, err := decodeRecord(id, v)
	if err != nil {
		return storage.RefreshToken{}, err
	}
	if subtle.ConstantTimeCompare([]byte(rec.Secret), []byte(secret)) != 1 {
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	}
	return rec, nil
}

// RotateRefreshToken implements storage.TokenState: one atomic script.
func (s *TokenState) RotateRefreshToken(ctx context.Context, id, secret string, next storage.RefreshToken) (storage.RefreshToken, error) {
	v, err := rotateScript.Run(ctx, s.rdb, []string{s.recordKey(id)},
		s.prefix, next.ClientID, next.IssuedAt.UnixMicro(), next.ExpiresAt.UnixMilli(), secret, next.Secret,
		storage.RefreshReuseGrace.Microseconds(), familyKeep).Text()
	if err != nil {
		return storage.RefreshToken{}, unavailable("rotate refresh token", err)
	}
	switch v {
	case "missing":
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	case "reused":
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrRefreshReused)
	}
	return decodeRecord(id, v)
}

// RevokeRefreshToken implements storage.TokenState.
func (s *TokenState) RevokeRefreshToken(ctx context.Context, id string) error {
	if err := revokeScript.Run(ctx, s.rdb, []string{s.recordKey(id)}, s.prefix, familyKeep).Err(); err != nil && !isNil(err) {
		return unavailable("revoke refresh token", err)
	}
	return nil
}

// revokeRecordScript deletes KEYS[1] if it is a record of family ARGV[1].
var revokeRecordScript = goredis.NewScript(luaRecord + `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if parse(v) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`)

// RevokeFamily implements storage.TokenState in two round trips: the
// family's mark (which kills its record and access tokens at once) with a
// read of its index, then the record's deletion with the index's, so
// that the record stays dead after the mark expires. Every key of each
// step is declared; the keys of one step may sit in different slots.
func (s *TokenState) RevokeFamily(ctx context.Context, familyID string) error {
	var mark *goredis.StatusCmd
	var index *goredis.StringCmd
	_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		mark = p.Set(ctx, s.prefix+"f:"+familyID, "1", storage.MaxAccessTokenTTL)
		index = p.Get(ctx, s.familyIndexKey(familyID))
		return nil
	})
	if err := mark.Err(); err != nil {
		return unavailable("revoke family", err)
	}
	id, err := index.Result()
	if isNil(err) {
		return nil // no record to delete: the mark is all
	}
	if err != nil {
		return unavailable("revoke family", err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		// Eval, not Run: a pipeline cannot fall back from EVALSHA.
		revokeRecordScript.Eval(ctx, p, []string{s.recordKey(id)}, familyID)
		p.Del(ctx, s.familyIndexKey(familyID))
		return nil
	})
	if err != nil {
		return unavailable("revoke family", err)
	}
	return nil
}

package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/storage"
)

// A login session is two keys in one hash slot, so that every script
// touching both runs on one Redis Cluster node (issue 13): the record
// s:{<id>} and the set of its refresh-token families sf:{<id>}, both
// expiring when the session does. The record is one compact string like
// a refresh record (see sep): user id, AMR values joined by spaces, auth
// time, creation, absolute expiry, idle expiry, all times in Unix µs
// (storage.TimeResolution). The two expiries come last so that a script
// can rewrite the idle one without parsing the rest.
func (s *TokenState) sessionKeys(id string) []string {
	return []string{s.prefix + "s:{" + id + "}", s.prefix + "sf:{" + id + "}"}
}

func encodeSession(ls storage.LoginSession) (string, error) {
	if strings.Contains(ls.UserID, sep) || strings.ContainsAny(strings.Join(ls.AMR, ""), sep+" ") {
		return "", errors.New("login session: user id or AMR value holds a separator")
	}
	return strings.Join([]string{ls.UserID, strings.Join(ls.AMR, " "),
		micros(ls.AuthTime), micros(ls.CreatedAt), micros(ls.ExpiresAt), micros(ls.IdleExpiresAt)}, sep), nil
}

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func decodeSession(id, v string, families []any) (storage.LoginSession, error) {
	f := strings.Split(v, sep)
	if len(f) != 6 {
		return storage.LoginSession{}, errors.New("corrupt login session")
	}
	var t [4]time.Time
	for i, str := range f[2:] {
		us, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return storage.LoginSession{}, errors.New("corrupt login session")
		}
		t[i] = time.UnixMicro(us)
	}
	ls := storage.LoginSession{ID: id, UserID: f[0], AMR: []string{}, AuthTime: t[0], CreatedAt: t[1],
		ExpiresAt: t[2], IdleExpiresAt: t[3], Families: make([]string, 0, len(families))}
	if f[1] != "" {
		ls.AMR = strings.Split(f[1], " ")
	}
	for _, fam := range families {
		str, ok := fam.(string)
		if !ok {
			return storage.LoginSession{}, errors.New("corrupt login session families")
		}
		ls.Families = append(ls.Families, str)
	}
	return ls, nil
}

// luaSession reads the live session of KEYS[1] on Redis's clock (luaNow):
// it returns the record, its absolute and idle expiries in µs, or nothing
// when there is no live session. The keys' own expiry is rounded up to
// the millisecond (pxat), so the script decides the last fraction.
const luaSession = luaNow + `
local function liveSession()
  local v = redis.call('GET', KEYS[1])
  if not v then return nil end
  local head, exp, idle = string.match(v, '^(.*)\31(%d+)\31(%d+)$')
  if not head then error(redis.error_reply('unreadable login session')) end
  exp, idle = tonumber(exp), tonumber(idle)
  if now >= exp or now >= idle then return nil end
  return v, head, exp, idle
end
local function pxat(us) return string.format('%.0f', math.ceil(us / 1000)) end
`

// createSessionScript is CreateLoginSession. KEYS: the session's keys.
// ARGV: the record, its expiry in Unix ms, then its families. A stale
// family set (of an expired session with the same id) is dropped.
var createSessionScript = goredis.NewScript(luaSession + `
if liveSession() then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('DEL', KEYS[2])
if #ARGV > 2 then
  redis.call('SADD', KEYS[2], unpack(ARGV, 3))
  redis.call('PEXPIREAT', KEYS[2], ARGV[2])
end
return 1`)

// getSessionScript is GetLoginSession. KEYS: the session's keys. ARGV:
// the idle lifetime in µs, 0 to extend nothing. Returns {record,
// families} or false. The idle expiry only moves forward, and never past
// the absolute one.
var getSessionScript = goredis.NewScript(luaSession + `
local v, head, exp, idle = liveSession()
if not v then return false end
local ext = tonumber(ARGV[1])
if ext > 0 and math.min(now + ext, exp) > idle then
  idle = math.min(now + ext, exp)
  v = head .. '\31' .. string.format('%.0f', exp) .. '\31' .. string.format('%.0f', idle)
  redis.call('SET', KEYS[1], v, 'PXAT', pxat(idle))
  redis.call('PEXPIREAT', KEYS[2], pxat(idle))
end
return {v, redis.call('SMEMBERS', KEYS[2])}`)

// addFamilyScript is AddLoginSessionFamily. KEYS: the session's keys.
// ARGV: the family. Returns 0 when the session is not live.
var addFamilyScript = goredis.NewScript(luaSession + `
local v, head, exp, idle = liveSession()
if not v then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIREAT', KEYS[2], pxat(math.min(exp, idle)))
return 1`)

// endSessionScript is EndLoginSession. KEYS: the session's keys. Returns
// {record, families} or false.
var endSessionScript = goredis.NewScript(luaSession + `
local v = liveSession()
if not v then return false end
local fams = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {v, fams}`)

// CreateLoginSession implements storage.TokenState.
func (s *TokenState) CreateLoginSession(ctx context.Context, ls storage.LoginSession) error {
	v, err := encodeSession(ls)
	if err != nil {
		return err
	}
	args := make([]any, 0, 2+len(ls.Families))
	args = append(args, v, pxat(minTime(ls.IdleExpiresAt, ls.ExpiresAt)))
	for _, f := range ls.Families {
		args = append(args, f)
	}
	created, err := createSessionScript.Run(ctx, s.rdb, s.sessionKeys(ls.ID), args...).Int()
	if err != nil {
		return unavailable("create login session", err)
	}
	if created == 0 {
		return fmt.Errorf("login session: %w", storage.ErrAlreadyExists)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// GetLoginSession implements storage.TokenState: one atomic script.
func (s *TokenState) GetLoginSession(ctx context.Context, id string, idle time.Duration) (storage.LoginSession, error) {
	res, err := getSessionScript.Run(ctx, s.rdb, s.sessionKeys(id), max(idle, 0).Microseconds()).Slice()
	return s.sessionReply(id, "get login session", res, err)
}

// AddLoginSessionFamily implements storage.TokenState.
func (s *TokenState) AddLoginSessionFamily(ctx context.Context, id, familyID string) error {
	added, err := addFamilyScript.Run(ctx, s.rdb, s.sessionKeys(id), familyID).Int()
	if err != nil {
		return unavailable("add login session family", err)
	}
	if added == 0 {
		return fmt.Errorf("login session: %w", storage.ErrNotFound)
	}
	return nil
}

// EndLoginSession implements storage.TokenState.
func (s *TokenState) EndLoginSession(ctx context.Context, id string) (storage.LoginSession, error) {
	res, err := endSessionScript.Run(ctx, s.rdb, s.sessionKeys(id)).Slice()
	return s.sessionReply(id, "end login session", res, err)
}

// sessionReply decodes the {record, families} a session script returned.
func (s *TokenState) sessionReply(id, op string, res []any, err error) (storage.LoginSession, error) {
	if isNil(err) {
		return storage.LoginSession{}, fmt.Errorf("login session: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.LoginSession{}, unavailable(op, err)
	}
	if len(res) != 2 {
		return storage.LoginSession{}, unavailable(op, fmt.Errorf("unexpected reply of %d values", len(res)))
	}
	v, ok1 := res[0].(string)
	fams, ok2 := res[1].([]any)
	if !ok1 || !ok2 {
		return storage.LoginSession{}, unavailable(op, fmt.Errorf("unexpected reply %T, %T", res[0], res[1]))
	}
	ls, err := decodeSession(id, v, fams)
	if err != nil {
		return storage.LoginSession{}, unavailable(op, err)
	}
	return ls, nil
}

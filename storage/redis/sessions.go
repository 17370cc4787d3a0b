package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/storage"
)

// A login session is one key, s:<id>, holding one compact string like a
// refresh record (see sep): absolute expiry, idle expiry, user id, AMR
// values joined by spaces, auth time, creation, all times in Unix µs
// (storage.TimeResolution), then each of its families after a separator
// of its own. Families live in the record rather than in a set beside it:
// on Redis 7.0 a set of two costs 300 bytes, the same two in the record
// about 50, and one key has one expiry to keep and sits in one hash slot,
// as Redis Cluster requires of every key a script touches. The expiries
// come first so that a script can rewrite the idle one without parsing
// the rest.
func (s *TokenState) sessionKey(id string) []string { return []string{s.prefix + "s:" + id} }

func encodeSession(ls storage.LoginSession) (string, error) {
	if strings.Contains(ls.UserID, sep) || strings.ContainsAny(strings.Join(ls.AMR, ""), sep+" ") {
		return "", errors.New("login session: user id or AMR value holds a separator")
	}
	f := []string{micros(ls.ExpiresAt), micros(ls.IdleExpiresAt), ls.UserID, strings.Join(ls.AMR, " "),
		micros(ls.AuthTime), micros(ls.CreatedAt)}
	for _, fam := range ls.Families {
		if err := checkFamily(fam); err != nil {
			return "", err
		}
		if !slices.Contains(f[6:], fam) {
			f = append(f, fam)
		}
	}
	return strings.Join(f, sep), nil
}

func checkFamily(fam string) error {
	if fam == "" || strings.Contains(fam, sep) {
		return errors.New("login session: empty family, or one holding a separator")
	}
	return nil
}

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func decodeSession(id, v string) (storage.LoginSession, error) {
	f := strings.Split(v, sep)
	if len(f) < 6 {
		return storage.LoginSession{}, errors.New("corrupt login session")
	}
	var t [4]time.Time
	for i, str := range []string{f[0], f[1], f[4], f[5]} {
		us, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return storage.LoginSession{}, errors.New("corrupt login session")
		}
		t[i] = time.UnixMicro(us)
	}
	ls := storage.LoginSession{ID: id, ExpiresAt: t[0], IdleExpiresAt: t[1], UserID: f[2], AMR: []string{},
		AuthTime: t[2], CreatedAt: t[3], Families: append([]string{}, f[6:]...)}
	if f[3] != "" {
		ls.AMR = strings.Split(f[3], " ")
	}
	return ls, nil
}

// luaSession reads the live session of KEYS[1] on Redis's clock (luaNow):
// it returns the record, its absolute and idle expiries in µs and the rest
// of the record, or nothing when there is no live session. The key's own
// expiry is rounded up to the millisecond (pxat), so the script decides
// the last fraction.
const luaSession = luaNow + `
local function liveSession()
  local v = redis.call('GET', KEYS[1])
  if not v then return nil end
  local exp, idle, rest = string.match(v, '^(%d+)\31(%d+)\31(.*)$')
  if not exp then error(redis.error_reply('unreadable login session')) end
  exp, idle = tonumber(exp), tonumber(idle)
  if now >= exp or now >= idle then return nil end
  return v, exp, idle, rest
end
local function pxat(us) return string.format('%.0f', math.ceil(us / 1000)) end
`

// createSessionScript is CreateLoginSession. KEYS: the session. ARGV: the
// record and its expiry in Unix ms.
var createSessionScript = goredis.NewScript(luaSession + `
if liveSession() then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return 1`)

// getSessionScript is GetLoginSession. KEYS: the session. ARGV: the idle
// lifetime in µs, 0 to extend nothing. Returns the record or false. The
// idle expiry only moves forward, and never past the absolute one.
var getSessionScript = goredis.NewScript(luaSession + `
local v, exp, idle, rest = liveSession()
if not v then return false end
local ext = tonumber(ARGV[1])
if ext > 0 and math.min(now + ext, exp) > idle then
  idle = math.min(now + ext, exp)
  v = string.format('%.0f', exp) .. '\31' .. string.format('%.0f', idle) .. '\31' .. rest
  redis.call('SET', KEYS[1], v, 'PXAT', pxat(idle))
end
return v`)

// addFamilyScript is AddLoginSessionFamily. KEYS: the session. ARGV: the
// family. Returns 0 when the session is not live. The record's first six
// fields hold no family: the family is looked for after them only.
var addFamilyScript = goredis.NewScript(luaSession + `
local v, exp, idle, rest = liveSession()
if not v then return 0 end
local fams = string.match(rest, '^[^\31]*\31[^\31]*\31[^\31]*\31[^\31]*(.*)$')
if not fams then return redis.error_reply('unreadable login session') end
if string.find(fams .. '\31', '\31' .. ARGV[1] .. '\31', 1, true) then return 1 end
redis.call('SET', KEYS[1], v .. '\31' .. ARGV[1], 'KEEPTTL')
return 1`)

// endSessionScript is EndLoginSession. KEYS: the session. Returns the
// record or false.
var endSessionScript = goredis.NewScript(luaSession + `
local v = liveSession()
if not v then return false end
redis.call('DEL', KEYS[1])
return v`)

// CreateLoginSession implements storage.TokenState.
func (s *TokenState) CreateLoginSession(ctx context.Context, ls storage.LoginSession) error {
	v, err := encodeSession(ls)
	if err != nil {
		return err
	}
	if err := s.indexSession(ctx, ls); err != nil {
		return err
	}
	created, err := createSessionScript.Run(ctx, s.rdb, s.sessionKey(ls.ID), v, pxat(minTime(ls.IdleExpiresAt, ls.ExpiresAt))).Int()
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
	v, err := getSessionScript.Run(ctx, s.rdb, s.sessionKey(id), max(idle, 0).Microseconds()).Text()
	return sessionReply(id, "get login session", v, err)
}

// AddLoginSessionFamily implements storage.TokenState.
func (s *TokenState) AddLoginSessionFamily(ctx context.Context, id, familyID string) error {
	if err := checkFamily(familyID); err != nil {
		return err
	}
	added, err := s.durableScript(ctx, addFamilyScript, s.sessionKey(id), familyID).Int()
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
	v, err := s.durableScript(ctx, endSessionScript, s.sessionKey(id)).Text()
	return sessionReply(id, "end login session", v, err)
}

// sessionReply decodes the record a session script returned.
func sessionReply(id, op, v string, err error) (storage.LoginSession, error) {
	if isNil(err) {
		return storage.LoginSession{}, fmt.Errorf("login session: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.LoginSession{}, unavailable(op, err)
	}
	ls, err := decodeSession(id, v)
	if err != nil {
		return storage.LoginSession{}, unavailable(op, err)
	}
	return ls, nil
}

// A user's list of sessions is one hash, su:<user id>: for each session
// id, its creation and absolute expiry in Unix µs and its device, joined
// by sep. It is kept beside the sessions rather than in them because a
// session is found by its id alone, and each sits in a hash slot of its
// own. An entry is written before its session, so that no session is
// missing from its list; entries of sessions that ended are dropped when
// the list is read, and those past their absolute expiry, or beyond
// storage.MaxListedSessions, when a session is added.
func (s *TokenState) userSessionsKey(userID string) []string {
	return []string{s.prefix + "su:" + userID}
}

// indexSessionScript adds a session to its user's list. KEYS: the list.
// ARGV: the session id, its entry, and the most entries to keep. The
// list lives as long as its longest-lived session.
var indexSessionScript = goredis.NewScript(luaNow + `
local all = redis.call('HGETALL', KEYS[1])
local keep, maxExp = {}, tonumber(string.match(ARGV[2], '^%d+\31(%d+)'))
for i = 1, #all, 2 do
  local created, exp = string.match(all[i + 1], '^(%d+)\31(%d+)')
  created, exp = tonumber(created), tonumber(exp)
  if not exp or exp <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    keep[#keep + 1] = {all[i], created}
    maxExp = math.max(maxExp, exp)
  end
end
table.sort(keep, function(a, b) return a[2] > b[2] end)
for i = tonumber(ARGV[3]), #keep do redis.call('HDEL', KEYS[1], keep[i][1]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.ceil(maxExp / 1000)))
return 1`)

func (s *TokenState) indexSession(ctx context.Context, ls storage.LoginSession) error {
	entry := micros(ls.CreatedAt) + sep + micros(ls.ExpiresAt) + sep + storage.DeviceText(strings.ReplaceAll(ls.Device, sep, " "))
	err := s.durableScript(ctx, indexSessionScript, s.userSessionsKey(ls.UserID), ls.ID, entry, storage.MaxListedSessions).Err()
	if err != nil {
		return unavailable("list login session", err)
	}
	return nil
}

// ListLoginSessions implements storage.TokenState: the list, then every
// session on it in one pipeline (one round trip per node on a cluster).
func (s *TokenState) ListLoginSessions(ctx context.Context, userID string) ([]storage.LoginSession, error) {
	key := s.userSessionsKey(userID)
	all, err := s.rdb.HGetAll(ctx, key[0]).Result()
	if err != nil {
		return nil, unavailable("list login sessions", err)
	}
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	cmds := make([]*goredis.StringCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.sessionKey(id)[0])
		}
		return nil
	}); err != nil && !isNil(err) {
		return nil, unavailable("list login sessions", err)
	}
	now := time.Now()
	var out []storage.LoginSession
	var gone []string
	for i, id := range ids {
		v, err := cmds[i].Result()
		if isNil(err) {
			gone = append(gone, id)
			continue
		} else if err != nil {
			return nil, unavailable("list login sessions", err)
		}
		ls, err := decodeSession(id, v)
		if err != nil {
			return nil, unavailable("list login sessions", err)
		}
		if ls.UserID != userID || !now.Before(ls.ExpiresAt) || !now.Before(ls.IdleExpiresAt) {
			continue
		}
		if f := strings.SplitN(all[id], sep, 3); len(f) == 3 {
			ls.Device = f[2]
		}
		ls.Families = []string{}
		out = append(out, ls)
	}
	if len(gone) > 0 {
		// Only tidying: an entry left behind is dropped at the next read.
		_ = s.rdb.HDel(ctx, key[0], gone...).Err()
	}
	return storage.ListedSessions(out), nil
}

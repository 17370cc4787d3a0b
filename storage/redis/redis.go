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

// TokenState is a storage.TokenState on Redis: a standalone server, a
// primary found through Sentinel, or a Redis Cluster.
type TokenState struct {
	rdb          goredis.UniversalClient
	reads        *reads
	writes       *writes
	prefix       string
	waitReplicas int
}

var _ storage.TokenState = (*TokenState)(nil)

// Option configures Open.
type Option func(*TokenState)

// WithKeyPrefix sets the prefix of every key (default "gh:"), so that
// several deployments or tests can share one Redis. It must hold no '{':
// the keys' hash tags (see throttleTag) come after it.
func WithKeyPrefix(p string) Option { return func(s *TokenState) { s.prefix = p } }

// WithWaitReplicas makes every write whose loss would revive something
// (see durable) wait until n replicas have it, or fail with
// storage.ErrUnavailable: then a failover cannot lose what was
// acknowledged. 0, the default, waits for none.
func WithWaitReplicas(n int) Option { return func(s *TokenState) { s.waitReplicas = n } }

// Open connects to the Redis that rawURL names (see newClient) and checks
// that it answers. Errors are one line without the URL's password.
func Open(ctx context.Context, rawURL string, opts ...Option) (*TokenState, error) {
	rdb, deployment, err := newClient(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid Redis URL %s: %s", redact(rawURL), err)
	}
	s := &TokenState{rdb: rdb, reads: &reads{rdb: rdb, cluster: deployment == Cluster}, prefix: "gh:"}
	for _, opt := range opts {
		opt(s)
	}
	s.writes = &writes{rdb: rdb, waitReplicas: s.waitReplicas}
	if strings.Contains(s.prefix, "{") || s.waitReplicas < 0 {
		s.rdb.Close()
		return nil, errors.New("the key prefix may hold no '{', and the replicas to wait for are not negative")
	}
	if err := s.Ping(ctx); err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("cannot connect to Redis at %s: %s: %w", redact(rawURL), lastPart(err), storage.ErrUnavailable)
	}
	return s, nil
}

func lastPart(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// unavailable wraps a Redis failure.
func unavailable(op string, err error) error {
	return fmt.Errorf("redis %s: %w: %v", op, storage.ErrUnavailable, err)
}

// Ping implements storage.TokenState.
// On a cluster it pings every primary: a node that does not answer fails
// the requests whose keys it holds.
func (s *TokenState) Ping(ctx context.Context) error {
	var err error
	if c, ok := s.rdb.(*goredis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error { return n.Ping(ctx).Err() })
	} else {
		err = s.rdb.Ping(ctx).Err()
	}
	if err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Close implements storage.TokenState.
func (s *TokenState) Close() { _ = s.rdb.Close() }

func (s *TokenState) revokedKey(jti string) string { return s.prefix + "r:" + jti }
func (s *TokenState) markKey(kind storage.SubjectKind, id string) string {
	if kind == storage.SubjectUser {
		return s.prefix + "b:u:" + id
	}
	return s.prefix + "b:c:" + id
}

// RevokeToken implements storage.TokenState.
func (s *TokenState) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if !exp.After(time.Now()) {
		return nil
	}
	key := s.revokedKey(jti)
	if err := s.durable(ctx, key, func(p goredis.Pipeliner) { p.Set(ctx, key, "1", time.Until(exp)) }); err != nil {
		return unavailable("revoke", err)
	}
	return nil
}

// Marks and the issue times compared against them are Unix microseconds
// (storage.TimeResolution). Before that they were milliseconds, and Redis
// may still hold such marks and refresh records (marks live up to 366
// days): a value below legacyMillisBelow is one. Microsecond timestamps
// passed it in 1973, millisecond ones reach it in the year 5138. An old
// mark covers its whole millisecond and an old issue time is taken at the
// start of its own, so that neither reading ever revives a revoked token.
const legacyMillisBelow = 100_000_000_000_000

const luaMicros = `
local function markMicros(v)
  v = tonumber(v)
  if v < 1e14 then return v * 1000 + 999 end
  return v
end
`

// markMicros reads a stored mark, see legacyMillisBelow.
func markMicros(v int64) int64 {
	if v < legacyMillisBelow {
		return v*1000 + 999
	}
	return v
}

// markScript sets a "revoked before" mark unless a later one is in place
// (ARGV: the mark in µs, keep in ms).
var markScript = goredis.NewScript(luaMicros + `
local cur = redis.call('GET', KEYS[1])
if cur and markMicros(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// RevokeSubject implements storage.TokenState.
func (s *TokenState) RevokeSubject(ctx context.Context, kind storage.SubjectKind, id string, before time.Time, keep time.Duration) error {
	err := s.durableScript(ctx, markScript, []string{s.markKey(kind, id)}, before.UnixMicro(), keep.Milliseconds()).Err()
	if err != nil {
		return unavailable("revoke subject", err)
	}
	return nil
}

// IsRevoked implements storage.TokenState: one read (see reads) of the
// stamp, the token's jti, its client's mark, and its family and user's
// mark if any. These keys are in unrelated slots on purpose: on a cluster
// they spread over the nodes and the read leaves as one round trip per
// node.
func (s *TokenState) IsRevoked(ctx context.Context, t storage.TokenRef) (bool, int64, error) {
	var buf [5]string
	keys := append(buf[:0], s.prefix+"stamp", s.revokedKey(t.JTI), s.markKey(storage.SubjectClient, t.ClientID))
	if t.UserID != "" {
		keys = append(keys, s.markKey(storage.SubjectUser, t.UserID))
	}
	if t.FamilyID != "" {
		keys = append(keys, s.prefix+"f:"+t.FamilyID)
	}
	vals, err := s.reads.mget(ctx, keys)
	if err != nil {
		return false, 0, unavailable("is revoked", err)
	}
	stamp, err := s.stamp(ctx, vals[0])
	if err != nil {
		return false, 0, unavailable("is revoked", err)
	}
	if vals[1] != nil || (t.FamilyID != "" && vals[len(vals)-1] != nil) {
		return true, stamp, nil
	}
	marks := vals[2:3]
	if t.UserID != "" {
		marks = vals[2:4]
	}
	revoked, err := covered(marks, t.IssuedAt.UnixMicro())
	if err != nil {
		return false, 0, unavailable("is revoked", err)
	}
	return revoked, stamp, nil
}

// covered reports whether one of the "revoked before" marks read (nil
// when absent) covers issue time iat, in µs. An unreadable mark is an
// error: it decides nothing in the token's favour.
func covered(marks []any, iat int64) (bool, error) {
	for _, v := range marks {
		str, ok := v.(string)
		if !ok {
			continue
		}
		mark, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return false, fmt.Errorf("revoked-before mark %q: %w", str, err)
		}
		if iat <= markMicros(mark) {
			return true, nil
		}
	}
	return false, nil
}

// onceScript is SET NX with an absolute expiry.
func (s *TokenState) onceKey(key string) string { return s.prefix + "o:" + key }

// MarkOnce implements storage.TokenState.
func (s *TokenState) MarkOnce(ctx context.Context, key string, exp time.Time) (bool, error) {
	ttl := time.Until(exp)
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	var set *goredis.BoolCmd
	k := s.onceKey(key)
	err := s.durable(ctx, k, func(p goredis.Pipeliner) { set = p.SetNX(ctx, k, "1", ttl) })
	if err != nil {
		return false, unavailable("mark once", err)
	}
	return set.Val(), nil
}

// The stamp follows Redis's clock in microseconds: a missing one starts
// there, and a raise sets it to the clock or one more than before,
// whichever is larger. Caches keep the newest entry they saw and trust
// only an exact stamp match, so a stamp that restarted lower after Redis
// lost it (a restart without persistence, a flush, an eviction, an AOF
// missing its last second) could climb back to a value a node cached
// under and serve it state from before the loss. Following the clock, it
// comes back above every value it had (changes come far less often than
// once a microsecond); after a partial loss, at the latest with the next
// change.
const luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`

var initStampScript = goredis.NewScript(luaNow + `
redis.call('SET', KEYS[1], string.format('%.0f', now), 'NX')
return redis.call('GET', KEYS[1])`)

var bumpStampScript = goredis.NewScript(luaNow + `
local n = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, now)
redis.call('SET', KEYS[1], string.format('%.0f', n))
return string.format('%.0f', n)`)

// stamp parses the stamp an MGET returned, initialising a missing one.
func (s *TokenState) stamp(ctx context.Context, v any) (int64, error) {
	str, ok := v.(string)
	if !ok {
		var err error
		if str, err = initStampScript.Run(ctx, s.rdb, []string{s.prefix + "stamp"}).Text(); err != nil {
			return 0, err
		}
	}
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("change stamp %q: %w", str, err)
	}
	return n, nil
}

// ChangeStamp implements storage.TokenState.
func (s *TokenState) ChangeStamp(ctx context.Context) (int64, error) {
	vals, err := s.reads.mget(ctx, []string{s.prefix + "stamp"})
	if err != nil {
		return 0, unavailable("change stamp", err)
	}
	n, err := s.stamp(ctx, vals[0])
	if err != nil {
		return 0, unavailable("change stamp", err)
	}
	return n, nil
}

// BumpChangeStamp implements storage.TokenState.
func (s *TokenState) BumpChangeStamp(ctx context.Context) (int64, error) {
	v, err := s.durableScript(ctx, bumpStampScript, []string{s.prefix + "stamp"}).Text()
	if err != nil {
		return 0, unavailable("bump change stamp", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, unavailable("bump change stamp", fmt.Errorf("%q: %w", v, err))
	}
	return n, nil
}

var errNil = goredis.Nil

func isNil(err error) bool { return errors.Is(err, errNil) }

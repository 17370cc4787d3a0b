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

// throttleTag is the hash tag of every failure count and marker: one
// attempt counts in buckets of its user, its client and its source at
// once, atomically (TryAttempt), so on a Redis Cluster all of them must
// share one slot, and no finer tag is common to every attempt. That slot
// takes only login attempts and refusals of the management API, each
// far costlier for the server than for Redis (a password hash, a
// database write), so it never becomes the hot one; the per-token keys
// spread over the whole cluster.
const throttleTag = "{l}"

func (s *TokenState) failureKey(key string) string { return s.prefix + throttleTag + "l:" + key }
func (s *TokenState) markerKey(key string) string  { return s.prefix + throttleTag + "k:" + key }

// A failure count is one string, "<failures>:<latest>:<previous>": the
// times of the latest failure and of the one before it, in µs, the latter
// empty when unknown (SettleAttempt puts it back when it takes the latest
// back). Earlier versions wrote "<failures>:<latest>", read as having no
// previous.

// parseFailureCount reads a failure count.
func parseFailureCount(str string) (storage.FailureCount, bool) {
	parts := strings.Split(str, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return storage.FailureCount{}, false
	}
	n, err1 := strconv.Atoi(parts[0])
	last, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return storage.FailureCount{}, false
	}
	return storage.FailureCount{Failures: n, Last: time.UnixMicro(last)}, true
}

// tryAttemptScript is TryAttempt. KEYS: the marker, the known-source
// buckets, the other buckets. ARGV: the attempt's time in µs, keep in ms,
// the base and maximum delays in µs, the number of known-source buckets,
// then each bucket's free failures in the order of KEYS (KEYS[i]'s at
// ARGV[4+i]). Returns whether the marker is set and the wait in µs, 0 if
// the attempt was counted. An unreadable count is an error: it decides
// nothing in the attempt's favour.
var tryAttemptScript = goredis.NewScript(`
local at, base, cap = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local marked = redis.call('EXISTS', KEYS[1])
local first, last = 2, 1 + tonumber(ARGV[5])
if marked == 0 then first, last = last + 1, #KEYS end
local wait, seen = 0, {}
for i = first, last do
  local v = redis.call('GET', KEYS[i])
  local n, l = 0, ''
  if v then
    local sn, sl = string.match(v, '^(%d+):(%d+)')
    if not sn then return redis.error_reply('unreadable failure count') end
    n, l = tonumber(sn), sl
    local free = tonumber(ARGV[4 + i])
    if n > free then
      local d = base
      for _ = free + 2, n do
        if d >= cap then break end
        d = d * 2
      end
      wait = math.max(wait, tonumber(l) + math.min(d, cap) - at)
    end
  end
  seen[i] = {n, l}
end
if wait > 0 then return {marked, wait} end
for i = first, last do
  redis.call('SET', KEYS[i], string.format('%d:%s:%s', seen[i][1] + 1, ARGV[1], seen[i][2]), 'PX', ARGV[2])
end
return {marked, 0}`)

// settleScript is SettleAttempt. KEYS: the keys to take back from, the
// keys to forget, and the marker if any. ARGV: the attempt's time in µs,
// the numbers of keys to take back from and to forget, the marker's keep
// in ms. A count taken back keeps its expiry, set by the latest failure
// or later.
var settleScript = goredis.NewScript(`
local nt, nf = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, nt do
  local v = redis.call('GET', KEYS[i])
  local n, l, p = string.match(v or '', '^(%d+):(%d+):?(%d*)$')
  n = tonumber(n)
  if n and n <= 1 then
    redis.call('DEL', KEYS[i])
  elseif n then
    if l == ARGV[1] and p ~= '' then l = p end
    redis.call('SET', KEYS[i], string.format('%d:%s:%s', n - 1, l, p), 'KEEPTTL')
  end
end
for i = nt + 1, nt + nf do redis.call('DEL', KEYS[i]) end
if #KEYS > nt + nf then redis.call('SET', KEYS[#KEYS], '1', 'PX', ARGV[4]) end
return 1`)

// Failures implements storage.TokenState: one MGET of the marker and the
// keys, which may share a pipeline with concurrent reads.
func (s *TokenState) Failures(ctx context.Context, marker string, keys []string) (bool, []storage.FailureCount, error) {
	all := make([]string, 0, len(keys)+1)
	all = append(all, s.markerKey(marker))
	for _, k := range keys {
		all = append(all, s.failureKey(k))
	}
	vals, err := s.reads.mget(ctx, all)
	if err != nil {
		return false, nil, unavailable("failures", err)
	}
	counts := make([]storage.FailureCount, len(keys))
	for i, v := range vals[1:] {
		str, ok := v.(string)
		if !ok {
			continue
		}
		if counts[i], ok = parseFailureCount(str); !ok {
			// Unreadable state decides nothing in the caller's favour.
			return false, nil, unavailable("failures", fmt.Errorf("failure count %q", str))
		}
	}
	return vals[0] != nil, counts, nil
}

// TryAttempt implements storage.TokenState: one script.
func (s *TokenState) TryAttempt(ctx context.Context, a storage.Attempt) (bool, time.Duration, error) {
	keys := make([]string, 0, 1+len(a.Known)+len(a.Unknown))
	args := make([]any, 0, 5+len(a.Known)+len(a.Unknown))
	keys = append(keys, s.markerKey(a.Marker))
	args = append(args, a.At.UnixMicro(), max(a.Keep.Milliseconds(), 1), a.BaseDelay.Microseconds(), a.MaxDelay.Microseconds(), len(a.Known))
	for _, b := range append(a.Known[:len(a.Known):len(a.Known)], a.Unknown...) {
		keys = append(keys, s.failureKey(b.Key))
		args = append(args, b.Free)
	}
	res, err := tryAttemptScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return false, 0, unavailable("try attempt", err)
	}
	if len(res) != 2 {
		return false, 0, unavailable("try attempt", fmt.Errorf("unexpected reply %v", res))
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// SettleAttempt implements storage.TokenState: one script.
func (s *TokenState) SettleAttempt(ctx context.Context, st storage.Settlement) error {
	keys := make([]string, 0, len(st.TakeBack)+len(st.Forget)+1)
	for _, k := range st.TakeBack {
		keys = append(keys, s.failureKey(k))
	}
	for _, k := range st.Forget {
		keys = append(keys, s.failureKey(k))
	}
	if st.Marker != "" {
		keys = append(keys, s.markerKey(st.Marker))
	}
	if len(keys) == 0 {
		return nil
	}
	err := settleScript.Run(ctx, s.rdb, keys, st.At.UnixMicro(), len(st.TakeBack), len(st.Forget), max(st.MarkKeep.Milliseconds(), 1)).Err()
	if err != nil {
		return unavailable("settle attempt", err)
	}
	return nil
}

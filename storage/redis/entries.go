package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/storage"
)

// An entry is one string under e:<key>: a state byte, entryLive or
// entrySpent, then the caller's value as it is (Redis strings and Lua
// strings are binary-safe). Its expiry is the key's own.
const (
	entryLive  = "0"
	entrySpent = "1"
)

func (s *TokenState) entryKey(key string) string { return s.prefix + "e:" + key }

// pxat is the Unix millisecond at which a key expiring at t is removed:
// rounded up, so that Redis never drops an entry before t (a script that
// compares times itself decides the last fraction of the millisecond).
func pxat(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

// PutEntry implements storage.TokenState.
func (s *TokenState) PutEntry(ctx context.Context, key string, value []byte, exp time.Time) error {
	v := make([]byte, 0, 1+len(value))
	v = append(append(v, entryLive...), value...)
	err := s.rdb.SetArgs(ctx, s.entryKey(key), v, goredis.SetArgs{ExpireAt: time.UnixMilli(pxat(exp))}).Err()
	if err != nil {
		return unavailable("put entry", err)
	}
	return nil
}

// GetEntry implements storage.TokenState. A spent entry is kept only for
// TakeEntry to name what it was spent on; to GetEntry it is gone.
func (s *TokenState) GetEntry(ctx context.Context, key string) ([]byte, error) {
	v, err := s.rdb.Get(ctx, s.entryKey(key)).Bytes()
	if isNil(err) {
		return nil, fmt.Errorf("entry: %w", storage.ErrNotFound)
	}
	if err != nil {
		return nil, unavailable("get entry", err)
	}
	switch {
	case len(v) == 0:
		// Unreadable state decides nothing in the caller's favour.
		return nil, unavailable("get entry", fmt.Errorf("entry without its state"))
	case string(v[:1]) == entrySpent:
		return nil, fmt.Errorf("entry: %w", storage.ErrNotFound)
	}
	return v[1:], nil
}

// DeleteEntry implements storage.TokenState.
func (s *TokenState) DeleteEntry(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.entryKey(key)).Err(); err != nil {
		return unavailable("delete entry", err)
	}
	return nil
}

// takeScript is TakeEntry. KEYS: the entry. ARGV: spent until, Unix ms.
// Returns false when there is no entry, else {first, value}. SETRANGE
// flips the state byte in place, keeping the value and its expiry; the
// expiry then moves to spentUntil if that is later. Redis 6.2 has no
// PEXPIREAT GT, so the script compares with its own clock.
var takeScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
local state = string.sub(v, 1, 1)
if state == '` + entrySpent + `' then return {0, string.sub(v, 2)} end
if state ~= '` + entryLive + `' then return redis.error_reply('unreadable entry') end
redis.call('SETRANGE', KEYS[1], 0, '` + entrySpent + `')
local ttl = redis.call('PTTL', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ttl >= 0 and tonumber(ARGV[1]) > now + ttl then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
return {1, string.sub(v, 2)}`)

// TakeEntry implements storage.TokenState: one atomic script, batched
// with concurrent writes (see writes).
func (s *TokenState) TakeEntry(ctx context.Context, key string, spentUntil time.Time) ([]byte, bool, error) {
	res, err := s.batchedScript(ctx, takeScript, []string{s.entryKey(key)}, pxat(spentUntil)).Slice()
	if isNil(err) {
		return nil, false, fmt.Errorf("entry: %w", storage.ErrNotFound)
	}
	if err != nil {
		return nil, false, unavailable("take entry", err)
	}
	if len(res) != 2 {
		return nil, false, unavailable("take entry", fmt.Errorf("unexpected reply of %d values", len(res)))
	}
	first, ok1 := res[0].(int64)
	value, ok2 := res[1].(string)
	if !ok1 || !ok2 {
		return nil, false, unavailable("take entry", fmt.Errorf("unexpected reply %T, %T", res[0], res[1]))
	}
	return []byte(value), first == 1, nil
}

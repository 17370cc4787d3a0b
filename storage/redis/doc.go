// Package redis implements storage.TokenState on Redis with go-redis v9:
// revocation markers, "revoked before" marks, refresh-token records,
// replay markers, rate-limit counters, and the browser flows' entries and
// login sessions, all expiring on their own.
//
// It runs on one Redis server, on a primary found through Sentinel, or on
// a Redis Cluster (see Open and docs/operations.md, "Redis Cluster and
// Sentinel"), with one code path: every script declares every key it
// touches, and the keys of every multi-key command or script share one
// hash slot. Keys are short on purpose (Redis memory per live token is a
// product figure, see docs/operations.md); every decision on the hot path
// is one round trip (a batched read, or one Lua script), and every change
// that must be atomic is one Lua script on one slot. Any failure to reach
// Redis is storage.ErrUnavailable, so that callers fail closed.
package redis

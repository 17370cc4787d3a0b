// Package redis implements storage.TokenState on Redis with go-redis v9:
// revocation markers, "revoked before" marks, refresh-token records,
// replay markers, rate-limit counters, and the browser flows' entries and
// login sessions, all expiring on their own.
//
// Keys are short on purpose (Redis memory per live token is a product
// figure, see docs/operations.md); every decision on the hot path is one
// round trip (MGET, or one Lua script), and every multi-step change is one
// atomic Lua script. Any failure to reach Redis is storage.ErrUnavailable,
// so that callers fail closed.
package redis

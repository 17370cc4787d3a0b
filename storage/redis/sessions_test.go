package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

// TestMemoryPerSession measures what a login session, an entry and a
// grant's family index cost in Redis (docs/operations.md quotes the
// figures).
func TestMemoryPerSession(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	now := time.Now()
	sid := "c2Vzc2lvbiBkaWdlc3QgMT" // a digest of the cookie: 22 characters
	require.NoError(t, s.CreateLoginSession(ctx, storage.LoginSession{ID: sid, UserID: "0b6b6c36-7d7f-4d77-9d0e-5b1f2c3d4e5f",
		AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour), IdleExpiresAt: now.Add(time.Hour)}))
	for _, fam := range []string{"Zm9vYmFyYmF6cXV4cXV1eA", "YmFyYmF6cXV4cXV1eGZvbw"} {
		require.NoError(t, s.AddLoginSessionFamily(ctx, sid, fam))
	}
	// An authorization code: client, redirect URI, PKCE challenge, nonce,
	// scopes, session and user, as a caller might encode them.
	code := "Y29kZSBkaWdlc3QgMTIzND"
	require.NoError(t, s.PutEntry(ctx, code, []byte(strings.Repeat("x", 200)), now.Add(time.Minute)))
	require.NoError(t, s.CreateRefreshToken(ctx, storage.RefreshToken{ID: "3q2-7wAAAAAAAAAAAAAAAA", Secret: "c2VjcmV0IGRpZ2VzdCAxMj",
		FamilyID: "Zm9vYmFyYmF6cXV4cXV1eA", ClientID: "reports-app", UserID: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))

	c := direct(t)
	size := func(key string) int64 {
		t.Helper()
		n, err := c.MemoryUsage(ctx, key).Result()
		require.NoError(t, err, key)
		return n
	}
	session, list := size(prefix+"s:"+sid), size(prefix+"su:0b6b6c36-7d7f-4d77-9d0e-5b1f2c3d4e5f")
	entry, index := size(prefix+"e:"+code), size(prefix+"g:Zm9vYmFyYmF6cXV4cXV1eA")
	t.Logf("Redis memory: login session with two families %d bytes, its user's list of one %d, entry of 200 bytes %d, family index %d (prefix %d bytes)",
		session, list, entry, index, len(prefix))
	require.Less(t, session, int64(300))
	require.Less(t, list, int64(250))
	require.Less(t, entry, int64(350))
	require.Less(t, index, int64(150))
}

// A session is one key (one hash slot for Redis Cluster), expiring at its
// idle expiry as it is used; its user's list is another, living as long
// as the longest-lived session on it.
func TestSessionIsOneKey(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	now := time.Now()
	require.NoError(t, s.CreateLoginSession(ctx, storage.LoginSession{ID: "sid", UserID: "u", CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Minute), Families: []string{"f1"}}))
	require.NoError(t, s.AddLoginSessionFamily(ctx, "sid", "f2"))
	got, err := s.GetLoginSession(ctx, "sid", 10*time.Minute)
	require.NoError(t, err)
	c := direct(t)
	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{prefix + "s:sid", prefix + "su:u"}, keys)
	exp, err := c.PExpireTime(ctx, prefix+"s:sid").Result()
	require.NoError(t, err)
	require.Equal(t, got.IdleExpiresAt.Add(999*time.Microsecond).UnixMilli(), exp.Milliseconds(), "the idle expiry, rounded up")
	require.InDelta(t, now.Add(10*time.Minute).UnixMilli(), exp.Milliseconds(), 5000)
	exp, err = c.PExpireTime(ctx, prefix+"su:u").Result()
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Hour).Add(999*time.Microsecond).UnixMilli(), exp.Milliseconds(), "the list: the absolute expiry")
}

// RevokeFamily deletes the family's record, also after rotations extended
// it: the family's mark is kept only for storage.MaxAccessTokenTTL, and a
// grant may live far longer.
func TestRevokeFamilyOutlivesItsMark(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	c := direct(t)
	now := time.Now()
	require.NoError(t, s.CreateRefreshToken(ctx, storage.RefreshToken{ID: "r", Secret: "s0", FamilyID: "fam", ClientID: "app",
		UserID: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
	later := now.Add(30 * 24 * time.Hour)
	_, err := s.RotateRefreshToken(ctx, "r", "s0", storage.RefreshToken{Secret: "s1", ClientID: "app", IssuedAt: now, ExpiresAt: later})
	require.NoError(t, err)
	exp, err := c.PExpireTime(ctx, prefix+"g:fam").Result()
	require.NoError(t, err)
	require.Equal(t, later.UnixMilli(), exp.Milliseconds(), "the index lives as long as the rotated record")

	require.NoError(t, s.RevokeFamily(ctx, "fam"))
	n, err := c.Exists(ctx, prefix+"t:r", prefix+"g:fam").Result()
	require.NoError(t, err)
	require.Zero(t, n, "the record and its index are gone")
	require.NoError(t, c.Del(ctx, prefix+"f:fam").Err()) // as if the mark had expired
	_, err = s.GetRefreshToken(ctx, "r", "s1")
	require.ErrorIs(t, err, storage.ErrNotFound)

	// An index naming another family's record (its id was taken) deletes
	// nothing.
	require.NoError(t, s.CreateRefreshToken(ctx, storage.RefreshToken{ID: "x", Secret: "s0", FamilyID: "fam-x", ClientID: "app",
		UserID: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, c.Set(ctx, prefix+"g:fam-y", "x", time.Hour).Err())
	require.NoError(t, s.RevokeFamily(ctx, "fam-y"))
	_, err = s.GetRefreshToken(ctx, "x", "s0")
	require.NoError(t, err)
}

// Unreadable sessions and entries fail closed.
func TestUnreadableSessionFailsClosed(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	c := direct(t)
	require.NoError(t, c.Set(ctx, prefix+"s:sid", "not a session", time.Minute).Err())
	_, err := s.GetLoginSession(ctx, "sid", 0)
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.ErrorIs(t, s.AddLoginSessionFamily(ctx, "sid", "f"), storage.ErrUnavailable)
	_, err = s.EndLoginSession(ctx, "sid")
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.ErrorIs(t, s.CreateLoginSession(ctx, storage.LoginSession{ID: "sid", UserID: "u",
		ExpiresAt: time.Now().Add(time.Hour), IdleExpiresAt: time.Now().Add(time.Hour)}), storage.ErrUnavailable)

	require.NoError(t, c.Set(ctx, prefix+"e:bad", "", time.Minute).Err())
	_, err = s.GetEntry(ctx, "bad")
	require.ErrorIs(t, err, storage.ErrUnavailable)
	_, _, err = s.TakeEntry(ctx, "bad", time.Now())
	require.ErrorIs(t, err, storage.ErrUnavailable)
}

package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/redis"
	"github.com/gatehouse/gatehouse/storage/redis/redistest"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

// A deployment is a kind of Redis the suites run against.
type deployment struct {
	name string
	url  func(testing.TB) string
	opts []redis.Option
	// sentinel: tests hold the setup (redistest.LockSentinel), which
	// failover tests kill servers of.
	sentinel bool
}

// deployments are every kind of Redis Gatehouse runs on. On Sentinel,
// revocations wait for a replica (see WithWaitReplicas): the setup of
// scripts/test-env.sh has two.
var deployments = []deployment{
	{"standalone", testenv.RedisURL, nil, false},
	{"cluster", testenv.RedisClusterURL, nil, false},
	{"sentinel", testenv.RedisSentinelURL, []redis.Option{redis.WithWaitReplicas(1)}, true},
}

// open returns token state on the standalone Redis under a fresh key
// prefix, whose keys are deleted when the test ends.
func open(t testing.TB) (*redis.TokenState, string) {
	t.Helper()
	return openOn(t, deployments[0])
}

// openOn is open on a deployment.
func openOn(t testing.TB, d deployment) (*redis.TokenState, string) {
	t.Helper()
	url := d.url(t)
	if d.sentinel {
		redistest.LockSentinel(t, false)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "ghtest:" + hex.EncodeToString(b[:]) + ":"
	s, err := redis.Open(context.Background(), url, append([]redis.Option{redis.WithKeyPrefix(prefix)}, d.opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		s.Close()
		deleteKeys(t, directOn(t, url), prefix)
	})
	return s, prefix
}

// deleteKeys deletes the keys under prefix, on every primary of a
// cluster.
func deleteKeys(t testing.TB, c goredis.UniversalClient, prefix string) {
	ctx := context.Background()
	del := func(ctx context.Context, n *goredis.Client) error {
		iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			n.Del(ctx, iter.Val())
		}
		return iter.Err()
	}
	var err error
	switch c := c.(type) {
	case *goredis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	case *goredis.Client:
		err = del(ctx, c)
	}
	if err != nil {
		t.Logf("cleaning up %s*: %v", prefix, err)
	}
}

// direct is a plain client of the standalone test Redis, for looking
// behind the TokenState; closed when the test ends.
func direct(t testing.TB) *goredis.Client {
	return directOn(t, testenv.RedisURL(t)).(*goredis.Client)
}

// directOn is a plain client of the Redis that url names.
func directOn(t testing.TB, url string) goredis.UniversalClient {
	c, _, err := redis.NewClient(url)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTokenStateConformance(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			storagetest.RunTokenStateTests(t, storagetest.TokenStateHarness{
				New: func(t *testing.T) storage.TokenState { s, _ := openOn(t, d); return s },
				Now: time.Now,
				// Redis expires keys on its own clock: let real time pass.
				Advance: func(t *testing.T, d time.Duration) { time.Sleep(d) },
			})
		})
	}
}

// With Redis unreachable every method fails promptly with ErrUnavailable,
// so that callers fail closed.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	_, err := redis.Open(ctx, "redis://:pw-secret@127.0.0.1:1/0")
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.NotContains(t, err.Error(), "pw-secret")

	s, _ := open(t)
	s.Close() // a closed client fails like a lost connection
	start := time.Now()
	_, _, err = s.IsRevoked(ctx, storage.TokenRef{JTI: "j", ClientID: "c", IssuedAt: time.Now()})
	require.ErrorIs(t, err, storage.ErrUnavailable)
	_, err = s.GetRefreshToken(ctx, "x", "s")
	require.ErrorIs(t, err, storage.ErrUnavailable)
	_, err = s.RotateRefreshToken(ctx, "x", "s", storage.RefreshToken{Secret: "t", ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)})
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.ErrorIs(t, s.CreateRefreshToken(ctx, storage.RefreshToken{ID: "z", ExpiresAt: time.Now().Add(time.Hour)}), storage.ErrUnavailable)
	require.ErrorIs(t, s.RevokeToken(ctx, "j", time.Now().Add(time.Hour)), storage.ErrUnavailable)
	require.ErrorIs(t, s.RevokeSubject(ctx, storage.SubjectUser, "u", time.Now(), time.Hour), storage.ErrUnavailable)
	_, err = s.MarkOnce(ctx, "k", time.Now().Add(time.Hour))
	require.ErrorIs(t, err, storage.ErrUnavailable)
	_, _, err = s.Failures(ctx, "m", []string{"k"})
	require.ErrorIs(t, err, storage.ErrUnavailable)
	_, _, err = s.TryAttempt(ctx, storage.Attempt{Marker: "m", Unknown: []storage.Bucket{{Key: "k", Free: 1}}, At: time.Now()})
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.ErrorIs(t, s.SettleAttempt(ctx, storage.Settlement{Forget: []string{"k"}, Marker: "m"}), storage.ErrUnavailable)
	require.ErrorIs(t, s.Ping(ctx), storage.ErrUnavailable)
	_, err = s.ChangeStamp(ctx)
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.ErrorIs(t, s.RevokeFamily(ctx, "f"), storage.ErrUnavailable)
	require.ErrorIs(t, s.PutEntry(ctx, "e", []byte("v"), time.Now().Add(time.Hour)), storage.ErrUnavailable)
	_, err = s.GetEntry(ctx, "e")
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.ErrorIs(t, s.DeleteEntry(ctx, "e"), storage.ErrUnavailable)
	_, _, err = s.TakeEntry(ctx, "e", time.Now().Add(time.Hour))
	require.ErrorIs(t, err, storage.ErrUnavailable)
	ls := storage.LoginSession{ID: "s", UserID: "u", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), IdleExpiresAt: time.Now().Add(time.Hour)}
	require.ErrorIs(t, s.CreateLoginSession(ctx, ls), storage.ErrUnavailable)
	_, err = s.GetLoginSession(ctx, "s", time.Minute)
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.ErrorIs(t, s.AddLoginSessionFamily(ctx, "s", "f"), storage.ErrUnavailable)
	require.ErrorIs(t, s.StartSessionGrant(ctx, "s", storage.RefreshToken{ID: "z", FamilyID: "f", ExpiresAt: time.Now().Add(time.Hour)}), storage.ErrUnavailable)
	_, err = s.EndLoginSession(ctx, "s")
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.Less(t, time.Since(start), 5*time.Second)
}

// TestMemoryPerEntry measures what one live access-token revocation and
// one refresh token cost in Redis (docs/operations.md quotes the figures).
func TestMemoryPerEntry(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	now := time.Now()
	jti := "Q2hhbmdlIG1lIGluIGEgd2Vl" // 22 characters, as the server issues
	require.NoError(t, s.RevokeToken(ctx, jti, now.Add(15*time.Minute)))
	id := "3q2-7wAAAAAAAAAAAAAAAA" // digests of the handle and secrets: 22 characters each
	require.NoError(t, s.CreateRefreshToken(ctx, storage.RefreshToken{
		ID: id, Secret: "c2VjcmV0IGRpZ2VzdCAxMj", PrevSecret: "cHJldmlvdXMgZGlnZXN0MT", FamilyID: "Zm9vYmFyYmF6cXV4cXV1eA", ClientID: "reports-app",
		UserID: "0b6b6c36-7d7f-4d77-9d0e-5b1f2c3d4e5f", Scopes: []string{"users-read", "groups-read"},
		IssuedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
	}))
	c := direct(t)
	revocation, err := c.MemoryUsage(ctx, prefix+"r:"+jti).Result()
	require.NoError(t, err)
	refresh, err := c.MemoryUsage(ctx, prefix+"t:"+id).Result()
	require.NoError(t, err)
	t.Logf("Redis memory: revoked access token %d bytes, refresh token %d bytes (prefix %d bytes)", revocation, refresh, len(prefix))
	require.Less(t, revocation, int64(150))
	require.Less(t, refresh, int64(400))
}

// A grant costs one record (and its family's index) however often it is
// refreshed: rotation rewrites it in place instead of leaving the spent
// tokens behind.
func TestRotationKeepsOneRecordPerGrant(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	now := time.Now()
	rec := storage.RefreshToken{ID: "grant", Secret: "s0", FamilyID: "fam", ClientID: "app", UserID: "u",
		Scopes: []string{"users-read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateRefreshToken(ctx, rec))
	for i := range 50 {
		_, err := s.RotateRefreshToken(ctx, "grant", fmt.Sprintf("s%d", i), storage.RefreshToken{
			Secret: fmt.Sprintf("s%d", i+1), ClientID: "app", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		require.NoError(t, err)
	}
	c := direct(t)
	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{prefix + "t:grant", prefix + "g:fam"}, keys)
}

func BenchmarkIsRevoked(b *testing.B) {
	s, _ := open(b)
	ref := storage.TokenRef{JTI: "bench", UserID: "u", ClientID: "c", IssuedAt: time.Now()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.IsRevoked(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIsRevokedParallel is many requests checking at once, as under
// load: their MGETs share pipelines.
func BenchmarkIsRevokedParallel(b *testing.B) {
	s, _ := open(b)
	ref := storage.TokenRef{JTI: "bench", UserID: "u", ClientID: "c", IssuedAt: time.Now()}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.IsRevoked(ctx, ref); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// A stamp Redis lost (restart without persistence, flush, eviction) comes
// back above every value it had: caches keyed by stamp never mistake
// state from before the loss for current.
func TestChangeStampNeverComesBackLower(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	c := direct(t)
	for _, read := range []func() (int64, error){
		func() (int64, error) { return s.ChangeStamp(ctx) },
		func() (int64, error) { return s.BumpChangeStamp(ctx) },
		func() (int64, error) {
			_, stamp, err := s.IsRevoked(ctx, storage.TokenRef{JTI: "j", ClientID: "c", IssuedAt: time.Now()})
			return stamp, err
		},
	} {
		var last int64
		for range 3 {
			n, err := s.BumpChangeStamp(ctx)
			require.NoError(t, err)
			last = n
		}
		require.NoError(t, c.Del(ctx, prefix+"stamp").Err())
		got, err := read()
		require.NoError(t, err)
		require.Greater(t, got, last)
	}

	// A partial loss (an AOF missing its last second) puts back an older
	// value; the next raise goes above everything seen before it.
	seen, err := s.BumpChangeStamp(ctx)
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, prefix+"stamp", seen-5, 0).Err())
	got, err := s.BumpChangeStamp(ctx)
	require.NoError(t, err)
	require.Greater(t, got, seen)
}

// A revoked-before mark that cannot be read fails the check closed.
func TestUnreadableMarkFailsClosed(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	c := direct(t)
	require.NoError(t, c.Set(ctx, prefix+"b:u:u1", "not a time", time.Minute).Err())
	_, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: "j", ClientID: "c", UserID: "u1", IssuedAt: time.Now()})
	require.ErrorIs(t, err, storage.ErrUnavailable)
}

// Marks and refresh records written in milliseconds, before issue times
// were kept to the microsecond, still decide as they did: an old mark
// covers its whole millisecond, an old record counts from the start of
// its own, so an upgrade revives no revoked token.
func TestMillisecondStateStillRevokes(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	c := direct(t)
	mark := time.Now().Truncate(time.Millisecond)
	require.NoError(t, c.Set(ctx, prefix+"b:u:u1", mark.UnixMilli(), time.Hour).Err())
	for _, tc := range []struct {
		iat  time.Time
		want bool
	}{
		{mark, true},
		{mark.Add(999 * time.Microsecond), true},
		{mark.Add(time.Millisecond), false},
	} {
		got, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: "j", ClientID: "c", UserID: "u1", IssuedAt: tc.iat})
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "iat %v after the mark", tc.iat.Sub(mark))
	}
	// An earlier microsecond mark does not replace the old one.
	require.NoError(t, s.RevokeSubject(ctx, storage.SubjectUser, "u1", mark.Add(500*time.Microsecond), time.Hour))
	got, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: "j", ClientID: "c", UserID: "u1", IssuedAt: mark.Add(999 * time.Microsecond)})
	require.NoError(t, err)
	require.True(t, got)

	// A record with a millisecond iat in the mark's millisecond is dead;
	// one from the next millisecond lives and rotates.
	old := func(id string, iat time.Time) {
		v := strings.Join([]string{"fam-" + id, "app", "u1", fmt.Sprint(iat.UnixMilli()), fmt.Sprint(iat.Add(time.Hour).UnixMilli()),
			id + "-s0", "", "users-read"}, "\x1f")
		require.NoError(t, c.Set(ctx, prefix+"t:"+id, v, time.Hour).Err())
	}
	old("dead", mark)
	old("live", mark.Add(time.Millisecond))
	_, err = s.GetRefreshToken(ctx, "dead", "dead-s0")
	require.ErrorIs(t, err, storage.ErrNotFound)
	rec, err := s.GetRefreshToken(ctx, "live", "live-s0")
	require.NoError(t, err)
	require.Equal(t, mark.Add(time.Millisecond).UnixMicro(), rec.IssuedAt.UnixMicro())
	_, err = s.RotateRefreshToken(ctx, "live", "live-s0", storage.RefreshToken{Secret: "live-s1", ClientID: "app",
		IssuedAt: mark.Add(2 * time.Millisecond), ExpiresAt: mark.Add(time.Hour)})
	require.NoError(t, err)
	_, err = s.RotateRefreshToken(ctx, "live", "live-s0", storage.RefreshToken{Secret: "x", ClientID: "app",
		IssuedAt: mark.Add(3 * time.Millisecond), ExpiresAt: mark.Add(time.Hour)})
	require.ErrorIs(t, err, storage.ErrNotFound, "the previous secret within the grace is refused, not taken for a reuse")
}

// Failure counts written before the previous failure's time was kept
// ("<failures>:<latest>") still decide and settle; an unreadable one fails
// the attempt closed.
func TestFailureCountFormats(t *testing.T) {
	ctx := context.Background()
	s, prefix := open(t)
	c := direct(t)
	at := time.Now()
	last := at.Add(-time.Second).UnixMicro()
	require.NoError(t, c.Set(ctx, prefix+"{l}l:old", fmt.Sprintf("3:%d", last), time.Hour).Err())
	attempt := storage.Attempt{Marker: "m", Unknown: []storage.Bucket{{Key: "old", Free: 2}}, At: at,
		BaseDelay: time.Minute, MaxDelay: time.Hour, Keep: time.Hour}
	_, wait, err := s.TryAttempt(ctx, attempt)
	require.NoError(t, err)
	require.Equal(t, time.Minute-time.Second, wait)

	require.NoError(t, c.Set(ctx, prefix+"{l}l:old", fmt.Sprintf("2:%d", last), time.Hour).Err())
	_, wait, err = s.TryAttempt(ctx, attempt)
	require.NoError(t, err)
	require.Zero(t, wait)
	require.NoError(t, s.SettleAttempt(ctx, storage.Settlement{At: at, TakeBack: []string{"old"}}))
	_, counts, err := s.Failures(ctx, "", []string{"old"})
	require.NoError(t, err)
	require.Equal(t, 2, counts[0].Failures)
	require.Equal(t, last, counts[0].Last.UnixMicro())

	require.NoError(t, c.Set(ctx, prefix+"{l}l:old", "not a count", time.Hour).Err())
	_, _, err = s.TryAttempt(ctx, attempt)
	require.ErrorIs(t, err, storage.ErrUnavailable)
}

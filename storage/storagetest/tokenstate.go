package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

// TokenStateHarness builds fresh token state for each test and moves its
// time forward. Memory moves its injected clock; Redis expires keys on its
// own clock, so its Advance lets real time pass (the suite keeps those
// lifetimes short).
type TokenStateHarness struct {
	New     func(t *testing.T) storage.TokenState
	Now     func() time.Time
	Advance func(t *testing.T, d time.Duration)
}

// RunTokenStateTests proves the documented behaviour of
// storage.TokenState.
func RunTokenStateTests(t *testing.T, h TokenStateHarness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h TokenStateHarness)
	}{
		{"RevokeToken", testRevokeToken},
		{"RevokeSubject", testRevokeSubject},
		{"RefreshLifecycle", testRefreshLifecycle},
		{"RefreshReuseRevokesFamily", testRefreshReuse},
		{"RefreshReuseGrace", testRefreshReuseGrace},
		{"RefreshConcurrentRotation", testRefreshConcurrent},
		{"RefreshFamilyOutlivesRecord", testRefreshFamilyOutlivesRecord},
		{"RefreshRevocation", testRefreshRevocation},
		{"RefreshExpiry", testRefreshExpiry},
		{"RevokeFamily", testRevokeFamily},
		{"Entries", testEntries},
		{"TakeEntry", testTakeEntry},
		{"TakeEntryConcurrent", testTakeEntryConcurrent},
		{"LoginSessionLifecycle", testLoginSessionLifecycle},
		{"LoginSessionIdle", testLoginSessionIdle},
		{"LoginSessionExpiry", testLoginSessionExpiry},
		{"LoginSessionConcurrentFamilies", testLoginSessionConcurrentFamilies},
		{"LoginSessionList", testLoginSessionList},
		{"LoginSessionListBounded", testLoginSessionListBounded},
		{"MarkOnce", testMarkOnce},
		{"Failures", testFailures},
		{"TryAttempt", testTryAttempt},
		{"SettleAttempt", testSettleAttempt},
		{"ConcurrentAttempts", testConcurrentAttempts},
		{"ChangeStamp", testChangeStamp},
		{"ConcurrentChecks", testConcurrentChecks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// short is the lifetime of entries whose expiry a test waits for.
const short = 300 * time.Millisecond

func testRevokeToken(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	ref := storage.TokenRef{JTI: "jti-1", ClientID: "c1", IssuedAt: now}
	revoked, _, err := s.IsRevoked(ctx, ref)
	require.NoError(t, err)
	require.False(t, revoked)

	require.NoError(t, s.RevokeToken(ctx, "jti-1", now.Add(short)))
	require.NoError(t, s.RevokeToken(ctx, "jti-past", now.Add(-time.Second)))
	revoked, _, err = s.IsRevoked(ctx, ref)
	require.NoError(t, err)
	require.True(t, revoked)
	revoked, _, err = s.IsRevoked(ctx, storage.TokenRef{JTI: "jti-2", ClientID: "c1", IssuedAt: now})
	require.NoError(t, err)
	require.False(t, revoked, "another token is not revoked")

	h.Advance(t, short+100*time.Millisecond)
	revoked, _, err = s.IsRevoked(ctx, ref)
	require.NoError(t, err)
	require.False(t, revoked, "the marker expires with the token")
}

func testRevokeSubject(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	// A mark with nanoseconds: compared at storage.TimeResolution, it
	// covers its own microsecond and nothing after.
	mark := h.Now().Truncate(time.Second).Add(123_456_789 * time.Nanosecond)
	us := storage.TimeResolution
	require.NoError(t, s.RevokeSubject(ctx, storage.SubjectUser, "u1", mark, time.Hour))
	for _, tc := range []struct {
		iat  time.Time
		user string
		want bool
	}{
		{mark.Add(-time.Minute), "u1", true},
		{mark, "u1", true},
		{mark.Truncate(us), "u1", true},
		{mark.Truncate(us).Add(us - time.Nanosecond), "u1", true},
		{mark.Truncate(us).Add(us), "u1", false},
		{mark.Add(us), "u1", false},
		{mark.Add(time.Millisecond), "u1", false},
		{mark.Add(time.Second), "u1", false},
		{mark.Add(-time.Minute), "u2", false},
		{mark.Add(-time.Minute), "", false},
	} {
		got, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: "j", UserID: tc.user, ClientID: "c", IssuedAt: tc.iat})
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "iat %v after the mark, user %q", tc.iat.Sub(mark), tc.user)
	}

	got, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: "j", UserID: "u1", ClientID: "c", FamilyID: "fam-live", IssuedAt: mark})
	require.NoError(t, err)
	require.True(t, got, "a user mark covers tokens issued with a refresh family too")

	// A later mark wins; an earlier one never replaces it.
	require.NoError(t, s.RevokeSubject(ctx, storage.SubjectUser, "u1", mark.Add(time.Minute), time.Hour))
	require.NoError(t, s.RevokeSubject(ctx, storage.SubjectUser, "u1", mark.Add(-time.Hour), time.Hour))
	got, _, err = s.IsRevoked(ctx, storage.TokenRef{JTI: "j", UserID: "u1", ClientID: "c", IssuedAt: mark.Add(30 * time.Second)})
	require.NoError(t, err)
	require.True(t, got)

	// Client marks cover client tokens and the client's user tokens.
	require.NoError(t, s.RevokeSubject(ctx, storage.SubjectClient, "c9", mark, time.Hour))
	got, _, err = s.IsRevoked(ctx, storage.TokenRef{JTI: "j", ClientID: "c9", IssuedAt: mark.Add(-time.Second)})
	require.NoError(t, err)
	require.True(t, got)
	got, _, err = s.IsRevoked(ctx, storage.TokenRef{JTI: "j", UserID: "u7", ClientID: "c9", IssuedAt: mark.Add(-time.Second)})
	require.NoError(t, err)
	require.True(t, got)
}

func record(id, client, user string, iat time.Time, ttl time.Duration) storage.RefreshToken {
	return storage.RefreshToken{ID: id, Secret: id + "-s0", FamilyID: "fam-" + id, ClientID: client, UserID: user,
		Scopes: []string{"users-read", "groups-read"}, IssuedAt: iat, ExpiresAt: iat.Add(ttl)}
}

// familyTokenRevoked reports whether an access token of user u1 and client
// app, issued at iat with refresh-token family fam, is revoked.
func familyTokenRevoked(t *testing.T, s storage.TokenState, fam string, iat time.Time) bool {
	t.Helper()
	revoked, _, err := s.IsRevoked(context.Background(), storage.TokenRef{JTI: "at", UserID: "u1", ClientID: "app", FamilyID: fam, IssuedAt: iat})
	require.NoError(t, err)
	return revoked
}

// rotation is what the token endpoint passes to RotateRefreshToken.
func rotation(secret, client string, iat time.Time) storage.RefreshToken {
	return storage.RefreshToken{Secret: secret, ClientID: client, IssuedAt: iat, ExpiresAt: iat.Add(time.Hour)}
}

func testRefreshLifecycle(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	rec := record("r1", "app", "u1", now, time.Hour)
	require.NoError(t, s.CreateRefreshToken(ctx, rec))
	require.ErrorIs(t, s.CreateRefreshToken(ctx, rec), storage.ErrAlreadyExists)

	got, err := s.GetRefreshToken(ctx, "r1", "r1-s0")
	require.NoError(t, err)
	require.Equal(t, rec.FamilyID, got.FamilyID)
	require.Equal(t, rec.Scopes, got.Scopes)
	require.Equal(t, rec.UserID, got.UserID)
	require.WithinDuration(t, rec.ExpiresAt, got.ExpiresAt, time.Millisecond)
	_, err = s.GetRefreshToken(ctx, "nope", "r1-s0")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, "r1", "r1-s9")
	require.ErrorIs(t, err, storage.ErrNotFound, "the handle without its current secret is no token")

	// Another client can neither use nor burn the token.
	_, err = s.RotateRefreshToken(ctx, "r1", "r1-s0", rotation("r1-s1", "other", now))
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, "r1", "r1-s9", rotation("r1-s1", "other", now))
	require.ErrorIs(t, err, storage.ErrNotFound)

	later := now.Add(time.Second)
	old, err := s.RotateRefreshToken(ctx, "r1", "r1-s0", rotation("r1-s1", "app", later))
	require.NoError(t, err)
	require.Equal(t, "r1", old.ID)
	require.WithinDuration(t, now, old.IssuedAt, time.Millisecond, "the record as it was")
	next, err := s.GetRefreshToken(ctx, "r1", "r1-s1")
	require.NoError(t, err)
	require.Equal(t, rec.FamilyID, next.FamilyID, "the family carries over")
	require.Equal(t, rec.UserID, next.UserID)
	require.Equal(t, rec.Scopes, next.Scopes)
	require.WithinDuration(t, later, next.IssuedAt, time.Millisecond)
	require.WithinDuration(t, later.Add(time.Hour), next.ExpiresAt, time.Millisecond, "rotation extends the grant")
	_, err = s.GetRefreshToken(ctx, "r1", "r1-s0")
	require.ErrorIs(t, err, storage.ErrNotFound, "a rotated token is no longer live")
}

func testRefreshReuse(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	require.NoError(t, s.CreateRefreshToken(ctx, record("a", "app", "u1", now, time.Hour)))
	_, err := s.RotateRefreshToken(ctx, "a", "a-s0", rotation("a-s1", "app", now))
	require.NoError(t, err)
	_, err = s.RotateRefreshToken(ctx, "a", "a-s1", rotation("a-s2", "app", now))
	require.NoError(t, err)

	// The first token again, two rotations later: a reuse.
	_, err = s.RotateRefreshToken(ctx, "a", "a-s0", rotation("a-x", "app", now))
	require.ErrorIs(t, err, storage.ErrRefreshReused)
	_, err = s.GetRefreshToken(ctx, "a", "a-s2")
	require.ErrorIs(t, err, storage.ErrNotFound, "the newest token of the family is dead too")
	_, err = s.RotateRefreshToken(ctx, "a", "a-s2", rotation("a-y", "app", now))
	require.ErrorIs(t, err, storage.ErrNotFound, "the record is gone")
	_, err = s.GetRefreshToken(ctx, "a", "a-x")
	require.ErrorIs(t, err, storage.ErrNotFound, "nothing was created by the reuse")
	require.True(t, familyTokenRevoked(t, s, "fam-a", now), "the family's access tokens die with it")
}

// The previous secret, shortly after its rotation, is the loser of a
// race with the same token: refused, but the winner's grant lives. Later,
// or any other secret, it is a reuse.
func testRefreshReuseGrace(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now().Truncate(time.Millisecond)
	require.NoError(t, s.CreateRefreshToken(ctx, record("g", "app", "u1", now, time.Hour)))
	_, err := s.RotateRefreshToken(ctx, "g", "g-s0", rotation("g-s1", "app", now))
	require.NoError(t, err)
	got, err := s.GetRefreshToken(ctx, "g", "g-s1")
	require.NoError(t, err)
	require.Equal(t, "g-s0", got.PrevSecret)

	almost := now.Add(storage.RefreshReuseGrace - time.Millisecond)
	_, err = s.RotateRefreshToken(ctx, "g", "g-s0", rotation("g-x", "app", almost))
	require.ErrorIs(t, err, storage.ErrNotFound, "the race's loser is refused")
	_, err = s.GetRefreshToken(ctx, "g", "g-s1")
	require.NoError(t, err, "the winner's token lives")
	_, err = s.GetRefreshToken(ctx, "g", "g-x")
	require.ErrorIs(t, err, storage.ErrNotFound, "the loser created nothing")

	_, err = s.RotateRefreshToken(ctx, "g", "g-s0", rotation("g-x", "app", now.Add(storage.RefreshReuseGrace)))
	require.ErrorIs(t, err, storage.ErrRefreshReused, "after the grace it is a reuse")
	_, err = s.GetRefreshToken(ctx, "g", "g-s1")
	require.ErrorIs(t, err, storage.ErrNotFound)

	// Within the grace, a secret that never was the previous one is a
	// reuse all the same.
	require.NoError(t, s.CreateRefreshToken(ctx, record("h", "app", "u1", now, time.Hour)))
	_, err = s.RotateRefreshToken(ctx, "h", "h-s0", rotation("h-s1", "app", now))
	require.NoError(t, err)
	_, err = s.RotateRefreshToken(ctx, "h", "h-other", rotation("h-x", "app", now))
	require.ErrorIs(t, err, storage.ErrRefreshReused)
}

func testRefreshConcurrent(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	require.NoError(t, s.CreateRefreshToken(ctx, record("root", "app", "u1", now, time.Hour)))
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := fmt.Sprintf("next-%d", i)
			_, err := s.RotateRefreshToken(ctx, "root", "root-s0", rotation(next, "app", now))
			if err == nil {
				mu.Lock()
				winners = append(winners, next)
				mu.Unlock()
			} else if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a loser within the grace must not be taken for a reuse: %v", err)
			}
		}()
	}
	wg.Wait()
	require.Len(t, winners, 1, "exactly one concurrent rotation succeeds")
	_, err := s.GetRefreshToken(ctx, "root", winners[0])
	require.NoError(t, err, "the winner's token lives")
	require.False(t, familyTokenRevoked(t, s, "fam-root", now), "and so do its access tokens")
}

// A family's revocation outlives a short-lived record: the access tokens
// issued with it may live longer than the refresh token.
func testRefreshFamilyOutlivesRecord(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	require.NoError(t, s.CreateRefreshToken(ctx, record("brief", "app", "u1", now, short)))
	require.NoError(t, s.RevokeRefreshToken(ctx, "brief"))
	require.NoError(t, s.CreateRefreshToken(ctx, record("reused", "app", "u1", now, short)))
	_, err := s.RotateRefreshToken(ctx, "reused", "wrong", rotation("x", "app", now))
	require.ErrorIs(t, err, storage.ErrRefreshReused)
	h.Advance(t, 1500*time.Millisecond)
	for _, fam := range []string{"fam-brief", "fam-reused"} {
		require.True(t, familyTokenRevoked(t, s, fam, now), fam)
	}
}

func testRefreshRevocation(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now().Truncate(time.Second)
	require.NoError(t, s.CreateRefreshToken(ctx, record("a", "app", "u1", now, time.Hour)))
	_, err := s.RotateRefreshToken(ctx, "a", "a-s0", rotation("a-s1", "app", now))
	require.NoError(t, err)
	require.NoError(t, s.RevokeRefreshToken(ctx, "a"))
	_, err = s.GetRefreshToken(ctx, "a", "a-s1")
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.NoError(t, s.RevokeRefreshToken(ctx, "unknown"))
	// Access tokens issued with the family die with it; others live.
	require.True(t, familyTokenRevoked(t, s, "fam-a", now))
	require.False(t, familyTokenRevoked(t, s, "fam-other", now))

	// "Revoked before" marks kill the records they cover.
	require.NoError(t, s.CreateRefreshToken(ctx, record("u", "app", "u2", now, time.Hour)))
	require.NoError(t, s.CreateRefreshToken(ctx, record("c", "app2", "u3", now, time.Hour)))
	require.NoError(t, s.CreateRefreshToken(ctx, record("later", "app", "u2", now.Add(2*time.Second), time.Hour)))
	require.NoError(t, s.RevokeSubject(ctx, storage.SubjectUser, "u2", now.Add(time.Second), time.Hour))
	require.NoError(t, s.RevokeSubject(ctx, storage.SubjectClient, "app2", now.Add(time.Second), time.Hour))
	for id, client := range map[string]string{"u": "app", "c": "app2"} {
		_, err = s.GetRefreshToken(ctx, id, id+"-s0")
		require.ErrorIs(t, err, storage.ErrNotFound, id)
		_, err = s.RotateRefreshToken(ctx, id, id+"-s0", rotation(id+"-s1", client, now))
		require.ErrorIs(t, err, storage.ErrNotFound, id)
	}
	_, err = s.GetRefreshToken(ctx, "later", "later-s0")
	require.NoError(t, err, "a token issued after the mark lives")

	// At storage.TimeResolution: a mark at T kills a record issued or
	// rotated at T, not one issued or rotated a microsecond later.
	us := storage.TimeResolution
	at := now.Add(10*time.Second + 123_456_789*time.Nanosecond)
	require.NoError(t, s.CreateRefreshToken(ctx, record("same", "app3", "u4", at, time.Hour)))
	require.NoError(t, s.CreateRefreshToken(ctx, record("next", "app3", "u4", at.Add(us), time.Hour)))
	require.NoError(t, s.CreateRefreshToken(ctx, record("rot", "app3", "u4", now, time.Hour)))
	_, err = s.RotateRefreshToken(ctx, "rot", "rot-s0", rotation("rot-s1", "app3", at.Add(us)))
	require.NoError(t, err)
	got, err := s.GetRefreshToken(ctx, "next", "next-s0")
	require.NoError(t, err)
	require.Equal(t, at.Add(us).Truncate(us).UnixMicro(), got.IssuedAt.UnixMicro(), "kept to the microsecond")
	require.NoError(t, s.RevokeSubject(ctx, storage.SubjectUser, "u4", at, time.Hour))
	_, err = s.GetRefreshToken(ctx, "same", "same-s0")
	require.ErrorIs(t, err, storage.ErrNotFound, "issued in the mark's microsecond")
	_, err = s.GetRefreshToken(ctx, "next", "next-s0")
	require.NoError(t, err, "issued a microsecond after the mark")
	_, err = s.GetRefreshToken(ctx, "rot", "rot-s1")
	require.NoError(t, err, "rotated a microsecond after the mark")
	_, err = s.RotateRefreshToken(ctx, "next", "next-s0", rotation("next-s1", "app3", at.Add(2*us)))
	require.NoError(t, err)
}

func testRefreshExpiry(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	require.NoError(t, s.CreateRefreshToken(ctx, record("short", "app", "u1", now, short)))
	_, err := s.GetRefreshToken(ctx, "short", "short-s0")
	require.NoError(t, err)
	h.Advance(t, short+100*time.Millisecond)
	_, err = s.GetRefreshToken(ctx, "short", "short-s0")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, "short", "short-s0", rotation("short-s1", "app", now))
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func testMarkOnce(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	exp := h.Now().Add(short)
	first, err := s.MarkOnce(ctx, "k", exp)
	require.NoError(t, err)
	require.True(t, first)
	again, err := s.MarkOnce(ctx, "k", exp)
	require.NoError(t, err)
	require.False(t, again)
	other, err := s.MarkOnce(ctx, "k2", exp)
	require.NoError(t, err)
	require.True(t, other)
	h.Advance(t, short+100*time.Millisecond)
	after, err := s.MarkOnce(ctx, "k", h.Now().Add(short))
	require.NoError(t, err)
	require.True(t, after, "the marker expires")
}

func testFailures(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	marked, counts, err := s.Failures(ctx, "m", []string{"a", "b"})
	require.NoError(t, err)
	require.False(t, marked)
	require.Equal(t, []storage.FailureCount{{}, {}}, counts, "never counted")
	// fail counts a failure on keys at at, through attempts that never wait.
	fail := func(at time.Time, keep time.Duration, keys ...string) {
		t.Helper()
		var bs []storage.Bucket
		for _, k := range keys {
			bs = append(bs, storage.Bucket{Key: k, Free: 1000})
		}
		_, wait, err := s.TryAttempt(ctx, storage.Attempt{Unknown: bs, At: at, BaseDelay: time.Second, MaxDelay: time.Second, Keep: keep})
		require.NoError(t, err)
		require.Zero(t, wait)
	}

	// The failures' own times, passed by the caller, to the microsecond.
	later := now.Add(time.Second + 1500*time.Nanosecond)
	fail(now, short, "a", "b")
	fail(later, short, "a")
	marked, counts, err = s.Failures(ctx, "m", []string{"b", "c", "a"})
	require.NoError(t, err)
	require.False(t, marked)
	require.Len(t, counts, 3)
	require.Equal(t, 1, counts[0].Failures)
	require.Equal(t, now.Truncate(storage.TimeResolution).UnixMicro(), counts[0].Last.UnixMicro())
	require.Equal(t, storage.FailureCount{}, counts[1])
	require.Equal(t, 2, counts[2].Failures)
	require.Equal(t, later.Truncate(storage.TimeResolution).UnixMicro(), counts[2].Last.UnixMicro())

	require.NoError(t, s.SettleAttempt(ctx, storage.Settlement{Forget: []string{"a"}, Marker: "m", MarkKeep: short}))
	marked, counts, err = s.Failures(ctx, "m", []string{"a", "b"})
	require.NoError(t, err)
	require.True(t, marked)
	require.Equal(t, storage.FailureCount{}, counts[0], "forgotten")
	require.Equal(t, 1, counts[1].Failures, "not named, kept")
	marked, _, err = s.Failures(ctx, "other", nil)
	require.NoError(t, err)
	require.False(t, marked, "markers are apart")

	// A failure keeps its key for keep after it; then it and the marker
	// are forgotten.
	h.Advance(t, short/2)
	fail(h.Now(), short, "b")
	h.Advance(t, short/2+50*time.Millisecond)
	_, counts, err = s.Failures(ctx, "m", []string{"b"})
	require.NoError(t, err)
	require.Equal(t, 2, counts[0].Failures, "the latest failure renewed it")
	h.Advance(t, short)
	marked, counts, err = s.Failures(ctx, "m", []string{"b"})
	require.NoError(t, err)
	require.False(t, marked)
	require.Equal(t, storage.FailureCount{}, counts[0])
}

// counts reads the failure counts of keys.
func counts(t *testing.T, s storage.TokenState, keys ...string) []storage.FailureCount {
	t.Helper()
	_, c, err := s.Failures(context.Background(), "", keys)
	require.NoError(t, err)
	return c
}

// micros is a time as token state keeps it.
func micros(at time.Time) int64 { return at.Truncate(storage.TimeResolution).UnixMicro() }

func testTryAttempt(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	t0 := h.Now()
	attempt := func(at time.Time) storage.Attempt {
		return storage.Attempt{
			Marker:  "m",
			Known:   []storage.Bucket{{Key: "us", Free: 2}},
			Unknown: []storage.Bucket{{Key: "u", Free: 2}, {Key: "s", Free: 1}},
			At:      at, BaseDelay: time.Second, MaxDelay: 4 * time.Second, Keep: time.Minute,
		}
	}
	try := func(at time.Time) (bool, time.Duration) {
		t.Helper()
		marked, wait, err := s.TryAttempt(ctx, attempt(at))
		require.NoError(t, err)
		return marked, wait
	}

	// Free failures pass, and so does the first one beyond, which sets the
	// first delay; each attempt that passes is counted in every bucket.
	for range 2 {
		marked, wait := try(t0)
		require.False(t, marked)
		require.Zero(t, wait)
	}
	c := counts(t, s, "u", "s", "us")
	require.Equal(t, []int{2, 2, 0}, []int{c[0].Failures, c[1].Failures, c[2].Failures})
	require.Equal(t, micros(t0), c[1].Last.UnixMicro())

	// s has one failure beyond its free one: a wait of BaseDelay from the
	// latest, measured on the attempt's time. A refused attempt counts
	// nowhere.
	_, wait := try(t0.Add(100 * time.Millisecond))
	require.Equal(t, 900*time.Millisecond, wait)
	require.Equal(t, 2, counts(t, s, "u")[0].Failures)

	// The longest wait of any bucket: after a third, s waits 2 s, u 1 s.
	t1 := t0.Add(time.Second)
	_, wait = try(t1)
	require.Zero(t, wait)
	_, wait = try(t1.Add(500 * time.Millisecond))
	require.Equal(t, 1500*time.Millisecond, wait)
	// Doubling up to MaxDelay.
	at := t1
	for _, d := range []time.Duration{2, 4, 4} {
		at = at.Add(d * time.Second)
		_, wait = try(at.Add(-time.Microsecond))
		require.Equal(t, time.Microsecond, wait, "%v", d)
		_, wait = try(at)
		require.Zero(t, wait)
	}

	// With the marker set, only the known-source buckets count.
	require.NoError(t, s.SettleAttempt(ctx, storage.Settlement{Marker: "m", MarkKeep: time.Minute}))
	before := counts(t, s, "u", "s")
	marked, wait := try(at)
	require.True(t, marked)
	require.Zero(t, wait, "s and u are not read")
	require.Equal(t, before, counts(t, s, "u", "s"))
	require.Equal(t, 1, counts(t, s, "us")[0].Failures)

	// Keys counted by an attempt are forgotten Keep after it.
	a := attempt(h.Now())
	a.Marker, a.Unknown, a.Keep = "other", []storage.Bucket{{Key: "brief", Free: 1}}, short
	_, _, err := s.TryAttempt(ctx, a)
	require.NoError(t, err)
	require.Equal(t, 1, counts(t, s, "brief")[0].Failures)
	h.Advance(t, short+100*time.Millisecond)
	require.Equal(t, storage.FailureCount{}, counts(t, s, "brief")[0])
}

func testSettleAttempt(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	t0 := h.Now()
	try := func(at time.Time, keys ...string) {
		t.Helper()
		var bs []storage.Bucket
		for _, k := range keys {
			bs = append(bs, storage.Bucket{Key: k, Free: 100})
		}
		_, wait, err := s.TryAttempt(ctx, storage.Attempt{Marker: "m", Unknown: bs, At: at,
			BaseDelay: time.Second, MaxDelay: time.Minute, Keep: time.Minute})
		require.NoError(t, err)
		require.Zero(t, wait)
	}
	t1, t2, t3 := t0.Add(time.Second), t0.Add(2*time.Second), t0.Add(3*time.Second)
	try(t0, "a", "b", "c", "gone")
	try(t1, "a", "b", "c")
	try(t2, "a", "b")
	try(t3, "b")

	// Taking back the attempt at t2: a loses it and its time (the latest
	// failure is t1's again); b loses it but keeps t3's, which came later;
	// c had none at t2 and loses t1's count; a count of one is forgotten.
	// Forgotten keys go whatever their count; the marker is set.
	require.NoError(t, s.SettleAttempt(ctx, storage.Settlement{At: t2, TakeBack: []string{"a", "b", "gone"},
		Forget: []string{"c"}, Marker: "m", MarkKeep: time.Minute}))
	c := counts(t, s, "a", "b", "c", "gone")
	require.Equal(t, 2, c[0].Failures)
	require.Equal(t, micros(t1), c[0].Last.UnixMicro())
	require.Equal(t, 3, c[1].Failures)
	require.Equal(t, micros(t3), c[1].Last.UnixMicro())
	require.Equal(t, storage.FailureCount{}, c[2])
	require.Equal(t, storage.FailureCount{}, c[3])
	marked, _, err := s.Failures(ctx, "m", nil)
	require.NoError(t, err)
	require.True(t, marked)

	// Unknown keys are no error, and nothing to settle is nothing.
	require.NoError(t, s.SettleAttempt(ctx, storage.Settlement{At: t2, TakeBack: []string{"never"}, Forget: []string{"nor"}}))
	require.NoError(t, s.SettleAttempt(ctx, storage.Settlement{}))
	require.Equal(t, storage.FailureCount{}, counts(t, s, "never")[0])
}

// Concurrent attempts see each other: however many arrive at once,
// exactly as many pass as would one after the other (a bucket's free
// failures and the one that sets the first delay), also when they share
// only some of their buckets.
func testConcurrentAttempts(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	at := h.Now()
	run := func(n int, buckets func(i int) []storage.Bucket) int {
		var passed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, wait, err := s.TryAttempt(ctx, storage.Attempt{Marker: "m", Unknown: buckets(i), At: at,
					BaseDelay: time.Hour, MaxDelay: time.Hour, Keep: time.Minute})
				if assert.NoError(t, err) && wait == 0 {
					passed.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		return int(passed.Load())
	}

	// One user's buckets: the strictest decides.
	got := run(24, func(int) []storage.Bucket {
		return []storage.Bucket{{Key: "user", Free: 5}, {Key: "user-client", Free: 3}}
	})
	require.Equal(t, 4, got)
	c := counts(t, s, "user", "user-client")
	require.Equal(t, 4, c[0].Failures)
	require.Equal(t, 4, c[1].Failures)

	// Many users from one address: each user's own buckets are fresh,
	// the address's is shared.
	got = run(24, func(i int) []storage.Bucket {
		return []storage.Bucket{{Key: fmt.Sprintf("user-%d", i), Free: 3}, {Key: "address", Free: 5}}
	})
	require.Equal(t, 6, got)
	require.Equal(t, 6, counts(t, s, "address")[0].Failures)
}

func testChangeStamp(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	v0, err := s.ChangeStamp(ctx)
	require.NoError(t, err)
	v1, err := s.BumpChangeStamp(ctx)
	require.NoError(t, err)
	require.Greater(t, v1, v0)
	got, err := s.ChangeStamp(ctx)
	require.NoError(t, err)
	require.Equal(t, v1, got)
	v2, err := s.BumpChangeStamp(ctx)
	require.NoError(t, err)
	require.Greater(t, v2, v1)

	// IsRevoked reads the same stamp in its round trip, whatever the token.
	for _, ref := range []storage.TokenRef{
		{JTI: "j", ClientID: "c", IssuedAt: h.Now()},
		{JTI: "j", ClientID: "c", UserID: "u", IssuedAt: h.Now()},
		{JTI: "j", ClientID: "c", UserID: "u", FamilyID: "f", IssuedAt: h.Now()},
	} {
		_, stamp, err := s.IsRevoked(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, v2, stamp, "%+v", ref)
	}
}

// Concurrent checks (which an implementation may batch) each get their own
// answer, and a stamp no older than the last change made before them.
func testConcurrentChecks(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	for i := range 20 {
		if i%2 == 1 {
			require.NoError(t, s.RevokeToken(ctx, fmt.Sprintf("jti-%d", i), now.Add(time.Hour)))
		}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 40 {
				i := (g*7 + n) % 20
				changed, err := s.BumpChangeStamp(ctx)
				if !assert.NoError(t, err) {
					return
				}
				revoked, stamp, err := s.IsRevoked(ctx, storage.TokenRef{JTI: fmt.Sprintf("jti-%d", i), ClientID: "c", IssuedAt: now})
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, i%2 == 1, revoked, "jti-%d", i)
				assert.GreaterOrEqual(t, stamp, changed)
				got, err := s.ChangeStamp(ctx)
				assert.NoError(t, err)
				assert.GreaterOrEqual(t, got, changed)
			}
		}()
	}
	wg.Wait()
}

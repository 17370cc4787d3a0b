package storagetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

// loginSession is a session created at now, with nanoseconds in its
// times: token state keeps them at storage.TimeResolution.
func loginSession(id string, now time.Time, idle, absolute time.Duration) storage.LoginSession {
	return storage.LoginSession{ID: id, UserID: "0b6b6c36-7d7f-4d77-9d0e-5b1f2c3d4e5f",
		AuthTime: now.Add(-time.Minute + 789*time.Nanosecond), AMR: []string{"pwd"},
		CreatedAt: now, ExpiresAt: now.Add(absolute), IdleExpiresAt: now.Add(idle)}
}

// requireSession checks got against want at storage.TimeResolution, the
// families in any order.
func requireSession(t *testing.T, want, got storage.LoginSession, families ...string) {
	t.Helper()
	us := storage.TimeResolution
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.UserID, got.UserID)
	require.Equal(t, want.AMR, got.AMR)
	for _, tc := range []struct {
		name      string
		want, got time.Time
	}{
		{"AuthTime", want.AuthTime, got.AuthTime},
		{"CreatedAt", want.CreatedAt, got.CreatedAt},
		{"ExpiresAt", want.ExpiresAt, got.ExpiresAt},
		{"IdleExpiresAt", want.IdleExpiresAt, got.IdleExpiresAt},
	} {
		require.Equal(t, tc.want.Truncate(us).UnixMicro(), tc.got.UnixMicro(), tc.name)
	}
	require.ElementsMatch(t, families, got.Families)
}

func testLoginSessionLifecycle(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	_, err := s.GetLoginSession(ctx, "sid", 0)
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.ErrorIs(t, s.AddLoginSessionFamily(ctx, "sid", "f1"), storage.ErrNotFound)
	_, err = s.EndLoginSession(ctx, "sid")
	require.ErrorIs(t, err, storage.ErrNotFound)

	ls := loginSession("sid", now, time.Hour, 8*time.Hour)
	require.NoError(t, s.CreateLoginSession(ctx, ls))
	require.ErrorIs(t, s.CreateLoginSession(ctx, ls), storage.ErrAlreadyExists)
	got, err := s.GetLoginSession(ctx, "sid", 0)
	require.NoError(t, err)
	requireSession(t, ls, got)
	require.NotNil(t, got.Families)

	require.NoError(t, s.AddLoginSessionFamily(ctx, "sid", "f1"))
	require.NoError(t, s.AddLoginSessionFamily(ctx, "sid", "f2"))
	require.NoError(t, s.AddLoginSessionFamily(ctx, "sid", "f1"))
	got, err = s.GetLoginSession(ctx, "sid", 0)
	require.NoError(t, err)
	requireSession(t, ls, got, "f1", "f2")

	ended, err := s.EndLoginSession(ctx, "sid")
	require.NoError(t, err)
	requireSession(t, ls, ended, "f1", "f2")
	_, err = s.EndLoginSession(ctx, "sid")
	require.ErrorIs(t, err, storage.ErrNotFound, "a session ends once")
	_, err = s.GetLoginSession(ctx, "sid", time.Hour)
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.ErrorIs(t, s.AddLoginSessionFamily(ctx, "sid", "f3"), storage.ErrNotFound)

	// The id is free again, and the new session has none of the old one's
	// families; families given at creation are kept.
	require.NoError(t, s.CreateLoginSession(ctx, ls))
	got, err = s.GetLoginSession(ctx, "sid", 0)
	require.NoError(t, err)
	requireSession(t, ls, got)
	withFamilies := loginSession("sid2", now, time.Hour, 8*time.Hour)
	withFamilies.Families = []string{"g1", "g2"}
	require.NoError(t, s.CreateLoginSession(ctx, withFamilies))
	got, err = s.GetLoginSession(ctx, "sid2", 0)
	require.NoError(t, err)
	requireSession(t, withFamilies, got, "g1", "g2")
}

// Using a session pushes its idle expiry forward, never past its absolute
// one. Times are measured from h.Now() with margins, as Redis extends on
// its own clock.
func testLoginSessionIdle(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	start := h.Now()
	ls := loginSession("sid", start, short, 4*short)
	require.NoError(t, s.CreateLoginSession(ctx, ls))

	got, err := s.GetLoginSession(ctx, "sid", 0)
	require.NoError(t, err)
	requireSession(t, ls, got)
	// now+idle before the idle expiry: it never moves back.
	got, err = s.GetLoginSession(ctx, "sid", short/10)
	require.NoError(t, err)
	requireSession(t, ls, got)

	h.Advance(t, 2*short/3)
	got, err = s.GetLoginSession(ctx, "sid", short)
	require.NoError(t, err)
	require.WithinDuration(t, h.Now().Add(short), got.IdleExpiresAt, short/3, "extended by idle from now")
	require.Equal(t, ls.ExpiresAt.Truncate(storage.TimeResolution).UnixMicro(), got.ExpiresAt.UnixMicro())
	extended := got.IdleExpiresAt

	// Past the first idle expiry (2/3 + 1/2 of short after the start),
	// before the extended one (1/2 of short after the extension): a slow
	// machine only moves this later, so the second margin is the wide one.
	h.Advance(t, short/2)
	got, err = s.GetLoginSession(ctx, "sid", 0)
	require.NoError(t, err, "the extension was kept")
	require.Equal(t, extended.UnixMicro(), got.IdleExpiresAt.UnixMicro())
	require.NoError(t, s.AddLoginSessionFamily(ctx, "sid", "f1"))

	got, err = s.GetLoginSession(ctx, "sid", time.Hour)
	require.NoError(t, err)
	require.Equal(t, ls.ExpiresAt.Truncate(storage.TimeResolution).UnixMicro(), got.IdleExpiresAt.UnixMicro(),
		"never past the absolute expiry")
	require.Equal(t, []string{"f1"}, got.Families)

	h.Advance(t, 4*short) // past the absolute expiry
	_, err = s.GetLoginSession(ctx, "sid", time.Hour)
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// A session is not live past either expiry, for any method, and its id is
// then free.
func testLoginSessionExpiry(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	idle := loginSession("idle", now, short, time.Hour)
	absolute := loginSession("absolute", now, time.Hour, short) // the absolute bound rules even so
	for _, ls := range []storage.LoginSession{idle, absolute} {
		require.NoError(t, s.CreateLoginSession(ctx, ls))
		require.NoError(t, s.AddLoginSessionFamily(ctx, ls.ID, "f-"+ls.ID))
	}
	h.Advance(t, short+100*time.Millisecond)
	for _, id := range []string{"idle", "absolute"} {
		_, err := s.GetLoginSession(ctx, id, time.Hour)
		require.ErrorIs(t, err, storage.ErrNotFound, id)
		require.ErrorIs(t, s.AddLoginSessionFamily(ctx, id, "f2"), storage.ErrNotFound, id)
		_, err = s.EndLoginSession(ctx, id)
		require.ErrorIs(t, err, storage.ErrNotFound, id)
	}
	later := h.Now()
	again := loginSession("idle", later, time.Hour, time.Hour)
	require.NoError(t, s.CreateLoginSession(ctx, again), "an expired session's id is free")
	got, err := s.EndLoginSession(ctx, "idle")
	require.NoError(t, err)
	requireSession(t, again, got)
}

// Concurrent grants in one session, while it is used, all end with it.
func testLoginSessionConcurrentFamilies(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	require.NoError(t, s.CreateLoginSession(ctx, loginSession("sid", now, time.Hour, 8*time.Hour)))
	const n = 32
	var wg sync.WaitGroup
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("fam-%d", i)
		wg.Add(2)
		go func() {
			defer wg.Done()
			assert.NoError(t, s.AddLoginSessionFamily(ctx, "sid", want[i]))
		}()
		go func() {
			defer wg.Done()
			_, err := s.GetLoginSession(ctx, "sid", time.Hour)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	ended, err := s.EndLoginSession(ctx, "sid")
	require.NoError(t, err)
	require.ElementsMatch(t, want, ended.Families, "no family lost")
}

// A user's list holds their live sessions, newest first, with the device
// cut to storage.MaxDeviceLen; ended and expired sessions drop out, and
// another user's never appear.
func testLoginSessionList(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	const alice, bob = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	list := func(user string) []storage.LoginSession {
		t.Helper()
		got, err := s.ListLoginSessions(ctx, user)
		require.NoError(t, err)
		return got
	}
	require.Empty(t, list(alice))

	long := strings.Repeat("é", storage.MaxDeviceLen) // two bytes each: cut on a rune boundary
	sessions := []struct {
		id, user, device string
		created          time.Duration
		idle             time.Duration
	}{
		{"a-old", alice, "Firefox on Linux", -3 * time.Minute, time.Hour},
		{"a-mid", alice, long, -2 * time.Minute, time.Hour},
		{"a-new", alice, "Chrome\x1fon\x1fAndroid", -time.Minute, time.Hour},
		{"a-short", alice, "Safari", -time.Minute, short},
		{"a-ended", alice, "Edge", 0, time.Hour},
		{"b-only", bob, "curl", 0, time.Hour},
	}
	for _, c := range sessions {
		ls := loginSession(c.id, now.Add(c.created), c.idle-c.created, 8*time.Hour)
		ls.UserID, ls.Device = c.user, c.device
		require.NoError(t, s.CreateLoginSession(ctx, ls))
		require.NoError(t, s.AddLoginSessionFamily(ctx, c.id, "f-"+c.id))
	}
	_, err := s.EndLoginSession(ctx, "a-ended")
	require.NoError(t, err)
	h.Advance(t, short+100*time.Millisecond)

	got := list(alice)
	require.Len(t, got, 3)
	var ids []string
	for _, ls := range got {
		ids = append(ids, ls.ID)
		require.Equal(t, alice, ls.UserID)
		require.Empty(t, ls.Families, "a list shows no grants")
		require.Equal(t, []string{"pwd"}, ls.AMR)
	}
	require.Equal(t, []string{"a-new", "a-mid", "a-old"}, ids, "newest first")
	require.Equal(t, now.Add(-time.Minute).Truncate(storage.TimeResolution).UnixMicro(), got[0].CreatedAt.UnixMicro())
	require.Equal(t, "Firefox on Linux", got[2].Device)
	require.LessOrEqual(t, len(got[1].Device), storage.MaxDeviceLen)
	require.True(t, utf8.ValidString(got[1].Device))
	require.True(t, strings.HasPrefix(long, got[1].Device) && len(got[1].Device) >= storage.MaxDeviceLen-1)
	require.Contains(t, got[0].Device, "Chrome")
	require.Contains(t, got[0].Device, "Android")

	only := list(bob)
	require.Len(t, only, 1)
	require.Equal(t, "b-only", only[0].ID)
	require.Equal(t, "curl", only[0].Device)

	one, err := s.GetLoginSession(ctx, "a-new", 0)
	require.NoError(t, err)
	require.Equal(t, []string{"f-a-new"}, one.Families, "listing changes no session")
}

// A user's list keeps the storage.MaxListedSessions newest sessions.
func testLoginSessionListBounded(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	n := storage.MaxListedSessions + 5
	for i := range n {
		ls := loginSession(fmt.Sprintf("s%03d", i), now.Add(time.Duration(i-n)*time.Second), time.Hour, 8*time.Hour)
		require.NoError(t, s.CreateLoginSession(ctx, ls))
	}
	got, err := s.ListLoginSessions(ctx, loginSession("", now, 0, 0).UserID)
	require.NoError(t, err)
	require.Len(t, got, storage.MaxListedSessions)
	require.Equal(t, fmt.Sprintf("s%03d", n-1), got[0].ID)
	require.Equal(t, fmt.Sprintf("s%03d", n-storage.MaxListedSessions), got[len(got)-1].ID)
}

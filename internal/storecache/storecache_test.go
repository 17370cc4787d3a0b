package storecache

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

// flakyStamps is token state whose stamp raises fail while down is set.
type flakyStamps struct {
	*memory.TokenState
	down atomic.Bool
}

func (f *flakyStamps) BumpChangeStamp(ctx context.Context) (int64, error) {
	if f.down.Load() {
		return 0, errors.New("dial: connection refused")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return f.TokenState.BumpChangeStamp(ctx)
}

var system = storage.System("test")

func newUser(t *testing.T, s *Store) storage.User {
	u, err := s.CreateUser(context.Background(), system, storage.DefaultRealm,
		storage.User{Username: "ada", Language: "en", Status: storage.StatusActive}, nil)
	require.NoError(t, err)
	return u
}

// A change is committed before the stamp is raised: a caller hanging up
// in between must not leave other nodes on the old state.
func TestChangeRaisesTheStampEvenIfTheCallerHangsUp(t *testing.T) {
	stamps := &flakyStamps{TokenState: memory.NewTokenState(nil)}
	s := New(memory.New(), stamps)
	u := newUser(t, s)
	before, err := stamps.ChangeStamp(context.Background())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.UpdateUser(ctx, system, storage.DefaultRealm, u.ID, func(u *storage.User) error {
		u.Status = storage.StatusDisabled
		return nil
	})
	require.NoError(t, err)
	after, err := stamps.ChangeStamp(context.Background())
	require.NoError(t, err)
	require.Greater(t, after, before)
}

// When the stamp cannot be raised, the change is not acknowledged, this
// node stops serving what it cached, and the stamp is raised as soon as
// token state answers again.
func TestFailedStampRaiseIsRetried(t *testing.T) {
	stamps := &flakyStamps{TokenState: memory.NewTokenState(nil)}
	s := New(memory.New(), stamps)
	u := newUser(t, s)
	ctx, err := s.Begin(context.Background())
	require.NoError(t, err)
	got, err := s.GetUser(ctx, storage.DefaultRealm, u.ID)
	require.NoError(t, err)
	require.Equal(t, storage.StatusActive, got.Status)
	before, err := stamps.ChangeStamp(context.Background())
	require.NoError(t, err)

	stamps.down.Store(true)
	_, err = s.UpdateUser(context.Background(), system, storage.DefaultRealm, u.ID, func(u *storage.User) error {
		u.Status = storage.StatusDisabled
		return nil
	})
	require.Error(t, err, "a change other nodes may not see is not acknowledged")
	got, err = s.GetUser(ctx, storage.DefaultRealm, u.ID)
	require.NoError(t, err)
	require.Equal(t, storage.StatusDisabled, got.Status, "this node no longer serves what it cached")

	stamps.down.Store(false)
	require.Eventually(t, func() bool {
		now, err := stamps.ChangeStamp(context.Background())
		return err == nil && now > before
	}, 10*time.Second, 10*time.Millisecond)
}

// heldStore holds the first GetUser after it has read, until released.
type heldStore struct {
	storage.Store
	once    atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (h *heldStore) GetUser(ctx context.Context, realm, id string) (storage.User, error) {
	u, err := h.Store.GetUser(ctx, realm, id)
	if h.once.CompareAndSwap(false, true) {
		close(h.read)
		<-h.release
	}
	return u, err
}

// A read that began before a change whose stamp raise failed may carry the
// old state; since the stamp did not move, keeping it would serve the old
// state on this node until it does.
func TestReadsInFlightAcrossAFailedRaiseAreNotKept(t *testing.T) {
	stamps := &flakyStamps{TokenState: memory.NewTokenState(nil)}
	inner := &heldStore{Store: memory.New(), read: make(chan struct{}), release: make(chan struct{})}
	s := New(inner, stamps)
	u := newUser(t, s)
	ctx, err := s.Begin(context.Background())
	require.NoError(t, err)

	done := make(chan storage.User)
	go func() {
		got, err := s.GetUser(ctx, storage.DefaultRealm, u.ID)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	<-inner.read
	stamps.down.Store(true)
	_, err = s.UpdateUser(context.Background(), system, storage.DefaultRealm, u.ID, func(u *storage.User) error {
		u.Status = storage.StatusDisabled
		return nil
	})
	require.Error(t, err)
	close(inner.release)
	require.Equal(t, storage.StatusActive, (<-done).Status, "the read in flight saw the old state")

	got, err := s.GetUser(ctx, storage.DefaultRealm, u.ID)
	require.NoError(t, err)
	require.Equal(t, storage.StatusDisabled, got.Status, "and it was not kept")
	stamps.down.Store(false)
}

// Stats counts hits and misses per cache and the stamp reads.
func TestStats(t *testing.T) {
	stamps := memory.NewTokenState(nil)
	s := New(memory.New(), stamps)
	u := newUser(t, s)
	for range 3 {
		ctx, err := s.Begin(context.Background())
		require.NoError(t, err)
		_, err = s.GetUser(ctx, storage.DefaultRealm, u.ID)
		require.NoError(t, err)
	}
	_, err := s.GetUser(context.Background(), storage.DefaultRealm, u.ID)
	require.NoError(t, err, "outside a view: neither hit nor miss")

	st := s.Stats()
	require.Equal(t, uint64(3), st.StampRequests)
	require.Equal(t, uint64(3), st.StampReads, "one request at a time: one read each")
	byName := map[string]CacheStats{}
	for _, c := range st.Caches {
		byName[c.Name] = c
	}
	require.Equal(t, CacheStats{Name: "user", Hits: 2, Misses: 1}, byName["user"])
	require.Equal(t, CacheStats{Name: "client"}, byName["client"])
	require.Len(t, st.Caches, 6)
}

// A token for a context stays on the cached path: the context's path and
// what the user holds there are read once per change stamp, and a change
// of a membership in the context is seen by the next request.
func TestContextReadsAreCached(t *testing.T) {
	ctx0 := context.Background()
	r := storage.DefaultRealm
	s := New(memory.New(), memory.NewTokenState(nil))
	u := newUser(t, s)
	g, err := s.CreateGroup(ctx0, system, r, storage.Group{Name: "g", Resources: []string{"users-read"}})
	require.NoError(t, err)
	for _, c := range []storage.Context{{ID: "org", Name: "Org"}, {ID: "app", Name: "App", ParentID: "org"}} {
		_, err := s.CreateContext(ctx0, system, r, c)
		require.NoError(t, err)
	}
	require.NoError(t, s.AddGroupMemberIn(ctx0, system, r, "org", g.ID, u.ID))

	read := func() []storage.EffectiveResource {
		ctx, err := s.Begin(ctx0)
		require.NoError(t, err)
		path, err := s.ContextPath(ctx, r, "app")
		require.NoError(t, err)
		require.Equal(t, []string{"app", "org"}, path)
		eff, err := s.UserResourcesIn(ctx, r, u.ID, "app")
		require.NoError(t, err)
		return eff
	}
	for range 3 {
		require.Equal(t, []string{"users-read"}, storage.ResourceNamesOf(read()))
	}
	byName := map[string]CacheStats{}
	for _, c := range s.Stats().Caches {
		byName[c.Name] = c
	}
	require.Equal(t, CacheStats{Name: "context_path", Hits: 2, Misses: 1}, byName["context_path"])
	require.Equal(t, CacheStats{Name: "user_resources_in_context", Hits: 2, Misses: 1}, byName["user_resources_in_context"])

	require.NoError(t, s.RemoveGroupMemberIn(ctx0, system, r, "org", g.ID, u.ID))
	require.Empty(t, read(), "the change raised the stamp")
}

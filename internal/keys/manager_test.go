package keys_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

func TestInitCreatesOneActiveKeyOnce(t *testing.T) {
	store := memory.New()
	c := newClock()
	m := newManager(t, store, keys.ES256, c)
	active := activeKIDs(t, store)
	require.Len(t, active, 1)
	require.Equal(t, active[0], kidOf(t, m))
	require.Equal(t, keys.ES256, m.SigningAlgorithm())

	// A restart, or a second node, adopts the stored key.
	again := newManager(t, store, keys.ES256, c)
	require.Equal(t, active[0], kidOf(t, again))
	require.Len(t, must(store.ListSigningKeys(ctx, storage.DefaultRealm)), 1)
}

// Changing the configured algorithm rotates to a key of the new one, ahead
// of time like every rotation; the old key stays published for the tokens
// it signed.
func TestInitRotatesWhenTheAlgorithmChanges(t *testing.T) {
	store := memory.New()
	c := newClock()
	es := newManager(t, store, keys.ES256, c)
	old := must(es.Sign(claims, "at+jwt"))

	ed := newManager(t, store, keys.EdDSA, c)
	require.Equal(t, keys.ES256, ed.SigningAlgorithm(), "the new key is published first")
	require.Equal(t, []string{keys.ES256, keys.EdDSA}, ed.Algorithms(), "the signing algorithm first")
	c.add(keys.DefaultPublishLead)
	require.NoError(t, ed.Tick(ctx))
	require.Equal(t, keys.EdDSA, ed.SigningAlgorithm())
	require.Equal(t, []string{keys.EdDSA, keys.ES256}, ed.Algorithms())
	_, err := ed.Verify(old, "at+jwt")
	require.NoError(t, err)
	require.Len(t, activeKIDs(t, store), 1)
}

func TestConcurrentInitAgreesAfterRefresh(t *testing.T) {
	store := memory.New()
	c := newClock()
	managers := make([]*keys.Manager, 4)
	errs := make([]error, len(managers))
	var wg sync.WaitGroup
	for i := range managers {
		managers[i] = must(keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: secret, Now: c.now, Logger: quiet}))
		wg.Go(func() { errs[i] = managers[i].Init(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	active := activeKIDs(t, store)
	require.Len(t, active, 1, "storage keeps one active key")
	for _, m := range managers {
		require.NoError(t, m.Refresh(ctx))
	}
	for _, m := range managers {
		require.Equal(t, active[0], kidOf(t, m), "every node signs with the one active key")
		tok := must(m.Sign(claims, "at+jwt"))
		for _, other := range managers {
			_, err := other.Verify(tok, "at+jwt")
			require.NoError(t, err)
		}
	}
}

func TestRotationKeepsTheRetiredKeyUntilPrune(t *testing.T) {
	c := newClock()
	store := memory.New()
	m := newManager(t, store, keys.ES256, c)
	oldKID := kidOf(t, m)
	old := must(m.Sign(claims, "at+jwt"))
	_, etag1 := m.JWKS()

	newKID, err := m.RotateNow(ctx)
	require.NoError(t, err)
	require.NotEqual(t, oldKID, newKID)
	require.Equal(t, newKID, kidOf(t, m))
	fresh := must(m.Sign(claims, "at+jwt"))
	body, etag2 := m.JWKS()
	require.NotEqual(t, etag1, etag2)
	require.ElementsMatch(t, []string{oldKID, newKID}, jwksKIDs(t, body))

	c.add(time.Hour - time.Second) // the last tokens of the old key are still valid
	require.NoError(t, m.Prune(ctx))
	for _, tok := range []string{old, fresh} {
		_, err := m.Verify(tok, "at+jwt")
		require.NoError(t, err)
	}
	require.Len(t, must(store.ListSigningKeys(ctx, storage.DefaultRealm)), 2)

	c.add(time.Second)
	require.NoError(t, m.Prune(ctx))
	_, err = m.Verify(old, "at+jwt")
	require.ErrorIs(t, err, keys.ErrInvalidToken)
	_, err = m.Verify(fresh, "at+jwt")
	require.NoError(t, err)
	body, _ = m.JWKS()
	require.Equal(t, []string{newKID}, jwksKIDs(t, body))
	list := must(store.ListSigningKeys(ctx, storage.DefaultRealm))
	require.Len(t, list, 1)
	require.Equal(t, newKID, list[0].KID)
}

// Refresh alone stops publishing an expired retired key, even before any
// node prunes it.
func TestRefreshUnpublishesExpiredKeys(t *testing.T) {
	c := newClock()
	m := newManager(t, memory.New(), keys.ES256, c)
	oldKID := kidOf(t, m)
	must(m.RotateNow(ctx))
	c.add(time.Hour)
	require.NoError(t, m.Refresh(ctx))
	body, _ := m.JWKS()
	require.NotContains(t, jwksKIDs(t, body), oldKID)
}

func TestRefreshIsANoOpWhenNothingChanged(t *testing.T) {
	m := newManager(t, memory.New(), keys.ES256, newClock())
	body1, etag1 := m.JWKS()
	require.NoError(t, m.Refresh(ctx))
	body2, etag2 := m.JWKS()
	require.Equal(t, etag1, etag2)
	require.Same(t, &body1[0], &body2[0], "the serialised set is reused, not rebuilt")
}

func TestRotateThatCannotActivateLeavesNoKey(t *testing.T) {
	store := &flakyStore{KeyStore: memory.New()}
	m := newManager(t, store, keys.ES256, newClock())
	before := kidOf(t, m)
	store.failActivate.Store(true)
	_, err := m.RotateNow(ctx)
	require.ErrorIs(t, err, errInjected)
	require.Len(t, must(store.ListSigningKeys(ctx, storage.DefaultRealm)), 1, "the unactivated key is deleted")
	require.Equal(t, before, kidOf(t, m))
}

func TestRunPicksUpRotationsAndSurvivesFailures(t *testing.T) {
	c := newClock()
	shared := memory.New()
	store := &flakyStore{KeyStore: shared}
	node := newManager(t, store, keys.ES256, c)
	other := newManager(t, shared, keys.ES256, c)

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { node.Run(runCtx, 5*time.Millisecond); close(done) }()
	defer func() { stop(); <-done }()

	rotated := must(other.RotateNow(ctx))
	require.Eventually(t, func() bool { return currentKID(node) == rotated }, 5*time.Second, 5*time.Millisecond)

	store.failList.Store(true)
	again := must(other.RotateNow(ctx))
	seen := store.lists.Load()
	require.Eventually(t, func() bool { return store.lists.Load() >= seen+3 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, rotated, kidOf(t, node), "the last good keys stay in use")
	_, err := node.Verify(must(node.Sign(claims, "at+jwt")), "at+jwt")
	require.NoError(t, err)

	store.failList.Store(false)
	require.Eventually(t, func() bool { return currentKID(node) == again }, 5*time.Second, 5*time.Millisecond)
}

// Before Init a manager publishes an empty set, signs nothing and verifies
// nothing, and does not panic.
func TestManagerBeforeInit(t *testing.T) {
	m := must(keys.NewManager(memory.New(), storage.DefaultRealm, keys.Options{EncryptionSecret: secret, Logger: quiet}))
	body, etag := m.JWKS()
	require.JSONEq(t, `{"keys":[]}`, string(body))
	require.NotEmpty(t, etag)
	require.Empty(t, m.SigningAlgorithm())
	require.Empty(t, m.Algorithms())
	_, err := m.Sign(claims, "at+jwt")
	require.ErrorIs(t, err, keys.ErrNoActiveKey)
	_, err = m.Verify("e30.e30.e30", "")
	require.ErrorIs(t, err, keys.ErrInvalidToken)
}

func TestEphemeral(t *testing.T) {
	for _, alg := range []string{"", keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			m, err := keys.NewEphemeral(storage.DefaultRealm, alg)
			require.NoError(t, err)
			old := must(m.Sign(claims, "at+jwt"))
			newKID := must(m.RotateNow(context.Background()))
			require.Equal(t, newKID, kidOf(t, m))
			_, err = m.Verify(old, "at+jwt")
			require.NoError(t, err, "the retired key stays published")
			body, _ := m.JWKS()
			require.Len(t, jwksKIDs(t, body), 2)
			require.NoError(t, m.Prune(ctx))
			body, _ = m.JWKS()
			require.Len(t, jwksKIDs(t, body), 2, "nothing has expired yet")
		})
	}
	_, err := keys.NewEphemeral(storage.DefaultRealm, "HS256")
	require.Error(t, err)
}

package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

const lead = keys.DefaultPublishLead

// newManagerWith is newManager with options edited by edit.
func newManagerWith(t testing.TB, store storage.KeyStore, c *clock, edit func(*keys.Options)) *keys.Manager {
	t.Helper()
	o := keys.Options{Algorithm: keys.ES256, EncryptionSecret: secret, MaxTokenLifetime: time.Hour, Now: c.now, Logger: quiet}
	if edit != nil {
		edit(&o)
	}
	m, err := keys.NewManager(store, storage.DefaultRealm, o)
	require.NoError(t, err)
	require.NoError(t, m.Init(ctx))
	return m
}

// cachingVerifier is a resource server that fetches the JWKS only when its
// copy is older than the response's Cache-Control max-age, and never on
// an unknown kid: the strictest verifier there is. It counts the tokens
// it could not verify.
type cachingVerifier struct {
	t       *testing.T
	url     string
	now     func() time.Time
	set     jose.JSONWebKeySet
	expires time.Time
	fetches int
	unknown int
}

func (v *cachingVerifier) verify(token string) {
	v.t.Helper()
	if !v.now().Before(v.expires) {
		res, err := http.Get(v.url)
		require.NoError(v.t, err)
		defer res.Body.Close()
		require.NoError(v.t, json.NewDecoder(res.Body).Decode(&v.set))
		age, ok := strings.CutPrefix(res.Header.Get("Cache-Control"), "public, max-age=")
		require.True(v.t, ok, res.Header.Get("Cache-Control"))
		secs, err := strconv.Atoi(age)
		require.NoError(v.t, err)
		v.expires = v.now().Add(time.Duration(secs) * time.Second)
		v.fetches++
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	require.NoError(v.t, err)
	kid := jws.Signatures[0].Header.KeyID
	found := v.set.Key(kid)
	if len(found) == 0 {
		v.unknown++
		return
	}
	_, err = jws.Verify(found[0])
	require.NoError(v.t, err, "kid %s", kid)
}

// A resource server that caches the JWKS as long as it is told never meets
// an unknown kid while keys rotate, whether by hand or on schedule, and
// whichever node it fetches from and signs: the next key is published a
// lead time before it signs, longer than any cache lives. RotateNow, the
// emergency path, does make it meet one, which shows the check can fail.
func TestRotationIsAheadOfEveryCachedJWKS(t *testing.T) {
	c := newClock()
	store := memory.New()
	opts := func(o *keys.Options) { o.RotationInterval = 2 * time.Hour }
	a := newManagerWith(t, store, c, opts)
	b := newManagerWith(t, store, c, opts) // refreshes only every minute, as Run does
	srv := httptest.NewServer(b.JWKSHandler())
	defer srv.Close()
	rs := &cachingVerifier{t: t, url: srv.URL, now: c.now}

	first := kidOf(t, a)
	rotated := map[string]bool{first: true}
	manual := false
	for step := 0; step < 6*60*2; step++ { // six hours in 30-second steps
		c.add(30 * time.Second)
		if step%2 == 0 {
			require.NoError(t, a.Tick(ctx))
			require.NoError(t, b.Tick(ctx))
		}
		if step == 60 && !manual {
			manual = true
			_, err := a.Rotate(ctx) // by hand, between scheduled rotations
			require.NoError(t, err)
		}
		rs.verify(must(a.Sign(claims, "at+jwt")))
		rs.verify(must(b.Sign(claims, "at+jwt")))
		rotated[kidOf(t, a)] = true
	}
	require.Zero(t, rs.unknown, "a token signed with a key the cached JWKS lacked")
	require.GreaterOrEqual(t, len(rotated), 4, "the manual rotation and at least two scheduled ones happened")
	require.Greater(t, rs.fetches, 10)

	_, err := a.RotateNow(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Refresh(ctx))
	rs.verify(must(a.Sign(claims, "at+jwt")))
	require.Equal(t, 1, rs.unknown, "RotateNow activates a key no cached JWKS holds")
}

// Rotate publishes the next key at once and activates it a lead time
// later; running it twice does not push the activation back.
func TestRotatePublishesThenActivates(t *testing.T) {
	c := newClock()
	store := memory.New()
	m := newManagerWith(t, store, c, nil)
	old := kidOf(t, m)

	c.add(time.Second)
	next := must(m.Rotate(ctx))
	require.Equal(t, storage.KeyStateNext, next.State)
	require.Equal(t, c.now().Add(lead), next.ActivatesAt)
	body, _ := m.JWKS()
	require.ElementsMatch(t, []string{old, next.KID}, jwksKIDs(t, body), "published before it signs")
	require.Equal(t, old, kidOf(t, m))

	c.add(time.Minute)
	again := must(m.Rotate(ctx))
	require.Equal(t, next.KID, again.KID)
	require.Equal(t, next.ActivatesAt, again.ActivatesAt)

	c.add(lead - time.Minute - time.Second)
	require.NoError(t, m.Tick(ctx))
	require.Equal(t, old, kidOf(t, m), "not before the lead time")
	c.add(time.Second)
	require.NoError(t, m.Tick(ctx))
	require.Equal(t, next.KID, kidOf(t, m))

	list := must(m.List(ctx))
	require.Len(t, list, 2)
	require.Equal(t, storage.KeyStateRetired, list[1].State)
	require.Equal(t, c.now().Add(time.Hour), list[1].UnpublishedAt)

	c.add(time.Hour)
	require.NoError(t, m.Tick(ctx))
	body, _ = m.JWKS()
	require.Equal(t, []string{next.KID}, jwksKIDs(t, body), "the retired key leaves once its tokens have expired")
	require.Len(t, must(store.ListSigningKeys(ctx, storage.DefaultRealm)), 1, "and is deleted")
}

// With a rotation interval the next key is published a lead time before
// the active key reaches that age, and activated when it does.
func TestScheduledRotation(t *testing.T) {
	c := newClock()
	m := newManagerWith(t, memory.New(), c, func(o *keys.Options) { o.RotationInterval = 24 * time.Hour })
	first := kidOf(t, m)
	age, ok := m.ActiveKeyAge()
	require.True(t, ok)
	require.Zero(t, age)

	c.add(24*time.Hour - lead - time.Second)
	require.NoError(t, m.Tick(ctx))
	require.Len(t, must(m.List(ctx)), 1)
	c.add(time.Second)
	require.NoError(t, m.Tick(ctx))
	list := must(m.List(ctx))
	require.Len(t, list, 2)
	require.Equal(t, storage.KeyStateNext, list[0].State)
	require.Equal(t, first, kidOf(t, m))
	age, _ = m.ActiveKeyAge()
	require.Equal(t, 24*time.Hour-lead, age)

	c.add(lead)
	require.NoError(t, m.Tick(ctx))
	require.Equal(t, list[0].KID, kidOf(t, m), "activated at 24 h")
}

func TestRetire(t *testing.T) {
	c := newClock()
	m := newManagerWith(t, memory.New(), c, nil)
	first := kidOf(t, m)
	require.ErrorIs(t, m.Retire(ctx, first, true), keys.ErrActiveKey)
	require.ErrorIs(t, m.Retire(ctx, "nope", false), storage.ErrNotFound)

	// A pending key is withdrawn: it never signed anything.
	next := must(m.Rotate(ctx))
	require.NoError(t, m.Retire(ctx, next.KID, false))
	body, _ := m.JWKS()
	require.Equal(t, []string{first}, jwksKIDs(t, body))
	c.add(lead)
	require.NoError(t, m.Tick(ctx))
	require.Equal(t, first, kidOf(t, m), "the withdrawn rotation does not happen")

	// A retired key whose tokens may live on needs force.
	old := must(m.Sign(claims, "at+jwt"))
	second := must(m.RotateNow(ctx))
	require.ErrorIs(t, m.Retire(ctx, first, false), keys.ErrKeyStillVerifies)
	_, err := m.Verify(old, "at+jwt")
	require.NoError(t, err)
	require.NoError(t, m.Retire(ctx, first, true))
	_, err = m.Verify(old, "at+jwt")
	require.ErrorIs(t, err, keys.ErrInvalidToken, "a forcibly retired key verifies nothing")
	require.Equal(t, second, kidOf(t, m))
}

// A new encryption secret with the old one still accepted: the keys keep
// working, Reencrypt reseals them, and then the old secret can go.
func TestReencryptUnderANewSecret(t *testing.T) {
	c := newClock()
	store := memory.New()
	old := newManagerWith(t, store, c, nil)
	tok := must(old.Sign(claims, "at+jwt"))
	must(old.Rotate(ctx)) // a next key too

	newSecret := bytes.Repeat([]byte{9}, 32)
	_, err := keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: newSecret, Now: c.now, Logger: quiet})
	require.NoError(t, err)
	alone := must(keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: newSecret, Now: c.now, Logger: quiet}))
	require.ErrorIs(t, alone.Refresh(ctx), keys.ErrDecrypt, "the new secret alone cannot read the stored keys")
	_, err = alone.Reencrypt(ctx)
	require.ErrorIs(t, err, keys.ErrDecrypt)
	require.Contains(t, err.Error(), "nothing was re-encrypted")

	both := newManagerWith(t, store, c, func(o *keys.Options) {
		o.EncryptionSecret, o.PreviousEncryptionSecrets = newSecret, [][]byte{secret}
	})
	_, err = both.Verify(tok, "at+jwt")
	require.NoError(t, err)
	require.Equal(t, 2, must(both.Reencrypt(ctx)))
	require.Equal(t, 0, must(both.Reencrypt(ctx)), "nothing left to reseal")

	after := newManagerWith(t, store, c, func(o *keys.Options) { o.EncryptionSecret = newSecret })
	_, err = after.Verify(tok, "at+jwt")
	require.NoError(t, err, "the old secret is no longer needed")
	stale := must(keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: secret, Now: c.now, Logger: quiet}))
	require.ErrorIs(t, stale.Refresh(ctx), keys.ErrDecrypt, "and no longer works")
}

func TestLifecycleOptions(t *testing.T) {
	for name, o := range map[string]keys.Options{
		"lead below twice the JWKS cache": {PublishLead: keys.MinPublishLead - time.Second},
		"interval not above the lead":     {PublishLead: time.Hour, RotationInterval: time.Hour},
		"negative interval":               {RotationInterval: -time.Hour},
		"short previous secret":           {PreviousEncryptionSecrets: [][]byte{[]byte("short")}},
	} {
		t.Run(name, func(t *testing.T) {
			o.EncryptionSecret = secret
			_, err := keys.NewManager(memory.New(), storage.DefaultRealm, o)
			require.Error(t, err)
		})
	}
}

// racingStore runs beforeDelete once, just before a key is deleted: what
// another node does between the lifecycle command's read and its write.
type racingStore struct {
	storage.KeyStore
	beforeDelete func()
}

func (s *racingStore) DeleteSigningKey(ctx context.Context, a storage.Actor, realm, kid string) error {
	if f := s.beforeDelete; f != nil {
		s.beforeDelete = nil
		f()
	}
	return s.KeyStore.DeleteSigningKey(ctx, a, realm, kid)
}

// Withdrawing a pending key ("keys retire KID") must not delete it once a
// server has activated it meanwhile: Retire reads the key as next, a
// node's Tick activates it (its publish lead is over), and the delete
// that follows removes the key that signs. Every token it signed then
// fails verification and the nodes make a new key at once. Retire decides
// on a list it read earlier: storage refusing to delete the active key
// (storage.KeyStore.DeleteSigningKey) closes the window.
func TestRetireDoesNotDeleteAKeyActivatedMeanwhile(t *testing.T) {
	c := newClock()
	store := memory.New()
	node := newManagerWith(t, store, c, nil)
	racing := &racingStore{KeyStore: store}
	cli := newManagerWith(t, racing, c, nil)
	next := must(cli.Rotate(ctx))
	c.add(lead)
	racing.beforeDelete = func() { require.NoError(t, node.Tick(ctx)) }
	err := cli.Retire(ctx, next.KID, false)
	require.ErrorIs(t, err, keys.ErrActiveKey)
	require.Equal(t, []string{next.KID}, activeKIDs(t, store), "the key that signs is still stored")
}

// A rotation by hand from a machine whose configuration is ahead of the
// servers' (the new encryption secret, the old one as previous) opens the
// stored keys, so the keys commands' load succeeds; the key it would
// create is sealed under a secret the servers lack, and a server that
// cannot open a published key loads none (and cannot start).
// CheckSecretCurrent refuses until every key is sealed under the current
// secret.
func TestRotateByHandNeedsEveryKeyUnderTheCurrentSecret(t *testing.T) {
	c := newClock()
	store := memory.New()
	server := newManagerWith(t, store, c, nil)
	ahead := newManagerWith(t, store, c, func(o *keys.Options) {
		o.EncryptionSecret, o.PreviousEncryptionSecrets = bytes.Repeat([]byte{9}, 32), [][]byte{secret}
	})
	require.ErrorIs(t, ahead.CheckSecretCurrent(ctx), keys.ErrReencryptPending)

	// What rotate did before the check: the servers then fail to reload.
	must(ahead.Rotate(ctx))
	require.ErrorIs(t, server.Refresh(ctx), keys.ErrDecrypt, "the hole the check closes")
	_, err := keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: secret, Now: c.now, Logger: quiet})
	require.NoError(t, err)

	// Once every key is sealed under the current secret the check passes.
	require.Equal(t, 1, must(ahead.Reencrypt(ctx)))
	require.NoError(t, ahead.CheckSecretCurrent(ctx))

	wrong := must(keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: bytes.Repeat([]byte{5}, 32), Now: c.now, Logger: quiet}))
	require.ErrorIs(t, wrong.CheckSecretCurrent(ctx), keys.ErrDecrypt)
}

// A node rolled out with a new encryption secret (the old one as previous)
// does not seal its scheduled next key under the new secret while stored
// keys still need the old one: nodes not yet rolled out could not open it.
// The rotation waits for keys reencrypt, then happens.
func TestScheduledRotationWaitsForReencrypt(t *testing.T) {
	c := newClock()
	store := memory.New()
	newSecret := bytes.Repeat([]byte{9}, 32)
	old := newManagerWith(t, store, c, nil) // rotates by hand only
	rolled := newManagerWith(t, store, c, func(o *keys.Options) {
		o.RotationInterval = 24 * time.Hour
		o.EncryptionSecret, o.PreviousEncryptionSecrets = newSecret, [][]byte{secret}
	})
	c.add(24*time.Hour - lead)
	require.NoError(t, rolled.Tick(ctx))
	require.Len(t, must(rolled.List(ctx)), 1, "no key sealed under the new secret yet")
	require.NoError(t, old.Tick(ctx), "the node still on the old secret keeps loading")

	require.Equal(t, 1, must(rolled.Reencrypt(ctx)))
	require.NoError(t, rolled.Tick(ctx))
	require.Len(t, must(rolled.List(ctx)), 2, "after reencrypt the rotation goes ahead")
}

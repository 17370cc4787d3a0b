package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

func testSigningKeys(t *testing.T, s storage.KeyStore) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, kid := range []string{"k1", "k2"} {
		_, err := s.CreateSigningKey(ctx, actor, realm, storage.SigningKey{KID: kid, Algorithm: "ES256",
			PrivateKeyEncrypted: []byte("sealed-" + kid), PublicJWK: []byte(`{"kty":"EC"}`), State: storage.KeyStateNext})
		require.NoError(t, err)
	}
	_, err := s.CreateSigningKey(ctx, actor, realm, storage.SigningKey{KID: "k1", Algorithm: "ES256", PrivateKeyEncrypted: []byte("x"), PublicJWK: []byte(`{}`), State: storage.KeyStateNext})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)

	require.NoError(t, s.SetSigningKeyState(ctx, actor, realm, "k1", storage.KeyStateActive, now))
	require.NoError(t, s.SetSigningKeyState(ctx, actor, realm, "k2", storage.KeyStateActive, now.Add(time.Second)))
	keys, err := s.ListSigningKeys(ctx, realm)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	states := map[string]storage.SigningKey{}
	for _, k := range keys {
		states[k.KID] = k
	}
	require.Equal(t, storage.KeyStateRetired, states["k1"].State, "activating a key retires the active one")
	require.NotNil(t, states["k1"].RetiredAt)
	require.Equal(t, storage.KeyStateActive, states["k2"].State)
	require.NotNil(t, states["k2"].ActivatedAt)
	require.Equal(t, []byte("sealed-k2"), states["k2"].PrivateKeyEncrypted)
	require.Equal(t, "k2", keys[0].KID, "newest first")

	require.ErrorIs(t, s.DeleteSigningKey(ctx, actor, realm, "k2"), storage.ErrInUse, "the active key is never deleted")
	require.NoError(t, s.DeleteSigningKey(ctx, actor, realm, "k1"))
	require.ErrorIs(t, s.DeleteSigningKey(ctx, actor, realm, "k1"), storage.ErrNotFound)
	require.ErrorIs(t, s.SetSigningKeyState(ctx, actor, realm, "k1", storage.KeyStateActive, now), storage.ErrNotFound)

	// A key created active retires the active one in the same change.
	_, err = s.CreateSigningKey(ctx, actor, realm, storage.SigningKey{KID: "k3", Algorithm: "ES256",
		PrivateKeyEncrypted: []byte("sealed-k3"), PublicJWK: []byte(`{"kty":"EC"}`), State: storage.KeyStateActive})
	require.NoError(t, err)
	keys, err = s.ListSigningKeys(ctx, realm)
	require.NoError(t, err)
	require.Equal(t, []string{"k3", "k2"}, kidsOf(keys))
	require.Equal(t, storage.KeyStateActive, keys[0].State)
	require.NotNil(t, keys[0].ActivatedAt)
	require.Equal(t, storage.KeyStateRetired, keys[1].State)
}

// A key keeps the publication time it is created with, and its sealed
// private key is replaced only if it is still the one the caller read.
func testSigningKeyCreatedAtAndReseal(t *testing.T, s storage.KeyStore) {
	published := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	_, err := s.CreateSigningKey(ctx, actor, realm, storage.SigningKey{KID: "r1", Algorithm: "ES256",
		PrivateKeyEncrypted: []byte("old"), PublicJWK: []byte(`{"kty":"EC"}`), State: storage.KeyStateNext, CreatedAt: published})
	require.NoError(t, err)
	keys, err := s.ListSigningKeys(ctx, realm)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.True(t, published.Equal(keys[0].CreatedAt), "created %v, want %v", keys[0].CreatedAt, published)

	require.ErrorIs(t, s.ResealSigningKey(ctx, actor, realm, "r1", []byte("other"), []byte("new")), storage.ErrConflict)
	require.NoError(t, s.ResealSigningKey(ctx, actor, realm, "r1", []byte("old"), []byte("new")))
	require.ErrorIs(t, s.ResealSigningKey(ctx, actor, realm, "r1", []byte("old"), []byte("newer")), storage.ErrConflict,
		"a second resealer that read the old ciphertext must not overwrite the first")
	require.ErrorIs(t, s.ResealSigningKey(ctx, actor, realm, "nope", []byte("old"), []byte("new")), storage.ErrNotFound)
	keys, err = s.ListSigningKeys(ctx, realm)
	require.NoError(t, err)
	require.Equal(t, []byte("new"), keys[0].PrivateKeyEncrypted)
	require.Equal(t, storage.KeyStateNext, keys[0].State, "resealing changes nothing else")
}

func kidsOf(keys []storage.SigningKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.KID
	}
	return out
}

// Nodes activating keys at the same moment end with exactly one active.
func testSigningKeyConcurrentActivation(t *testing.T, s storage.KeyStore) {
	const n = 8
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range n {
		_, err := s.CreateSigningKey(ctx, actor, realm, storage.SigningKey{KID: fmt.Sprintf("c%d", i), Algorithm: "ES256",
			PrivateKeyEncrypted: []byte("sealed"), PublicJWK: []byte(`{"kty":"EC"}`), State: storage.KeyStateNext})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, s.SetSigningKeyState(ctx, actor, realm, fmt.Sprintf("c%d", i), storage.KeyStateActive, now.Add(time.Duration(i)*time.Second)))
		}()
	}
	wg.Wait()
	keys, err := s.ListSigningKeys(ctx, realm)
	require.NoError(t, err)
	active := 0
	for _, k := range keys {
		if k.State == storage.KeyStateActive {
			active++
		} else {
			require.Equal(t, storage.KeyStateRetired, k.State, k.KID)
			require.NotNil(t, k.RetiredAt, k.KID)
		}
	}
	require.Equal(t, 1, active)
}

package keys_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

func TestNewManagerRefusesBadOptions(t *testing.T) {
	for name, opts := range map[string]keys.Options{
		"short secret": {EncryptionSecret: bytes.Repeat([]byte{1}, 31)},
		"no secret":    {},
		"HS256":        {Algorithm: "HS256", EncryptionSecret: secret},
		"none":         {Algorithm: "none", EncryptionSecret: secret},
		"ES384":        {Algorithm: "ES384", EncryptionSecret: secret},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := keys.NewManager(memory.New(), storage.DefaultRealm, opts)
			require.Error(t, err)
		})
	}
}

// The private key is stored encrypted; the stored public JWK is public.
func TestKeysAreEncryptedAtRest(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			store := memory.New()
			newManager(t, store, alg, newClock())
			list := must(store.ListSigningKeys(ctx, storage.DefaultRealm))
			require.Len(t, list, 1)
			k := list[0]
			for _, b := range [][]byte{k.PrivateKeyEncrypted, k.PrivateKeyEncrypted[12:]} {
				_, err := x509.ParsePKCS8PrivateKey(b)
				require.Error(t, err, "the stored key must not be plain PKCS #8")
			}
			require.NotContains(t, string(k.PrivateKeyEncrypted), "PRIVATE")
			var jwk map[string]any
			require.NoError(t, json.Unmarshal(k.PublicJWK, &jwk))
			require.Equal(t, k.KID, jwk["kid"])
			require.Equal(t, alg, jwk["alg"])
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				require.NotContains(t, jwk, private)
			}
		})
	}
}

func TestWrongSecretIsAClearError(t *testing.T) {
	store := memory.New()
	newManager(t, store, keys.ES256, newClock())
	stored := must(store.ListSigningKeys(ctx, storage.DefaultRealm))[0]

	wrong := must(keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: bytes.Repeat([]byte{8}, 32), Logger: quiet}))
	err := wrong.Init(ctx)
	require.ErrorIs(t, err, keys.ErrDecrypt)
	require.ErrorContains(t, err, "keys.encryption_secret")
	require.ErrorContains(t, err, stored.KID, "the error names the key")
	require.NotContains(t, err.Error(), string(stored.PrivateKeyEncrypted))
	require.Equal(t, []string{stored.KID}, activeKIDs(t, store), "a failed Init must not replace the key")
}

// Anyone who can write the database but lacks the encryption secret can
// neither make Gatehouse sign with their key nor publish it.
func TestTamperedKeysAreRefused(t *testing.T) {
	cases := map[string]func(k *storage.SigningKey, other storage.SigningKey){
		"flipped ciphertext bit": func(k *storage.SigningKey, _ storage.SigningKey) { k.PrivateKeyEncrypted[20] ^= 1 },
		"truncated ciphertext":   func(k *storage.SigningKey, _ storage.SigningKey) { k.PrivateKeyEncrypted = k.PrivateKeyEncrypted[:10] },
		"ciphertext of another kid": func(k *storage.SigningKey, other storage.SigningKey) {
			k.PrivateKeyEncrypted = other.PrivateKeyEncrypted
		},
		"public key of another key": func(k *storage.SigningKey, other storage.SigningKey) {
			k.PublicJWK = bytes.Replace(other.PublicJWK, []byte(other.KID), []byte(k.KID), 1)
		},
		"algorithm column changed": func(k *storage.SigningKey, _ storage.SigningKey) { k.Algorithm = keys.EdDSA },
		"unknown algorithm":        func(k *storage.SigningKey, _ storage.SigningKey) { k.Algorithm = "HS256" },
	}
	for name, tamper := range cases {
		for _, state := range []storage.KeyState{storage.KeyStateActive, storage.KeyStateRetired} {
			t.Run(name+"/"+string(state), func(t *testing.T) {
				c := newClock()
				store := memory.New()
				m := newManager(t, store, keys.ES256, c)
				kid := kidOf(t, m)
				if state == storage.KeyStateRetired {
					must(m.RotateNow(ctx))
				}
				other := must(memoryKeys(t))
				rewriteKey(t, store, kid, func(k *storage.SigningKey) { tamper(k, other[0]) })

				fresh, err := keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: secret, MaxTokenLifetime: time.Hour, Now: c.now, Logger: quiet})
				require.NoError(t, err)
				require.ErrorContains(t, fresh.Init(ctx), kid)
				body, _ := fresh.JWKS()
				require.NotContains(t, string(body), kid)
			})
		}
	}
}

// memoryKeys returns the stored key of a fresh ES256 manager.
func memoryKeys(t *testing.T) ([]storage.SigningKey, error) {
	store := memory.New()
	newManager(t, store, keys.ES256, newClock())
	return store.ListSigningKeys(ctx, storage.DefaultRealm)
}

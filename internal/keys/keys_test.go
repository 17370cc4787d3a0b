package keys_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

var secret = bytes.Repeat([]byte{7}, 32)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Now()} }
func payload(t *testing.T) []byte    { return []byte(`{"sub":"x"}`) }
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newManager(t *testing.T, store storage.KeyStore, alg string, c *clock) *keys.Manager {
	t.Helper()
	m, err := keys.NewManager(store, storage.DefaultRealm, keys.Options{Algorithm: alg, EncryptionSecret: secret, MaxTokenLifetime: time.Hour, Now: c.now})
	require.NoError(t, err)
	require.NoError(t, m.Init(context.Background()))
	return m
}

func TestSignVerifyEveryAlgorithm(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			store := memory.New()
			m := newManager(t, store, alg, newClock())
			tok, err := m.Sign(payload(t), "at+jwt")
			require.NoError(t, err)
			got, err := m.Verify(tok, "at+jwt")
			require.NoError(t, err)
			require.Equal(t, payload(t), got)

			// A resource server that only has the JWKS verifies it too.
			body, _ := m.JWKS()
			var set jose.JSONWebKeySet
			require.NoError(t, json.Unmarshal(body, &set))
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			require.NoError(t, err)
			require.Equal(t, "at+jwt", jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType])
			k := set.Key(jws.Signatures[0].Protected.KeyID)
			require.Len(t, k, 1)
			_, err = jws.Verify(k[0])
			require.NoError(t, err)
			require.Equal(t, []string{alg}, m.Algorithms())
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	m := newManager(t, memory.New(), keys.ES256, newClock())
	good, err := m.Sign(payload(t), "at+jwt")
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	header := must(base64.RawURLEncoding.DecodeString(parts[0]))
	var h map[string]any
	require.NoError(t, json.Unmarshal(header, &h))

	enc := func(v any) string { return base64.RawURLEncoding.EncodeToString(must(json.Marshal(v))) }
	none := enc(map[string]any{"alg": "none", "kid": h["kid"], "typ": "at+jwt"}) + "." + parts[1] + "."
	// Algorithm confusion: HS256 keyed with the public key's bytes.
	body, _ := m.JWKS()
	hsHeader := enc(map[string]any{"alg": "HS256", "kid": h["kid"], "typ": "at+jwt"})
	mac := hmac.New(sha256.New, body)
	mac.Write([]byte(hsHeader + "." + parts[1]))
	hs := hsHeader + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	unknownKID := enc(map[string]any{"alg": "ES256", "kid": "nope", "typ": "at+jwt"}) + "." + parts[1] + "." + parts[2]
	tampered := parts[0] + "." + enc(map[string]any{"sub": "admin"}) + "." + parts[2]
	other := newManager(t, memory.New(), keys.ES256, newClock())
	foreign := must(other.Sign(payload(t), "at+jwt"))

	for name, tok := range map[string]string{"none": none, "hs256": hs, "unknown kid": unknownKID, "tampered": tampered, "garbage": "a.b.c", "empty": "", "foreign": foreign} {
		_, err := m.Verify(tok, "at+jwt")
		require.ErrorIs(t, err, keys.ErrInvalidToken, name)
	}
	_, err = m.Verify(good, "id+jwt")
	require.ErrorIs(t, err, keys.ErrInvalidToken, "wrong typ")
	_, err = m.Verify(good, "")
	require.NoError(t, err)
}

func TestRotationKeepsRetiredKeyUntilPrune(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	store := memory.New()
	m := newManager(t, store, keys.ES256, c)
	old := must(m.Sign(payload(t), "at+jwt"))
	_, err := m.Rotate(ctx)
	require.NoError(t, err)
	fresh := must(m.Sign(payload(t), "at+jwt"))
	for _, tok := range []string{old, fresh} {
		_, err := m.Verify(tok, "at+jwt")
		require.NoError(t, err)
	}
	body, _ := m.JWKS()
	require.Equal(t, 2, strings.Count(string(body), `"kid"`))

	c.add(2 * time.Hour)
	require.NoError(t, m.Prune(ctx))
	_, err = m.Verify(old, "at+jwt")
	require.ErrorIs(t, err, keys.ErrInvalidToken)
	_, err = m.Verify(fresh, "at+jwt")
	require.NoError(t, err)
	list, err := store.ListSigningKeys(ctx, storage.DefaultRealm)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func TestConcurrentInitAgrees(t *testing.T) {
	store := memory.New()
	c := newClock()
	managers := make([]*keys.Manager, 4)
	var wg sync.WaitGroup
	for i := range managers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			managers[i] = newManager(t, store, keys.ES256, c)
		}()
	}
	wg.Wait()
	for _, m := range managers {
		require.NoError(t, m.Refresh(context.Background()))
	}
	var kids []string
	for _, m := range managers {
		tok := must(m.Sign(payload(t), "at+jwt"))
		for _, other := range managers {
			_, err := other.Verify(tok, "at+jwt")
			require.NoError(t, err)
		}
		jws := must(jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256}))
		kids = append(kids, jws.Signatures[0].Protected.KeyID)
	}
	for _, k := range kids {
		require.Equal(t, kids[0], k, "every node signs with the one active key")
	}
}

// A node that has not refreshed yet learns a key rotated in by another node
// when it first sees a token signed with it.
func TestUnknownKIDTriggersRefresh(t *testing.T) {
	store := memory.New()
	c := newClock()
	a := newManager(t, store, keys.ES256, c)
	b := newManager(t, store, keys.ES256, c)
	_, err := a.Rotate(context.Background())
	require.NoError(t, err)
	tok := must(a.Sign(payload(t), "at+jwt"))
	_, err = b.Verify(tok, "at+jwt")
	require.ErrorIs(t, err, keys.ErrInvalidToken, "b reloaded less than a second ago")
	c.add(2 * time.Second)
	_, err = b.Verify(tok, "at+jwt")
	require.NoError(t, err)
}

func TestEncryptionAtRest(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	newManager(t, store, keys.ES256, newClock())
	list, err := store.ListSigningKeys(ctx, storage.DefaultRealm)
	require.NoError(t, err)
	require.NotContains(t, string(list[0].PrivateKeyEncrypted), "PRIVATE")
	require.NotContains(t, string(list[0].PublicJWK), `"d"`)

	wrong, err := keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: bytes.Repeat([]byte{8}, 32)})
	require.NoError(t, err)
	err = wrong.Init(ctx)
	require.ErrorContains(t, err, "keys.encryption_secret")

	_, err = keys.NewManager(store, storage.DefaultRealm, keys.Options{EncryptionSecret: []byte("short")})
	require.Error(t, err)
	_, err = keys.NewManager(store, storage.DefaultRealm, keys.Options{Algorithm: "HS256", EncryptionSecret: secret})
	require.Error(t, err)
}

func TestJWKSHandler(t *testing.T) {
	m := newManager(t, memory.New(), keys.ES256, newClock())
	h := m.JWKSHandler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	etag := rec.Header().Get("ETag")
	require.NotEmpty(t, etag)
	require.Contains(t, rec.Header().Get("Cache-Control"), "max-age")
	var set map[string][]map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &set))
	for _, k := range set["keys"] {
		require.Equal(t, "sig", k["use"])
		require.Equal(t, "ES256", k["alg"])
		require.NotEmpty(t, k["kid"])
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			require.NotContains(t, k, private)
		}
	}

	req := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNotModified, rec.Code)
	require.Empty(t, rec.Body.Bytes())

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/.well-known/jwks.json", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

func BenchmarkSignES256(b *testing.B) { benchSign(b, keys.ES256) }
func BenchmarkSignEdDSA(b *testing.B) { benchSign(b, keys.EdDSA) }

func benchSign(b *testing.B, alg string) {
	m := must(keys.NewManager(memory.New(), storage.DefaultRealm, keys.Options{Algorithm: alg, EncryptionSecret: secret}))
	if err := m.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	p := []byte(`{"iss":"http://127.0.0.1:8080","sub":"reports","scope":"users-read"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Sign(p, "at+jwt"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyES256(b *testing.B) {
	m := must(keys.NewManager(memory.New(), storage.DefaultRealm, keys.Options{EncryptionSecret: secret}))
	if err := m.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	tok := must(m.Sign([]byte(`{"sub":"x"}`), "at+jwt"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(tok, "at+jwt"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWKSHandler(b *testing.B) {
	m := must(keys.NewManager(memory.New(), storage.DefaultRealm, keys.Options{EncryptionSecret: secret}))
	if err := m.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	h := m.JWKSHandler()
	req := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

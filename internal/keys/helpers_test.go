package keys_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

var (
	secret = bytes.Repeat([]byte{7}, 32)
	claims = []byte(`{"iss":"https://id.example","sub":"reports","scope":"users-read"}`)
	quiet  = slog.New(slog.DiscardHandler)
	ctx    = context.Background()
)

// clock is an injectable clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// newManager returns an initialised manager on store with a one-hour
// maximum token lifetime.
func newManager(t testing.TB, store storage.KeyStore, alg string, c *clock) *keys.Manager {
	t.Helper()
	m, err := keys.NewManager(store, storage.DefaultRealm, keys.Options{
		Algorithm: alg, EncryptionSecret: secret, MaxTokenLifetime: time.Hour, Now: c.now, Logger: quiet,
	})
	require.NoError(t, err)
	require.NoError(t, m.Init(ctx))
	return m
}

// header decodes a compact JWS's protected header.
func header(t testing.TB, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	return h
}

// kidOf returns the kid a manager signs with now.
func kidOf(t testing.TB, m *keys.Manager) string {
	t.Helper()
	tok, err := m.Sign(claims, "at+jwt")
	require.NoError(t, err)
	return header(t, tok)["kid"].(string)
}

// currentKID is kidOf for use off the test goroutine: "" on failure.
func currentKID(m *keys.Manager) string {
	tok, err := m.Sign(claims, "")
	if err != nil {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		return ""
	}
	var h struct{ KID string }
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return h.KID
}

// activeKIDs lists the kids storage holds as active.
func activeKIDs(t testing.TB, store storage.KeyStore) []string {
	t.Helper()
	list, err := store.ListSigningKeys(ctx, storage.DefaultRealm)
	require.NoError(t, err)
	var out []string
	for _, k := range list {
		if k.State == storage.KeyStateActive {
			out = append(out, k.KID)
		}
	}
	return out
}

var errInjected = errors.New("injected failure")

// flakyStore wraps a KeyStore and fails the operations a test switches off.
type flakyStore struct {
	storage.KeyStore
	failList, failActivate atomic.Bool
	lists                  atomic.Int64
}

func (s *flakyStore) ListSigningKeys(ctx context.Context, realm string) ([]storage.SigningKey, error) {
	s.lists.Add(1)
	if s.failList.Load() {
		return nil, errInjected
	}
	return s.KeyStore.ListSigningKeys(ctx, realm)
}

func (s *flakyStore) SetSigningKeyState(ctx context.Context, a storage.Actor, realm, kid string, st storage.KeyState, t time.Time) error {
	if s.failActivate.Load() && st == storage.KeyStateActive {
		return errInjected
	}
	return s.KeyStore.SetSigningKeyState(ctx, a, realm, kid, st, t)
}

// rewriteKey replaces the stored row of kid, as someone with write access to
// the database but without the encryption secret could.
func rewriteKey(t testing.TB, store *memory.Store, kid string, edit func(*storage.SigningKey)) {
	t.Helper()
	list, err := store.ListSigningKeys(ctx, storage.DefaultRealm)
	require.NoError(t, err)
	for _, k := range list {
		if k.KID != kid {
			continue
		}
		edit(&k)
		// The active key is never deleted: retire it first; it comes back
		// in its state below.
		require.NoError(t, store.SetSigningKeyState(ctx, storage.System("test"), storage.DefaultRealm, kid, storage.KeyStateRetired, time.Now()))
		require.NoError(t, store.DeleteSigningKey(ctx, storage.System("test"), storage.DefaultRealm, kid))
		_, err := store.CreateSigningKey(ctx, storage.System("test"), storage.DefaultRealm, k)
		require.NoError(t, err)
		return
	}
	t.Fatalf("no key %s", kid)
}

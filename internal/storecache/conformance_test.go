package storecache_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/internal/storecache"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

// The caching store is a storage.Store like any other: the conformance
// suite runs on it over each backend, once with reads that go to the store
// (no request stamp in the context) and once with every cached read a
// token request of its own, served from the cache while the stamp holds.
// That every change raises the stamp is checked on its own, by
// TestEveryChangeRaisesTheStamp.
func TestStoreConformance(t *testing.T) {
	backends := []struct {
		name string
		new  func(t *testing.T) storage.Store
	}{
		{"Memory", func(*testing.T) storage.Store { return memory.New() }},
		{"Postgres", func(t *testing.T) storage.Store { return pgtest.NewStore(t) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("NoRequestStamp", func(t *testing.T) {
				storagetest.RunStoreTests(t, func(t *testing.T) storage.Store {
					return storecache.New(b.new(t), memory.NewTokenState(nil))
				})
			})
			t.Run("RequestStamp", func(t *testing.T) {
				storagetest.RunStoreTests(t, func(t *testing.T) storage.Store {
					return requests{t: t, Store: storecache.New(b.new(t), memory.NewTokenState(nil))}
				})
			})
		})
	}
}

// requests begins a request, as the token endpoint does, before each of
// the reads the cache serves.
type requests struct {
	t testing.TB
	*storecache.Store
}

func (r requests) begin(ctx context.Context) context.Context {
	ctx, err := r.Begin(ctx)
	if err != nil {
		r.t.Fatalf("begin: %v", err)
	}
	return ctx
}

func (r requests) GetClient(ctx context.Context, realm, clientID string) (storage.Client, error) {
	return r.Store.GetClient(r.begin(ctx), realm, clientID)
}

func (r requests) ActiveClientSecrets(ctx context.Context, realm, clientID string) ([]storage.ClientSecret, error) {
	return r.Store.ActiveClientSecrets(r.begin(ctx), realm, clientID)
}

func (r requests) GetUser(ctx context.Context, realm, id string) (storage.User, error) {
	return r.Store.GetUser(r.begin(ctx), realm, id)
}

func (r requests) UserResources(ctx context.Context, realm, userID string) ([]storage.EffectiveResource, error) {
	return r.Store.UserResources(r.begin(ctx), realm, userID)
}

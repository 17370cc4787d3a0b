package clientauth_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/storage"
)

// failingClients wraps a store and fails the reads selected by its flags
// with an error wrapping storage.ErrUnavailable. It counts every read.
type failingClients struct {
	clientauth.Clients
	failGet, failSecrets bool
	gets, secretReads    atomic.Int32
}

func (f *failingClients) GetClient(ctx context.Context, realm, id string) (storage.Client, error) {
	f.gets.Add(1)
	if f.failGet {
		return storage.Client{}, fmt.Errorf("dial tcp: %w", storage.ErrUnavailable)
	}
	return f.Clients.GetClient(ctx, realm, id)
}

func (f *failingClients) ActiveClientSecrets(ctx context.Context, realm, id string) ([]storage.ClientSecret, error) {
	f.secretReads.Add(1)
	if f.failSecrets {
		return nil, fmt.Errorf("dial tcp: %w", storage.ErrUnavailable)
	}
	return f.Clients.ActiveClientSecrets(ctx, realm, id)
}

// failingReplay is token state that cannot be reached.
type failingReplay struct{}

func (failingReplay) MarkOnce(context.Context, string, time.Time) (bool, error) {
	return false, fmt.Errorf("redis: %w", storage.ErrUnavailable)
}

// Storage that cannot be reached is reported as such, never as a failed
// authentication: the caller answers 503, not 401.
func TestStorageUnavailableIsNotInvalidClient(t *testing.T) {
	e := newEnv(t)
	f := newSecretFixture(e)
	keys := newAssertionFixture(e)
	secretReq := request{authz: []string{basic("reports-app", f.reports.W)}}
	jwtReq := request{form: keys.form(keys.sign(t, keys.es, "es1", keys.claims("jwt-es")))}

	tests := []struct {
		name    string
		clients *failingClients
		replay  clientauth.Replay
		req     request
	}{
		{"client read for a secret", &failingClients{failGet: true}, e.state, secretReq},
		{"secret read", &failingClients{failSecrets: true}, e.state, secretReq},
		{"client read for a public client", &failingClients{failGet: true}, e.state, request{form: form("client_id", "public-app")}},
		{"client read for an assertion", &failingClients{failGet: true}, e.state, jwtReq},
		{"replay marker", &failingClients{}, failingReplay{}, jwtReq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.clients.Clients = e.store
			a := e.authenticatorWith(tt.clients, tt.replay, true)
			hr, fm := tt.req.http()
			_, err := a.Authenticate(t.Context(), hr, fm)
			require.ErrorIs(t, err, storage.ErrUnavailable)
			require.NotErrorIs(t, err, clientauth.ErrInvalidClient)
			require.NotErrorIs(t, err, clientauth.ErrInvalidRequest)
		})
	}
}

// An unknown client_id costs the same storage reads as a known one, so
// that response times do not reveal which clients exist.
func TestUnknownClientReadsLikeKnownOne(t *testing.T) {
	e := newEnv(t)
	f := newSecretFixture(e)
	for _, id := range []string{"reports-app", "nobody"} {
		fc := &failingClients{Clients: e.store}
		a := e.authenticatorWith(fc, e.state, false)
		hr, fm := request{authz: []string{basic(id, f.svc.W)}}.http()
		_, err := a.Authenticate(t.Context(), hr, fm)
		require.ErrorIs(t, err, clientauth.ErrInvalidClient)
		require.Equal(t, int32(1), fc.gets.Load(), id)
		require.Equal(t, int32(1), fc.secretReads.Load(), id)
	}
}

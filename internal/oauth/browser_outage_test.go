package oauth_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

func (unavailableState) ChangeStamp(context.Context) (int64, error) {
	return 0, fmt.Errorf("dial: %w", storage.ErrUnavailable)
}

func (unavailableState) GetEntry(context.Context, string) ([]byte, error) {
	return nil, fmt.Errorf("dial: %w", storage.ErrUnavailable)
}

func (s *switchableState) ChangeStamp(ctx context.Context) (int64, error) {
	return s.state().ChangeStamp(ctx)
}

func (s *switchableState) GetEntry(ctx context.Context, key string) ([]byte, error) {
	return s.state().GetEntry(ctx, key)
}

// When token state is down, the browser flow answers 503 pages: nobody is
// signed in, nothing is redirected, and it works again once it is back.
func TestBrowserFlowFailsClosedWhenTokenStateIsDown(t *testing.T) {
	down := apptest.Backend{Name: "memory-down", New: func(t *testing.T, now func() time.Time) (storage.Store, storage.TokenState) {
		store, state := apptest.Memory.New(t, now)
		return store, &switchableState{TokenState: state}
	}}
	e := apptest.Start(t, down)
	sw := e.State.(*switchableState)
	alice := e.User("alice", "correct horse battery staple", e.Group("g", "users-read").ID)
	relying, _ := newRP(t, e, alice.ID, []string{"users-read"})
	b := e.Browser()
	authURL := relying.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	login := b.Visit(authURL)
	require.Equal(t, "/login", login.URL.Path)

	sw.down.Store(true)
	for _, p := range []*apptest.Page{b.SignIn(login, "alice", "correct horse battery staple"), b.Visit(authURL), b.Visit(login.URL.String())} {
		require.Equal(t, http.StatusServiceUnavailable, p.Status, p.Body)
		require.Nil(t, p.Location)
		require.NotContains(t, p.Body, "dial")
	}
	for _, c := range b.Cookies() {
		require.NotEqual(t, "gatehouse-session", c.Name, "no session was started")
	}

	sw.down.Store(false)
	consent := b.SignIn(login, "alice", "correct horse battery staple")
	require.Equal(t, "/consent", consent.URL.Path, consent.Body)
}

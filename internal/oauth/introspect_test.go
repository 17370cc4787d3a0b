package oauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

func introspect(e *apptest.Server, caller *apptest.Client, token string) apptest.Response {
	e.T.Helper()
	r := e.Post(oauth.PathIntrospect, caller, url.Values{"token": {token}})
	require.Equal(e.T, http.StatusOK, r.Status, r.Raw)
	return r
}

func active(r apptest.Response) bool { b, _ := r.Body["active"].(bool); return b }

func TestIntrospectionOfEveryTokenState(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		g := e.Group("g", "users-read", "tokens-introspect")
		owner := e.User("owner", "", g.ID)
		e.User("frank", "frank-password-1", g.ID)
		app := e.Client("app", owner.ID, []string{"users-read"})
		other := e.Client("other", owner.ID, []string{"users-read"})
		auditor := e.Client("auditor", owner.ID, []string{"tokens-introspect"})

		at := e.Token(&app, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		login := e.Login(&app, "frank", "frank-password-1", nil)
		require.Equal(t, http.StatusOK, login.Status, login.Raw)
		userAT, rt := login.Str("access_token"), login.Str("refresh_token")

		r := introspect(e, &app, at)
		require.True(t, active(r), r.Raw)
		require.Equal(t, "app", r.Str("client_id"))
		require.Equal(t, "users-read", r.Str("scope"))
		require.Equal(t, "app", r.Str("sub"))
		require.Equal(t, e.URL, r.Str("iss"))
		require.Equal(t, "no-store", r.Header.Get("Cache-Control"))

		r = introspect(e, &app, userAT)
		require.True(t, active(r), r.Raw)
		require.Equal(t, "en", r.Str("locale"))
		r = introspect(e, &app, rt)
		require.True(t, active(r), r.Raw)
		require.Equal(t, "refresh_token", r.Str("token_type"))

		// Foreign tokens are inactive to a client without tokens-introspect,
		// active to one with it.
		require.False(t, active(introspect(e, &other, at)))
		require.False(t, active(introspect(e, &other, rt)))
		require.True(t, active(introspect(e, &auditor, at)))
		require.True(t, active(introspect(e, &auditor, rt)))

		// Garbage, tampered and foreign-issuer tokens.
		for _, tok := range []string{"garbage", "a.b.c", at[:len(at)-4] + "AAAA", "ghr_nothing"} {
			require.False(t, active(introspect(e, &app, tok)), tok)
		}

		// Expiry: 15 minutes later the access token is dead, the refresh
		// token still alive.
		e.Clock.Advance(16 * time.Minute)
		require.False(t, active(introspect(e, &app, at)))
		e.Clock.Advance(-16 * time.Minute)

		// Revocation of the access token and of the refresh token.
		rv := e.Post(oauth.PathRevoke, &app, url.Values{"token": {at}})
		require.Equal(t, http.StatusOK, rv.Status, rv.Raw)
		require.False(t, active(introspect(e, &app, at)))
		rv = e.Post(oauth.PathRevoke, &app, url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}})
		require.Equal(t, http.StatusOK, rv.Status, rv.Raw)
		require.False(t, active(introspect(e, &app, rt)))
		require.False(t, active(introspect(e, &app, userAT)), "access tokens of a revoked grant die with it (RFC 7009 §2.1)")
		r = e.Post(oauth.PathToken, &app, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		require.Equal(t, "invalid_grant", r.Str("error"))

		// Revoking someone else's token does nothing, and says nothing.
		at2 := e.Token(&app, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		rv = e.Post(oauth.PathRevoke, &other, url.Values{"token": {at2}})
		require.Equal(t, http.StatusOK, rv.Status)
		require.True(t, active(introspect(e, &app, at2)))
	})
}

// "Revoke everything of this user / client" is honoured by introspection,
// userinfo and refresh.
func TestRevokeSubject(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		g := e.Group("g", "users-read")
		owner := e.User("owner", "", g.ID)
		grace := e.User("grace", "grace-password-1", g.ID)
		app := e.Client("app", owner.ID, []string{"users-read"})
		login := e.Login(&app, "grace", "grace-password-1", nil)
		require.Equal(t, http.StatusOK, login.Status, login.Raw)
		cc := e.Token(&app, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")

		require.NoError(t, e.State.RevokeSubject(ctx, storage.SubjectUser, grace.ID, e.Clock.Now(), time.Hour))
		e.Clock.Advance(time.Second)
		require.False(t, active(introspect(e, &app, login.Str("access_token"))))
		require.Equal(t, http.StatusUnauthorized, userinfo(e, login.Str("access_token")).Status)
		r := e.Post(oauth.PathToken, &app, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {login.Str("refresh_token")}})
		require.Equal(t, "invalid_grant", r.Str("error"))
		require.True(t, active(introspect(e, &app, cc)), "client token is not the user's")

		// A login after the mark works again.
		again := e.Login(&app, "grace", "grace-password-1", nil)
		require.Equal(t, http.StatusOK, again.Status, again.Raw)
		require.True(t, active(introspect(e, &app, again.Str("access_token"))))

		require.NoError(t, e.State.RevokeSubject(ctx, storage.SubjectClient, app.ID, e.Clock.Now(), time.Hour))
		e.Clock.Advance(time.Second)
		require.False(t, active(introspect(e, &app, cc)))
	})
}

// unavailableState is token state whose backend is down.
type unavailableState struct{ storage.TokenState }

func (unavailableState) IsRevoked(context.Context, storage.TokenRef) (bool, int64, error) {
	return false, 0, fmt.Errorf("dial: %w", storage.ErrUnavailable)
}

func (unavailableState) GetRefreshToken(context.Context, string, string) (storage.RefreshToken, error) {
	return storage.RefreshToken{}, fmt.Errorf("dial: %w", storage.ErrUnavailable)
}

func (unavailableState) RotateRefreshToken(context.Context, string, string, storage.RefreshToken) (storage.RefreshToken, error) {
	return storage.RefreshToken{}, fmt.Errorf("dial: %w", storage.ErrUnavailable)
}

func (unavailableState) MarkOnce(context.Context, string, time.Time) (bool, error) {
	return false, fmt.Errorf("dial: %w", storage.ErrUnavailable)
}

// When token state cannot be read, introspection and refresh fail closed
// with 503 temporarily_unavailable, never active by guess.
func TestFailClosedWhenTokenStateIsDown(t *testing.T) {
	down := apptest.Backend{Name: "memory-down", New: func(t *testing.T, now func() time.Time) (storage.Store, storage.TokenState) {
		store, state := apptest.Memory.New(t, now)
		return store, &switchableState{TokenState: state}
	}}
	e := apptest.Start(t, down)
	sw := e.State.(*switchableState)
	owner := e.User("owner", "", e.Group("g", "users-read").ID)
	e.User("heidi", "heidi-password-1", e.Group("h", "users-read").ID)
	app := e.Client("app", owner.ID, []string{"users-read"})
	at := e.Token(&app, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
	login := e.Login(&app, "heidi", "heidi-password-1", nil)
	require.Equal(t, http.StatusOK, login.Status, login.Raw)

	sw.down.Store(true)
	for _, r := range []apptest.Response{
		e.Post(oauth.PathIntrospect, &app, url.Values{"token": {at}}),
		e.Post(oauth.PathIntrospect, &app, url.Values{"token": {login.Str("refresh_token")}}),
		e.Post(oauth.PathToken, &app, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {login.Str("refresh_token")}}),
		userinfo(e, login.Str("access_token")),
	} {
		require.Equal(t, http.StatusServiceUnavailable, r.Status, r.Raw)
		require.Equal(t, "temporarily_unavailable", r.Str("error"))
		require.NotContains(t, r.Raw, "active")
	}

	// It recovers by itself.
	sw.down.Store(false)
	require.True(t, active(introspect(e, &app, at)))
}

type switchableState struct {
	storage.TokenState
	down atomic.Bool
}

func (s *switchableState) state() storage.TokenState {
	if s.down.Load() {
		return unavailableState{s.TokenState}
	}
	return s.TokenState
}

func (s *switchableState) IsRevoked(ctx context.Context, r storage.TokenRef) (bool, int64, error) {
	return s.state().IsRevoked(ctx, r)
}

func (s *switchableState) GetRefreshToken(ctx context.Context, id, secret string) (storage.RefreshToken, error) {
	return s.state().GetRefreshToken(ctx, id, secret)
}

func (s *switchableState) RotateRefreshToken(ctx context.Context, id, secret string, next storage.RefreshToken) (storage.RefreshToken, error) {
	return s.state().RotateRefreshToken(ctx, id, secret, next)
}

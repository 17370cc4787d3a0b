package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// rp is a relying party as an unmodified application builds one: go-oidc
// for discovery and ID token verification, x/oauth2 with PKCE for the
// code flow.
type rp struct {
	provider *oidc.Provider
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
}

const rpRedirect = "https://rp.example/callback"

// newRP registers a client for the code flow, owned by owner, and builds
// the relying party around it. mutate adjusts the registration.
func newRP(t *testing.T, e *apptest.Server, owner string, scopes []string, mutate ...func(*storage.Client)) (*rp, apptest.Client) {
	t.Helper()
	id := "rp-" + apptest.RandomString(t)
	c := e.Client(id, owner, scopes, append([]func(*storage.Client){func(c *storage.Client) {
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
		c.TokenEndpointAuthMethod = storage.AuthMethodNone
		c.RedirectURIs = []string{rpRedirect}
		c.PostLogoutRedirectURIs = []string{"https://rp.example/bye"}
	}}, mutate...)...)
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, e.URL)
	require.NoError(t, err)
	return &rp{
		provider: provider,
		config: oauth2.Config{ClientID: c.ID, Endpoint: provider.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "email", "users-read"}},
		verifier: provider.Verifier(&oidc.Config{ClientID: c.ID, Now: e.Clock.Now}),
	}, c
}

// codeFrom reads the authorization response the browser was sent to.
func codeFrom(t *testing.T, e *apptest.Server, p *apptest.Page, state string) string {
	t.Helper()
	require.NotNil(t, p.Location, "no redirect to the client: %d %s", p.Status, p.Body)
	q := p.Location.Query()
	require.Equal(t, "", q.Get("error"), q.Get("error_description"))
	require.Equal(t, state, q.Get("state"))
	require.Equal(t, e.URL, q.Get("iss"), "RFC 9207")
	require.NotEmpty(t, q.Get("code"))
	return q.Get("code")
}

func TestCodeFlowWithRealRelyingParty(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		readers := e.Group("readers", "users-read")
		alice := e.User("alice", "correct horse battery staple", readers.ID)
		relying, _ := newRP(t, e, alice.ID, []string{"users-read", "users-write"})

		// Not signed in: the login page, then consent, then the code.
		b := e.Browser()
		verifier := oauth2.GenerateVerifier()
		login := b.Visit(relying.config.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1")))
		require.Equal(t, http.StatusOK, login.Status, login.Body)
		require.Equal(t, "/login", login.URL.Path)
		consent := b.SignIn(login, "alice", "correct horse battery staple")
		require.Equal(t, http.StatusOK, consent.Status, consent.Body)
		require.Equal(t, "/consent", consent.URL.Path)
		require.Contains(t, consent.Body, "users-read")
		code := codeFrom(t, e, b.Consent(consent, "allow"), "state-1")

		tok, err := relying.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		require.NoError(t, err)
		e.Remember(tok.AccessToken, tok.RefreshToken)
		require.NotEmpty(t, tok.RefreshToken)
		// What the user holds, of what was asked: users-write is not theirs.
		require.Equal(t, "email openid profile users-read", tok.Extra("scope"))

		raw, _ := tok.Extra("id_token").(string)
		idt, err := relying.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		require.Equal(t, alice.ID, idt.Subject)
		require.Equal(t, "nonce-1", idt.Nonce)
		require.NoError(t, idt.VerifyAccessToken(tok.AccessToken), "at_hash")
		var claims struct {
			PreferredUsername string   `json:"preferred_username"`
			Locale            string   `json:"locale"`
			AMR               []string `json:"amr"`
			SID               string   `json:"sid"`
			AuthTime          int64    `json:"auth_time"`
		}
		require.NoError(t, idt.Claims(&claims))
		require.Equal(t, "alice", claims.PreferredUsername)
		require.Equal(t, []string{"pwd"}, claims.AMR)
		require.NotEmpty(t, claims.SID)
		require.Equal(t, e.Clock.Now().Unix(), claims.AuthTime)

		info, err := relying.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		require.NoError(t, err)
		require.Equal(t, alice.ID, info.Subject)

		// The token works at the management API, for what it carries.
		require.Equal(t, http.StatusOK, e.Bearer(http.MethodGet, "/admin/users", tok.AccessToken, "").Status)

		// A second request: signed in and consented, so straight back.
		verifier2 := oauth2.GenerateVerifier()
		again := b.Visit(relying.config.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier2)))
		code2 := codeFrom(t, e, again, "state-2")
		tok2, err := relying.config.Exchange(ctx, code2, oauth2.VerifierOption(verifier2))
		require.NoError(t, err)
		e.Remember(tok2.AccessToken, tok2.RefreshToken)

		// Refresh, as x/oauth2 does it when the token expires.
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		refreshed, err := relying.config.TokenSource(ctx, &expired).Token()
		require.NoError(t, err)
		e.Remember(refreshed.AccessToken, refreshed.RefreshToken)
		require.NotEqual(t, tok.RefreshToken, refreshed.RefreshToken)
		require.Equal(t, "email openid profile users-read", refreshed.Extra("scope"))

		// RP-initiated logout ends the session and every grant of it.
		var meta struct {
			EndSession string `json:"end_session_endpoint"`
		}
		require.NoError(t, relying.provider.Claims(&meta))
		bye := b.Visit(meta.EndSession + "?" + url.Values{
			"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://rp.example/bye"}, "state": {"s3"},
		}.Encode())
		require.NotNil(t, bye.Location, bye.Body)
		require.Equal(t, "https://rp.example/bye?state=s3", bye.Location.String())
		_, err = relying.config.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
		require.Error(t, err, "the session's refresh grants end with it")
		require.Equal(t, http.StatusUnauthorized, e.Bearer(http.MethodGet, "/userinfo", tok2.AccessToken, "").Status,
			"and their access tokens")

		// prompt=none now: login_required, without a page.
		none := b.Visit(relying.config.AuthCodeURL("state-4", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")))
		require.NotNil(t, none.Location)
		require.Equal(t, "login_required", none.Location.Query().Get("error"))
		require.Equal(t, "state-4", none.Location.Query().Get("state"))
	})
}

// A login session ties every grant made through it to itself, so that a
// logout ends them; the record that keeps them is bounded. A session
// holding 1000 grants (maxSessionGrants) counts as none: prompt=none gets
// login_required, and signing in again starts a fresh session, ending the
// full one with its grants.
func TestLoginSessionGrantsAreBounded(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		alice := e.User("alice", "correct horse battery staple", e.Group("readers", "users-read").ID)
		relying, _ := newRP(t, e, alice.ID, []string{"users-read"}, func(c *storage.Client) { c.SkipConsent = true })
		b := e.Browser()
		verifier := oauth2.GenerateVerifier()
		login := b.Visit(relying.config.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n1")))
		code := codeFrom(t, e, b.SignIn(login, "alice", "correct horse battery staple"), "s1")
		tok, err := relying.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		require.NoError(t, err)
		e.Remember(tok.AccessToken, tok.RefreshToken)
		idt, err := relying.verifier.Verify(ctx, tok.Extra("id_token").(string))
		require.NoError(t, err)
		var claims struct {
			SID string `json:"sid"`
		}
		require.NoError(t, idt.Claims(&claims))

		silent := func(state string) *apptest.Page {
			return b.Visit(relying.config.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")))
		}
		codeFrom(t, e, silent("s2"), "s2") // a session with grants to spare
		// The exchange above made the first grant; 999 more fill the session.
		for i := 1; i < 1000; i++ {
			require.NoError(t, e.State.AddLoginSessionFamily(ctx, claims.SID, "bulk-"+strconv.Itoa(i)))
		}
		full := silent("s3")
		require.NotNil(t, full.Location)
		require.Equal(t, "login_required", full.Location.Query().Get("error"), "a full session is no session")

		login = b.Visit(relying.config.AuthCodeURL("s4", oauth2.S256ChallengeOption(verifier)))
		require.Equal(t, "/login", login.URL.Path)
		codeFrom(t, e, b.SignIn(login, "alice", "correct horse battery staple"), "s4")
		_, err = e.State.GetLoginSession(ctx, claims.SID, 0)
		require.ErrorIs(t, err, storage.ErrNotFound, "signing in again ended the full session")
		_, err = relying.config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
		require.Error(t, err, "with its grants")
	})
}

package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp/kb"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/storage"
)

// The harness of the real-browser tests (browser_e2e_test.go): headless
// Chromium through internal/browsertest, the real application on one
// store, and a relying party as an unmodified application builds one:
// go-oidc for discovery and ID token verification, x/oauth2 with PKCE S256,
// state and nonce, and a loopback redirect URI (RFC 8252 §7.3) served by
// its own httptest server.

func TestMain(m *testing.M) { browsertest.Main(m) }

// The user of every browser test. The password has a space, an ampersand
// and a non-ASCII letter, so that each encoding the network-log check
// looks for differs from the typed text.
const (
	e2eUser     = "alice"
	e2ePassword = "Correct horse & batterie-stäple"
	e2eClient   = "Reports" // the client's display name
)

// Scopes of the tests: the user holds users-read, groups-read and
// clients-read; the client may ask for users-read, users-write and
// groups-read (asking for more is invalid_scope, RFC 6749 §3.3).
var (
	userHolds     = []string{"users-read", "groups-read", "clients-read"}
	clientAllowed = []string{"users-read", "users-write", "groups-read"}
	// asked ∩ clientAllowed ∩ userHolds = users-read: users-write is not
	// the user's, groups-read is not asked, clients-read not the client's.
	asked = []string{oidc.ScopeOpenID, "profile", "users-read", "users-write"}
)

// e2e is one store's running application, its user, a relying party
// registered as a third-party client, and a browser tab.
type e2e struct {
	t    *testing.T
	s    *apptest.Server
	user storage.User
	rp   *relyingParty
	tab  *browsertest.Tab
}

// relyingParty is the test's OIDC client.
type relyingParty struct {
	srv      *httptest.Server // its /cb (redirect URI) and /bye (post-logout)
	clientID string
	provider *oidc.Provider
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
	visits   atomic.Int32 // requests the browser made to the relying party
}

func newE2E(t *testing.T, s *apptest.Server) *e2e {
	t.Helper()
	g := s.Group("e2e-holders", userHolds...)
	user := s.User(e2eUser, e2ePassword, g.ID)
	rp := &relyingParty{clientID: "rp-" + apptest.RandomString(t)}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.visits.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>Relying party</title><p>Back at the relying party.")
	}))
	t.Cleanup(rp.srv.Close)
	// A public client, third-party by default: no skip_consent.
	s.Client(rp.clientID, user.ID, clientAllowed, func(c *storage.Client) {
		c.Name = e2eClient
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
		c.TokenEndpointAuthMethod = storage.AuthMethodNone
		c.RedirectURIs = []string{rp.srv.URL + "/cb"}
		c.PostLogoutRedirectURIs = []string{rp.srv.URL + "/bye"}
	})
	var err error
	rp.provider, err = oidc.NewProvider(context.Background(), s.URL)
	require.NoError(t, err)
	rp.config = oauth2.Config{ClientID: rp.clientID, Endpoint: rp.provider.Endpoint(), RedirectURL: rp.srv.URL + "/cb", Scopes: asked}
	rp.verifier = rp.provider.Verifier(&oidc.Config{ClientID: rp.clientID, Now: s.Clock.Now})
	return &e2e{t: t, s: s, user: user, rp: rp, tab: browsertest.New(t)}
}

// authorization is one authorization request of the relying party, with
// the values it keeps to check and redeem the answer.
type authorization struct {
	URL                    string
	state, nonce, verifier string
	scopes                 []string
}

// authorize builds an authorization request for scopes (the test's asked
// scopes when nil) with a fresh state, nonce and PKCE verifier.
func (e *e2e) authorize(scopes []string, opts ...oauth2.AuthCodeOption) authorization {
	if scopes == nil {
		scopes = asked
	}
	a := authorization{state: "st-" + apptest.RandomString(e.t), nonce: "n-" + apptest.RandomString(e.t),
		verifier: oauth2.GenerateVerifier(), scopes: scopes}
	conf := e.rp.config
	conf.Scopes = scopes
	a.URL = conf.AuthCodeURL(a.state, append([]oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(a.verifier), oidc.Nonce(a.nonce)}, opts...)...)
	return a
}

// signIn types the username and the password on the login page the tab
// shows, and presses Enter, as a person at a keyboard would.
func (e *e2e) signIn(username, password string) {
	e.t.Helper()
	e.tab.WaitURL(e.s.URL + "/login")
	e.tab.Type("#username", username)
	e.tab.Type("#current-password", password)
	e.tab.Press(kb.Enter)
}

// decide waits for the consent page and presses decision ("allow" or
// "deny").
func (e *e2e) decide(decision string) {
	e.t.Helper()
	e.tab.WaitURL(e.s.URL + "/consent")
	e.tab.Click(`button[name=decision][value=` + decision + `]`)
}

// callback waits until the browser is back at the relying party's
// redirect URI, and returns the authorization response after checking
// the parameters every response carries: state and iss (RFC 9207).
func (e *e2e) callback(a authorization) url.Values {
	e.t.Helper()
	q := e.tab.WaitURL(e.rp.srv.URL + "/cb").Query()
	require.Equal(e.t, a.state, q.Get("state"))
	require.Equal(e.t, e.s.URL, q.Get("iss"), "RFC 9207")
	return q
}

// redeem checks that the browser came back with a code for a, redeems it
// with the PKCE verifier and verifies the ID token: signature, issuer,
// audience, expiry (go-oidc), and nonce and subject.
func (e *e2e) redeem(a authorization) (*oauth2.Token, *oidc.IDToken) {
	e.t.Helper()
	q := e.callback(a)
	require.Empty(e.t, q.Get("error"), q.Get("error_description"))
	require.NotEmpty(e.t, q.Get("code"))
	ctx := context.Background()
	tok, err := e.rp.config.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(a.verifier))
	require.NoError(e.t, err)
	e.s.Remember(tok.AccessToken, tok.RefreshToken)
	raw, _ := tok.Extra("id_token").(string)
	idt, err := e.rp.verifier.Verify(ctx, raw)
	require.NoError(e.t, err)
	require.Equal(e.t, a.nonce, idt.Nonce)
	require.Equal(e.t, e.user.ID, idt.Subject)
	require.Equal(e.t, []string{e.rp.clientID}, idt.Audience)
	require.NoError(e.t, idt.VerifyAccessToken(tok.AccessToken), "at_hash")
	return tok, idt
}

// refused checks that the browser came back with error for a.
func (e *e2e) refused(a authorization, wantError string) {
	e.t.Helper()
	q := e.callback(a)
	require.Equal(e.t, wantError, q.Get("error"), q.Get("error_description"))
	require.Empty(e.t, q.Get("code"))
}

// pagesSince returns the issuer's sign-in pages (login and consent) that
// the tab loaded (GET) after the first n requests of its network log.
func (e *e2e) pagesSince(n int) []string {
	var pages []string
	for _, r := range e.tab.Requests()[n:] {
		page := strings.HasPrefix(r.URL, e.s.URL+"/login") || strings.HasPrefix(r.URL, e.s.URL+"/consent")
		if page && r.Method == http.MethodGet {
			pages = append(pages, r.URL)
		}
	}
	return pages
}

// passwordNeverSent checks the tab's network log: the typed password is
// in no request URL or body, in any encoding.
func (e *e2e) passwordNeverSent() {
	e.t.Helper()
	browsertest.AssertNeverSent(e.t, e2ePassword, e.tab.Requests())
}

// accessTokenScope reads the scope claim of a JWT access token. The
// signature is not checked here: the token came from the token endpoint
// over the test's own connection, and resource servers' verification is
// tested elsewhere.
func accessTokenScope(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Scope string `json:"scope"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	return claims.Scope
}

package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// certEnv is one server with a relying party and a signed-in browser, for
// the cases of the OpenID conformance suite's Basic OP plan
// (oidcc-basic-certification-test-plan), each a subtest.
type certEnv struct {
	e        *apptest.Server
	rp       *rp
	client   apptest.Client
	alice    storage.User
	b        *apptest.Browser // signed in as alice, consented
	idToken  string           // from alice's first sign-in
	verifier string
}

func newCertEnv(t *testing.T, e *apptest.Server) *certEnv {
	readers := e.Group("readers", "users-read")
	alice := e.User("alice", "correct horse battery staple", readers.ID)
	relying, client := newRP(t, e, alice.ID, []string{"users-read"})
	c := &certEnv{e: e, rp: relying, client: client, alice: alice, b: e.Browser(), verifier: oauth2.GenerateVerifier()}
	page := c.b.SignIn(c.b.Visit(c.authURL("s")), "alice", "correct horse battery staple")
	tok := c.exchange(t, codeFrom(t, e, c.b.Consent(page, "allow"), "s"), c.verifier)
	c.idToken, _ = tok.Extra("id_token").(string)
	return c
}

// authURL is the relying party's authorization URL with PKCE and extra
// parameters.
func (c *certEnv) authURL(state string, extra ...string) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(c.verifier)}
	for i := 0; i+1 < len(extra); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(extra[i], extra[i+1]))
	}
	return c.rp.config.AuthCodeURL(state, opts...)
}

func (c *certEnv) exchange(t *testing.T, code, verifier string) *oauth2.Token {
	t.Helper()
	tok, err := c.rp.config.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	c.e.Remember(tok.AccessToken, tok.RefreshToken)
	return tok
}

// redirectError asserts an error sent back to the client.
func redirectError(t *testing.T, e *apptest.Server, p *apptest.Page, code, state string) {
	t.Helper()
	require.NotNil(t, p.Location, "expected a redirect with %s, got %d: %.300s", code, p.Status, p.Body)
	q := p.Location.Query()
	require.Equal(t, code, q.Get("error"), q.Get("error_description"))
	require.NotEmpty(t, q.Get("error_description"))
	require.Equal(t, state, q.Get("state"))
	require.Equal(t, e.URL, q.Get("iss"))
	require.True(t, strings.HasPrefix(p.Location.String(), rpRedirect+"?"))
}

// errorPage asserts an error shown on a page, never redirected.
func errorPage(t *testing.T, p *apptest.Page, status int) {
	t.Helper()
	require.Nil(t, p.Location, "must not redirect")
	require.Equal(t, status, p.Status, p.Body)
	require.True(t, strings.HasPrefix(p.Header.Get("Content-Type"), "text/html"))
}

func TestOIDCBasicCertificationCases(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		c := newCertEnv(t, e)
		ctx := context.Background()
		fresh := func() *apptest.Browser { return e.Browser() }
		base := func(drop ...string) url.Values {
			u, _ := url.Parse(c.authURL("st"))
			q := u.Query()
			for _, d := range drop {
				q.Del(d)
			}
			return q
		}
		authorize := func(b *apptest.Browser, q url.Values) *apptest.Page {
			return b.Visit(e.URL + "/oauth2/authorize?" + q.Encode())
		}

		t.Run("oidcc-server: signed in and consented, straight back with a code", func(t *testing.T) {
			codeFrom(t, e, c.b.Visit(c.authURL("st")), "st")
		})
		t.Run("oidcc-response-type-missing", func(t *testing.T) {
			redirectError(t, e, authorize(c.b, base("response_type")), "invalid_request", "st")
		})
		t.Run("unsupported response_type", func(t *testing.T) {
			q := base()
			q.Set("response_type", "token")
			redirectError(t, e, authorize(c.b, q), "unsupported_response_type", "st")
		})
		t.Run("oidcc-ensure-registered-redirect-uri", func(t *testing.T) {
			q := base()
			q.Set("redirect_uri", "https://attacker.example/callback")
			errorPage(t, authorize(c.b, q), http.StatusBadRequest)
		})
		t.Run("oidcc-ensure-redirect-uri-in-authorization-request", func(t *testing.T) {
			errorPage(t, authorize(c.b, base("redirect_uri")), http.StatusBadRequest)
		})
		t.Run("unknown client", func(t *testing.T) {
			q := base()
			q.Set("client_id", "nobody")
			errorPage(t, authorize(c.b, q), http.StatusBadRequest)
		})
		t.Run("duplicated parameter", func(t *testing.T) {
			errorPage(t, c.b.Visit(c.authURL("st")+"&scope=openid"), http.StatusBadRequest)
		})
		t.Run("oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported", func(t *testing.T) {
			q := base()
			q.Set("request", "eyJhbGciOiJub25lIn0.e30.")
			redirectError(t, e, authorize(c.b, q), "request_not_supported", "st")
			q = base()
			q.Set("request_uri", "https://rp.example/request.jwt")
			redirectError(t, e, authorize(c.b, q), "request_uri_not_supported", "st")
		})
		t.Run("PKCE plain is refused", func(t *testing.T) {
			q := base()
			q.Set("code_challenge_method", "plain")
			redirectError(t, e, authorize(c.b, q), "invalid_request", "st")
		})
		t.Run("PKCE is required of a public client", func(t *testing.T) {
			redirectError(t, e, authorize(c.b, base("code_challenge", "code_challenge_method")), "invalid_request", "st")
		})
		t.Run("oidcc-ensure-request-with-unknown-parameter-succeeds", func(t *testing.T) {
			codeFrom(t, e, c.b.Visit(c.authURL("st", "extra", "foobar", "display", "page", "claims", `{"id_token":{"email":{"essential":true}}}`)), "st")
		})
		t.Run("oidcc-ensure-request-with-acr-values-succeeds and claims-locales", func(t *testing.T) {
			codeFrom(t, e, c.b.Visit(c.authURL("st", "acr_values", "1 2", "claims_locales", "de")), "st")
		})
		t.Run("oidcc-ensure-other-scope-order-succeeds", func(t *testing.T) {
			q := base()
			q.Set("scope", "email openid")
			codeFrom(t, e, authorize(c.b, q), "st")
		})
		t.Run("oidcc-scope-address and phone are accepted", func(t *testing.T) {
			q := base()
			q.Set("scope", "openid address phone")
			p := authorize(fresh(), q)
			require.Equal(t, "/login", p.URL.Path, p.Body)
		})
		t.Run("an unknown scope is invalid_scope", func(t *testing.T) {
			q := base()
			q.Set("scope", "openid no-such-resource")
			redirectError(t, e, authorize(c.b, q), "invalid_scope", "st")
		})
		t.Run("oidcc-ensure-post-request-succeeds", func(t *testing.T) {
			res, err := http.PostForm(e.URL+"/oauth2/authorize", base())
			require.NoError(t, err)
			res.Body.Close()
			// Without the browser's cookies: to the login page.
			require.Equal(t, "/login", res.Request.URL.Path)
		})
		t.Run("oidcc-prompt-none-not-logged-in", func(t *testing.T) {
			redirectError(t, e, fresh().Visit(c.authURL("st", "prompt", "none")), "login_required", "st")
		})
		t.Run("oidcc-prompt-none-logged-in", func(t *testing.T) {
			codeFrom(t, e, c.b.Visit(c.authURL("st", "prompt", "none")), "st")
		})
		t.Run("prompt=none without consent is consent_required", func(t *testing.T) {
			q := base()
			q.Set("scope", "openid profile email") // users-read was consented, these not all
			q.Set("prompt", "none")
			other, _ := newRP(t, e, c.alice.ID, nil)
			q.Set("client_id", other.config.ClientID)
			redirectError(t, e, authorize(c.b, q), "consent_required", "st")
		})
		t.Run("oidcc-prompt-login", func(t *testing.T) {
			p := c.b.Visit(c.authURL("st", "prompt", "login"))
			require.Equal(t, "/login", p.URL.Path)
		})
		t.Run("prompt=consent shows the consent page again", func(t *testing.T) {
			p := c.b.Visit(c.authURL("st", "prompt", "consent"))
			require.Equal(t, "/consent", p.URL.Path)
		})
		t.Run("oidcc-max-age-10000", func(t *testing.T) {
			codeFrom(t, e, c.b.Visit(c.authURL("st", "max_age", "10000")), "st")
		})
		t.Run("oidcc-id-token-hint", func(t *testing.T) {
			codeFrom(t, e, c.b.Visit(c.authURL("st", "prompt", "none", "id_token_hint", c.idToken)), "st")
		})
		t.Run("an id_token_hint that is not ours", func(t *testing.T) {
			redirectError(t, e, c.b.Visit(c.authURL("st", "id_token_hint", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA")), "invalid_request", "st")
		})
		t.Run("oidcc-login-hint", func(t *testing.T) {
			p := fresh().Visit(c.authURL("st", "login_hint", "alice@example.com"))
			require.Contains(t, p.Body, `value="alice@example.com"`)
		})
		t.Run("oidcc-ui-locales", func(t *testing.T) {
			p := fresh().Visit(c.authURL("st", "ui_locales", "de-CH de en"))
			require.Contains(t, p.Body, `lang="de"`)
		})
		t.Run("consent denied is access_denied", func(t *testing.T) {
			other, _ := newRP(t, e, c.alice.ID, []string{"users-read"})
			q := base()
			q.Set("client_id", other.config.ClientID)
			p := authorize(c.b, q)
			require.Equal(t, "/consent", p.URL.Path, p.Body)
			redirectError(t, e, c.b.Consent(p, "deny"), "access_denied", "st")
		})
		t.Run("oidcc-ensure-request-without-nonce-succeeds-for-code-flow", func(t *testing.T) {
			tok := c.exchange(t, codeFrom(t, e, c.b.Visit(c.authURL("st")), "st"), c.verifier)
			idt, err := c.rp.verifier.Verify(ctx, tok.Extra("id_token").(string))
			require.NoError(t, err)
			require.Empty(t, idt.Nonce)
		})
		t.Run("oidcc-codereuse: the second use fails and revokes the first's tokens", func(t *testing.T) {
			code := codeFrom(t, e, c.b.Visit(c.authURL("st")), "st")
			tok := c.exchange(t, code, c.verifier)
			require.Equal(t, http.StatusOK, e.Bearer(http.MethodGet, "/userinfo", tok.AccessToken, "").Status)
			_, err := c.rp.config.Exchange(ctx, code, oauth2.VerifierOption(c.verifier))
			requireOAuthError(t, err, "invalid_grant")
			require.Equal(t, http.StatusUnauthorized, e.Bearer(http.MethodGet, "/userinfo", tok.AccessToken, "").Status)
			_, err = c.rp.config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			requireOAuthError(t, err, "invalid_grant")
		})
		t.Run("the code is bound to its verifier, redirect URI and client", func(t *testing.T) {
			code := codeFrom(t, e, c.b.Visit(c.authURL("st")), "st")
			_, err := c.rp.config.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
			requireOAuthError(t, err, "invalid_grant")

			code = codeFrom(t, e, c.b.Visit(c.authURL("st")), "st")
			wrong := c.rp.config
			wrong.RedirectURL = "https://rp.example/other"
			_, err = wrong.Exchange(ctx, code, oauth2.VerifierOption(c.verifier))
			requireOAuthError(t, err, "invalid_grant")

			code = codeFrom(t, e, c.b.Visit(c.authURL("st")), "st")
			other, _ := newRP(t, e, c.alice.ID, nil)
			_, err = other.config.Exchange(ctx, code, oauth2.VerifierOption(c.verifier))
			requireOAuthError(t, err, "invalid_grant")

			code = codeFrom(t, e, c.b.Visit(c.authURL("st")), "st")
			_, err = c.rp.config.Exchange(ctx, code)
			requireOAuthError(t, err, "invalid_request")
		})
		t.Run("oidcc-refresh-token", func(t *testing.T) {
			tok := c.exchange(t, codeFrom(t, e, c.b.Visit(c.authURL("st")), "st"), c.verifier)
			next, err := c.rp.config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			require.NoError(t, err)
			e.Remember(next.AccessToken, next.RefreshToken)
			require.Equal(t, tok.Extra("scope"), next.Extra("scope"))
		})
		t.Run("oidcc-userinfo-get, post-header and post-body", func(t *testing.T) {
			tok := c.exchange(t, codeFrom(t, e, c.b.Visit(c.authURL("st")), "st"), c.verifier)
			for _, r := range []apptest.Response{
				e.Bearer(http.MethodGet, "/userinfo", tok.AccessToken, ""),
				e.Bearer(http.MethodPost, "/userinfo", tok.AccessToken, ""),
				e.Post("/userinfo", nil, url.Values{"access_token": {tok.AccessToken}}),
			} {
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				require.Equal(t, c.alice.ID, r.Str("sub"))
				require.Equal(t, "alice", r.Str("preferred_username"))
			}
		})
		t.Run("oidcc-max-age-1: an older sign-in asks again", func(t *testing.T) {
			e.Clock.Advance(2 * time.Second)
			p := c.b.Visit(c.authURL("st", "max_age", "1"))
			require.Equal(t, "/login", p.URL.Path)
		})
	})
}

// requireOAuthError asserts that err is an RFC 6749 error response with
// code.
func requireOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	require.Equal(t, code, re.ErrorCode, string(re.Body))
}

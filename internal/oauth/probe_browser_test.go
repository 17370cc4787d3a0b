package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// Attacks on the browser sign-in (issue 12). Each test is named for what
// it guards.

// TestThirdPartyTokensCannotSelfServe: a third-party relying party that
// asked for, and was consented, nothing but "openid" must not read what
// the consent page never offered through the management API's
// self-service routes: the user's email and username (GET /admin/me),
// the resources they hold, the applications they consented to, or revoke
// those. /userinfo, the OIDC way to read claims, answers only sub.
func TestThirdPartyTokensCannotSelfServe(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		readers := e.Group("readers", "users-read")
		alice := e.User("alice", "correct horse battery staple", readers.ID)
		_, err := e.Store.UpdateUser(ctx, apptest.System, storage.DefaultRealm, alice.ID, func(u *storage.User) error {
			u.Email = "alice@private.example"
			return nil
		})
		require.NoError(t, err)
		relying, _ := newRP(t, e, alice.ID, []string{"users-read"})
		relying.config.Scopes = []string{oidc.ScopeOpenID} // nothing else

		b := e.Browser()
		verifier := oauth2.GenerateVerifier()
		consent := b.SignIn(b.Visit(relying.config.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))),
			"alice", "correct horse battery staple")
		require.Equal(t, "/consent", consent.URL.Path, consent.Body)
		require.NotContains(t, consent.Body, "mail", "the consent page asks for no email")
		tok, err := relying.config.Exchange(ctx, codeFrom(t, e, b.Consent(consent, "allow"), "s"), oauth2.VerifierOption(verifier))
		require.NoError(t, err)
		e.Remember(tok.AccessToken, tok.RefreshToken)
		require.Equal(t, "openid", tok.Extra("scope"))

		info := userinfo(e, tok.AccessToken)
		require.Equal(t, http.StatusOK, info.Status, info.Raw)
		require.NotContains(t, info.Raw, "alice@private.example", "userinfo keeps to the scopes")

		for _, path := range []string{"/admin/me", "/admin/me/resources", "/admin/me/consents", "/admin/me/clients"} {
			r := e.Bearer(http.MethodGet, path, tok.AccessToken, "")
			require.Equal(t, http.StatusForbidden, r.Status, "%s: %s", path, r.Raw)
			require.Contains(t, r.Raw, "first-party-token-required")
			require.NotContains(t, r.Raw, "alice@private.example")
		}
		// Within its consented admin resources it acts as the user.
		relying.config.Scopes = []string{oidc.ScopeOpenID, "users-read"}
		verifier = oauth2.GenerateVerifier()
		consent = b.Visit(relying.config.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
		tok, err = relying.config.Exchange(ctx, codeFrom(t, e, b.Consent(consent, "allow"), "s"), oauth2.VerifierOption(verifier))
		require.NoError(t, err)
		e.Remember(tok.AccessToken, tok.RefreshToken)
		require.Equal(t, http.StatusOK, e.Bearer(http.MethodGet, "/admin/users/"+alice.ID, tok.AccessToken, "").Status)
		require.Equal(t, http.StatusForbidden, e.Bearer(http.MethodGet, "/admin/me", tok.AccessToken, "").Status)

		// A first-party application's tokens may self-serve.
		first, _ := newRP(t, e, alice.ID, []string{"users-read"}, func(c *storage.Client) { c.SkipConsent = true })
		verifier = oauth2.GenerateVerifier()
		tok, err = first.config.Exchange(ctx, codeFrom(t, e, b.Visit(first.config.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))), "s"),
			oauth2.VerifierOption(verifier))
		require.NoError(t, err)
		e.Remember(tok.AccessToken, tok.RefreshToken)
		require.Equal(t, http.StatusOK, e.Bearer(http.MethodGet, "/admin/me", tok.AccessToken, "").Status)
	})
}

// TestPendingRequestEndsWhenItsClientChanges: a pending request keeps the
// redirect URI it was started with for 30 minutes. If an administrator
// removes that URI meanwhile (its domain lapsed, say) or disables the
// client, signing in or consenting must not deliver a code, or send the
// browser, to it.
func TestPendingRequestEndsWhenItsClientChanges(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		readers := e.Group("readers", "users-read")
		alice := e.User("alice", "correct horse battery staple", readers.ID)
		change := func(id string, f func(c *storage.Client)) {
			_, err := e.Store.UpdateClient(ctx, apptest.System, storage.DefaultRealm, id, func(c *storage.Client) error {
				f(c)
				return nil
			})
			require.NoError(t, err)
		}
		for name, f := range map[string]func(c *storage.Client){
			"redirect URI removed": func(c *storage.Client) { c.RedirectURIs = []string{"https://rp.example/new"} },
			"client disabled":      func(c *storage.Client) { c.Status = storage.StatusDisabled },
		} {
			t.Run(name, func(t *testing.T) {
				// At the login page, for a first-party client: the code
				// would follow the sign-in at once.
				relying, client := newRP(t, e, alice.ID, []string{"users-read"}, func(c *storage.Client) { c.SkipConsent = true })
				b := e.Browser()
				login := b.Visit(relying.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
				require.Equal(t, "/login", login.URL.Path, login.Body)
				change(client.ID, f)
				p := b.SignIn(login, "alice", "correct horse battery staple")
				require.Nil(t, p.Location, "sign-in sent the browser to %s", p.Location)

				// At the consent page.
				for _, decision := range []string{"deny", "allow"} {
					relying, client = newRP(t, e, alice.ID, []string{"users-read"})
					b = e.Browser()
					consent := b.SignIn(b.Visit(relying.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
						"alice", "correct horse battery staple")
					require.Equal(t, "/consent", consent.URL.Path, consent.Body)
					change(client.ID, f)
					p = b.Consent(consent, decision)
					require.Nil(t, p.Location, "%s sent the browser to %s", decision, p.Location)
				}
			})
		}
	})
}

// TestLogoutDoesNotReturnToADisabledClient: a disabled client's
// post_logout_redirect_uri is no longer a place Gatehouse sends browsers.
func TestLogoutDoesNotReturnToADisabledClient(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		alice := e.User("alice", "correct horse battery staple")
		_, client := newRP(t, e, alice.ID, nil, func(c *storage.Client) { c.Status = storage.StatusDisabled })
		p := e.Browser().Visit(e.URL + "/oauth2/logout?" + url.Values{
			"client_id": {client.ID}, "post_logout_redirect_uri": {"https://rp.example/bye"}}.Encode())
		errorPage(t, p, http.StatusBadRequest)
	})
}

// TestOwnerCannotRedirectFirstPartyClient: only administrators mark a
// client first-party (skip_consent), because its users are signed in to it
// without being asked. But the client's owner may still change its
// redirect_uris through self-service: pointing them at a site of their
// own, they would receive a code for whoever is signed in at Gatehouse and
// opens a link, with no page shown, and act as that user.
func TestOwnerCannotRedirectFirstPartyClient(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		readers := e.Group("readers", "users-read")
		alice := e.User("alice", "correct horse battery staple", readers.ID)
		bob := e.User("bob", "bob's long password", readers.ID)
		portal, _ := newRP(t, e, bob.ID, []string{"users-read"}, func(c *storage.Client) { c.SkipConsent = true })

		// Alice uses the portal: she has a session.
		b := e.Browser()
		verifier := oauth2.GenerateVerifier()
		codeFrom(t, e, b.SignIn(b.Visit(portal.config.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))),
			"alice", "correct horse battery staple"), "s")

		// Bob, its owner, moves the redirect URI to his own site.
		cli := e.Client("bob-cli", bob.ID, []string{"users-read"})
		tok := e.Login(&cli, "bob", "bob's long password", nil)
		require.Equal(t, http.StatusOK, tok.Status, tok.Raw)
		const steal = "https://bob.example/steal"
		patch := e.Bearer(http.MethodPatch, "/admin/me/clients/"+url.PathEscape(portal.config.ClientID), tok.Str("access_token"),
			`{"redirect_uris":["`+steal+`"]}`)
		require.Equal(t, http.StatusForbidden, patch.Status, patch.Raw)
		require.Equal(t, "redirect_uris", patch.Str("field"))
		// Unchanged redirect URIs, and other fields, are still the owner's.
		ok := e.Bearer(http.MethodPatch, "/admin/me/clients/"+url.PathEscape(portal.config.ClientID), tok.Str("access_token"),
			`{"name":"Portal","redirect_uris":["`+rpRedirect+`"]}`)
		require.Equal(t, http.StatusOK, ok.Status, ok.Raw)
		if patch.Status == http.StatusOK {
			// What it leads to: alice opens bob's link and bob holds her token.
			stolen := portal.config
			stolen.RedirectURL = steal
			p := b.Visit(stolen.AuthCodeURL("x", oauth2.S256ChallengeOption(verifier)))
			require.NotNil(t, p.Location, p.Body)
			require.Equal(t, "bob.example", p.Location.Host)
			got, err := stolen.Exchange(ctx, p.Location.Query().Get("code"), oauth2.VerifierOption(verifier))
			require.NoError(t, err)
			e.Remember(got.AccessToken, got.RefreshToken)
			me := e.Bearer(http.MethodGet, "/admin/me", got.AccessToken, "")
			require.Contains(t, me.Raw, alice.ID)
			t.Errorf("the owner of a first-party client redirected it and signed in as alice: %s", me.Raw)
		}
	})
}

// TestBrowserAttacksThatHold records attacks on the browser flow that the
// review tried and found answered: pending-request theft, forged forms,
// token confusion, logout CSRF, framing, and the login throttle behind
// the login page.
func TestBrowserAttacksThatHold(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		c := newCertEnv(t, e)
		tok := c.exchange(t, codeFrom(t, e, c.b.Visit(c.authURL("st")), "st"), c.verifier)

		t.Run("another browser cannot use a pending request", func(t *testing.T) {
			victim := e.Browser()
			login := victim.Visit(c.authURL("v", "prompt", "login"))
			require.Equal(t, "/login", login.URL.Path)
			thief := e.Browser()
			require.Equal(t, http.StatusBadRequest, thief.Visit(login.URL.String()).Status)
			p := thief.SignIn(login, "alice", "correct horse battery staple") // the victim's hidden fields
			require.Nil(t, p.Location)
			require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
		})
		t.Run("a forged consent form is refused", func(t *testing.T) {
			b := e.Browser()
			consent := b.SignIn(b.Visit(c.authURL("f", "prompt", "consent")), "alice", "correct horse battery staple")
			require.Equal(t, "/consent", consent.URL.Path)
			p := b.Submit(consent, url.Values{"decision": {"allow"}, "csrf": {"forged"}})
			require.Equal(t, http.StatusForbidden, p.Status)
			require.Nil(t, p.Location)
		})
		t.Run("an ID token is no access token, an access token no id_token_hint", func(t *testing.T) {
			idt, _ := tok.Extra("id_token").(string)
			require.NotEmpty(t, idt)
			require.Equal(t, http.StatusUnauthorized, e.Bearer(http.MethodGet, "/userinfo", idt, "").Status)
			require.Equal(t, http.StatusUnauthorized, e.Bearer(http.MethodGet, "/admin/me", idt, "").Status)
			redirectError(t, e, c.b.Visit(c.authURL("h", "id_token_hint", tok.AccessToken)), "invalid_request", "h")
			p := c.b.Visit(e.URL + "/oauth2/logout?" + url.Values{"id_token_hint": {tok.AccessToken}}.Encode())
			errorPage(t, p, http.StatusBadRequest)
		})
		t.Run("a logout link without the user's ID token only asks", func(t *testing.T) {
			p := c.b.Visit(e.URL + "/oauth2/logout?" + url.Values{"client_id": {c.client.ID},
				"post_logout_redirect_uri": {"https://rp.example/bye"}}.Encode())
			require.Equal(t, http.StatusOK, p.Status)
			require.Nil(t, p.Location)
			codeFrom(t, e, c.b.Visit(c.authURL("still")), "still") // still signed in
		})
		t.Run("pages cannot be framed or stored", func(t *testing.T) {
			p := e.Browser().Visit(c.authURL("x"))
			require.Equal(t, "/login", p.URL.Path)
			require.Contains(t, p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
			require.Equal(t, "DENY", p.Header.Get("X-Frame-Options"))
			require.Equal(t, "no-store", p.Header.Get("Cache-Control"))
		})
		t.Run("the login page is throttled like the password grant", func(t *testing.T) {
			b := e.Browser()
			login := b.Visit(c.authURL("t"))
			throttled := false
			for i := 0; i < 40 && !throttled; i++ {
				p := b.SignIn(login, "alice", "wrong password "+url.QueryEscape(apptest.RandomString(t)))
				require.Nil(t, p.Location)
				throttled = p.Status == http.StatusTooManyRequests
				require.True(t, throttled || p.Status == http.StatusOK, "%d", p.Status)
			}
			require.True(t, throttled)
		})
	})
}

// TestLoginSessionLifetimes: a session ends after the idle lifetime
// without use and after the absolute one whatever happens. On the
// in-memory backend only: Redis keeps time by its own clock.
func TestLoginSessionLifetimes(t *testing.T) {
	e := apptest.Start(t, apptest.Memory)
	c := newCertEnv(t, e)
	e.Clock.Advance(61 * time.Minute)
	login := c.b.Visit(c.authURL("idle"))
	require.Equal(t, "/login", login.URL.Path)
	codeFrom(t, e, c.b.SignIn(login, "alice", "correct horse battery staple"), "idle")

	for i := 0; i < 14; i++ {
		e.Clock.Advance(59 * time.Minute)
		p := c.b.Visit(c.authURL("abs"))
		if p.Location == nil {
			require.Equal(t, "/login", p.URL.Path)
			require.GreaterOrEqual(t, i, 11, "ended before 12 h")
			return
		}
	}
	t.Fatal("the session outlived its absolute lifetime")
}

package app_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/browsertest"
)

// Real-browser tests of browser sign-in (issue 12, "Tests: Real browser")
// through the whole application, on PostgreSQL+Redis and in memory: the
// hosted pages and their script in headless Chromium, the authorization
// and token endpoints, and a go-oidc relying party. The harness is in
// browser_rp_test.go.

// TestBrowserSignInAndConsent: a user signs in with the keyboard, allows
// a third-party client, and the relying party redeems the code. The
// decision is remembered for the same scopes and asked again for more.
func TestBrowserSignInAndConsent(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		e := newE2E(t, s)
		first := e.authorize(nil)
		e.tab.Navigate(first.URL)
		e.signIn(e2eUser, e2ePassword)
		e.tab.WaitURL(s.URL + "/consent")
		require.Contains(t, browsertest.Eval[string](e.tab, `document.body.innerText`), e2eClient, "the consent page names the client")
		e.decide("allow")
		tok, _ := e.redeem(first)
		// requested ∩ client-allowed ∩ user-held, plus the OIDC scopes.
		require.Equal(t, "openid profile users-read", tok.Extra("scope"))
		require.Equal(t, "openid profile users-read", accessTokenScope(t, tok.AccessToken))

		// Remembered: the same scopes go straight back with a code.
		n := len(e.tab.Requests())
		again := e.authorize(nil)
		e.tab.Navigate(again.URL)
		e.redeem(again)
		require.Empty(t, e.pagesSince(n), "no login or consent page for a remembered decision")

		// More scopes: asked again, and the new grant carries them.
		n = len(e.tab.Requests())
		more := e.authorize(append([]string{"groups-read"}, asked...))
		e.tab.Navigate(more.URL)
		e.decide("allow")
		tok, _ = e.redeem(more)
		require.Equal(t, "groups-read openid profile users-read", tok.Extra("scope"))
		require.Len(t, e.pagesSince(n), 1, "only the consent page: the session still holds")

		// A scope the client may not ask for is refused, not cut.
		notClients := e.authorize([]string{"openid", "clients-read"})
		e.tab.Navigate(notClients.URL)
		e.refused(notClients, "invalid_scope")

		e.passwordNeverSent()
	})
}

// TestBrowserConsentRefused: denying sends the browser back with
// access_denied, state and iss, and no code.
func TestBrowserConsentRefused(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		e := newE2E(t, s)
		a := e.authorize(nil)
		e.tab.Navigate(a.URL)
		e.signIn(e2eUser, e2ePassword)
		e.decide("deny")
		e.refused(a, "access_denied")
		e.passwordNeverSent()
	})
}

// TestBrowserWrongPassword: a wrong password and an unknown user get the
// same generic message on the login page, and the browser stays there.
func TestBrowserWrongPassword(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		e := newE2E(t, s)
		for _, who := range []string{e2eUser, "nobody-" + apptest.RandomString(t)} {
			e.tab.Navigate(e.authorize(nil).URL)
			e.signIn(who, e2ePassword+"!")
			e.tab.WaitFor(`document.getElementById("login-alert") !== null`)
			require.Equal(t, "Wrong username or password.",
				browsertest.Eval[string](e.tab, `document.getElementById("login-alert").textContent`), who)
			require.Equal(t, "/login", e.tab.URL().Path)
		}
		require.Zero(t, e.rp.visits.Load(), "no redirect to the relying party")
		browsertest.AssertNeverSent(t, e2ePassword+"!", e.tab.Requests())
	})
}

// TestBrowserPromptNone: prompt=none never shows a page. Without a
// session: login_required; with a session and consent: a code at once;
// with a session but no consent for the scopes: consent_required.
func TestBrowserPromptNone(t *testing.T) {
	none := oauth2.SetAuthURLParam("prompt", "none")
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		e := newE2E(t, s)
		n := len(e.tab.Requests())
		a := e.authorize(nil, none)
		e.tab.Navigate(a.URL)
		e.refused(a, "login_required")
		require.Empty(t, e.pagesSince(n), "prompt=none showed a page")

		signed := e.authorize(nil)
		e.tab.Navigate(signed.URL)
		e.signIn(e2eUser, e2ePassword)
		e.decide("allow")
		e.redeem(signed)

		n = len(e.tab.Requests())
		a = e.authorize(nil, none)
		e.tab.Navigate(a.URL)
		e.redeem(a)
		a = e.authorize(append([]string{"groups-read"}, asked...), none)
		e.tab.Navigate(a.URL)
		e.refused(a, "consent_required")
		require.Empty(t, e.pagesSince(n), "prompt=none showed a page")
		e.passwordNeverSent()
	})
}

// TestBrowserLogout: RP-initiated logout with id_token_hint,
// post_logout_redirect_uri and state brings the browser back to the
// relying party with its state; the session is gone (prompt=none:
// login_required) and so is its refresh grant (invalid_grant).
func TestBrowserLogout(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		e := newE2E(t, s)
		ctx := context.Background()
		a := e.authorize(nil)
		e.tab.Navigate(a.URL)
		e.signIn(e2eUser, e2ePassword)
		e.decide("allow")
		tok, _ := e.redeem(a)

		// The refresh grant works before the logout, so that its refusal
		// after it says something.
		refreshed, err := e.rp.config.TokenSource(ctx, expired(tok)).Token()
		require.NoError(t, err)
		s.Remember(refreshed.AccessToken, refreshed.RefreshToken)

		var meta struct {
			EndSession string `json:"end_session_endpoint"`
		}
		require.NoError(t, e.rp.provider.Claims(&meta))
		require.NotEmpty(t, meta.EndSession)
		e.tab.Navigate(meta.EndSession + "?" + url.Values{
			"id_token_hint":            {tok.Extra("id_token").(string)},
			"post_logout_redirect_uri": {e.rp.srv.URL + "/bye"},
			"state":                    {"bye-state"},
		}.Encode())
		back := e.tab.WaitURL(e.rp.srv.URL + "/bye")
		require.Equal(t, url.Values{"state": {"bye-state"}}, back.Query())

		none := e.authorize(nil, oauth2.SetAuthURLParam("prompt", "none"))
		e.tab.Navigate(none.URL)
		e.refused(none, "login_required")

		_, err = e.rp.config.TokenSource(ctx, expired(refreshed)).Token()
		var re *oauth2.RetrieveError
		require.True(t, errors.As(err, &re), "refresh after logout: %v", err)
		require.Equal(t, "invalid_grant", re.ErrorCode)
		e.passwordNeverSent()
	})
}

// expired returns tok as x/oauth2 sees it once the access token expired,
// so that its token source refreshes.
func expired(tok *oauth2.Token) *oauth2.Token {
	return &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
}

// TestBrowserGerman: a browser that asks for German (Accept-Language)
// gets the German login page; a relying party that asks for German
// (ui_locales, which wins over an English browser) gets the German login
// and consent pages. (The consent page otherwise follows the signed-in
// user's language, here English, before the browser's: see signin's
// languages.pick.)
func TestBrowserGerman(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		e := newE2E(t, s)
		text := func(b *browsertest.Tab, sel string) string {
			return browsertest.Eval[string](b, `document.querySelector("`+sel+`").textContent`)
		}

		de := browsertest.New(t)
		de.SetHeaders(map[string]string{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
		de.Navigate(e.authorize(nil).URL)
		de.WaitURL(s.URL + "/login")
		require.Equal(t, "de", browsertest.Eval[string](de, `document.documentElement.lang`))
		require.Equal(t, "um mit "+e2eClient+" fortzufahren", text(de, "p.lead"))
		require.Equal(t, "Passwort", text(de, "label[for=current-password]"))
		require.Equal(t, "Anmelden", text(de, "button[type=submit]"))

		e.tab.SetHeaders(map[string]string{"Accept-Language": "en-US,en;q=0.9"})
		a := e.authorize(nil, oauth2.SetAuthURLParam("ui_locales", "de"))
		e.tab.Navigate(a.URL)
		e.tab.WaitURL(s.URL + "/login")
		require.Equal(t, "Benutzername", text(e.tab, "label[for=username]"))
		e.signIn(e2eUser, e2ePassword)
		e.tab.WaitURL(s.URL + "/consent")
		require.Equal(t, "de", browsertest.Eval[string](e.tab, `document.documentElement.lang`))
		require.Equal(t, "Zugriff erlauben?", text(e.tab, "h1"))
		require.Equal(t, "Erlauben", text(e.tab, "button[value=allow]"))
		require.Equal(t, "Ablehnen", text(e.tab, "button[value=deny]"))
		require.Contains(t, browsertest.Eval[string](e.tab, `document.body.innerText`), "Ihre Anmeldung", "the openid scope in German")
		e.decide("allow")
		e.redeem(a)
		e.passwordNeverSent()
	})
}

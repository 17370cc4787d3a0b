package app_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/storage"
)

// TestBrowserAccount drives the account page (issue 14) in Chromium on
// both stores: signing in to it, the profile, the list of sessions with
// signing another one out, the consents with revoking one, and changing
// the password, which ends every other session and every token while
// this browser stays signed in. The typed passwords never leave the
// browser.
func TestBrowserAccount(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		e := newE2E(t, s)
		_, err := s.Store.CreateLanguage(ctx, storage.Actor{Type: storage.ActorSystem}, storage.DefaultRealm,
			storage.Language{Code: "de", Name: "Deutsch"})
		require.NoError(t, err)
		text := func(b *browsertest.Tab, sel string) string {
			return browsertest.Eval[string](b, `document.querySelector("`+sel+`").textContent`)
		}

		// Another browser signs in to the relying party and allows it.
		other := &e2e{t: t, s: s, user: e.user, rp: e.rp, tab: browsertest.New(t)}
		other.tab.SetHeaders(map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"})
		a := other.authorize(nil)
		other.tab.Navigate(a.URL)
		other.signIn(e2eUser, e2ePassword)
		other.decide("allow")
		tok, _ := other.redeem(a)

		// The account page asks this browser to sign in first, then
		// comes back.
		e.tab.Navigate(s.URL + "/account")
		e.tab.WaitURL(s.URL + "/login")
		require.Equal(t, "to manage your account", text(e.tab, "p.lead"))
		e.tab.Screenshots("account-login")
		e.signIn(e2eUser, e2ePassword)
		e.tab.WaitURL(s.URL + "/account")
		e.tab.WaitFor(`document.querySelector("h1") && document.querySelector("h1").textContent === "Your account"`)
		require.Contains(t, text(e.tab, "p.lead"), e2eUser)

		// Two sessions, this one marked; the other one by its browser.
		sessions := browsertest.Eval[[]string](e.tab, `[...document.querySelectorAll("section[aria-labelledby=sessions-heading] li")].map(li => li.innerText)`)
		require.Len(t, sessions, 2)
		require.Contains(t, sessions[0], "This browser")
		require.Contains(t, sessions[1], "Firefox on Linux")

		// The consent is listed with the client's name and scopes.
		apps := text(e.tab, "section[aria-labelledby=apps-heading]")
		require.Contains(t, apps, e2eClient)
		require.Contains(t, apps, "Read users", "users-read, by its description")
		e.tab.Screenshots("account")
		// The stylesheet applies: fields span the card, and the username
		// for password managers stays hidden.
		require.Greater(t, browsertest.Eval[float64](e.tab, `document.getElementById("new-password").offsetWidth`), 300.0)
		require.True(t, browsertest.Eval[bool](e.tab, `document.querySelector("#password-form input[autocomplete=username]").offsetParent === null`))

		// Sign the other browser out: its session and its grant end.
		e.tab.Click(`section[aria-labelledby=sessions-heading] li:nth-child(2) button`)
		waitDone(e.tab, "The session was signed out.")
		require.Len(t, browsertest.Eval[[]string](e.tab, `[...document.querySelectorAll("section[aria-labelledby=sessions-heading] li")].map(li => li.innerText)`), 1)
		none := other.authorize(nil, oauth2.SetAuthURLParam("prompt", "none"))
		other.tab.Navigate(none.URL)
		other.refused(none, "login_required")
		_, err = e.rp.config.TokenSource(ctx, expired(tok)).Token()
		requireInvalidGrant(t, err)
		audit, err := s.Store.ListAudit(ctx, storage.DefaultRealm, storage.AuditFilter{ActorID: e.user.ID}, storage.ListOptions{Limit: 50})
		require.NoError(t, err)
		var ended int
		for _, a := range audit.Items {
			if a.Action == storage.ActionSessionEnd {
				ended++
				require.Equal(t, e.user.ID, a.TargetID)
			}
		}
		require.Equal(t, 1, ended, "the sign-out is in the audit log")

		// Revoke the consent: the relying party must ask again.
		e.tab.Click(`section[aria-labelledby=apps-heading] li button`)
		waitDone(e.tab, "Your permission was withdrawn: the application must ask you again. Access it already has ends when its tokens expire.")
		require.Contains(t, text(e.tab, "section[aria-labelledby=apps-heading]"), "You have not allowed any application yet.")
		_, err = s.Store.GetConsent(ctx, storage.DefaultRealm, e.user.ID, e.rp.clientID)
		require.ErrorIs(t, err, storage.ErrNotFound)

		// The profile, by keyboard: a display name and German. The page
		// then speaks the user's language.
		e.tab.Type("#display-name", "Alice Liddell")
		e.tab.Type("#language", "D") // a focused select picks the option its typed letter starts
		require.Equal(t, "de", browsertest.Eval[string](e.tab, `document.getElementById("language").value`))
		e.tab.Click(`section[aria-labelledby=profile-heading] button`)
		waitDone(e.tab, "Ihr Profil wurde gespeichert.")
		require.Equal(t, "de", browsertest.Eval[string](e.tab, `document.documentElement.lang`))
		require.Equal(t, "Ihr Konto", text(e.tab, "h1"))
		e.tab.Screenshots("account-de")
		u, err := s.Store.GetUser(ctx, storage.DefaultRealm, e.user.ID)
		require.NoError(t, err)
		require.Equal(t, "Alice Liddell", u.DisplayName)
		require.Equal(t, "de", u.Language)

		// A wrong current password: said so, nothing changes.
		const newPassword = "Neues Passwort für Alice ✓"
		changePassword(e.tab, "not the password", newPassword, newPassword)
		e.tab.WaitFor(`document.getElementById("password-alert") !== null`)
		require.Equal(t, "Ihr aktuelles Passwort ist nicht korrekt.", text(e.tab, "#password-alert"))

		// A mistyped repetition is caught before anything is sent.
		n := len(e.tab.Requests())
		changePassword(e.tab, e2ePassword, newPassword, newPassword+"!")
		e.tab.WaitFor(`!document.getElementById("password-problem").hidden`)
		require.Contains(t, text(e.tab, "#password-problem"), "stimmen nicht überein")
		for _, r := range e.tab.Requests()[n:] {
			require.NotEqual(t, http.MethodPost, r.Method, "nothing sent: %s", r.URL)
		}

		// Another session and a token from before the change.
		again := other.authorize(nil)
		other.tab.Navigate(again.URL)
		other.signIn(e2eUser, e2ePassword)
		other.decide("allow")
		before, _ := other.redeem(again)
		s.Clock.Advance(time.Second)

		changePassword(e.tab, e2ePassword, newPassword, newPassword)
		waitDone(e.tab, "Ihr Passwort wurde geändert. Alle anderen Sitzungen wurden abgemeldet.")
		require.Len(t, browsertest.Eval[[]string](e.tab, `[...document.querySelectorAll("section[aria-labelledby=sessions-heading] li")].map(li => li.innerText)`), 1,
			"only this browser's session is left")
		_, err = e.rp.config.TokenSource(ctx, expired(before)).Token()
		requireInvalidGrant(t, err)
		require.Equal(t, http.StatusUnauthorized, s.Bearer(http.MethodGet, "/admin/me", before.AccessToken, "").Status,
			"the access token from before the change is revoked")
		none = other.authorize(nil, oauth2.SetAuthURLParam("prompt", "none"))
		other.tab.Navigate(none.URL)
		other.refused(none, "login_required")

		// The new password signs in; the old one does not.
		s.Clock.Advance(time.Second)
		other.tab.Navigate(s.URL + "/account")
		other.signIn(e2eUser, e2ePassword)
		other.tab.WaitFor(`document.getElementById("login-alert") !== null`)
		other.tab.Navigate(s.URL + "/account")
		other.signIn(e2eUser, newPassword)
		other.tab.WaitURL(s.URL + "/account")
		other.tab.WaitFor(`document.getElementById("password-form") !== null`)

		// An administrator's "revoke every token" signs this browser out
		// too: the account page asks it to sign in again.
		s.Clock.Advance(time.Second)
		require.NoError(t, s.State.RevokeSubject(ctx, storage.SubjectUser, e.user.ID, s.Clock.Now(), time.Hour))
		e.tab.Navigate(s.URL + "/account")
		e.tab.WaitURL(s.URL + "/login")

		for _, pw := range []string{e2ePassword, newPassword, "not the password", newPassword + "!"} {
			browsertest.AssertNeverSent(t, pw, e.tab.Requests())
			browsertest.AssertNeverSent(t, pw, other.tab.Requests())
		}
	})
}

// changePassword fills in the account page's password form and presses
// Enter in the last field.
func changePassword(tab *browsertest.Tab, old, next, confirm string) {
	tab.WaitFor(`document.getElementById("new-password") !== null`)
	browsertest.Eval[bool](tab, `[...document.querySelectorAll("input[type=password]")].every(i => (i.value = "") === "")`)
	tab.Type("#current-password", old)
	tab.Type("#new-password", next)
	tab.Type("#confirm-password", confirm)
	tab.Press(kb.Enter)
}

func requireInvalidGrant(t *testing.T, err error) {
	t.Helper()
	var re *oauth2.RetrieveError
	require.True(t, errors.As(err, &re), "want invalid_grant, got %v", err)
	require.Equal(t, "invalid_grant", re.ErrorCode)
	require.False(t, strings.Contains(err.Error(), "panic"))
}

// waitDone waits for the account page that confirms a change with msg.
func waitDone(tab *browsertest.Tab, msg string) {
	tab.WaitFor(`document.readyState !== "loading" && (document.getElementById("account-done") || {}).textContent === ` + strconv.Quote(msg))
}

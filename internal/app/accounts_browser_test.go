package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/storage"
)

// Real-browser tests of accounts by e-mail (docs/accounts.md): each mail
// arrives at an SMTP server over a socket, and headless Chromium follows
// its link and fills in the page, whose script derives the password
// object; the typed passwords never leave the browser.

// setPassword types a new password and its confirmation and submits.
func setPassword(tab *browsertest.Tab, password, confirmation string) {
	tab.WaitFor(`document.getElementById("setpw-form")`)
	tab.Type("#new-password", password)
	tab.Type("#confirm-password", confirmation)
	tab.Press(kb.Enter)
}

// waitText waits until the page's text holds s.
func waitText(tab *browsertest.Tab, s string) {
	tab.WaitFor(`document.readyState === "complete" && document.body.innerText.includes(` + jsString(s) + `)`)
}

func jsString(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		if r == '"' || r == '\\' {
			b = append(b, '\\')
		}
		b = append(b, string(r)...)
	}
	return string(append(b, '"'))
}

func TestBrowserActivation(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, root, adminToken := administrator(t, s)
		r := s.Bearer(http.MethodPost, "/admin/users", adminToken, `{"username":"ada","email":"ada@example.com"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		m := smtp.Wait("ada@example.com", 0, mailWait)
		require.Equal(t, "en", m.Language)
		link := s.Link(m)

		tab := browsertest.New(t)
		tab.Navigate(link.String())
		tab.Screenshots("activate")
		setPassword(tab, "ada typed this", "ada typed thus")
		waitText(tab, "The two passwords differ")
		tab.Screenshots("activate-mismatch")
		setPassword(tab, "ada's secret words", "ada's secret words")
		waitText(tab, "Your account is ready")
		require.Equal(t, http.StatusOK, s.Login(&root, "ada", "ada's secret words", nil).Status)
		for _, pw := range []string{"ada typed this", "ada typed thus", "ada's secret words"} {
			browsertest.AssertNeverSent(t, pw, tab.Requests())
		}
		tab.Navigate(link.String())
		waitText(tab, "Link no longer valid")
	})
}

func TestBrowserInvitation(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, _, adminToken := administrator(t, s)
		team := s.Group("team", "users-read")
		groups := `,"groups":["` + team.ID + `"]`

		// A new account.
		_, link := invite(t, s, smtp, adminToken, "nina@example.com", 0, groups)
		tab := browsertest.New(t)
		tab.Navigate(link.String())
		waitText(tab, "team")
		tab.Screenshots("invite")
		tab.Type("#new-username", "nina")
		setPassword(tab, "ninas password", "ninas password")
		waitText(tab, "Welcome")
		nina, err := s.Store.GetUserByUsername(context.Background(), storage.DefaultRealm, "nina")
		require.NoError(t, err)
		require.True(t, memberOf(t, s, nina.ID, team.ID))
		browsertest.AssertNeverSent(t, "ninas password", tab.Requests())

		// An existing account, through the sign-in form and its script.
		otto := s.User("otto", "ottos password")
		withEmail(t, s, otto.ID, "otto@example.com")
		_, link = invite(t, s, smtp, adminToken, "otto@example.com", 0, groups)
		tab2 := browsertest.New(t)
		tab2.Navigate(link.String())
		tab2.WaitFor(`document.getElementById("login-form")`)
		tab2.Type("#username", "otto")
		tab2.Type("#current-password", "ottos password")
		tab2.Press(kb.Enter)
		waitText(tab2, "Welcome")
		require.True(t, memberOf(t, s, otto.ID, team.ID))
		browsertest.AssertNeverSent(t, "ottos password", tab2.Requests())
	})
}

func TestBrowserPasswordReset(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, root, _ := administrator(t, s)
		u := s.User("paula", "paulas old password")
		withEmail(t, s, u.ID, "paula@example.com")
		refresh := s.Login(&root, "paula", "paulas old password", nil).Str("refresh_token")

		tab := browsertest.New(t)
		tab.Navigate(s.URL + "/password/forgot")
		tab.Screenshots("forgot")
		tab.Type("#forgot-name", "paula@example.com")
		tab.Press(kb.Enter)
		waitText(tab, "Check your mail")
		tab.Screenshots("forgot-sent")
		link := s.Link(smtp.Wait("paula@example.com", 0, mailWait))
		tab.Navigate(link.String())
		setPassword(tab, "paulas new password", "paulas new password")
		waitText(tab, "Your password is changed")

		require.Equal(t, http.StatusOK, s.Login(&root, "paula", "paulas new password", nil).Status)
		require.Equal(t, http.StatusBadRequest, s.Login(&root, "paula", "paulas old password", nil).Status)
		r := s.Post("/oauth2/token", &root, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		require.Equal(t, http.StatusBadRequest, r.Status, "the old grant ended")
		browsertest.AssertNeverSent(t, "paulas new password", tab.Requests())
	})
}

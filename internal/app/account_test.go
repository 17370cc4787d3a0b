package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// accountUser signs a scriptless browser in to the account page and
// returns it with the page.
func accountUser(t *testing.T, s *apptest.Server, username, password string) (*apptest.Browser, *apptest.Page) {
	t.Helper()
	b := s.Browser()
	login := b.Visit(s.URL + "/account")
	require.Equal(t, "/login", login.URL.Path, login.Body)
	page := b.SignIn(login, username, password)
	require.Equal(t, http.StatusOK, page.Status, page.Body)
	require.Equal(t, "/account", page.URL.Path)
	return b, page
}

// passwordChange is the password form as the page's script fills it in.
func passwordChange(t *testing.T, s *apptest.Server, csrf, username, old, next, confirm string) url.Values {
	t.Helper()
	oldWire := s.LoginPassword(username, old)
	set, err := clienthash.NewPasswordSetting(next, confirm, apptest.Iterations)
	require.NoError(t, err)
	s.Remember(set.Hash, set.Confirmation)
	return url.Values{"csrf": {csrf}, "old_password": {oldWire}, "kdf": {set.KDF},
		"iterations": {"1000"}, "salt": {set.Salt}, "hash": {set.Hash}, "confirmation": {set.Confirmation}}
}

// TestAccountBadInput: every form of the account page answers bad input
// with a clear page and changes nothing; a forged, foreign or signed-out
// request changes nothing either (issue 14, "Bad input" and "Security").
func TestAccountBadInput(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		g := s.Group("account-holders", "users-read")
		alice := s.User("alice", "alice's password", g.ID)
		s.User("bob", "bob's password", g.ID)
		b, page := accountUser(t, s, "alice", "alice's password")
		csrf, ok := page.Hidden("csrf")
		require.True(t, ok)
		bob, bobPage := accountUser(t, s, "bob", "bob's password")
		bobCSRF, _ := bobPage.Hidden("csrf")
		bobSessions := bobPage.HiddenValues("session")
		require.Len(t, bobSessions, 1)

		type post struct {
			name   string
			path   string
			values url.Values
			status int
		}
		for _, tc := range []post{
			{"no csrf", "/account/profile", url.Values{"display_name": {"x"}, "language": {"en"}}, http.StatusForbidden},
			{"wrong csrf", "/account/profile", url.Values{"csrf": {"x" + csrf}, "display_name": {"x"}, "language": {"en"}}, http.StatusForbidden},
			{"another session's csrf", "/account/profile", url.Values{"csrf": {bobCSRF}, "display_name": {"x"}, "language": {"en"}}, http.StatusForbidden},
			{"unknown field", "/account/profile", url.Values{"csrf": {csrf}, "display_name": {"x"}, "language": {"en"}, "status": {"disabled"}}, http.StatusBadRequest},
			{"duplicate field", "/account/profile", url.Values{"csrf": {csrf}, "display_name": {"x", "y"}, "language": {"en"}}, http.StatusBadRequest},
			{"oversized name", "/account/profile", url.Values{"csrf": {csrf}, "display_name": {strings.Repeat("x", 600)}, "language": {"en"}}, http.StatusBadRequest},
			{"control character", "/account/profile", url.Values{"csrf": {csrf}, "display_name": {"a\x00b"}, "language": {"en"}}, http.StatusBadRequest},
			{"unknown language", "/account/profile", url.Values{"csrf": {csrf}, "display_name": {"x"}, "language": {"tlh"}}, http.StatusBadRequest},
			{"unhashed password", "/account/password", url.Values{"csrf": {csrf}, "old_password": {"alice's password"}, "kdf": {"pbkdf2-sha256"},
				"iterations": {"1000"}, "salt": {"AAAAAAAAAAAAAAAAAAAAAA"}, "hash": {"new password"}, "confirmation": {"new password"}}, http.StatusBadRequest},
			{"session id oversized", "/account/sessions/end", url.Values{"csrf": {csrf}, "session": {strings.Repeat("s", 100)}}, http.StatusBadRequest},
			{"client id missing", "/account/consents/revoke", url.Values{"csrf": {csrf}}, http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := b.PostForm(tc.path, tc.values)
				require.Equal(t, tc.status, p.Status, p.Body)
				require.Equal(t, "no-store", p.Header.Get("Cache-Control"))
				require.Contains(t, p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
			})
		}
		u, err := s.Store.GetUser(t.Context(), storage.DefaultRealm, alice.ID)
		require.NoError(t, err)
		require.Empty(t, u.DisplayName, "no bad form changed the profile")

		t.Run("wrong content type", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/account/profile", strings.NewReader(`{"csrf":"`+csrf+`"}`))
			req.Header.Set("Content-Type", "application/json")
			require.Equal(t, http.StatusBadRequest, s.Do(req).Status)
		})
		t.Run("methods", func(t *testing.T) {
			for path, allow := range map[string]string{"/account": "GET, HEAD", "/account/profile": "POST", "/account/sign-out": "POST"} {
				method := http.MethodPost
				if allow == "POST" {
					method = http.MethodGet
				}
				req, _ := http.NewRequest(method, s.URL+path, nil)
				res := s.Do(req)
				require.Equal(t, http.StatusMethodNotAllowed, res.Status, path)
				require.Equal(t, allow, res.Header.Get("Allow"), path)
			}
		})
		t.Run("signed out", func(t *testing.T) {
			p := s.Browser().PostForm("/account/sign-out", url.Values{"csrf": {csrf}})
			require.Equal(t, "/login", p.URL.Path, "sent to sign in, through the account page")
		})
		t.Run("another user's session is not ended", func(t *testing.T) {
			p := b.PostForm("/account/sessions/end", url.Values{"csrf": {csrf}, "session": {bobSessions[0]}})
			require.Equal(t, http.StatusOK, p.Status)
			still := bob.Visit(s.URL + "/account")
			require.Equal(t, "/account", still.URL.Path, "bob is still signed in")
		})
		t.Run("mismatch refused by the server", func(t *testing.T) {
			form := passwordChange(t, s, csrf, "alice", "alice's password", "new one", "new one!")
			p := b.PostForm("/account/password", form)
			require.Equal(t, http.StatusUnprocessableEntity, p.Status)
			require.Contains(t, p.Body, "differ")
			again := s.Browser()
			require.Equal(t, "/account", again.SignIn(again.Visit(s.URL+"/account"), "alice", "alice's password").URL.Path,
				"the password did not change")
		})
		t.Run("iterations not the server's", func(t *testing.T) {
			form := passwordChange(t, s, csrf, "alice", "alice's password", "new one", "new one")
			form.Set("iterations", "999")
			require.Equal(t, http.StatusBadRequest, b.PostForm("/account/password", form).Status)
		})
		t.Run("old password guessing is throttled", func(t *testing.T) {
			var last *apptest.Page
			for range 15 {
				last = b.PostForm("/account/password", passwordChange(t, s, csrf, "alice", "guess", "new one", "new one"))
				if last.Status == http.StatusTooManyRequests {
					break
				}
				require.Equal(t, http.StatusOK, last.Status)
				require.Contains(t, last.Body, "current password is not correct")
			}
			require.Equal(t, http.StatusTooManyRequests, last.Status)
			require.NotEmpty(t, last.Header.Get("Retry-After"))
			right := b.PostForm("/account/password", passwordChange(t, s, csrf, "alice", "alice's password", "new one", "new one"))
			require.Equal(t, http.StatusTooManyRequests, right.Status, "the right password waits too")
		})
		t.Run("sign out", func(t *testing.T) {
			p := b.PostForm("/account/sign-out", url.Values{"csrf": {csrf}})
			require.Equal(t, http.StatusOK, p.Status)
			require.Contains(t, p.Body, "signed out")
			require.Equal(t, "/login", b.Visit(s.URL+"/account").URL.Path)
		})
	})
}

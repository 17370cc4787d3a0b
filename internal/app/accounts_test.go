package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/storage"
)

const mailWait = 10 * time.Second

// forEachBackendWithMail runs fn against a server with mail on every
// backend.
func forEachBackendWithMail(t *testing.T, fn func(t *testing.T, s *apptest.Server, smtp *mailtest.Server)) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s, smtp := apptest.StartWithMail(t, b)
			fn(t, s, smtp)
		})
	}
}

// withEmail gives a user an address, unverified, as an administrator
// would.
func withEmail(t *testing.T, s *apptest.Server, userID, email string) {
	t.Helper()
	_, err := s.Store.UpdateUser(context.Background(), apptest.System, storage.DefaultRealm, userID, func(u *storage.User) error {
		u.Email = email
		return nil
	})
	require.NoError(t, err)
}

func german(t *testing.T, s *apptest.Server) {
	_, err := s.Store.CreateLanguage(context.Background(), apptest.System, storage.DefaultRealm, storage.Language{Code: "de", Name: "Deutsch"})
	require.NoError(t, err)
}

// tampered changes one character of a link's token.
func tampered(u *url.URL) string {
	q := u.Query()
	tok := []byte(q.Get("token"))
	if tok[5] == 'A' {
		tok[5] = 'B'
	} else {
		tok[5] = 'A'
	}
	q.Set("token", string(tok))
	v := *u
	v.RawQuery = q.Encode()
	return v.String()
}

// A user created with an address and no password is mailed an
// activation link in their language; the page sets the password (typed
// twice, refused when the two differ) and the address is verified. The
// link works once; a tampered one never.
func TestActivation(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		german(t, s)
		_, root, adminToken := administrator(t, s)
		r := s.Bearer(http.MethodPost, "/admin/users", adminToken, `{"username":"ada","email":"ada@example.com","language":"de"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, false, r.Body["email_verified"])
		id := r.Str("id")

		m := smtp.Wait("ada@example.com", 0, mailWait)
		require.Equal(t, "de", m.Language)
		require.Equal(t, "Aktivieren Sie Ihr Gatehouse-Konto", m.Subject)
		require.Contains(t, m.Text, "ada")
		link := s.Link(m)
		require.Equal(t, s.URL+"/activate", link.Scheme+"://"+link.Host+link.Path, "links are built from the issuer")

		b := s.Browser()
		require.Equal(t, http.StatusGone, b.Visit(tampered(link)).Status)
		p := b.Visit(link.String())
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		require.Contains(t, p.Body, `lang="de"`)
		require.Contains(t, p.Body, "ada")

		p2 := b.SetPassword(p, 0, "first-try-password", "first-try-pasword", nil)
		require.Equal(t, http.StatusBadRequest, p2.Status, "mismatched passwords are refused")
		require.Contains(t, p2.Body, "stimmen nicht überein")
		p3 := b.SetPassword(p2, 0, "correct horse battery", "correct horse battery", nil)
		require.Equal(t, http.StatusOK, p3.Status, p3.Body)
		require.Contains(t, p3.Body, "Ihr Konto ist bereit")

		u := s.Bearer(http.MethodGet, "/admin/users/"+id, adminToken, "")
		require.Equal(t, true, u.Body["has_password"])
		require.Equal(t, true, u.Body["email_verified"])
		require.Equal(t, http.StatusOK, s.Login(&root, "ada", "correct horse battery", nil).Status)

		require.Equal(t, http.StatusGone, s.Browser().Visit(link.String()).Status, "a link works once")
		require.Equal(t, http.StatusGone, b.SetPassword(p, 0, "another one", "another one", nil).Status, "reused")
		require.Equal(t, http.StatusOK, s.Login(&root, "ada", "correct horse battery", nil).Status, "the password stays")

		// The email_verified claim follows: a new address is unverified.
		r = s.Bearer(http.MethodPatch, "/admin/users/"+id, adminToken, `{"email":"ada@other.example"}`)
		require.Equal(t, false, r.Body["email_verified"])
	})
}

// Resending the activation: a new link replaces the old; users with a
// password or no address get none; a caller with less power than the
// user is refused.
func TestActivationResend(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, _, adminToken := administrator(t, s)
		staff := s.Group("staff", "users-read", "users-write")
		clerk := s.User("clerk", "", staff.ID)
		clerkClient := s.Client("clerk-cli", clerk.ID, []string{"users-read", "users-write"})
		clerkToken := s.Token(&clerkClient, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")

		r := s.Bearer(http.MethodPost, "/admin/users", clerkToken, `{"username":"bea","email":"bea@example.com"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		bea := r.Str("id")
		first := s.Link(smtp.Wait("bea@example.com", 0, mailWait))
		r = s.Bearer(http.MethodPost, "/admin/users/"+bea+"/activation", clerkToken, "")
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		second := s.Link(smtp.Wait("bea@example.com", 1, mailWait))
		require.NotEqual(t, first.String(), second.String())
		require.Equal(t, http.StatusGone, s.Browser().Visit(first.String()).Status, "the older link stops working")
		require.Equal(t, http.StatusOK, s.Browser().Visit(second.String()).Status)
		// A new address: links mailed to the old one stop working, so that
		// whoever reads the old mailbox cannot take the account.
		r = s.Bearer(http.MethodPatch, "/admin/users/"+bea, clerkToken, `{"email":"bea@new.example"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, http.StatusGone, s.Browser().Visit(second.String()).Status)

		// A more powerful user: the clerk may not mail them a link.
		admins, err := s.Store.GetGroupByName(context.Background(), storage.DefaultRealm, storage.AdministratorsGroup)
		require.NoError(t, err)
		boss, err := s.Store.CreateUser(context.Background(), apptest.System, storage.DefaultRealm,
			storage.User{Username: "boss", Email: "boss@example.com", Language: "en", Status: storage.StatusActive}, []string{admins.ID})
		require.NoError(t, err)
		r = s.Bearer(http.MethodPost, "/admin/users/"+boss.ID+"/activation", clerkToken, "")
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
		require.Equal(t, "urn:gatehouse:problem:delegation-ceiling", r.Str("type"))
		r = s.Bearer(http.MethodPost, "/admin/users/"+boss.ID+"/activation", adminToken, "")
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)

		// Nothing to activate.
		withPassword := s.User("carl", "carl-password")
		r = s.Bearer(http.MethodPost, "/admin/users/"+withPassword.ID+"/activation", adminToken, "")
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
		require.Equal(t, "urn:gatehouse:problem:no-activation", r.Str("type"))
		noMail := s.Bearer(http.MethodPost, "/admin/users", adminToken, `{"username":"dora"}`)
		r = s.Bearer(http.MethodPost, "/admin/users/"+noMail.Str("id")+"/activation", adminToken, "")
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
		require.Equal(t, http.StatusNotFound, s.Bearer(http.MethodPost, "/admin/users/nope/activation", adminToken, "").Status)
		readOnly := s.Group("readers", "users-read")
		reader := s.User("reader", "", readOnly.ID)
		rc := s.Client("reader-cli", reader.ID, []string{"users-read"})
		rt := s.Token(&rc, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		require.Equal(t, http.StatusForbidden, s.Bearer(http.MethodPost, "/admin/users/"+bea+"/activation", rt, "").Status)
	})
}

// The reset: the same answer whether or not the account exists, a mail
// with a single-use link only to a real one, and on success every
// session, refresh grant and access token of the user ends.
func TestPasswordReset(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, root, adminToken := administrator(t, s)
		staff := s.Group("staff", "users-read")
		eve := s.User("eve", "old-password", staff.ID)
		withEmail(t, s, eve.ID, "eve@example.com")
		login := s.Login(&root, "eve", "old-password", nil)
		require.Equal(t, http.StatusOK, login.Status, login.Raw)
		access, refresh := login.Str("access_token"), login.Str("refresh_token")

		b := s.Browser()
		forgot := b.Visit(s.URL + "/password/forgot")
		require.Equal(t, http.StatusOK, forgot.Status)
		var bodies []string
		for _, name := range []string{"nobody", "nobody@example.com", "eve@example.com"} {
			p := b.Submit(forgot, url.Values{"name": {name}})
			require.Equal(t, http.StatusOK, p.Status)
			bodies = append(bodies, p.Body)
		}
		require.Equal(t, bodies[0], bodies[1], "the same answer for every name")
		require.Equal(t, bodies[0], bodies[2])
		m := smtp.Wait("eve@example.com", 0, mailWait)
		require.Equal(t, "Reset your Gatehouse password", m.Subject)
		require.Equal(t, "en", m.Language)
		link := s.Link(m)
		require.Equal(t, "/password/reset", link.Path)

		p := b.Visit(link.String())
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		require.Equal(t, http.StatusBadRequest, b.SetPassword(p, 0, "new-password-1", "new-password-2", nil).Status)
		done := b.SetPassword(p, 0, "new-password", "new-password", nil)
		require.Equal(t, http.StatusOK, done.Status, done.Body)

		// Everything of the user ended; the new password works, the old not.
		require.Equal(t, http.StatusUnauthorized, s.Bearer(http.MethodGet, "/userinfo", access, "").Status)
		r := s.Post("/oauth2/token", &root, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, http.StatusBadRequest, s.Login(&root, "eve", "old-password", nil).Status)
		require.Equal(t, http.StatusOK, s.Login(&root, "eve", "new-password", nil).Status)
		require.Equal(t, http.StatusGone, b.Visit(link.String()).Status, "single use")
		require.Equal(t, true, s.Bearer(http.MethodGet, "/admin/users/"+eve.ID, adminToken, "").Body["email_verified"])

		// By username too; nothing for unknown names, so exactly two mails.
		b.Submit(forgot, url.Values{"name": {"EVE"}})
		smtp.Wait("eve@example.com", 1, mailWait)
		time.Sleep(300 * time.Millisecond)
		require.Equal(t, 2, smtp.Count("eve@example.com"))
		for _, msg := range smtp.Messages() {
			require.True(t, strings.HasSuffix(msg.To, "eve@example.com") || strings.Contains(msg.To, "root"), msg.To)
		}
	})
}

// Reset requests are throttled per account: past the free ones, no more
// mails, and the page still answers the same.
func TestPasswordResetThrottle(t *testing.T) {
	s, smtp := apptest.StartWithMail(t, apptest.Memory)
	u := s.User("fay", "fay-password")
	withEmail(t, s, u.ID, "fay@example.com")
	b := s.Browser()
	forgot := b.Visit(s.URL + "/password/forgot")
	for i := range 6 {
		// Alternate the spelling: the account bucket counts them all.
		name := "fay"
		if i%2 == 1 {
			name = "fay@example.com"
		}
		p := b.Submit(forgot, url.Values{"name": {name}})
		require.Equal(t, http.StatusOK, p.Status)
		require.Contains(t, p.Body, "Check your mail")
	}
	smtp.Wait("fay@example.com", 2, mailWait)
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, 3, smtp.Count("fay@example.com"), "three mails per account, then a wait")
	s.Clock.Advance(25 * time.Hour)
	b.Submit(forgot, url.Values{"name": {"fay"}})
	smtp.Wait("fay@example.com", 3, mailWait)
}

// The pages refuse what they did not send: forged CSRF tokens, foreign
// purposes, oversized fields, unknown fields, wrong methods.
func TestAccountPagesBadInput(t *testing.T) {
	s, smtp := apptest.StartWithMail(t, apptest.Memory)
	_, _, adminToken := administrator(t, s)
	r := s.Bearer(http.MethodPost, "/admin/users", adminToken, `{"username":"gus","email":"gus@example.com"}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	link := s.Link(smtp.Wait("gus@example.com", 0, mailWait))
	token := link.Query().Get("token")

	// An activation link is not a reset link, nor an invitation.
	for _, path := range []string{"/password/reset", "/invite"} {
		require.Equal(t, http.StatusGone, s.Browser().Visit(s.URL+path+"?token="+url.QueryEscape(token)).Status, path)
	}
	for _, q := range []string{"", "?token=", "?token=short", "?token=" + strings.Repeat("A", 500), "?token=a&token=b"} {
		require.Equal(t, http.StatusGone, s.Browser().Visit(s.URL+"/activate"+q).Status, q)
	}
	b := s.Browser()
	p := b.Visit(link.String())
	require.Equal(t, http.StatusOK, p.Status)

	post := func(form url.Values, cookie bool) int {
		req, err := http.NewRequest(http.MethodPost, s.URL+"/activate", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie {
			for _, c := range b.Cookies() {
				req.AddCookie(c)
			}
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	var csrf string
	for _, c := range b.Cookies() {
		if c.Name == "gatehouse-form" {
			csrf = c.Value
		}
	}
	require.NotEmpty(t, csrf)
	base := url.Values{"token": {token}, "csrf": {csrf}, "kdf": {"pbkdf2-sha256"}, "iterations": {fmt.Sprint(apptest.Iterations)},
		"salt": {"AAAAAAAAAAAAAAAAAAAAAA"}, "hash": {strings.Repeat("A", 43)}, "confirmation": {strings.Repeat("A", 43)}}
	require.Equal(t, http.StatusForbidden, post(base, false), "no cookie")
	forged := url.Values{}
	for k, v := range base {
		forged[k] = v
	}
	forged.Set("csrf", strings.Repeat("B", 43))
	require.Equal(t, http.StatusForbidden, post(forged, true), "another token")
	big := url.Values{}
	for k, v := range base {
		big[k] = v
	}
	big.Set("hash", strings.Repeat("A", 5000))
	require.Equal(t, http.StatusBadRequest, post(big, true), "oversized field")
	unknown := url.Values{"password_plain": {"x"}}
	for k, v := range base {
		unknown[k] = v
	}
	require.Equal(t, http.StatusBadRequest, post(unknown, true), "unknown field")
	notHashed := url.Values{}
	for k, v := range base {
		notHashed[k] = v
	}
	notHashed.Set("hash", "the typed password")
	require.Equal(t, http.StatusBadRequest, post(notHashed, true), "a password not derived by the script")
	require.Equal(t, http.StatusOK, s.Browser().Visit(link.String()).Status, "refused posts leave the link usable")

	// An expired link.
	s.Clock.Advance(73 * time.Hour)
	require.Equal(t, http.StatusGone, s.Browser().Visit(link.String()).Status)
	require.Equal(t, http.StatusGone, post(base, true))

	req, err := http.NewRequest(http.MethodPut, s.URL+"/password/forgot", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusMethodNotAllowed, s.Do(req).Status)
	long := b.Visit(s.URL + "/password/forgot")
	require.Equal(t, http.StatusBadRequest, b.Submit(long, url.Values{"name": {strings.Repeat("x", 300)}}).Status)
}

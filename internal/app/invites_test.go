package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/storage"
)

// invite creates an invitation through the API and returns its id and
// the link mailed for it (the n-th mail to email).
func invite(t *testing.T, s *apptest.Server, smtp *mailtest.Server, token, email string, n int, extra string) (string, *url.URL) {
	t.Helper()
	r := s.Bearer(http.MethodPost, "/admin/invites", token, `{"email":"`+email+`"`+extra+`}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	require.Equal(t, "/admin/invites/"+r.Str("id"), r.Header.Get("Location"))
	return r.Str("id"), s.Link(smtp.Wait(email, n, mailWait))
}

func memberOf(t *testing.T, s *apptest.Server, userID, groupID string) bool {
	groups, err := s.Store.UserGroups(context.Background(), storage.DefaultRealm, userID)
	require.NoError(t, err)
	for _, g := range groups {
		if g.ID == groupID {
			return true
		}
	}
	return false
}

// An invitation accepted by creating an account: the account gets the
// invitation's address (verified) and groups, the invitation is spent,
// and the audit log has its creation and acceptance.
func TestInvitationNewAccount(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		german(t, s)
		_, root, adminToken := administrator(t, s)
		editors := s.Group("editors", "users-read")
		id, link := invite(t, s, smtp, adminToken, "dan@example.com", 0, `,"groups":["`+editors.ID+`"],"language":"de"`)
		m := smtp.Messages()[0]
		require.Equal(t, "Einladung zu Gatehouse", m.Subject)
		require.Contains(t, m.Text, "editors")
		require.Equal(t, "/invite", link.Path)

		r := s.Bearer(http.MethodGet, "/admin/invites/"+id, adminToken, "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "pending", r.Str("status"))
		require.Equal(t, "de", r.Str("language"))

		b := s.Browser()
		p := b.Visit(link.String())
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		require.Contains(t, p.Body, "editors")
		bad := b.SetPassword(p, 0, "pw-a-long-one", "pw-b-long-one", url.Values{"username": {"dan"}})
		require.Equal(t, http.StatusBadRequest, bad.Status)
		s.User("taken", "")
		require.Equal(t, http.StatusConflict, b.SetPassword(p, 0, "dans-password", "dans-password", url.Values{"username": {"Taken"}}).Status)
		require.Equal(t, http.StatusBadRequest, b.SetPassword(p, 0, "dans-password", "dans-password", url.Values{"username": {"a b"}}).Status)
		done := b.SetPassword(p, 0, "dans-password", "dans-password", url.Values{"username": {"dan"}})
		require.Equal(t, http.StatusOK, done.Status, done.Body)
		require.Contains(t, done.Body, "Willkommen")

		dan, err := s.Store.GetUserByUsername(context.Background(), storage.DefaultRealm, "dan")
		require.NoError(t, err)
		require.Equal(t, "dan@example.com", dan.Email)
		require.True(t, dan.EmailVerified)
		require.Equal(t, "de", dan.Language)
		require.True(t, memberOf(t, s, dan.ID, editors.ID))
		login := s.Login(&root, "dan", "dans-password", url.Values{"scope": {"users-read"}})
		require.Equal(t, http.StatusOK, login.Status, login.Raw)
		require.Equal(t, "users-read", login.Str("scope"), "the token endpoint sees the new membership")

		require.Equal(t, http.StatusGone, s.Browser().Visit(link.String()).Status, "spent")
		require.Equal(t, http.StatusGone, b.SetPassword(p, 0, "x-password", "x-password", url.Values{"username": {"dan2"}}).Status)
		_, err = s.Store.GetUserByUsername(context.Background(), storage.DefaultRealm, "dan2")
		require.ErrorIs(t, err, storage.ErrNotFound, "a refused acceptance leaves no account")

		r = s.Bearer(http.MethodGet, "/admin/invites/"+id, adminToken, "")
		require.Equal(t, "accepted", r.Str("status"))
		require.Equal(t, dan.ID, r.Str("accepted_by"))
		require.Equal(t, http.StatusConflict, s.Bearer(http.MethodDelete, "/admin/invites/"+id, adminToken, "").Status)
		audit := s.Bearer(http.MethodGet, "/admin/audit?target="+id, adminToken, "")
		require.Equal(t, http.StatusOK, audit.Status, audit.Raw)
		var actions []string
		for _, it := range audit.Body["items"].([]any) {
			actions = append(actions, it.(map[string]any)["action"].(string))
		}
		require.Equal(t, []string{"invitation.accept", "invitation.create"}, actions)
	})
}

// An invitation accepted by signing in: the address must be the
// account's unless the inviter allowed any; the groups are added once.
func TestInvitationExistingAccount(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, _, adminToken := administrator(t, s)
		team := s.Group("team", "groups-read")
		erin := s.User("erin", "erins-password")
		ctx := context.Background()
		withEmail(t, s, erin.ID, "Erin@Example.com")
		s.User("frank", "franks-password")

		_, link := invite(t, s, smtp, adminToken, "erin@example.com", 0, `,"groups":["`+team.ID+`"]`)
		b := s.Browser()
		p := b.Visit(link.String())
		require.Equal(t, http.StatusOK, p.Status)
		wrong := b.SignInForm(p, 1, "erin", "not-her-password")
		require.Equal(t, http.StatusOK, wrong.Status)
		require.Contains(t, wrong.Body, "Wrong username or password.")
		foreign := b.SignInForm(p, 1, "frank", "franks-password")
		require.Equal(t, http.StatusForbidden, foreign.Status, "another account's address")
		require.False(t, memberOf(t, s, erin.ID, team.ID))
		done := b.SignInForm(p, 1, "erin", "erins-password")
		require.Equal(t, http.StatusOK, done.Status, done.Body)
		require.True(t, memberOf(t, s, erin.ID, team.ID))
		got, err := s.Store.GetUser(ctx, storage.DefaultRealm, erin.ID)
		require.NoError(t, err)
		require.True(t, got.EmailVerified, "the link reached her address")
		require.Equal(t, http.StatusGone, b.SignInForm(p, 1, "erin", "erins-password").Status, "accepted once")

		// allow_any_email lets frank accept one sent elsewhere.
		_, link = invite(t, s, smtp, adminToken, "someone@example.com", 0, `,"groups":["`+team.ID+`"],"allow_any_email":true`)
		p = b.Visit(link.String())
		done = b.SignInForm(p, 1, "frank", "franks-password")
		require.Equal(t, http.StatusOK, done.Status, done.Body)
	})
}

// Revoked and expired invitations cannot be accepted; an inviter who
// lost the groups' resources meanwhile makes the invitation fail closed.
func TestInvitationRevokedExpiredAndInviterPower(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, root, adminToken := administrator(t, s)
		editors := s.Group("editors", "users-read")
		groups := `,"groups":["` + editors.ID + `"]`

		id, link := invite(t, s, smtp, adminToken, "gil@example.com", 0, groups)
		require.Equal(t, http.StatusNoContent, s.Bearer(http.MethodDelete, "/admin/invites/"+id, adminToken, "").Status)
		require.Equal(t, http.StatusGone, s.Browser().Visit(link.String()).Status, "revoked")
		require.Equal(t, "revoked", s.Bearer(http.MethodGet, "/admin/invites/"+id, adminToken, "").Str("status"))

		id, link = invite(t, s, smtp, adminToken, "hal@example.com", 0, groups+`,"expires_in":3600`)
		p := s.Browser().Visit(link.String())
		require.Equal(t, http.StatusOK, p.Status)
		s.Clock.Advance(61 * time.Minute)
		adminToken = s.Token(&root, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		require.Equal(t, http.StatusGone, s.Browser().Visit(link.String()).Status, "expired")
		require.Equal(t, "expired", s.Bearer(http.MethodGet, "/admin/invites/"+id, adminToken, "").Str("status"))

		// A delegate invites, then loses the group's resource.
		inviters := s.Group("inviters", "invites-write", "invites-read", "users-read")
		del := s.User("delegate", "", inviters.ID)
		dc := s.Client("delegate-cli", del.ID, []string{"invites-write", "invites-read", "users-read"})
		dt := s.Token(&dc, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		_, link = invite(t, s, smtp, dt, "ivy@example.com", 0, groups)
		_, err := s.Store.UpdateGroup(context.Background(), apptest.System, storage.DefaultRealm, inviters.ID, func(g *storage.Group) error {
			g.Resources = []string{"invites-write", "invites-read"}
			return nil
		})
		require.NoError(t, err)
		b := s.Browser()
		p = b.Visit(link.String())
		require.Equal(t, http.StatusOK, p.Status)
		res := b.SetPassword(p, 0, "ivys-password", "ivys-password", url.Values{"username": {"ivy"}})
		require.Equal(t, http.StatusGone, res.Status, "the inviter no longer holds users-read")
		_, err = s.Store.GetUserByUsername(context.Background(), storage.DefaultRealm, "ivy")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}

// Who may invite, read and revoke: the delegation ceiling for the
// groups, and the invites-read and invites-write resources.
func TestInvitationAuthority(t *testing.T) {
	s, smtp := apptest.StartWithMail(t, apptest.Memory)
	_, _, adminToken := administrator(t, s)
	editors := s.Group("editors", "users-read", "users-write")
	admins, err := s.Store.GetGroupByName(context.Background(), storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	cc := url.Values{"grant_type": {"client_credentials"}}
	token := func(name string, resources ...string) string {
		g := s.Group(name+"-group", resources...)
		u := s.User(name, "", g.ID)
		c := s.Client(name+"-cli", u.ID, resources)
		return s.Token(&c, cc).Str("access_token")
	}
	inviter := token("inviter", "invites-write", "users-read")
	reader := token("reader", "users-read")
	writerOnly := token("writer", "invites-write", "users-read", "users-write")

	for _, g := range []string{editors.ID, admins.ID} {
		r := s.Bearer(http.MethodPost, "/admin/invites", inviter, `{"email":"x@example.com","groups":["`+g+`"]}`)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
		require.Equal(t, "urn:gatehouse:problem:delegation-ceiling", r.Str("type"))
	}
	require.Zero(t, smtp.Count("x@example.com"), "refused invitations send nothing")
	r := s.Bearer(http.MethodPost, "/admin/invites", reader, `{"email":"x@example.com"}`)
	require.Equal(t, http.StatusForbidden, r.Status)

	id, _ := invite(t, s, smtp, adminToken, "y@example.com", 0, `,"groups":["`+admins.ID+`"]`)
	require.Equal(t, http.StatusForbidden, s.Bearer(http.MethodGet, "/admin/invites", writerOnly, "").Status)
	require.Equal(t, http.StatusForbidden, s.Bearer(http.MethodGet, "/admin/invites/"+id, writerOnly, "").Status)
	require.Equal(t, http.StatusForbidden, s.Bearer(http.MethodDelete, "/admin/invites/"+id, reader, "").Status)
	r = s.Bearer(http.MethodDelete, "/admin/invites/"+id, writerOnly, "")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "revoking an invitation into a group above the caller")
	require.Equal(t, "pending", s.Bearer(http.MethodGet, "/admin/invites/"+id, adminToken, "").Str("status"))

	ok, _ := invite(t, s, smtp, writerOnly, "z@example.com", 0, `,"groups":["`+editors.ID+`"]`)
	require.Equal(t, http.StatusNoContent, s.Bearer(http.MethodDelete, "/admin/invites/"+ok, writerOnly, "").Status)

	// Bad bodies.
	for _, body := range []string{`{}`, `{"email":"not an address"}`, `{"email":"a@example.com","expires_in":5}`,
		`{"email":"a@example.com","expires_in":99999999}`, `{"email":"a@example.com","bogus":1}`} {
		r := s.Bearer(http.MethodPost, "/admin/invites", adminToken, body)
		require.Equal(t, http.StatusBadRequest, r.Status, body+" "+r.Raw)
	}
	r = s.Bearer(http.MethodPost, "/admin/invites", adminToken, `{"email":"a@example.com","groups":["00000000-0000-4000-8000-000000000000"]}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
	r = s.Bearer(http.MethodPost, "/admin/invites", adminToken, `{"email":"a@example.com","language":"fr"}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
	require.Equal(t, http.StatusNotFound, s.Bearer(http.MethodGet, "/admin/invites/nope", adminToken, "").Status)

	// The list, newest first, paged.
	for i := range 3 {
		invite(t, s, smtp, adminToken, fmt.Sprintf("list%d@example.com", i), 0, "")
	}
	page := s.Bearer(http.MethodGet, "/admin/invites?limit=2", adminToken, "")
	require.Equal(t, http.StatusOK, page.Status, page.Raw)
	require.Len(t, page.Body["items"], 2)
	require.NotEmpty(t, page.Str("next_cursor"))
}

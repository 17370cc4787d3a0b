package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/storage"
)

// adminPasswordBody is a PUT /admin/users/{id}/password body.
func adminPasswordBody(t *testing.T, password string) string {
	t.Helper()
	set, err := clienthash.NewPasswordSetting(password, password, apptest.Iterations)
	require.NoError(t, err)
	b, err := json.Marshal(map[string]any{"kdf": set.KDF, "iterations": set.Iterations, "salt": set.Salt,
		"hash": set.Hash, "confirmation": set.Confirmation})
	require.NoError(t, err)
	return string(b)
}

// TestReviewMailResetLinkDiesWithPasswordChange: a reset link mailed
// before the password was changed another way (here by an administrator
// who locks a compromised account down: new password, every token
// revoked) must not work afterwards. Otherwise whoever got hold of the
// link — a mailbox read once, a forwarded mail — takes the account back
// from the administrator for the rest of the link's half hour.
func TestReviewMailResetLinkDiesWithPasswordChange(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, root, adminToken := administrator(t, s)
		vic := s.User("vic", "old-password")
		withEmail(t, s, vic.ID, "vic@example.com")

		b := s.Browser()
		forgot := b.Visit(s.URL + "/password/forgot")
		require.Equal(t, http.StatusOK, b.Submit(forgot, url.Values{"name": {"vic"}}).Status)
		link := s.Link(smtp.Wait("vic@example.com", 0, mailWait))
		thief := s.Browser()
		p := thief.Visit(link.String())
		require.Equal(t, http.StatusOK, p.Status, p.Body)

		s.Clock.Advance(time.Minute)
		r := s.Bearer(http.MethodPut, "/admin/users/"+vic.ID+"/password", adminToken, adminPasswordBody(t, "admin-chosen"))
		require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
		s.Clock.Advance(time.Minute)

		require.Equal(t, http.StatusGone, s.Browser().Visit(link.String()).Status, "the link died with the password")
		res := thief.SetPassword(p, 0, "thiefs-password", "thiefs-password", nil)
		require.Equal(t, http.StatusGone, res.Status, res.Body)
		require.Equal(t, http.StatusBadRequest, s.Login(&root, "vic", "thiefs-password", nil).Status)
		require.Equal(t, http.StatusOK, s.Login(&root, "vic", "admin-chosen", nil).Status)

		// A link asked for after the change works.
		s.Clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, b.Submit(forgot, url.Values{"name": {"vic"}}).Status)
		fresh := s.Link(smtp.Wait("vic@example.com", 1, mailWait))
		p = s.Browser().Visit(fresh.String())
		require.Equal(t, http.StatusOK, p.Status, p.Body)
	})
}

// TestReviewMailInvitationCeilingAtAcceptance: the power an invitation
// carries is decided again when it is accepted, on the inviter's current
// permissions and the group's current grants. A group that came to
// include another group since (contexts' group inclusion) grants more
// than the inviter holds; a disabled inviter holds nothing. Neither
// invitation can be accepted, by a new account or an existing one.
func TestReviewMailInvitationCeilingAtAcceptance(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, _, adminToken := administrator(t, s)
		readers := s.Group("readers", "users-read")
		writers := s.Group("writers", "users-write")
		inviters := s.Group("inviters", "invites-write", "invites-read", "users-read")
		del := s.User("delegate", "", inviters.ID)
		dc := s.Client("delegate-cli", del.ID, []string{"invites-write", "invites-read", "users-read"})
		dt := s.Token(&dc, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		groups := `,"groups":["` + readers.ID + `"]`
		_, grown := invite(t, s, smtp, dt, "ann@example.com", 0, groups)
		_, other := invite(t, s, smtp, dt, "bob@example.com", 0, groups)
		bob := s.User("bob", "bobs-password")
		withEmail(t, s, bob.ID, "bob@example.com")

		// readers now includes writers: users-write, which the delegate lacks.
		_, err := s.Store.UpdateGroup(t.Context(), apptest.System, "default", readers.ID, func(g *storage.Group) error {
			g.Includes = []string{writers.ID}
			return nil
		})
		require.NoError(t, err)
		b := s.Browser()
		p := b.Visit(grown.String())
		require.Equal(t, http.StatusOK, p.Status)
		res := b.SetPassword(p, 0, "anns-password", "anns-password", url.Values{"username": {"ann"}})
		require.Equal(t, http.StatusGone, res.Status, res.Body)
		_, err = s.Store.GetUserByUsername(t.Context(), "default", "ann")
		require.ErrorIs(t, err, storage.ErrNotFound)
		p = b.Visit(other.String())
		require.Equal(t, http.StatusGone, b.SignInForm(p, 1, "bob", "bobs-password").Status)
		require.False(t, memberOf(t, s, bob.ID, readers.ID))

		// Back as it was, then the delegate is disabled.
		_, err = s.Store.UpdateGroup(t.Context(), apptest.System, "default", readers.ID, func(g *storage.Group) error {
			g.Includes = nil
			return nil
		})
		require.NoError(t, err)
		r := s.Bearer(http.MethodPatch, "/admin/users/"+del.ID, adminToken, `{"status":"disabled"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		p = b.Visit(other.String())
		res = b.SignInForm(p, 1, "bob", "bobs-password")
		require.Equal(t, http.StatusGone, res.Status, res.Body)
		require.False(t, memberOf(t, s, bob.ID, readers.ID))
	})
}

// TestReviewMailInvitationAcceptedOnce: racing acceptances — two new
// accounts and a sign-in — accept the invitation exactly once: one
// membership, and no account left behind by the losers.
func TestReviewMailInvitationAcceptedOnce(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, _, adminToken := administrator(t, s)
		team := s.Group("team", "groups-read")
		cat := s.User("cat", "cats-password")
		withEmail(t, s, cat.ID, "cat@example.com")
		_, link := invite(t, s, smtp, adminToken, "cat@example.com", 0, `,"groups":["`+team.ID+`"]`)

		type try struct {
			b *apptest.Browser
			p *apptest.Page
		}
		tries := make([]try, 3)
		for i := range tries {
			b := s.Browser()
			tries[i] = try{b, b.Visit(link.String())}
			require.Equal(t, http.StatusOK, tries[i].p.Status)
		}
		statuses := make([]int, 3)
		done := make(chan struct{})
		for i := range tries {
			go func() {
				defer func() { done <- struct{}{} }()
				if i == 2 {
					statuses[i] = tries[i].b.SignInForm(tries[i].p, 1, "cat", "cats-password").Status
					return
				}
				name := []string{"cat-new-1", "cat-new-2"}[i]
				statuses[i] = tries[i].b.SetPassword(tries[i].p, 0, "a-password", "a-password", url.Values{"username": {name}}).Status
			}()
		}
		for range tries {
			<-done
		}
		ok := 0
		for _, st := range statuses {
			if st == http.StatusOK {
				ok++
			} else {
				require.Equal(t, http.StatusGone, st)
			}
		}
		require.Equal(t, 1, ok, "%v", statuses)
		members, err := s.Store.ListUsers(t.Context(), "default", storage.UserFilter{GroupID: team.ID}, storage.ListOptions{})
		require.NoError(t, err)
		require.Len(t, members.Items, 1)
		for i, name := range []string{"cat-new-1", "cat-new-2"} {
			_, err := s.Store.GetUserByUsername(t.Context(), "default", name)
			if statuses[i] == http.StatusOK {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, storage.ErrNotFound, "the losing new accounts are deleted")
			}
		}
	})
}

// TestReviewMailInvitationTakenNameHashesNothing: the invitation page's
// "create an account" form, refused for a taken username, leaves its
// link usable; it must not hash the password first. Otherwise whoever
// holds one invitation link (for a week) keeps the shared hasher busy
// with submissions that are refused anyway, and everyone's sign-ins wait.
func TestReviewMailInvitationTakenNameHashesNothing(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		_, _, adminToken := administrator(t, s)
		s.User("taken", "")
		_, link := invite(t, s, smtp, adminToken, "dee@example.com", 0, "")
		var hashes atomic.Int64
		s.App.Hasher.ObserveWait(func(time.Duration) { hashes.Add(1) })
		b := s.Browser()
		p := b.Visit(link.String())
		require.Equal(t, http.StatusOK, p.Status)
		for range 3 {
			require.Equal(t, http.StatusConflict, b.SetPassword(p, 0, "dees-password", "dees-password", url.Values{"username": {"Taken"}}).Status)
		}
		require.Zero(t, hashes.Load(), "refused acceptances hashed nothing")
		require.Equal(t, http.StatusOK, b.SetPassword(p, 0, "dees-password", "dees-password", url.Values{"username": {"dee"}}).Status)
		require.NotZero(t, hashes.Load())
	})
}

// TestReviewMailActivationCeilingCountsContexts: a user's power is also
// what they hold in contexts. A caller with users-write alone, realm-wide,
// must not mail an activation link (nor set a password) for a user who
// administers a context: whoever reads the mail, or sets the password,
// holds that context's power, which the caller holds nowhere.
func TestReviewMailActivationCeilingCountsContexts(t *testing.T) {
	forEachBackendWithMail(t, func(t *testing.T, s *apptest.Server, smtp *mailtest.Server) {
		w := newContextWorld(t, s)
		w.context("acme", "ACME", "organisation", "")
		boss := w.group(map[string]any{"name": "ctx-boss", "resources": []string{"groups-read", "groups-write", "contexts-write"}})
		r := s.Bearer(http.MethodPost, "/admin/users", w.admin, `{"username":"orgadmin","email":"orgadmin@example.com"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		orgAdmin := r.Str("id")
		smtp.Wait("orgadmin@example.com", 0, mailWait)
		w.join("acme", boss, orgAdmin)

		staff := s.Group("staff", "users-read", "users-write")
		clerk := s.User("clerk", "", staff.ID)
		cc := s.Client("clerk-cli", clerk.ID, []string{"users-read", "users-write"})
		clerkToken := s.Token(&cc, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")

		r = s.Bearer(http.MethodPost, "/admin/users/"+orgAdmin+"/activation", clerkToken, "")
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
		require.Equal(t, "urn:gatehouse:problem:delegation-ceiling", r.Str("type"))
		r = s.Bearer(http.MethodPut, "/admin/users/"+orgAdmin+"/password", clerkToken, adminPasswordBody(t, "clerks-pick"))
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
		time.Sleep(200 * time.Millisecond)
		require.Equal(t, 1, smtp.Count("orgadmin@example.com"), "no second link")

		// The administrator holds everything: allowed.
		r = s.Bearer(http.MethodPost, "/admin/users/"+orgAdmin+"/activation", w.admin, "")
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	})
}

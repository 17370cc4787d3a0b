package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
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

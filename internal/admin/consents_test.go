package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// consent records a user's consent as the login page does.
func (f *fixture) consent(userID, clientID string, scopes ...string) {
	f.T.Helper()
	_, err := f.Store.GrantConsent(context.Background(), apptest.System, storage.DefaultRealm, userID, clientID, scopes)
	require.NoError(f.T, err)
}

func items(t *testing.T, r apptest.Response) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	raw, ok := r.Body["items"].([]any)
	require.True(t, ok, r.Raw)
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

func TestUserConsents(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		ada := f.User("ada", "ada-password")
		for _, id := range []string{"app-b", "app-a", "app/c"} {
			f.Client(id, f.admin.ID, nil)
		}
		f.consent(ada.ID, "app-b", "openid", "profile")
		f.consent(ada.ID, "app-a", "openid")
		f.consent(ada.ID, "app/c", "openid")
		f.consent(ada.ID, "app-a", "email")
		base := "/admin/users/" + ada.ID + "/consents"

		list := items(t, f.call(http.MethodGet, base, f.adminToken, nil))
		require.Len(t, list, 3)
		require.Equal(t, "app-a", list[0]["client_id"], "ordered by client_id")
		require.Equal(t, []any{"email", "openid"}, list[0]["scopes"], "consents add up")
		require.NotEmpty(t, list[0]["created_at"])
		require.NotEmpty(t, list[0]["updated_at"])
		require.Len(t, list[0], 4, "client_id, scopes, created_at, updated_at and nothing else")
		// Pages of one.
		var seen []any
		cursor := ""
		for range 5 {
			r := f.call(http.MethodGet, base+"?limit=1&cursor="+url.QueryEscape(cursor), f.adminToken, nil)
			page := items(t, r)
			require.Len(t, page, 1)
			seen = append(seen, page[0]["client_id"])
			if cursor = r.Str("next_cursor"); cursor == "" {
				break
			}
		}
		require.Equal(t, []any{"app-a", "app-b", "app/c"}, seen)
		requireProblem(t, f.call(http.MethodGet, base+"?limit=0", f.adminToken, nil), 400, "invalid-field")
		requireProblem(t, f.call(http.MethodGet, base+"?cursor=bogus!", f.adminToken, nil), 400, "invalid-field")
		requireProblem(t, f.call(http.MethodGet, "/admin/users/00000000-0000-4000-8000-000000000000/consents", f.adminToken, nil), 404, "not-found")
		requireProblem(t, f.call(http.MethodGet, "/admin/users/nope/consents", f.adminToken, nil), 404, "not-found")
		require.Empty(t, items(t, f.call(http.MethodGet, "/admin/users/"+f.admin.ID+"/consents", f.adminToken, nil)))

		// Revoking: 204, then 404; a client_id with "/" is percent-encoded.
		require.Equal(t, http.StatusNoContent, f.call(http.MethodDelete, base+"/"+url.PathEscape("app/c"), f.adminToken, nil).Status)
		requireProblem(t, f.call(http.MethodDelete, base+"/"+url.PathEscape("app/c"), f.adminToken, nil), 404, "not-found")
		requireProblem(t, f.call(http.MethodDelete, base+"/no-such-app", f.adminToken, nil), 404, "not-found")
		requireProblem(t, f.call(http.MethodDelete, base+"/%00", f.adminToken, nil), 404, "not-found")
		requireProblem(t, f.call(http.MethodDelete, "/admin/users/nope/consents/app-a", f.adminToken, nil), 404, "not-found")
		require.Len(t, items(t, f.call(http.MethodGet, base, f.adminToken, nil)), 2)

		page, err := f.Store.ListAudit(context.Background(), storage.DefaultRealm, storage.AuditFilter{TargetID: ada.ID}, storage.ListOptions{Limit: 1})
		require.NoError(t, err)
		e := page.Items[0]
		require.Equal(t, storage.ActionConsentRevoke, e.Action)
		require.Equal(t, storage.ActorClient, e.Actor.Type, "the admin client's token made the change")
		require.Equal(t, "app/c", e.Details["client"])

		// Reading needs users-read, revoking users-write.
		_, reader := f.tokenFor("reader", "users-read")
		require.Len(t, items(t, f.call(http.MethodGet, base, reader, nil)), 2)
		r := f.call(http.MethodDelete, base+"/app-a", reader, nil)
		requireProblem(t, r, http.StatusForbidden, "missing-resource")
		require.Contains(t, r.Str("detail"), "users-write")
		_, nobody := f.tokenFor("nobody", "audit-read")
		requireProblem(t, f.call(http.MethodGet, base, nobody, nil), http.StatusForbidden, "missing-resource")
	})
}

// Revoking a consent changes the user: a caller who holds less than the
// user cannot, as for any other change of them.
func TestUserConsentRevokeCeiling(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		f.Client("app", f.admin.ID, nil)
		f.consent(f.admin.ID, "app", "openid")
		_, writer := f.tokenFor("writer", "users-read", "users-write")
		r := f.call(http.MethodDelete, "/admin/users/"+f.admin.ID+"/consents/app", writer, nil)
		requireProblem(t, r, http.StatusUnprocessableEntity, "delegation-ceiling")
		_, err := f.Store.GetConsent(context.Background(), storage.DefaultRealm, f.admin.ID, "app")
		require.NoError(t, err, "the refusal changed nothing")
	})
}

func TestMeConsents(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		// A token without any admin resource, as a third-party
		// application's sign-in gives: one's consents are one's own.
		u := f.User("bea", "bea-password")
		third := f.Client("third", f.admin.ID, nil)
		r := f.Login(&third, "bea", "bea-password", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		tok := r.Str("access_token")
		other := f.User("cy", "cy-password")
		f.consent(u.ID, "third", "openid", "profile")
		f.consent(other.ID, "third", "openid")

		list := items(t, f.call(http.MethodGet, "/admin/me/consents", tok, nil))
		require.Len(t, list, 1, "only one's own")
		require.Equal(t, "third", list[0]["client_id"])
		require.Equal(t, []any{"openid", "profile"}, list[0]["scopes"])
		require.Equal(t, http.StatusNoContent, f.call(http.MethodDelete, "/admin/me/consents/third", tok, nil).Status)
		requireProblem(t, f.call(http.MethodDelete, "/admin/me/consents/third", tok, nil), 404, "not-found")
		require.Empty(t, items(t, f.call(http.MethodGet, "/admin/me/consents", tok, nil)))
		_, err := f.Store.GetConsent(context.Background(), storage.DefaultRealm, other.ID, "third")
		require.NoError(t, err, "another user's consent to the same client stays")

		// Client tokens act for no signed-in user.
		requireProblem(t, f.call(http.MethodGet, "/admin/me/consents", f.adminToken, nil), http.StatusForbidden, "user-token-required")
		requireProblem(t, f.call(http.MethodDelete, "/admin/me/consents/third", f.adminToken, nil), http.StatusForbidden, "user-token-required")
		requireProblem(t, f.call(http.MethodGet, "/admin/me/consents", "", nil), http.StatusUnauthorized, "unauthorized")
	})
}

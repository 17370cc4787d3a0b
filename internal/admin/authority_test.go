package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// The attack the authority rule was written against: an account holding
// only clients-write adds a secret version to the bootstrap
// administrator's all-scopes client and takes a token for it.
func TestClientsWriteCannotTakeOverAdminClient(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		_, tok := f.tokenFor("clientsonly", "clients-write", "clients-read")
		r := f.call(http.MethodPost, "/admin/clients/admin-cli/secrets", tok, map[string]any{"verifier": newVerifier()})
		requireProblem(t, r, http.StatusUnprocessableEntity, "delegation-ceiling")
		secrets, err := f.Store.ListClientSecrets(context.Background(), storage.DefaultRealm, "admin-cli")
		require.NoError(t, err)
		require.Len(t, secrets, 1)
		for _, body := range []map[string]any{
			{"token_endpoint_auth_method": "none", "grant_types": []string{"password"}},
			{"jwks": json.RawMessage(`{"keys":[]}`)},
			{"status": "disabled"},
		} {
			requireProblem(t, f.call(http.MethodPatch, "/admin/clients/admin-cli", tok, body), http.StatusUnprocessableEntity, "delegation-ceiling")
		}
		requireProblem(t, f.call(http.MethodDelete, "/admin/clients/admin-cli", tok, nil), http.StatusUnprocessableEntity, "delegation-ceiling")
	})
}

// Self-service acts with what the token carries: a user's own client can
// be changed only with a token that carries everything the client can
// obtain, and a token with no admin scope may read and change its own
// profile and password but mint or change no credentials.
func TestSelfServiceAuthority(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		ctx := context.Background()
		for _, r := range []string{"r-low", "r-high"} {
			_, err := s.Store.CreateResource(ctx, apptest.System, storage.DefaultRealm, storage.Resource{Name: r})
			require.NoError(t, err)
		}
		g := f.Group("self", "r-low", "r-high")
		u := f.User("selfie", "selfie-password", g.ID)
		third := f.Client("third-party", f.admin.ID, nil) // allowed no admin scope
		full := f.Login(&f.adminClient, "selfie", "selfie-password", nil).Str("access_token")
		narrow := f.Login(&f.adminClient, "selfie", "selfie-password", url.Values{"scope": {"r-low"}}).Str("access_token")
		none := f.Login(&third, "selfie", "selfie-password", nil)
		require.Equal(t, http.StatusOK, none.Status, none.Raw)
		noScope := none.Str("access_token")

		own := func(scopes ...string) string {
			id := "own-" + apptest.RandomString(t)
			f.Client(id, u.ID, scopes)
			return "/admin/me/clients/" + url.PathEscape(id)
		}
		// Narrow token: acts on its clients within r-low only.
		require.Equal(t, http.StatusOK, f.call(http.MethodPatch, own("r-low"), narrow, map[string]any{"name": "n"}).Status)
		highClient := own("r-low", "r-high")
		requireProblem(t, f.call(http.MethodPatch, highClient, narrow, map[string]any{"name": "n"}), 422, "delegation-ceiling")
		requireProblem(t, f.call(http.MethodPost, highClient+"/secrets", narrow, map[string]any{"verifier": newVerifier()}), 422, "delegation-ceiling")
		requireProblem(t, f.call(http.MethodDelete, highClient, narrow, nil), 422, "delegation-ceiling")
		requireProblem(t, f.call(http.MethodPost, "/admin/me/clients", narrow, map[string]any{"name": "x", "scopes": []string{"r-high"}}), 422, "delegation-ceiling")
		// The full token may.
		require.Equal(t, http.StatusOK, f.call(http.MethodPatch, highClient, full, map[string]any{"name": "n"}).Status)
		require.Equal(t, http.StatusCreated, f.call(http.MethodPost, highClient+"/secrets", full, map[string]any{"verifier": newVerifier()}).Status)

		// No admin scope: profile and password only.
		r := f.call(http.MethodGet, "/admin/me", noScope, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		r = f.call(http.MethodPatch, "/admin/me", noScope, map[string]any{"display_name": "Selfie"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		for _, c := range []struct{ method, path string }{
			{http.MethodPost, "/admin/me/clients"},
			{http.MethodPatch, own()},
			{http.MethodDelete, own()},
			{http.MethodPost, own() + "/secrets"},
		} {
			body := map[string]any{"name": "x"}
			if strings.HasSuffix(c.path, "/secrets") {
				body = map[string]any{"verifier": newVerifier()}
			}
			requireProblem(t, f.call(c.method, c.path, noScope, body), http.StatusForbidden, "admin-scope-required")
		}
		requireProblem(t, f.call(http.MethodGet, "/admin/users", noScope, nil), http.StatusForbidden, "missing-resource")
		old := f.LoginPassword("selfie", "selfie-password")
		set, err := clienthash.NewPasswordSetting("selfie-new", "selfie-new", apptest.Iterations)
		require.NoError(t, err)
		f.Remember(set.Hash)
		r = f.call(http.MethodPut, "/admin/me/password", noScope, map[string]any{"old_password": old, "password": set})
		require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
	})
}

// The management API decides with what the caller holds now: losing a
// group takes effect at the caller's next call, not when its token
// expires, and a client's owner being disabled ends the client's tokens.
func TestCurrentPermissions(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		ctx := context.Background()
		u, tok := f.tokenFor("shrinking", "users-read", "users-write")
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/users", tok, nil).Status)
		g, err := f.Store.GetGroupByName(ctx, storage.DefaultRealm, "g-shrinking")
		require.NoError(t, err)
		r := f.call(http.MethodDelete, "/admin/groups/"+g.ID+"/resources/users-read", f.adminToken, nil)
		require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
		requireProblem(t, f.call(http.MethodGet, "/admin/users", tok, nil), http.StatusForbidden, "missing-resource")
		// What is still held still works.
		require.Equal(t, http.StatusOK, f.call(http.MethodPatch, "/admin/users/"+u.ID, tok, map[string]any{"display_name": "s"}).Status)

		// An owner disabled: their client's tokens end at once, and the
		// client gets no new token until the owner is active again.
		owner := f.User("owner", "owner-password")
		ownerGroup := f.Group("owner-group", "users-read")
		require.NoError(t, f.Store.AddGroupMember(ctx, apptest.System, storage.DefaultRealm, ownerGroup.ID, owner.ID))
		c := f.Client("owned", owner.ID, []string{"users-read"})
		ctok := f.Token(&c, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/users", ctok, nil).Status)
		r = f.call(http.MethodPatch, "/admin/users/"+owner.ID, f.adminToken, map[string]any{"status": "disabled"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		requireProblem(t, f.call(http.MethodGet, "/admin/users", ctok, nil), http.StatusUnauthorized, "unauthorized")
		intro := f.Post("/oauth2/introspect", &f.adminClient, url.Values{"token": {ctok}})
		require.Equal(t, http.StatusOK, intro.Status, intro.Raw)
		require.Equal(t, false, intro.Body["active"])
		require.Equal(t, "unauthorized_client", f.Post("/oauth2/token", &c, url.Values{"grant_type": {"client_credentials"}}).Str("error"))
		// Re-enabled: new tokens again, the old one stays dead.
		f.Clock.Advance(1e9)
		r = f.call(http.MethodPatch, "/admin/users/"+owner.ID, f.adminToken, map[string]any{"status": "active"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		requireProblem(t, f.call(http.MethodGet, "/admin/users", ctok, nil), http.StatusUnauthorized, "unauthorized")
		// Re-enabling marks everything issued up to it revoked (to the
		// microsecond); the test clock stands still, so move past it.
		f.Clock.Advance(time.Millisecond)
		fresh := f.Token(&c, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/users", fresh, nil).Status)
	})
}

// The realm keeps an active administrator: disabling, deleting or
// removing the last one from administrators is 409, audited, and changes
// nothing. With a second administrator, the first may go.
func TestLastAdministrator(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		admins, err := f.Store.GetGroupByName(context.Background(), storage.DefaultRealm, storage.AdministratorsGroup)
		require.NoError(t, err)
		root := "/admin/users/" + f.admin.ID
		before := f.denials(storage.AuditFilter{TargetID: f.admin.ID})
		requireProblem(t, f.call(http.MethodPatch, root, f.adminToken, map[string]any{"status": "disabled"}), http.StatusConflict, "last-administrator")
		requireProblem(t, f.call(http.MethodDelete, root, f.adminToken, nil), http.StatusConflict, "last-administrator")
		requireProblem(t, f.call(http.MethodDelete, "/admin/groups/"+admins.ID+"/members/"+f.admin.ID, f.adminToken, nil), http.StatusConflict, "last-administrator")
		require.Equal(t, before+2, f.denials(storage.AuditFilter{TargetID: f.admin.ID}), "user refusals audited")
		// Nothing changed: the admin's token still works.
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, root, f.adminToken, nil).Status)

		second := f.User("second-admin", "second-password", admins.ID)
		r := f.call(http.MethodPatch, root, f.adminToken, map[string]any{"status": "disabled"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		login := f.Login(&f.adminClient, "second-admin", "second-password", nil)
		require.Equal(t, "unauthorized_client", login.Str("error"), "the disabled admin's client serves nobody")
		c := f.Client("second-cli", second.ID, nil, func(c *storage.Client) { c.AllScopes = true })
		tok := f.Login(&c, "second-admin", "second-password", nil).Str("access_token")
		requireProblem(t, f.call(http.MethodPatch, "/admin/users/"+second.ID, tok, map[string]any{"status": "disabled"}), http.StatusConflict, "last-administrator")
	})
}

// denials counts the audit log's refusals of a target, or of an actor's
// (a refused create has no target yet).
func (f *fixture) denials(filter storage.AuditFilter) int {
	page, err := f.Store.ListAudit(context.Background(), storage.DefaultRealm, filter, storage.ListOptions{Limit: storage.MaxListLimit})
	require.NoError(f.T, err)
	n := 0
	for _, e := range page.Items {
		if e.Action == "access.denied" {
			n++
		}
	}
	return n
}

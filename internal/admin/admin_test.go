package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// fixture is a server with an administrator and a token for it.
type fixture struct {
	*apptest.Server
	admin       storage.User
	adminClient apptest.Client // all-scopes client owned by the admin
	adminToken  string         // client_credentials token of adminClient: every resource at setup
}

func setup(t *testing.T, s *apptest.Server) *fixture {
	ctx := context.Background()
	admins, err := s.Store.GetGroupByName(ctx, storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	admin := s.User("root", "root-password-1", admins.ID)
	c := s.Client("admin-cli", admin.ID, nil, func(c *storage.Client) { c.AllScopes = true })
	tok := s.Token(&c, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
	return &fixture{Server: s, admin: admin, adminClient: c, adminToken: tok}
}

// freshAdminToken returns a new token of the admin client, carrying every
// resource that exists now.
func (f *fixture) freshAdminToken() string {
	f.T.Helper()
	return f.Token(&f.adminClient, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
}

// tokenFor returns a user token carrying exactly the given resources.
func (f *fixture) tokenFor(username string, resources ...string) (storage.User, string) {
	f.T.Helper()
	g := f.Group("g-"+username, resources...)
	u := f.User(username, username+"-password", g.ID)
	c := f.Client("c-"+username, f.admin.ID, nil, func(c *storage.Client) { c.AllScopes = true })
	r := f.Login(&c, username, username+"-password", nil)
	require.Equal(f.T, http.StatusOK, r.Status, r.Raw)
	return u, r.Str("access_token")
}

func (f *fixture) call(method, path, token string, body any) apptest.Response {
	f.T.Helper()
	var s string
	switch b := body.(type) {
	case nil:
	case string:
		s = b
	default:
		raw, err := json.Marshal(b)
		require.NoError(f.T, err)
		s = string(raw)
	}
	return f.Bearer(method, path, token, s)
}

func requireProblem(t *testing.T, r apptest.Response, status int, kind string) {
	t.Helper()
	require.Equal(t, status, r.Status, r.Raw)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), r.Raw)
	require.Equal(t, "urn:gatehouse:problem:"+kind, r.Str("type"), r.Raw)
	require.EqualValues(t, status, r.Body["status"])
	require.NotEmpty(t, r.Str("title"))
}

func TestAuthentication(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		for _, tok := range []string{"", "garbage", f.adminToken[:len(f.adminToken)-3] + "abc"} {
			r := f.call(http.MethodGet, "/admin/users", tok, nil)
			requireProblem(t, r, http.StatusUnauthorized, "unauthorized")
			require.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
		}
		_, limited := f.tokenFor("limited", "users-read")
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/users", limited, nil).Status)
		r := f.call(http.MethodGet, "/admin/groups", limited, nil)
		requireProblem(t, r, http.StatusForbidden, "missing-resource")
		require.Contains(t, r.Str("detail"), "groups-read")
		r = f.call(http.MethodPost, "/admin/users", limited, map[string]any{"username": "x"})
		requireProblem(t, r, http.StatusForbidden, "missing-resource")
		require.Contains(t, r.Str("detail"), "users-write")
	})
}

func TestResourcesAndLanguages(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		tok := f.adminToken
		r := f.call(http.MethodPost, "/admin/resources", tok, map[string]any{"name": "reports-read", "description": "Read reports"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, "/admin/resources/reports-read", r.Header.Get("Location"))
		require.Equal(t, "reports-read", r.Str("name"))
		requireProblem(t, f.call(http.MethodPost, "/admin/resources", tok, map[string]any{"name": "reports-read"}), 409, "conflict")
		requireProblem(t, f.call(http.MethodPost, "/admin/resources", tok, map[string]any{"name": "has space"}), 400, "invalid-field")
		requireProblem(t, f.call(http.MethodPost, "/admin/resources", tok, map[string]any{"name": "x", "bogus": 1}), 400, "malformed-request")
		requireProblem(t, f.call(http.MethodPost, "/admin/resources", tok, `{"name":`), 400, "malformed-request")
		// The token was issued before reports-read existed and does not
		// carry it: acting on it (rewording, deleting) needs it held.
		requireProblem(t, f.call(http.MethodPatch, "/admin/resources/reports-read", tok, map[string]any{"description": "Reports"}), 422, "delegation-ceiling")
		requireProblem(t, f.call(http.MethodDelete, "/admin/resources/reports-read", tok, nil), 422, "delegation-ceiling")
		tok = f.freshAdminToken()
		r = f.call(http.MethodPatch, "/admin/resources/reports-read", tok, map[string]any{"description": "Reports"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "Reports", r.Str("description"))
		requireProblem(t, f.call(http.MethodGet, "/admin/resources/nope", tok, nil), 404, "not-found")
		requireProblem(t, f.call(http.MethodDelete, "/admin/resources/users-read", tok, nil), 409, "in-use")
		require.Equal(t, http.StatusNoContent, f.call(http.MethodDelete, "/admin/resources/reports-read", tok, nil).Status)
		requireProblem(t, f.call(http.MethodDelete, "/admin/resources/reports-read", tok, nil), 404, "not-found")

		r = f.call(http.MethodPost, "/admin/languages", tok, map[string]any{"code": "de-at", "name": "Deutsch (Österreich)"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, "de-AT", r.Str("code"))
		requireProblem(t, f.call(http.MethodPost, "/admin/languages", tok, map[string]any{"code": "de-AT", "name": "x"}), 409, "conflict")
		requireProblem(t, f.call(http.MethodPost, "/admin/languages", tok, map[string]any{"code": "not a tag", "name": "x"}), 400, "invalid-field")
		// Private-use and grandfathered tags name no language (and the
		// schema refuses them): 400 on every backend, never 500.
		for _, code := range []string{"x-abc", "x-klingon-tlh", "i-enochian", "i-default", "und", "en_US"} {
			requireProblem(t, f.call(http.MethodPost, "/admin/languages", tok, map[string]any{"code": code, "name": "x"}), 400, "invalid-field")
		}
		requireProblem(t, f.call(http.MethodDelete, "/admin/languages/en", tok, nil), 409, "in-use")
		r = f.call(http.MethodGet, "/admin/languages", tok, nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Len(t, r.Body["items"], 2)
		require.NotContains(t, r.Body, "next_cursor")
	})
}

func TestGroupsAndDelegationCeiling(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		ctx := context.Background()
		// A groups-write holder who holds nothing else.
		mallory, tok := f.tokenFor("mallory", "groups-write", "groups-read", "users-read")
		admins, err := f.Store.GetGroupByName(ctx, storage.DefaultRealm, storage.AdministratorsGroup)
		require.NoError(t, err)

		// The obvious escalation: adding oneself to an all-powerful group.
		r := f.call(http.MethodPut, "/admin/groups/"+admins.ID+"/members/"+mallory.ID, tok, nil)
		requireProblem(t, r, http.StatusUnprocessableEntity, "delegation-ceiling")
		// Granting a resource one does not hold, to a new or existing group.
		r = f.call(http.MethodPost, "/admin/groups", tok, map[string]any{"name": "evil", "resources": []string{"users-write"}})
		requireProblem(t, r, http.StatusUnprocessableEntity, "delegation-ceiling")
		r = f.call(http.MethodPost, "/admin/groups", tok, map[string]any{"name": "fine", "resources": []string{"users-read"}})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		fine := r.Str("id")
		requireProblem(t, f.call(http.MethodPut, "/admin/groups/"+fine+"/resources/users-write", tok, nil), 422, "delegation-ceiling")
		requireProblem(t, f.call(http.MethodPatch, "/admin/groups/"+fine, tok, map[string]any{"resources": []string{"users-read", "clients-write"}}), 422, "delegation-ceiling")
		effective, err := f.Store.UserResources(ctx, storage.DefaultRealm, mallory.ID)
		require.NoError(t, err)
		require.Len(t, effective, 3, "nothing was granted")

		// The administrator can do all of it; links are idempotent.
		admin := f.adminToken
		for range 2 {
			require.Equal(t, http.StatusNoContent, f.call(http.MethodPut, "/admin/groups/"+fine+"/resources/users-write", admin, nil).Status)
			require.Equal(t, http.StatusNoContent, f.call(http.MethodPut, "/admin/groups/"+fine+"/members/"+mallory.ID, admin, nil).Status)
		}
		r = f.call(http.MethodGet, "/admin/groups/"+fine+"/members", admin, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Len(t, r.Body["items"], 1)
		r = f.call(http.MethodGet, "/admin/users/"+mallory.ID+"/resources", admin, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Contains(t, r.Raw, `"name":"users-write","groups":["`+fine+`"]`)
		requireProblem(t, f.call(http.MethodPut, "/admin/groups/"+fine+"/resources/nope", admin, nil), 404, "not-found")
		requireProblem(t, f.call(http.MethodPut, "/admin/groups/"+fine+"/members/00000000-0000-0000-0000-000000000000", admin, nil), 404, "not-found")
		requireProblem(t, f.call(http.MethodGet, "/admin/groups/not-a-uuid", admin, nil), 404, "not-found")
		requireProblem(t, f.call(http.MethodPost, "/admin/groups", admin, map[string]any{"name": "fine"}), 409, "conflict")
		requireProblem(t, f.call(http.MethodPost, "/admin/groups", admin, map[string]any{"name": "x", "resources": []string{"nope"}}), 422, "missing-reference")
		requireProblem(t, f.call(http.MethodDelete, "/admin/groups/"+admins.ID, admin, nil), 409, "in-use")
		require.Equal(t, http.StatusNoContent, f.call(http.MethodDelete, "/admin/groups/"+fine, admin, nil).Status)
		effective, err = f.Store.UserResources(ctx, storage.DefaultRealm, mallory.ID)
		require.NoError(t, err)
		require.Len(t, effective, 3, "deleting the group removed its grants")
	})
}

func passwordObject(t *testing.T, password, confirmation string) map[string]any {
	set, err := clienthash.NewPasswordSetting(password, confirmation, apptest.Iterations)
	require.NoError(t, err)
	return map[string]any{"kdf": set.KDF, "iterations": set.Iterations, "salt": set.Salt, "hash": set.Hash, "confirmation": set.Confirmation}
}

func TestUsers(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		tok := f.adminToken
		support := f.Group("support", "users-read")
		pw := passwordObject(t, "ivy-password-1", "ivy-password-1")
		f.Remember(pw["hash"].(string))
		r := f.call(http.MethodPost, "/admin/users", tok, map[string]any{
			"username": "ivy", "email": "ivy@example.com", "display_name": "Ivy", "password": pw, "groups": []string{support.ID},
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		ivy := r.Str("id")
		require.Equal(t, "/admin/users/"+ivy, r.Header.Get("Location"))
		require.Equal(t, "en", r.Str("language"))
		require.Equal(t, true, r.Body["has_password"])
		for _, secret := range []string{pw["hash"].(string), pw["salt"].(string), "argon2"} {
			require.NotContains(t, r.Raw, secret)
		}

		requireProblem(t, f.call(http.MethodPost, "/admin/users", tok, map[string]any{"username": "IVY"}), 409, "conflict")
		r = f.call(http.MethodPost, "/admin/users", tok, map[string]any{"username": "jack", "password": passwordObject(t, "a-password-1", "a-pasword-1")})
		requireProblem(t, r, 422, "password-mismatch")
		require.Equal(t, "password.confirmation", r.Str("field"))
		// Only the configured iterations and a 16-byte salt, what
		// prelogin shows for unknown names: any other stored parameter
		// would tell a real account from a made-up one.
		for field, mutate := range map[string]func(map[string]any){
			"password.iterations": func(p map[string]any) { p["iterations"] = 10 },
			"password.salt":       func(p map[string]any) { p["salt"] = clienthash.Encode(make([]byte, 32)) },
		} {
			odd := passwordObject(t, "a", "a")
			mutate(odd)
			r = f.call(http.MethodPost, "/admin/users", tok, map[string]any{"username": "jack", "password": odd})
			requireProblem(t, r, 422, "password-parameters")
			require.Equal(t, field, r.Str("field"))
		}
		r = f.call(http.MethodPut, "/admin/users/"+ivy+"/password", tok, passwordObject(t, "b", "b"))
		require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
		tooMany := passwordObject(t, "b", "b")
		tooMany["iterations"] = apptest.Iterations + 1
		r = f.call(http.MethodPut, "/admin/users/"+ivy+"/password", tok, tooMany)
		requireProblem(t, r, 422, "password-parameters")
		require.Equal(t, "password.iterations", r.Str("field"))
		r = f.call(http.MethodPut, "/admin/users/"+ivy+"/password", tok, passwordObject(t, "ivy-password-1", "ivy-password-1"))
		require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
		// Setting a password revoked ivy's tokens issued up to now; the
		// test clock stands still, so move it on before she logs in.
		f.Clock.Advance(time.Millisecond)
		requireProblem(t, f.call(http.MethodPost, "/admin/users", tok, map[string]any{"username": "jack", "language": "fr"}), 422, "missing-reference")
		requireProblem(t, f.call(http.MethodPost, "/admin/users", tok, map[string]any{"username": "jack", "email": "nope"}), 400, "invalid-field")
		requireProblem(t, f.call(http.MethodPost, "/admin/users", tok, map[string]any{"username": "has space"}), 400, "invalid-field")

		// The user logs in; disabling them revokes their tokens at once.
		app := f.Client("app", f.admin.ID, []string{"users-read"})
		login := f.Login(&app, "ivy", "ivy-password-1", nil)
		require.Equal(t, http.StatusOK, login.Status, login.Raw)
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/users/"+ivy, login.Str("access_token"), nil).Status)
		r = f.call(http.MethodPatch, "/admin/users/"+ivy, tok, map[string]any{"status": "disabled"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		f.Clock.Advance(1e9)
		requireProblem(t, f.call(http.MethodGet, "/admin/users/"+ivy, login.Str("access_token"), nil), 401, "unauthorized")
		require.Equal(t, http.StatusBadRequest, f.Login(&app, "ivy", "ivy-password-1", nil).Status)

		// Filters and pagination.
		for i := range 5 {
			f.User(fmt.Sprintf("page-%d", i), "")
		}
		seen := map[string]bool{}
		cursor := ""
		for {
			r = f.call(http.MethodGet, "/admin/users?limit=2&cursor="+url.QueryEscape(cursor), tok, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			for _, it := range r.Body["items"].([]any) {
				id := it.(map[string]any)["id"].(string)
				require.False(t, seen[id])
				seen[id] = true
			}
			if cursor = r.Str("next_cursor"); cursor == "" {
				break
			}
		}
		require.Len(t, seen, 7) // root, ivy, five pages
		r = f.call(http.MethodGet, "/admin/users?status=disabled", tok, nil)
		require.Len(t, r.Body["items"], 1)
		r = f.call(http.MethodGet, "/admin/users?group="+support.ID, tok, nil)
		require.Len(t, r.Body["items"], 1)
		requireProblem(t, f.call(http.MethodGet, "/admin/users?limit=501", tok, nil), 400, "invalid-field")

		require.Equal(t, http.StatusNoContent, f.call(http.MethodDelete, "/admin/users/"+ivy, tok, nil).Status)
		requireProblem(t, f.call(http.MethodGet, "/admin/users/"+ivy, tok, nil), 404, "not-found")
	})
}

// A users-write holder cannot take over an account that holds more than
// they do.
func TestUserTakeoverIsBlocked(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		_, tok := f.tokenFor("helpdesk", "users-write", "users-read")
		for _, r := range []apptest.Response{
			f.call(http.MethodPut, "/admin/users/"+f.admin.ID+"/password", tok, passwordObject(t, "owned-1", "owned-1")),
			f.call(http.MethodPatch, "/admin/users/"+f.admin.ID, tok, map[string]any{"status": "disabled"}),
			f.call(http.MethodDelete, "/admin/users/"+f.admin.ID, tok, nil),
		} {
			requireProblem(t, r, 422, "delegation-ceiling")
		}
	})
}

func TestSelfService(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		kim, tok := f.tokenFor("kim", "users-read")
		r := f.call(http.MethodGet, "/admin/me", tok, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, kim.ID, r.Str("id"))
		requireProblem(t, f.call(http.MethodPatch, "/admin/me", tok, map[string]any{"language": "fr"}), 422, "missing-reference")
		requireProblem(t, f.call(http.MethodPatch, "/admin/me", tok, map[string]any{"status": "active"}), 400, "malformed-request")
		requireProblem(t, f.call(http.MethodGet, "/admin/me", f.adminToken, nil), 403, "user-token-required")

		// Own clients: never more than the owner holds.
		r = f.call(http.MethodPost, "/admin/me/clients", tok, map[string]any{"name": "mine", "scopes": []string{"users-write"}})
		requireProblem(t, r, 422, "delegation-ceiling")
		sec, err := clienthash.NewClientSecret()
		require.NoError(t, err)
		w := clienthash.ClientSecretWire(sec, "kims-app")
		r = f.call(http.MethodPost, "/admin/me/clients", tok, map[string]any{
			"client_id": "kims-app", "name": "mine", "scopes": []string{"users-read"},
			"secret_verifier": clienthash.Encode(clienthash.ClientSecretVerifier(w)),
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, kim.ID, r.Str("owner"))
		f.Remember(clienthash.Encode(sec), clienthash.Encode(w))
		c := apptest.Client{ID: "kims-app", Secret: clienthash.Encode(sec)}
		got := f.Token(&c, url.Values{"grant_type": {"client_credentials"}})
		require.Equal(t, "users-read", got.Str("scope"))

		// Others' clients do not exist for self-service.
		requireProblem(t, f.call(http.MethodGet, "/admin/me/clients/admin-cli", tok, nil), 404, "not-found")
		r = f.call(http.MethodGet, "/admin/me/clients", tok, nil)
		require.Len(t, r.Body["items"], 1)

		// Password change requires the old password and revokes tokens.
		newPw := passwordObject(t, "kim-new-password", "kim-new-password")
		r = f.call(http.MethodPut, "/admin/me/password", tok, map[string]any{"old_password": strings.Repeat("A", 43), "password": newPw})
		requireProblem(t, r, 422, "old-password-mismatch")
		old := f.LoginPassword("kim", "kim-password")
		r = f.call(http.MethodPut, "/admin/me/password", tok, map[string]any{"old_password": old, "password": newPw})
		require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
		f.Clock.Advance(1e9)
		requireProblem(t, f.call(http.MethodGet, "/admin/me", tok, nil), 401, "unauthorized")
		kc := f.Client("c-kim-2", f.admin.ID, nil, func(c *storage.Client) { c.AllScopes = true })
		login := f.Login(&kc, "kim", "kim-new-password", nil)
		require.Equal(t, http.StatusOK, login.Status, login.Raw)
		tok = login.Str("access_token")

		// A token is no oracle for its user's password: guesses of the
		// old one are throttled like sign-ins, the right one waits too.
		wrong := map[string]any{"old_password": f.LoginPassword("kim", "a guess"), "password": newPw}
		for i := 0; ; i++ {
			r = f.call(http.MethodPut, "/admin/me/password", tok, wrong)
			if r.Status == http.StatusTooManyRequests {
				break
			}
			requireProblem(t, r, 422, "old-password-mismatch")
			require.Less(t, i, 20, "never throttled")
		}
		requireProblem(t, r, 429, "too-many-attempts")
		require.NotEmpty(t, r.Header.Get("Retry-After"))
		right := map[string]any{"old_password": f.LoginPassword("kim", "kim-new-password"), "password": newPw}
		requireProblem(t, f.call(http.MethodPut, "/admin/me/password", tok, right), 429, "too-many-attempts")
		f.Clock.Advance(1e9)
	})
}

func TestClients(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		tok := f.adminToken
		r := f.call(http.MethodPost, "/admin/clients", tok, map[string]any{"name": "generated", "scopes": []string{"users-read"}})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.True(t, strings.HasPrefix(r.Str("client_id"), "c-"))
		require.Equal(t, f.admin.ID, r.Str("owner"))

		id := "svc:reports/v2"
		sec, err := clienthash.NewClientSecret()
		require.NoError(t, err)
		w := clienthash.ClientSecretWire(sec, id)
		f.Remember(clienthash.Encode(sec), clienthash.Encode(w))
		r = f.call(http.MethodPost, "/admin/clients", tok, map[string]any{
			"client_id": id, "name": "reports", "scopes": []string{"users-read"}, "access_token_ttl": 300,
			"secret_verifier": clienthash.Encode(clienthash.ClientSecretVerifier(w)),
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, "/admin/clients/svc:reports%2Fv2", r.Header.Get("Location"))
		requireProblem(t, f.call(http.MethodPost, "/admin/clients", tok, map[string]any{"client_id": id, "name": "dup"}), 409, "conflict")
		c := apptest.Client{ID: id, Secret: clienthash.Encode(sec)}
		got := f.Token(&c, url.Values{"grant_type": {"client_credentials"}})
		require.InDelta(t, 300, got.Body["expires_in"], 1)

		path := "/admin/clients/" + url.PathEscape(id)
		r = f.call(http.MethodGet, path, tok, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.NotContains(t, r.Raw, "verifier")

		// Rotate: a second version, both work, the first is deactivated.
		sec2, err := clienthash.NewClientSecret()
		require.NoError(t, err)
		w2 := clienthash.ClientSecretWire(sec2, id)
		f.Remember(clienthash.Encode(sec2), clienthash.Encode(w2))
		r = f.call(http.MethodPost, path+"/secrets", tok, map[string]any{"verifier": clienthash.Encode(clienthash.ClientSecretVerifier(w2))})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		r = f.call(http.MethodGet, path+"/secrets", tok, nil)
		items := r.Body["items"].([]any)
		require.Len(t, items, 2)
		first := items[0].(map[string]any)["id"].(string)
		c2 := apptest.Client{ID: id, Secret: clienthash.Encode(sec2)}
		f.Token(&c2, url.Values{"grant_type": {"client_credentials"}})
		require.Equal(t, http.StatusNoContent, f.call(http.MethodDelete, path+"/secrets/"+first, tok, nil).Status)
		require.Equal(t, http.StatusUnauthorized, f.Post("/oauth2/token", &c, url.Values{"grant_type": {"client_credentials"}}).Status)
		f.Token(&c2, url.Values{"grant_type": {"client_credentials"}})

		// Disabling the client revokes its tokens and stops new ones.
		live := f.Token(&c2, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
		r = f.call(http.MethodPatch, path, tok, map[string]any{"status": "disabled"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		f.Clock.Advance(1e9)
		intro := f.Post("/oauth2/introspect", &c2, url.Values{"token": {live}})
		require.Equal(t, http.StatusUnauthorized, intro.Status, "a disabled client cannot even introspect")
		admin := f.Client("auditor", f.admin.ID, []string{"tokens-introspect"})
		intro = f.Post("/oauth2/introspect", &admin, url.Values{"token": {live}})
		require.Equal(t, false, intro.Body["active"], intro.Raw)

		requireProblem(t, f.call(http.MethodPost, "/admin/clients", tok, map[string]any{"name": "x", "token_endpoint_auth_method": "private_key_jwt"}), 422, "invalid-client")
		requireProblem(t, f.call(http.MethodPost, "/admin/clients", tok, map[string]any{"name": "x", "jwks": map[string]any{"keys": []any{map[string]any{"kty": "oct", "k": "c2VjcmV0"}}}}), 400, "invalid-field")
		requireProblem(t, f.call(http.MethodPost, "/admin/clients", tok, map[string]any{"name": "x", "grant_types": []string{"implicit"}}), 400, "invalid-field")
		require.Equal(t, http.StatusNoContent, f.call(http.MethodDelete, path, tok, nil).Status)
		requireProblem(t, f.call(http.MethodGet, path, tok, nil), 404, "not-found")
	})
}

func TestAudit(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		r := f.call(http.MethodPost, "/admin/resources", f.adminToken, map[string]any{"name": "audited"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		r = f.call(http.MethodGet, "/admin/audit?actor=admin-cli", f.adminToken, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		items := r.Body["items"].([]any)
		require.NotEmpty(t, items)
		e := items[0].(map[string]any)
		require.Equal(t, "client", e["actor_type"])
		require.Equal(t, "audited", e["target_id"])
		requireProblem(t, f.call(http.MethodGet, "/admin/audit?since=yesterday", f.adminToken, nil), 400, "invalid-field")
	})
}

// Revoking a user's tokens holds for as long as any of their refresh
// tokens could live, also when a client's refresh lifetime is longer than
// the server's default: the mark must not expire before the grant does.
func TestRevokedGrantStaysRevoked(t *testing.T) {
	s := apptest.Start(t, apptest.Memory)
	f := setup(t, s)
	u := f.User("olga", "olga-password-1", f.Group("g", "users-read").ID)
	c := f.Client("long-lived", f.admin.ID, []string{"users-read"}, func(c *storage.Client) { c.RefreshTokenTTL = 365 * 24 * time.Hour })
	login := f.Login(&c, "olga", "olga-password-1", nil)
	require.Equal(t, http.StatusOK, login.Status, login.Raw)
	f.Clock.Advance(time.Second)
	require.Equal(t, http.StatusNoContent, f.call(http.MethodDelete, "/admin/users/"+u.ID+"/tokens", f.adminToken, nil).Status)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {login.Str("refresh_token")}}
	for _, after := range []time.Duration{0, 31 * 24 * time.Hour, 300 * 24 * time.Hour} {
		f.Clock.Advance(after)
		r := f.Post("/oauth2/token", &c, refresh)
		require.Equal(t, "invalid_grant", r.Str("error"), "after %v: %s", after, r.Raw)
	}
}

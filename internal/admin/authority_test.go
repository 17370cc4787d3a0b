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

// The authorization matrix: every management route that changes something,
// called by a caller that holds what the target can exercise and by one
// that does not, with real tokens over HTTP, on every backend. A caller may
// act on an entity only if it holds everything the entity can exercise
// now; a refusal changes nothing and is written to the audit log.

// Target powers: what the entity acted on can exercise.
const (
	low  = "low"  // {r-low}: the weak caller holds it
	high = "high" // {r-low, r-high}: the weak caller lacks r-high
)

// Callers.
const (
	weak   = "weak"   // every built-in write resource and r-low, not r-high
	strong = "strong" // an administrator: every resource
	bare   = "bare"   // r-low only: none of the resources the routes need
)

// authority is the fixture of the matrix: callers with their tokens, and
// groups that give targets their power.
type authority struct {
	*fixture
	tokens map[string]string
	users  map[string]string        // caller user ids
	groups map[string]storage.Group // by power
	n      int
}

var writeResources = []string{
	"users-read", "users-write", "groups-read", "groups-write", "clients-read", "clients-write",
	"resources-read", "resources-write", "tokens-revoke", "audit-read",
}

func newAuthority(t *testing.T, s *apptest.Server) *authority {
	f := setup(t, s)
	ctx := context.Background()
	for _, r := range []string{"r-low", "r-high"} {
		_, err := s.Store.CreateResource(ctx, apptest.System, storage.DefaultRealm, storage.Resource{Name: r})
		require.NoError(t, err)
	}
	a := &authority{fixture: f, tokens: map[string]string{}, users: map[string]string{}, groups: map[string]storage.Group{
		low:  s.Group("power-low", "r-low"),
		high: s.Group("power-high", "r-low", "r-high"),
	}}
	admins, err := s.Store.GetGroupByName(ctx, storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	weakGroup := s.Group("caller-weak", append([]string{"r-low"}, writeResources...)...)
	bareGroup := s.Group("caller-bare", "r-low")
	login := func(name, group string) string {
		a.users[name[len("caller-"):]] = s.User(name, name+"-password", group).ID
		r := s.Login(&f.adminClient, name, name+"-password", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		return r.Str("access_token")
	}
	a.tokens[weak] = login("caller-weak", weakGroup.ID)
	a.tokens[strong] = login("caller-strong", admins.ID)
	a.tokens[bare] = login("caller-bare", bareGroup.ID)
	return a
}

func (a *authority) name(prefix string) string {
	a.n++
	return fmt.Sprintf("%s-%d", prefix, a.n)
}

// user creates a user holding power.
func (a *authority) user(power string) storage.User {
	return a.User(a.name("target"), "target-password", a.groups[power].ID)
}

// group creates a group granting power, with one member.
func (a *authority) group(power string) storage.Group {
	g := a.Group(a.name("group"), a.groups[power].Resources...)
	a.User(a.name("member"), "", g.ID)
	return g
}

// client creates a client owned by the administrator that can obtain
// power.
func (a *authority) client(power string, mutate ...func(*storage.Client)) string {
	id := a.name("client")
	a.Client(id, a.admin.ID, a.groups[power].Resources, mutate...)
	return id
}

// snapshot reads everything a change to the target could touch, so that
// a refusal can be shown to have changed nothing.
func (a *authority) snapshot(kind, id string) string {
	ctx := context.Background()
	var parts []any
	switch kind {
	case "user":
		u, err := a.Store.GetUser(ctx, storage.DefaultRealm, id)
		groups, _ := a.Store.UserGroups(ctx, storage.DefaultRealm, id)
		parts = append(parts, u, err, groups)
	case "group":
		g, err := a.Store.GetGroup(ctx, storage.DefaultRealm, id)
		members, _ := a.Store.ListGroupMembers(ctx, storage.DefaultRealm, id, storage.ListOptions{})
		parts = append(parts, g, err, members)
	case "client":
		c, err := a.Store.GetClient(ctx, storage.DefaultRealm, id)
		secrets, _ := a.Store.ListClientSecrets(ctx, storage.DefaultRealm, id)
		parts = append(parts, c, err, secrets)
	case "resource":
		r, err := a.Store.GetResource(ctx, storage.DefaultRealm, id)
		parts = append(parts, r, err)
	}
	b, err := json.Marshal(parts)
	require.NoError(a.T, err)
	return string(b)
}

// action is one management call against a target of a given power.
type action struct {
	name string
	// create says the request creates an entity: its refusal is audited
	// without a target id.
	create bool
	// prepare creates the target and returns the request; kind and id
	// name the entity to snapshot and find in the audit log.
	prepare func(a *authority, power string) (method, path, body, kind, id string)
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// newVerifier returns the verifier of a fresh client secret, as a client
// registering a secret version sends it.
func newVerifier() string {
	s, err := clienthash.NewClientSecret()
	if err != nil {
		panic(err)
	}
	return clienthash.Encode(clienthash.ClientSecretVerifier(clienthash.ClientSecretWire(s, "any")))
}

func userAction(name, method, suffix string, body func(a *authority) any) action {
	return action{name, false, func(a *authority, power string) (string, string, string, string, string) {
		u := a.user(power)
		b := ""
		if body != nil {
			b = jsonBody(body(a))
		}
		return method, "/admin/users/" + u.ID + suffix, b, "user", u.ID
	}}
}

func groupAction(name, method string, path func(a *authority, g storage.Group) string, body func(a *authority) any) action {
	return action{name, false, func(a *authority, power string) (string, string, string, string, string) {
		g := a.group(power)
		b := ""
		if body != nil {
			b = jsonBody(body(a))
		}
		return method, path(a, g), b, "group", g.ID
	}}
}

func clientAction(name, method, suffix string, body func() any, mutate ...func(*storage.Client)) action {
	return action{name, false, func(a *authority, power string) (string, string, string, string, string) {
		id := a.client(power, mutate...)
		b := ""
		if body != nil {
			b = jsonBody(body())
		}
		path := "/admin/clients/" + url.PathEscape(id) + suffix
		if strings.Contains(path, "{secret}") {
			secrets, err := a.Store.ListClientSecrets(context.Background(), storage.DefaultRealm, id)
			require.NoError(a.T, err)
			path = strings.ReplaceAll(path, "{secret}", secrets[0].ID)
		}
		return method, path, b, "client", id
	}}
}

func constBody(v any) func() any { return func() any { return v } }

// fixed is a body that is the same for every call.
func fixed(v any) func(*authority) any { return func(*authority) any { return v } }

var matrixActions = []action{
	// Users: every change, deletion, token revocation.
	userAction("user display name", http.MethodPatch, "", fixed(map[string]any{"display_name": "X"})),
	userAction("user username", http.MethodPatch, "", func(a *authority) any { return map[string]any{"username": a.name("renamed")} }),
	userAction("user e-mail", http.MethodPatch, "", fixed(map[string]any{"email": "x@example.com"})),
	userAction("user disable", http.MethodPatch, "", fixed(map[string]any{"status": "disabled"})),
	userAction("user delete", http.MethodDelete, "", nil),
	userAction("user tokens revoke", http.MethodDelete, "/tokens", nil),
	{"user password", false, func(a *authority, power string) (string, string, string, string, string) {
		u := a.user(power)
		set, err := clienthash.NewPasswordSetting("new-password", "new-password", apptest.Iterations)
		require.NoError(a.T, err)
		a.Remember(set.Hash)
		return http.MethodPut, "/admin/users/" + u.ID + "/password", jsonBody(set), "user", u.ID
	}},
	// Users created into groups: the groups' power is granted.
	{"user create into group", true, func(a *authority, power string) (string, string, string, string, string) {
		return http.MethodPost, "/admin/users", jsonBody(map[string]any{"username": a.name("new"), "groups": []string{a.groups[power].ID}}), "group", a.groups[power].ID
	}},

	// Groups: rename, take a resource away, delete, grant, memberships.
	groupAction("group rename", http.MethodPatch, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID }, func(a *authority) any { return map[string]any{"name": a.name("renamed")} }),
	groupAction("group resources replaced", http.MethodPatch, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID }, fixed(map[string]any{"resources": []string{"r-low"}})),
	groupAction("group delete", http.MethodDelete, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID }, nil),
	groupAction("group resource remove", http.MethodDelete, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID + "/resources/r-low" }, nil),
	groupAction("group resource add", http.MethodPut, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID + "/resources/users-read" }, nil),
	groupAction("group member add", http.MethodPut, func(a *authority, g storage.Group) string {
		return "/admin/groups/" + g.ID + "/members/" + a.User(a.name("plain"), "").ID
	}, nil),
	groupAction("group member remove", http.MethodDelete, func(a *authority, g storage.Group) string {
		members, err := a.Store.ListGroupMembers(context.Background(), storage.DefaultRealm, g.ID, storage.ListOptions{})
		require.NoError(a.T, err)
		return "/admin/groups/" + g.ID + "/members/" + members.Items[0].ID
	}, nil),
	// A member who holds more than the caller through another group:
	// removing them takes from someone above the caller.
	{"group member above caller remove", false, func(a *authority, power string) (string, string, string, string, string) {
		g := a.Group(a.name("group"), "r-low")
		u := a.User(a.name("member"), "", g.ID, a.groups[power].ID)
		return http.MethodDelete, "/admin/groups/" + g.ID + "/members/" + u.ID, "", "group", g.ID
	}},
	{"group create with resources", true, func(a *authority, power string) (string, string, string, string, string) {
		return http.MethodPost, "/admin/groups", jsonBody(map[string]any{"name": a.name("new"), "resources": a.groups[power].Resources}), "group", ""
	}},

	// Clients: credentials and reach.
	clientAction("client rename", http.MethodPatch, "", constBody(map[string]any{"name": "renamed"})),
	clientAction("client disable", http.MethodPatch, "", constBody(map[string]any{"status": "disabled"})),
	clientAction("client scopes narrowed", http.MethodPatch, "", constBody(map[string]any{"scopes": []string{"r-low"}})),
	clientAction("client grant types", http.MethodPatch, "", constBody(map[string]any{"grant_types": []string{"client_credentials"}})),
	clientAction("client auth method", http.MethodPatch, "", constBody(map[string]any{"token_endpoint_auth_method": "client_secret_post"})),
	clientAction("client lifetimes", http.MethodPatch, "", constBody(map[string]any{"access_token_ttl": 120})),
	clientAction("client delete", http.MethodDelete, "", nil),
	clientAction("client secret add", http.MethodPost, "/secrets", func() any { return map[string]any{"verifier": newVerifier()} }),
	clientAction("client secret deactivate", http.MethodDelete, "/secrets/{secret}", nil),
	clientAction("client tokens revoke", http.MethodDelete, "/tokens", nil),
	{"client create with scopes", true, func(a *authority, power string) (string, string, string, string, string) {
		return http.MethodPost, "/admin/clients", jsonBody(map[string]any{"name": "new", "client_id": a.name("new"), "scopes": a.groups[power].Resources}), "client", ""
	}},

	// Resources: rewording or deleting one takes it from every holder.
	{"resource reword", false, func(a *authority, power string) (string, string, string, string, string) {
		name := map[string]string{low: "r-low", high: "r-high"}[power]
		return http.MethodPatch, "/admin/resources/" + name, jsonBody(map[string]any{"description": "changed"}), "resource", name
	}},
}

func TestAuthorizationMatrix(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		a := newAuthority(t, s)
		for _, act := range matrixActions {
			for _, caller := range []string{weak, strong, bare} {
				for _, power := range []string{low, high} {
					method, path, body, kind, id := act.prepare(a, power)
					before := ""
					if id != "" {
						before = a.snapshot(kind, id)
					}
					audit := storage.AuditFilter{TargetID: id}
					if act.create {
						audit = storage.AuditFilter{ActorID: a.users[caller]}
					}
					denied := a.denials(audit)
					r := a.Bearer(method, path, a.tokens[caller], body)
					cell := fmt.Sprintf("%s by %s on %s: %s", act.name, caller, power, r.Raw)
					switch {
					case caller == bare:
						requireProblem(t, r, http.StatusForbidden, "missing-resource")
					case caller == weak && power == high:
						requireProblem(t, r, http.StatusUnprocessableEntity, "delegation-ceiling")
					default:
						require.Less(t, r.Status, 300, cell)
						require.GreaterOrEqual(t, r.Status, 200, cell)
						continue
					}
					if id != "" {
						require.Equal(t, before, a.snapshot(kind, id), "a refusal changed nothing: %s", cell)
					}
					require.Equal(t, denied+1, a.denials(audit), "the refusal is audited: %s", cell)
				}
			}
		}
	})
}

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

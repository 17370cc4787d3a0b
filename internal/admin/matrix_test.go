package admin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// The authorization matrix: every management route that changes
// something, called with real tokens over HTTP on every backend, by
// callers of three strengths — as users and as clients — against targets
// of two powers. A caller may act on an entity only if it holds everything
// the entity can exercise now; a refusal changes nothing and is written to
// the audit log.

// Target powers: what the entity acted on can exercise.
const (
	low  = "low"  // {r-low}: the weak caller holds it
	high = "high" // {r-low, r-high}: the weak caller lacks r-high
)

// Callers. User callers sign in with the password grant; client callers
// use client_credentials and act on their own behalf.
const (
	weak         = "weak"          // every built-in write resource and r-low, not r-high
	strong       = "strong"        // an administrator: every resource
	bare         = "bare"          // r-low only: none of the resources the routes need
	none         = "none"          // a user token with no admin resource at all
	weakClient   = "weak-client"   // a client token with weak's resources
	strongClient = "strong-client" // an all-scopes client token of an administrator
)

// consentApp is the client users consent to in the matrix.
const consentApp = "consent-app"

var callers = []string{weak, strong, bare, none, weakClient, strongClient}

func isClient(caller string) bool { return caller == weakClient || caller == strongClient }

// holdsLowOnly reports whether the caller lacks r-high but holds r-low.
func holdsLowOnly(caller string) bool {
	return caller == weak || caller == bare || caller == weakClient
}

// writeResources are the resources the weak caller holds besides r-low.
var writeResources = []string{
	"users-read", "users-write", "groups-read", "groups-write", "clients-read", "clients-write",
	"resources-read", "resources-write", "languages-read", "languages-write", "tokens-revoke", "audit-read",
	"contexts-read", "contexts-write", "invites-read", "invites-write",
}

// matrixContext is the context the matrix's memberships in a context are
// made in.
const matrixContext = "matrix-ctx"

// Resources deletable in the matrix, one per cell: a deleted resource is
// gone, and tokens carry only resources that existed when issued.
var deletable = map[string][]string{
	low:  {"del-low-1", "del-low-2", "del-low-3", "del-low-4", "del-low-5", "del-low-6"},
	high: {"del-high-1", "del-high-2", "del-high-3", "del-high-4", "del-high-5", "del-high-6"},
}

// authority is the fixture of the matrix: callers with their tokens, and
// groups that give targets their power.
type authority struct {
	*fixture
	tokens  map[string]string
	actors  map[string]string        // audit actor id of each caller
	callerU map[string]storage.User  // the user behind each user caller
	groups  map[string]storage.Group // by power
	used    map[string]int           // deletable resources used, by power
	n       int
}

func newAuthority(t *testing.T, s *apptest.Server) *authority {
	f := setup(t, s)
	ctx := context.Background()
	for _, r := range append([]string{"r-low", "r-high"}, append(deletable[low], deletable[high]...)...) {
		_, err := s.Store.CreateResource(ctx, apptest.System, storage.DefaultRealm, storage.Resource{Name: r})
		require.NoError(t, err)
	}
	a := &authority{fixture: f, tokens: map[string]string{}, actors: map[string]string{}, callerU: map[string]storage.User{},
		used: map[string]int{}, groups: map[string]storage.Group{
			low:  s.Group("power-low", "r-low"),
			high: s.Group("power-high", "r-low", "r-high"),
		}}
	admins, err := s.Store.GetGroupByName(ctx, storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	_, err = s.Store.CreateContext(ctx, apptest.System, storage.DefaultRealm, storage.Context{ID: matrixContext, Name: "Matrix"})
	require.NoError(t, err)
	weakRes := append(append([]string{"r-low"}, writeResources...), deletable[low]...)
	weakGroup := s.Group("caller-weak", weakRes...)
	bareGroup := s.Group("caller-bare", "r-low")
	noScopes := f.Client("no-scopes", f.admin.ID, nil) // a third-party application
	f.Client(consentApp, f.admin.ID, nil)
	login := func(caller, group string, via *apptest.Client) {
		name := "caller-" + caller
		u := s.User(name, name+"-password", group)
		a.callerU[caller], a.actors[caller] = u, u.ID
		r := s.Login(via, name, name+"-password", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		a.tokens[caller] = r.Str("access_token")
	}
	login(weak, weakGroup.ID, &f.adminClient)
	login(strong, admins.ID, &f.adminClient)
	login(bare, bareGroup.ID, &f.adminClient)
	login(none, weakGroup.ID, &noScopes)
	cc := url.Values{"grant_type": {"client_credentials"}}
	wc := f.Client(weakClient, a.callerU[weak].ID, weakRes)
	sc := f.Client(strongClient, a.callerU[strong].ID, nil, func(c *storage.Client) { c.AllScopes = true })
	a.tokens[weakClient], a.actors[weakClient] = s.Token(&wc, cc).Str("access_token"), weakClient
	a.tokens[strongClient], a.actors[strongClient] = s.Token(&sc, cc).Str("access_token"), strongClient
	// A client token's user is the client's owner: /admin/me refusals
	// name them.
	a.callerU[weakClient], a.callerU[strongClient] = a.callerU[weak], a.callerU[strong]
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

// client creates a client owned by owner that can obtain power.
func (a *authority) client(owner, power string, mutate ...func(*storage.Client)) string {
	id := a.name("client")
	a.Client(id, owner, a.groups[power].Resources, mutate...)
	return id
}

// context creates a context below the matrix's context.
func (a *authority) context() string {
	id := a.name("ctx")
	_, err := a.Store.CreateContext(context.Background(), apptest.System, storage.DefaultRealm, storage.Context{ID: id, Name: id, ParentID: matrixContext})
	require.NoError(a.T, err)
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
		consents, _ := a.Store.ListConsents(ctx, storage.DefaultRealm, id, storage.ListOptions{})
		parts = append(parts, u, err, groups, consents)
	case "group":
		g, err := a.Store.GetGroup(ctx, storage.DefaultRealm, id)
		members, _ := a.Store.ListGroupMembers(ctx, storage.DefaultRealm, id, storage.ListOptions{})
		inContext, _ := a.Store.ListContextMembers(ctx, storage.DefaultRealm, matrixContext, storage.ListOptions{Limit: storage.MaxListLimit})
		parts = append(parts, g, err, members, inContext)
	case "context":
		c, err := a.Store.GetContext(ctx, storage.DefaultRealm, id)
		parts = append(parts, c, err)
	case "client":
		c, err := a.Store.GetClient(ctx, storage.DefaultRealm, id)
		secrets, _ := a.Store.ListClientSecrets(ctx, storage.DefaultRealm, id)
		parts = append(parts, c, err, secrets)
	case "resource":
		r, err := a.Store.GetResource(ctx, storage.DefaultRealm, id)
		parts = append(parts, r, err)
	case "language":
		l, err := a.Store.GetLanguage(ctx, storage.DefaultRealm, id)
		parts = append(parts, l, err)
	case storage.TargetInvitation:
		// Read as the administrator reads it: the invitation store is
		// the application's, beside the one the fixture holds.
		r := a.Bearer(http.MethodGet, "/admin/invites/"+id, a.tokens[strong], "")
		parts = append(parts, r.Status, r.Raw)
	}
	b, err := json.Marshal(parts)
	require.NoError(a.T, err)
	return string(b)
}

// request is one prepared management call.
type request struct {
	method, path, body string
	kind, id           string // the entity to snapshot and find in the audit log
}

// action is one kind of management call against a target of a given
// power, prepared for a given caller.
type action struct {
	name string
	// create: the request creates an entity, so its refusal is audited
	// without a target id.
	create bool
	// powerless: the target has no power to speak of (languages, a new
	// resource); only the route's resource matters.
	powerless bool
	// self: a /admin/me route, on the caller's own account or clients.
	self    bool
	prepare func(a *authority, caller, power string) request
}

// expect returns the status and problem type the matrix expects, or 0
// for success.
func (act action) expect(caller, power string) (int, string) {
	if act.self {
		switch {
		case isClient(caller):
			return http.StatusForbidden, "user-token-required"
		case act.powerless:
			return 0, ""
		case caller == none:
			return http.StatusForbidden, "admin-scope-required"
		case power == high && holdsLowOnly(caller):
			return http.StatusUnprocessableEntity, "delegation-ceiling"
		}
		return 0, ""
	}
	switch {
	case caller == bare || caller == none:
		return http.StatusForbidden, "missing-resource"
	case act.powerless:
		return 0, ""
	case power == high && holdsLowOnly(caller):
		return http.StatusUnprocessableEntity, "delegation-ceiling"
	}
	return 0, ""
}

func jsonBody(v any) string {
	if v == nil {
		return ""
	}
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

// publicJWKS returns a JSON Web Key Set with one fresh public EC key.
func publicJWKS() json.RawMessage {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		panic(err)
	}
	return b
}

type bodyFunc func(a *authority) any

// fixed is a body that is the same for every call.
func fixed(v any) bodyFunc { return func(*authority) any { return v } }

func userAction(name, method, suffix string, body bodyFunc, mutate ...func(a *authority, u storage.User)) action {
	return action{name: name, prepare: func(a *authority, _, power string) request {
		u := a.user(power)
		for _, m := range mutate {
			m(a, u)
		}
		var b any
		if body != nil {
			b = body(a)
		}
		return request{method, "/admin/users/" + u.ID + suffix, jsonBody(b), "user", u.ID}
	}}
}

func groupAction(name, method string, path func(a *authority, g storage.Group) string, body bodyFunc) action {
	return action{name: name, prepare: func(a *authority, _, power string) request {
		g := a.group(power)
		var b any
		if body != nil {
			b = body(a)
		}
		return request{method, path(a, g), jsonBody(b), "group", g.ID}
	}}
}

// clientAction acts on a client of the administrator through /admin/clients,
// or, with self, on one of the caller's own clients through
// /admin/me/clients.
func clientAction(self bool, name, method, suffix string, body bodyFunc) action {
	return action{name: name, self: self, prepare: func(a *authority, caller, power string) request {
		owner, base := a.admin.ID, "/admin/clients/"
		if self {
			owner, base = a.callerU[caller].ID, "/admin/me/clients/"
		}
		id := a.client(owner, power)
		var b any
		if body != nil {
			b = body(a)
		}
		path := base + url.PathEscape(id) + suffix
		if strings.Contains(path, "{secret}") {
			secrets, err := a.Store.ListClientSecrets(context.Background(), storage.DefaultRealm, id)
			require.NoError(a.T, err)
			path = strings.ReplaceAll(path, "{secret}", secrets[0].ID)
		}
		return request{method, path, jsonBody(b), "client", id}
	}}
}

func disable(a *authority, u storage.User) {
	_, err := a.Store.UpdateUser(context.Background(), apptest.System, storage.DefaultRealm, u.ID, func(u *storage.User) error {
		u.Status = storage.StatusDisabled
		return nil
	})
	require.NoError(a.T, err)
}

func newPassword(a *authority) any {
	set, err := clienthash.NewPasswordSetting("new-password", "new-password", apptest.Iterations)
	require.NoError(a.T, err)
	a.Remember(set.Hash)
	return set
}

func clientChanges(self bool) []action {
	return []action{
		clientAction(self, "client rename", http.MethodPatch, "", fixed(map[string]any{"name": "renamed"})),
		clientAction(self, "client disable", http.MethodPatch, "", fixed(map[string]any{"status": "disabled"})),
		clientAction(self, "client scopes narrowed", http.MethodPatch, "", fixed(map[string]any{"scopes": []string{"r-low"}})),
		clientAction(self, "client grant types", http.MethodPatch, "", fixed(map[string]any{"grant_types": []string{"client_credentials"}})),
		clientAction(self, "client auth method", http.MethodPatch, "", fixed(map[string]any{"token_endpoint_auth_method": "client_secret_post"})),
		clientAction(self, "client jwks", http.MethodPatch, "", func(*authority) any {
			return map[string]any{"token_endpoint_auth_method": "private_key_jwt", "jwks": publicJWKS()}
		}),
		clientAction(self, "client lifetimes", http.MethodPatch, "", fixed(map[string]any{"access_token_ttl": 120, "refresh_token_ttl": 3600})),
		clientAction(self, "client delete", http.MethodDelete, "", nil),
		clientAction(self, "client secret add", http.MethodPost, "/secrets", func(*authority) any { return map[string]any{"verifier": newVerifier()} }),
		clientAction(self, "client secret deactivate", http.MethodDelete, "/secrets/{secret}", nil),
	}
}

var matrixActions = append(append([]action{
	// Users: every change, deletion, token revocation.
	userAction("user display name", http.MethodPatch, "", fixed(map[string]any{"display_name": "X"})),
	userAction("user username", http.MethodPatch, "", func(a *authority) any { return map[string]any{"username": a.name("renamed")} }),
	userAction("user e-mail", http.MethodPatch, "", fixed(map[string]any{"email": "x@example.com"})),
	userAction("user language", http.MethodPatch, "", fixed(map[string]any{"language": "en"})),
	userAction("user disable", http.MethodPatch, "", fixed(map[string]any{"status": "disabled"})),
	userAction("user re-enable", http.MethodPatch, "", fixed(map[string]any{"status": "active"}), disable),
	userAction("user password in patch", http.MethodPatch, "", func(a *authority) any { return map[string]any{"password": newPassword(a)} }),
	userAction("user password", http.MethodPut, "/password", newPassword),
	userAction("user delete", http.MethodDelete, "", nil),
	userAction("user tokens revoke", http.MethodDelete, "/tokens", nil),
	// A new activation link lets whoever reads the mail set the password.
	{name: "user activation resend", prepare: func(a *authority, _, power string) request {
		u := a.User(a.name("target"), "", a.groups[power].ID)
		_, err := a.Store.UpdateUser(context.Background(), apptest.System, storage.DefaultRealm, u.ID, func(u *storage.User) error {
			u.Email = u.Username + "@example.com"
			return nil
		})
		require.NoError(a.T, err)
		return request{http.MethodPost, "/admin/users/" + u.ID + "/activation", "", "user", u.ID}
	}},
	// A user created into a group is granted the group's power.
	{name: "user create into group", create: true, prepare: func(a *authority, _, power string) request {
		body := jsonBody(map[string]any{"username": a.name("new"), "groups": []string{a.groups[power].ID}})
		return request{http.MethodPost, "/admin/users", body, "group", a.groups[power].ID}
	}},

	// Groups: rename, take resources away, delete, grant, memberships.
	groupAction("group rename", http.MethodPatch, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID },
		func(a *authority) any { return map[string]any{"name": a.name("renamed")} }),
	groupAction("group description", http.MethodPatch, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID },
		fixed(map[string]any{"description": "changed"})),
	groupAction("group resources replaced", http.MethodPatch, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID },
		fixed(map[string]any{"resources": []string{"r-low"}})),
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
	{name: "group member above caller remove", prepare: func(a *authority, _, power string) request {
		g := a.Group(a.name("group"), "r-low")
		u := a.User(a.name("member"), "", g.ID, a.groups[power].ID)
		return request{http.MethodDelete, "/admin/groups/" + g.ID + "/members/" + u.ID, "", "group", g.ID}
	}},
	// Groups that include others grant those others' power.
	groupAction("group includes set", http.MethodPatch, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID },
		func(a *authority) any {
			return map[string]any{"includes": []string{a.Group(a.name("included"), "r-low").ID}}
		}),
	{name: "group create including", create: true, prepare: func(a *authority, _, power string) request {
		return request{http.MethodPost, "/admin/groups", jsonBody(map[string]any{"name": a.name("new"), "includes": []string{a.groups[power].ID}}), "", ""}
	}},
	groupAction("group managed_by set", http.MethodPatch, func(a *authority, g storage.Group) string { return "/admin/groups/" + g.ID },
		fixed(map[string]any{"managed_by": "r-low"})),

	// Memberships in a context follow the same rule, in the context.
	groupAction("context member add", http.MethodPut, func(a *authority, g storage.Group) string {
		return "/admin/contexts/" + matrixContext + "/groups/" + g.ID + "/members/" + a.User(a.name("plain"), "").ID
	}, nil),
	groupAction("context member remove", http.MethodDelete, func(a *authority, g storage.Group) string {
		u := a.User(a.name("member"), "")
		require.NoError(a.T, a.Store.AddGroupMemberIn(context.Background(), apptest.System, storage.DefaultRealm, matrixContext, g.ID, u.ID))
		return "/admin/contexts/" + matrixContext + "/groups/" + g.ID + "/members/" + u.ID
	}, nil),
	{name: "context member above caller remove", prepare: func(a *authority, _, power string) request {
		g := a.Group(a.name("group"), "r-low")
		u := a.User(a.name("member"), "", a.groups[power].ID)
		require.NoError(a.T, a.Store.AddGroupMemberIn(context.Background(), apptest.System, storage.DefaultRealm, matrixContext, g.ID, u.ID))
		return request{http.MethodDelete, "/admin/contexts/" + matrixContext + "/groups/" + g.ID + "/members/" + u.ID, "", "group", g.ID}
	}},

	// Contexts have no power of their own: the route's resource decides.
	{name: "context create", create: true, powerless: true, prepare: func(a *authority, _, _ string) request {
		return request{http.MethodPost, "/admin/contexts", jsonBody(map[string]any{"id": a.name("ctx"), "name": "C", "parent": matrixContext}), "", ""}
	}},
	{name: "context rename", powerless: true, prepare: func(a *authority, _, _ string) request {
		id := a.context()
		return request{http.MethodPatch, "/admin/contexts/" + id, jsonBody(map[string]any{"name": "renamed"}), "context", id}
	}},
	{name: "context move", powerless: true, prepare: func(a *authority, _, _ string) request {
		id, dest := a.context(), a.context()
		return request{http.MethodPatch, "/admin/contexts/" + id, jsonBody(map[string]any{"parent": dest}), "context", id}
	}},
	{name: "context move to top", powerless: true, prepare: func(a *authority, _, _ string) request {
		top, id := a.name("top"), a.name("ctx")
		for _, c := range []storage.Context{{ID: top, Name: top}, {ID: id, Name: id, ParentID: top}} {
			_, err := a.Store.CreateContext(context.Background(), apptest.System, storage.DefaultRealm, c)
			require.NoError(a.T, err)
		}
		return request{http.MethodPatch, "/admin/contexts/" + id, jsonBody(map[string]any{"parent": ""}), "context", id}
	}},
	// A move below a context gives its members what they hold there in
	// the moved context: the mover must hold it, as for adding them.
	{name: "context move into members", prepare: func(a *authority, _, power string) request {
		dest, id := a.context(), a.context()
		u := a.User(a.name("plain"), "")
		require.NoError(a.T, a.Store.AddGroupMemberIn(context.Background(), apptest.System, storage.DefaultRealm, dest, a.group(power).ID, u.ID))
		return request{http.MethodPatch, "/admin/contexts/" + id, jsonBody(map[string]any{"parent": dest}), "context", id}
	}},
	{name: "context delete", powerless: true, prepare: func(a *authority, _, _ string) request {
		id := a.context()
		return request{http.MethodDelete, "/admin/contexts/" + id, "", "context", id}
	}},

	{name: "group create with resources", create: true, prepare: func(a *authority, _, power string) request {
		return request{http.MethodPost, "/admin/groups", jsonBody(map[string]any{"name": a.name("new"), "resources": a.groups[power].Resources}), "", ""}
	}},

	// Invitations carry their groups' power to whoever accepts them;
	// revoking one takes that pending grant away.
	{name: "invite create into group", create: true, prepare: func(a *authority, _, power string) request {
		body := jsonBody(map[string]any{"email": a.name("invitee") + "@example.com", "groups": []string{a.groups[power].ID}})
		return request{http.MethodPost, "/admin/invites", body, "", ""}
	}},
	{name: "invite revoke", prepare: func(a *authority, _, power string) request {
		body := jsonBody(map[string]any{"email": a.name("invitee") + "@example.com", "groups": []string{a.groups[power].ID}})
		r := a.Bearer(http.MethodPost, "/admin/invites", a.tokens[strong], body)
		require.Equal(a.T, http.StatusCreated, r.Status, r.Raw)
		id := r.Str("id")
		return request{http.MethodDelete, "/admin/invites/" + id, "", storage.TargetInvitation, id}
	}},

	// Clients: creation with scopes, and tokens ended.
	{name: "client create with scopes", create: true, prepare: func(a *authority, _, power string) request {
		body := jsonBody(map[string]any{"name": "new", "client_id": a.name("new"), "scopes": a.groups[power].Resources})
		return request{http.MethodPost, "/admin/clients", body, "", ""}
	}},
	clientAction(false, "client tokens revoke", http.MethodDelete, "/tokens", nil),

	// Resources: rewording or deleting one concerns everyone who holds it;
	// creating one grants it to nobody but the administrators.
	{name: "resource reword", prepare: func(a *authority, _, power string) request {
		name := map[string]string{low: "r-low", high: "r-high"}[power]
		return request{http.MethodPatch, "/admin/resources/" + name, jsonBody(map[string]any{"description": "changed"}), "resource", name}
	}},
	{name: "resource delete", prepare: func(a *authority, _, power string) request {
		name := deletable[power][a.used[power]]
		a.used[power]++
		return request{http.MethodDelete, "/admin/resources/" + name, "", "resource", name}
	}},
	{name: "resource create", create: true, powerless: true, prepare: func(a *authority, _, _ string) request {
		return request{http.MethodPost, "/admin/resources", jsonBody(map[string]any{"name": a.name("new")}), "", ""}
	}},

	// Languages have no power: the route's resource decides.
	{name: "language create", create: true, powerless: true, prepare: func(a *authority, _, _ string) request {
		return request{http.MethodPost, "/admin/languages", jsonBody(map[string]any{"code": "de-x-" + a.name("l"), "name": "L"}), "", ""}
	}},
	{name: "language rename", powerless: true, prepare: func(a *authority, _, _ string) request {
		code := "de-x-" + a.name("l")
		_, err := a.Store.CreateLanguage(context.Background(), apptest.System, storage.DefaultRealm, storage.Language{Code: code, Name: "L"})
		require.NoError(a.T, err)
		return request{http.MethodPatch, "/admin/languages/" + code, jsonBody(map[string]any{"name": "M"}), "language", code}
	}},
	{name: "language delete", powerless: true, prepare: func(a *authority, _, _ string) request {
		code := "de-x-" + a.name("l")
		_, err := a.Store.CreateLanguage(context.Background(), apptest.System, storage.DefaultRealm, storage.Language{Code: code, Name: "L"})
		require.NoError(a.T, err)
		return request{http.MethodDelete, "/admin/languages/" + code, "", "language", code}
	}},

	// Consents: revoking a user's consent changes the user; one's own is
	// one's own business, whatever the token carries.
	{name: "user consent revoke", prepare: func(a *authority, _, power string) request {
		u := a.user(power)
		a.consent(u.ID, consentApp, "openid")
		return request{http.MethodDelete, "/admin/users/" + u.ID + "/consents/" + consentApp, "", "user", u.ID}
	}},
	{name: "me consent revoke", self: true, powerless: true, prepare: func(a *authority, caller, _ string) request {
		u := a.callerU[caller]
		a.consent(u.ID, consentApp, "openid")
		return request{http.MethodDelete, "/admin/me/consents/" + consentApp, "", "user", u.ID}
	}},

	// Self-service: one's own clients, created and changed, with what
	// the token carries; one's own profile with any user token.
	{name: "me client create with scopes", self: true, create: true, prepare: func(a *authority, _, power string) request {
		body := jsonBody(map[string]any{"name": "mine", "client_id": a.name("mine"), "scopes": a.groups[power].Resources})
		return request{http.MethodPost, "/admin/me/clients", body, "", ""}
	}},
	{name: "me profile", self: true, powerless: true, prepare: func(a *authority, caller, _ string) request {
		return request{http.MethodPatch, "/admin/me", jsonBody(map[string]any{"display_name": a.name("me")}), "user", a.callerU[caller].ID}
	}},
}, clientChanges(false)...), clientChanges(true)...)

func TestAuthorizationMatrix(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			// Every refusal is to be found in the audit log: no budget.
			s, _ := apptest.StartWithMail(t, b, func(o *app.Options) { o.RefusalAuditsPerMinute = 1 << 20 })
			testMatrix(t, newAuthority(t, s))
		})
	}
}

func testMatrix(t *testing.T, a *authority) {
	for _, act := range matrixActions {
		for _, caller := range callers {
			for _, power := range []string{low, high} {
				req := act.prepare(a, caller, power)
				before := ""
				if req.id != "" {
					before = a.snapshot(req.kind, req.id)
				}
				audit := storage.AuditFilter{TargetID: req.id}
				if act.create {
					audit = storage.AuditFilter{ActorID: a.actors[caller]}
				}
				denied := a.denials(audit)
				r := a.Bearer(req.method, req.path, a.tokens[caller], req.body)
				cell := fmt.Sprintf("%s by %s on %s: %s", act.name, caller, power, r.Raw)
				status, kind := act.expect(caller, power)
				if status == 0 {
					require.True(t, r.Status >= 200 && r.Status < 300, cell)
					continue
				}
				require.Equal(t, status, r.Status, cell)
				requireProblem(t, r, status, kind)
				if req.id != "" {
					require.Equal(t, before, a.snapshot(req.kind, req.id), "a refusal changed nothing: %s", cell)
				}
				require.Equal(t, denied+1, a.denials(audit), "the refusal is audited: %s", cell)
			}
		}
	}
}

// A token for a context holds what its subject holds there and acts
// there only: the same matrix, called by an administrator of the
// matrix's context with a token for it, succeeds in the context and is
// refused on every realm route, changing nothing (docs/contexts.md).
func TestContextTokenMatrix(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s, _ := apptest.StartWithMail(t, b, func(o *app.Options) { o.RefusalAuditsPerMinute = 1 << 20 })
			a := newAuthority(t, s)
			admins, err := s.Store.GetGroupByName(context.Background(), storage.DefaultRealm, storage.AdministratorsGroup)
			require.NoError(t, err)
			u := s.User("ctx-root", "ctx-root-password")
			require.NoError(t, s.Store.AddGroupMemberIn(context.Background(), apptest.System, storage.DefaultRealm, matrixContext, admins.ID, u.ID))
			r := s.Login(&a.adminClient, "ctx-root", "ctx-root-password", url.Values{"scope": {"context:" + matrixContext}})
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			token := r.Str("access_token")

			for _, act := range matrixActions {
				if act.self {
					continue
				}
				for _, power := range []string{low, high} {
					req := act.prepare(a, weak, power)
					cell := fmt.Sprintf("%s on %s", act.name, power)
					inContext := strings.HasPrefix(req.path, "/admin/contexts")
					// Moving a context to the top changes the realm's tree.
					toTop := act.name == "context move to top"
					before := ""
					if req.id != "" {
						before = a.snapshot(req.kind, req.id)
					}
					audit := storage.AuditFilter{TargetID: req.id}
					if act.create {
						audit = storage.AuditFilter{ActorID: u.ID}
					}
					denied := a.denials(audit)
					res := a.Bearer(req.method, req.path, token, req.body)
					if inContext && !toTop {
						require.True(t, res.Status >= 200 && res.Status < 300, "%s: %s", cell, res.Raw)
						continue
					}
					requireProblem(t, res, http.StatusForbidden, "missing-resource")
					if req.id != "" {
						require.Equal(t, before, a.snapshot(req.kind, req.id), "a refusal changed nothing: %s", cell)
					}
					require.Equal(t, denied+1, a.denials(audit), "the refusal is audited: %s", cell)
				}
			}
		})
	}
}

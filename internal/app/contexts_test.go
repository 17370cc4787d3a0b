package app_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// The four scenarios of docs/contexts.md, end to end through HTTP with
// real tokens on every backend: everything is set up through the
// management API by an administrator, and every decision is checked from
// the tokens the token endpoint issues.

// contextWorld is a server with an administrator and helpers that go
// through the management API.
type contextWorld struct {
	*apptest.Server
	t      *testing.T
	admin  string // an administrator's all-scopes client token
	client apptest.Client
}

func newContextWorld(t *testing.T, s *apptest.Server) *contextWorld {
	_, c, token := administrator(t, s)
	return &contextWorld{Server: s, t: t, admin: token, client: c}
}

// call makes a management request and requires status.
func (w *contextWorld) call(token, method, path string, body any, status int) apptest.Response {
	w.t.Helper()
	b := ""
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(w.t, err)
		b = string(raw)
	}
	r := w.Bearer(method, path, token, b)
	require.Equal(w.t, status, r.Status, "%s %s: %s", method, path, r.Raw)
	return r
}

func (w *contextWorld) resource(names ...string) {
	for _, n := range names {
		w.call(w.admin, http.MethodPost, "/admin/resources", map[string]any{"name": n}, http.StatusCreated)
	}
	// A token carries the resources that existed when it was issued.
	w.admin = w.Token(&w.client, cc).Str("access_token")
}

func (w *contextWorld) context(id, name, kind, parent string) {
	w.call(w.admin, http.MethodPost, "/admin/contexts", map[string]any{"id": id, "name": name, "kind": kind, "parent": parent}, http.StatusCreated)
}

func (w *contextWorld) group(body map[string]any) string {
	return w.call(w.admin, http.MethodPost, "/admin/groups", body, http.StatusCreated).Str("id")
}

func memberPath(contextID, groupID, userID string) string {
	return "/admin/contexts/" + contextID + "/groups/" + groupID + "/members/" + userID
}

// join makes the administrator add userID to groupID in contextID.
func (w *contextWorld) join(contextID, groupID, userID string) {
	w.call(w.admin, http.MethodPut, memberPath(contextID, groupID, userID), nil, http.StatusNoContent)
}

// claims decodes an access token's claims as a resource server that has
// verified its signature offline reads them.
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

// refused requires an invalid_scope answer and returns its body, so that
// answers about contexts that exist and do not can be compared.
func refused(t *testing.T, r apptest.Response) string {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	require.Equal(t, "invalid_scope", r.Str("error"), r.Raw)
	return r.Raw
}

var cc = url.Values{"grant_type": {"client_credentials"}}

func ccIn(contextID string, scopes ...string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(append([]string{"context:" + contextID}, scopes...), " ")}}
}

func scopeIn(contextID string) url.Values {
	return url.Values{"scope": {"context:" + contextID}}
}

// An organisation with two applications: the organisation's client may do
// anything in the organisation and below it, an application's client only
// in its application.
func TestContextScenarioOrganisation(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.resource("orders-read", "orders-write")
		w.context("acme", "ACME Corp", "organisation", "")
		w.context("acme.shop", "Shop", "application", "acme")
		w.context("acme.blog", "Blog", "application", "acme")
		appAdmin := w.group(map[string]any{"name": "app-admin", "resources": []string{"orders-read", "orders-write", "groups-read", "groups-write"}})
		orgOwner := s.User("org-owner", "")
		shopOwner := s.User("shop-owner", "")
		w.join("acme", appAdmin, orgOwner.ID)
		w.join("acme.shop", appAdmin, shopOwner.ID)
		scopes := []string{"orders-read", "orders-write", "groups-read", "groups-write"}
		orgClient := s.Client("acme-org", orgOwner.ID, scopes, func(c *storage.Client) { c.ContextID = "acme" })
		shopClient := s.Client("acme-shop", shopOwner.ID, scopes, func(c *storage.Client) { c.ContextID = "acme.shop" })
		shopOwnersTool := s.Client("shop-owner-tool", shopOwner.ID, scopes)

		// A bound client's tokens are always for its context.
		org := s.Token(&orgClient, cc)
		require.Equal(t, "context:acme groups-read groups-write orders-read orders-write", org.Str("scope"))
		c := claims(t, org.Str("access_token"))
		require.Equal(t, "acme", c["context"])
		require.Equal(t, "context:acme groups-read groups-write orders-read orders-write", c["scope"])
		shop := s.Token(&shopClient, ccIn("acme.shop", "orders-read"))
		require.Equal(t, "context:acme.shop orders-read", shop.Str("scope"))
		require.Equal(t, "acme.shop", claims(t, shop.Str("access_token"))["context"])
		// It cannot select another context, not even one below it.
		refused(t, s.Post("/oauth2/token", &shopClient, ccIn("acme.blog")))
		refused(t, s.Post("/oauth2/token", &orgClient, ccIn("acme.shop")))

		// An unbound client selects a context; its owner's holdings there
		// decide. The shop's owner holds nothing in the blog, and the
		// refusal is the one for a context that does not exist.
		tool := s.Token(&shopOwnersTool, ccIn("acme.shop"))
		require.Equal(t, "acme.shop", claims(t, tool.Str("access_token"))["context"])
		blog := refused(t, s.Post("/oauth2/token", &shopOwnersTool, ccIn("acme.blog")))
		require.Equal(t, blog, refused(t, s.Post("/oauth2/token", &shopOwnersTool, ccIn("no-such-context"))))
		refused(t, s.Post("/oauth2/token", &shopOwnersTool, url.Values{"grant_type": {"client_credentials"}, "scope": {"context:acme.shop context:acme"}}))
		// Without a selector: realm-wide, exactly as before (nothing here).
		realm := s.Post("/oauth2/token", &shopOwnersTool, cc)
		require.Equal(t, http.StatusOK, realm.Status, realm.Raw)
		require.Empty(t, realm.Str("scope"))
		require.Nil(t, claims(t, realm.Str("access_token"))["context"])

		// Introspection returns the context.
		_, rootClient, _ := administrator2(t, s)
		in := s.Post("/oauth2/introspect", &rootClient, url.Values{"token": {org.Str("access_token")}})
		require.Equal(t, true, in.Body["active"], in.Raw)
		require.Equal(t, "acme", in.Str("context"))
		require.Equal(t, "context:acme groups-read groups-write orders-read orders-write", in.Str("scope"))

		// The organisation's client manages memberships in every
		// application; the shop's client in the shop only; neither
		// reaches a realm route.
		orgToken, shopToken := org.Str("access_token"), s.Token(&shopClient, cc).Str("access_token")
		clerk := s.User("clerk", "")
		w.call(orgToken, http.MethodPut, memberPath("acme.blog", appAdmin, clerk.ID), nil, http.StatusNoContent)
		w.call(shopToken, http.MethodPut, memberPath("acme.shop", appAdmin, clerk.ID), nil, http.StatusNoContent)
		w.call(shopToken, http.MethodDelete, memberPath("acme.blog", appAdmin, clerk.ID), nil, http.StatusForbidden)
		w.call(shopToken, http.MethodGet, "/admin/contexts/acme.blog/members", nil, http.StatusForbidden)
		w.call(orgToken, http.MethodGet, "/admin/users", nil, http.StatusForbidden)
		w.call(orgToken, http.MethodGet, "/admin/contexts/acme.blog/members", nil, http.StatusOK)

		// Unbinding is not something the shop's owner can hide from: the
		// shop client's tokens end when it is bound elsewhere.
		w.call(w.admin, http.MethodPatch, "/admin/clients/acme-shop", map[string]any{"context_id": "acme.blog"}, http.StatusOK)
		w.call(shopToken, http.MethodGet, "/admin/contexts/acme.shop/members", nil, http.StatusUnauthorized)
		w.call(w.admin, http.MethodPatch, "/admin/clients/acme-shop", map[string]any{"context_id": "no-such"}, http.StatusUnprocessableEntity)
	})
}

// administrator2 is a second administrator with an all-scopes client, for
// introspection.
func administrator2(t *testing.T, s *apptest.Server) (storage.User, apptest.Client, string) {
	root := s.User("root2", "", administratorsID(t, s))
	c := s.Client("root2-cli", root.ID, nil, func(c *storage.Client) { c.AllScopes = true })
	return root, c, s.Token(&c, cc).Str("access_token")
}

func administratorsID(t *testing.T, s *apptest.Server) string {
	g, err := s.Store.GetGroupByName(t.Context(), storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	return g.ID
}

// An account with two spaces: a role given on the account applies in both
// spaces, one given on a space only there; a space administrator manages
// the space's memberships with a token for the space.
func TestContextScenarioAccountAndSpaces(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.resource("docs-read", "docs-write")
		w.context("acct", "Account", "account", "")
		w.context("acct.s1", "Space one", "space", "acct")
		w.context("acct.s2", "Space two", "space", "acct")
		reader := w.group(map[string]any{"name": "reader", "resources": []string{"docs-read"}})
		editor := w.group(map[string]any{"name": "editor", "resources": []string{"docs-write"}})
		spaceAdmin := w.group(map[string]any{"name": "space-admin", "resources": []string{"groups-read", "groups-write", "docs-read", "docs-write"}})
		ann := s.User("ann", "ann-password")
		sam := s.User("sam", "sam-password")
		bob := s.User("bob", "bob-password")
		w.join("acct", reader, ann.ID)
		w.join("acct.s1", editor, ann.ID)
		w.join("acct.s1", spaceAdmin, sam.ID)
		portal := s.Client("portal", ann.ID, []string{"docs-read", "docs-write", "groups-read", "groups-write"})

		login := func(user, password, contextID string) apptest.Response {
			r := s.Login(&portal, user, password, scopeIn(contextID))
			return r
		}
		for ctxID, want := range map[string]string{
			"acct.s1": "context:acct.s1 docs-read docs-write",
			"acct.s2": "context:acct.s2 docs-read",
			"acct":    "context:acct docs-read",
		} {
			r := login("ann", "ann-password", ctxID)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, want, r.Str("scope"), ctxID)
			require.Equal(t, ctxID, claims(t, r.Str("access_token"))["context"])
		}

		// Why does ann hold docs-read in space one? Through the account.
		r := w.call(w.admin, http.MethodGet, "/admin/users/"+ann.ID+"/resources?context=acct.s1", nil, http.StatusOK)
		items := r.Body["items"].([]any)
		require.Len(t, items, 2)
		read := items[0].(map[string]any)
		require.Equal(t, "docs-read", read["name"])
		path := read["paths"].([]any)[0].(map[string]any)
		require.Equal(t, "acct", path["context"])
		require.Equal(t, "reader", path["groups"].([]any)[0].(map[string]any)["name"])
		write := items[1].(map[string]any)
		require.Equal(t, "acct.s1", write["paths"].([]any)[0].(map[string]any)["context"])
		// Her memberships, realm-wide first, then by context.
		r = w.call(w.admin, http.MethodGet, "/admin/users/"+ann.ID+"/memberships", nil, http.StatusOK)
		ms := r.Body["items"].([]any)
		require.Len(t, ms, 2)
		require.Equal(t, "acct", ms[0].(map[string]any)["context"])
		require.Equal(t, "reader", ms[0].(map[string]any)["group"].(map[string]any)["name"])
		require.Equal(t, "acct.s1", ms[1].(map[string]any)["context"])
		// Realm-wide, ann holds nothing.
		r = w.call(w.admin, http.MethodGet, "/admin/users/"+ann.ID+"/resources", nil, http.StatusOK)
		require.Empty(t, r.Body["items"])

		// Who holds what in space two: ann, through the account.
		r = w.call(w.admin, http.MethodGet, "/admin/contexts/acct.s2/members", nil, http.StatusOK)
		members := r.Body["items"].([]any)
		require.Len(t, members, 1)
		require.Equal(t, "ann", members[0].(map[string]any)["user"].(map[string]any)["username"])

		// The space administrator invites bob into space one with a token
		// for space one; not into space two, and not with a realm-wide
		// token, which holds nothing.
		samS1 := login("sam", "sam-password", "acct.s1")
		require.Equal(t, http.StatusOK, samS1.Status, samS1.Raw)
		samToken := samS1.Str("access_token")
		w.call(samToken, http.MethodPut, memberPath("acct.s1", editor, bob.ID), nil, http.StatusNoContent)
		w.call(samToken, http.MethodPut, memberPath("acct.s2", editor, bob.ID), nil, http.StatusForbidden)
		samRealm := s.Login(&portal, "sam", "sam-password", nil)
		require.Equal(t, http.StatusOK, samRealm.Status, samRealm.Raw)
		w.call(samRealm.Str("access_token"), http.MethodPut, memberPath("acct.s1", reader, bob.ID), nil, http.StatusForbidden)
		// Nor into a group granting more than sam holds there.
		admins := administratorsID(t, s)
		w.call(samToken, http.MethodPut, memberPath("acct.s1", admins, bob.ID), nil, http.StatusUnprocessableEntity)
		require.Equal(t, http.StatusOK, login("bob", "bob-password", "acct.s1").Status)
		refused(t, login("bob", "bob-password", "acct.s2"))

		// Taking the account role away takes docs-read from ann's token
		// for space two at its next use.
		annS2 := login("ann", "ann-password", "acct.s2")
		_, rootClient, _ := administrator2(t, s)
		w.call(w.admin, http.MethodDelete, memberPath("acct", reader, ann.ID), nil, http.StatusNoContent)
		in := s.Post("/oauth2/introspect", &rootClient, url.Values{"token": {annS2.Str("access_token")}})
		require.Equal(t, "context:acct.s2", in.Str("scope"), in.Raw)
		// And a refresh in that context carries nothing more.
		refreshed := s.Post("/oauth2/token", &portal, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {annS2.Str("refresh_token")}})
		refused(t, refreshed)
	})
}

// A project with owner > maintainer > user > viewer: each group includes
// the next, and names the resource that appoints its members, so that an
// owner appoints maintainers and a maintainer appoints users and viewers
// but not other maintainers.
func TestContextScenarioProjectRoles(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.resource("proj-view", "proj-use", "proj-maintain", "appoint-users", "appoint-maintainers")
		w.context("proj", "Project", "project", "")
		w.context("proj-other", "Another project", "project", "")
		viewer := w.group(map[string]any{"name": "viewer", "resources": []string{"proj-view"}, "managed_by": "appoint-users"})
		user := w.group(map[string]any{"name": "user", "resources": []string{"proj-use"}, "includes": []string{viewer}, "managed_by": "appoint-users"})
		maintainer := w.group(map[string]any{"name": "maintainer", "resources": []string{"proj-maintain", "appoint-users"},
			"includes": []string{user}, "managed_by": "appoint-maintainers"})
		owner := w.group(map[string]any{"name": "owner", "resources": []string{"appoint-maintainers"}, "includes": []string{maintainer}})
		// No cycles.
		r := w.call(w.admin, http.MethodPatch, "/admin/groups/"+viewer, map[string]any{"includes": []string{owner}}, http.StatusUnprocessableEntity)
		require.Equal(t, "urn:gatehouse:problem:hierarchy", r.Str("type"))

		people := map[string]storage.User{}
		for _, n := range []string{"olga", "mike", "mia", "uma", "vic", "val"} {
			people[n] = s.User(n, n+"-password")
		}
		w.join("proj", owner, people["olga"].ID)
		app := s.Client("proj-app", people["olga"].ID, []string{"proj-view", "proj-use", "proj-maintain", "appoint-users", "appoint-maintainers"})
		token := func(name string) string {
			r := s.Login(&app, name, name+"-password", scopeIn("proj"))
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			return r.Str("access_token")
		}
		olga := s.Login(&app, "olga", "olga-password", scopeIn("proj"))
		require.Equal(t, "appoint-maintainers appoint-users context:proj proj-maintain proj-use proj-view", olga.Str("scope"))

		put, del := http.MethodPut, http.MethodDelete
		ok, no := http.StatusNoContent, http.StatusForbidden
		steps := []struct {
			who, method, group, member string
			status                     int
		}{
			{"olga", put, maintainer, "mike", ok},
			{"olga", put, maintainer, "mia", ok},
			{"mike", put, user, "uma", ok},
			{"mike", put, viewer, "vic", ok},
			{"mike", put, maintainer, "val", no}, // maintainers do not appoint maintainers
			{"mike", put, owner, "val", no},      // nor owners
			{"uma", put, viewer, "val", no},      // users appoint nobody
			{"vic", put, viewer, "val", no},
			{"mike", del, maintainer, "mia", no}, // nor dismiss a maintainer
			{"mike", del, owner, "olga", no},
			{"mike", del, viewer, "vic", ok},
			{"olga", del, maintainer, "mia", ok},
		}
		for _, st := range steps {
			r := s.Bearer(st.method, memberPath("proj", st.group, people[st.member].ID), token(st.who), "")
			require.Equal(t, st.status, r.Status, "%s %s %s: %s", st.who, st.method, st.member, r.Raw)
		}
		// Appointments hold in the project only.
		r = s.Bearer(put, memberPath("proj-other", user, people["val"].ID), token("mike"), "")
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)

		// uma holds proj-view through user, which includes viewer.
		r = w.call(w.admin, http.MethodGet, "/admin/users/"+people["uma"].ID+"/resources?context=proj", nil, http.StatusOK)
		items := r.Body["items"].([]any)
		require.Len(t, items, 2)
		view := items[1].(map[string]any)
		require.Equal(t, "proj-view", view["name"])
		chain := view["paths"].([]any)[0].(map[string]any)["groups"].([]any)
		require.Len(t, chain, 2)
		require.Equal(t, "user", chain[0].(map[string]any)["name"])
		require.Equal(t, "viewer", chain[1].(map[string]any)["name"])
		refused(t, s.Login(&app, "uma", "uma-password", scopeIn("proj-other")))
	})
}

// Two tenants: nothing a tenant's users hold reaches the other tenant,
// whatever they ask for.
func TestContextScenarioTenants(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.resource("tenant-data")
		w.context("tenant-a", "Tenant A", "tenant", "")
		w.context("tenant-b", "Tenant B", "tenant", "")
		w.context("tenant-b.team", "Team", "team", "tenant-b")
		tenantAdmin := w.group(map[string]any{"name": "tenant-admin",
			"resources": []string{"tenant-data", "users-read", "groups-read", "groups-write", "contexts-read", "contexts-write"}})
		alice := s.User("alice", "alice-password")
		bob := s.User("bob", "bob-password")
		w.join("tenant-a", tenantAdmin, alice.ID)
		w.join("tenant-b", tenantAdmin, bob.ID)
		app := s.Client("tenant-app", alice.ID, []string{"tenant-data", "users-read", "groups-read", "groups-write", "contexts-read", "contexts-write"})

		a := s.Login(&app, "alice", "alice-password", scopeIn("tenant-a"))
		require.Equal(t, http.StatusOK, a.Status, a.Raw)
		aliceToken := a.Str("access_token")
		// Tokens for the other tenant, or below it, are refused as for a
		// tenant that does not exist.
		other := refused(t, s.Login(&app, "alice", "alice-password", scopeIn("tenant-b")))
		require.Equal(t, other, refused(t, s.Login(&app, "alice", "alice-password", scopeIn("tenant-b.team"))))
		require.Equal(t, other, refused(t, s.Login(&app, "alice", "alice-password", scopeIn("tenant-c"))))
		// Realm-wide, alice holds nothing.
		realm := s.Login(&app, "alice", "alice-password", nil)
		require.Equal(t, "", realm.Str("scope"))

		// With her tenant's token she sees and changes her tenant only, and
		// nothing answers differently for the other tenant and for none.
		w.call(aliceToken, http.MethodGet, "/admin/contexts/tenant-a", nil, http.StatusOK)
		w.call(aliceToken, http.MethodPost, "/admin/contexts", map[string]any{"id": "tenant-a.team", "name": "Team", "parent": "tenant-a"}, http.StatusCreated)
		for _, c := range []string{"tenant-b", "tenant-b.team", "tenant-c"} {
			w.call(aliceToken, http.MethodGet, "/admin/contexts/"+c, nil, http.StatusForbidden)
			w.call(aliceToken, http.MethodGet, "/admin/contexts/"+c+"/members", nil, http.StatusForbidden)
			w.call(aliceToken, http.MethodPut, memberPath(c, tenantAdmin, alice.ID), nil, http.StatusForbidden)
			w.call(aliceToken, http.MethodGet, "/admin/users/"+bob.ID+"/resources?context="+c, nil, http.StatusForbidden)
			w.call(aliceToken, http.MethodPost, "/admin/contexts", map[string]any{"id": "x-" + c, "name": "X", "parent": c}, http.StatusForbidden)
		}
		w.call(aliceToken, http.MethodPatch, "/admin/contexts/tenant-a.team", map[string]any{"parent": "tenant-b"}, http.StatusForbidden)
		w.call(aliceToken, http.MethodGet, "/admin/users", nil, http.StatusForbidden)
		w.call(aliceToken, http.MethodGet, "/admin/contexts", nil, http.StatusForbidden)
		// She explains her tenant's members only: another tenant's user is
		// not found there, as one who does not exist.
		w.call(aliceToken, http.MethodGet, "/admin/users/"+alice.ID+"/resources?context=tenant-a", nil, http.StatusOK)
		w.call(aliceToken, http.MethodGet, "/admin/users/"+bob.ID+"/resources?context=tenant-a", nil, http.StatusNotFound)
		w.call(aliceToken, http.MethodGet, "/admin/users/00000000-0000-4000-8000-000000000000/resources?context=tenant-a", nil, http.StatusNotFound)
		w.call(w.admin, http.MethodGet, "/admin/users/"+bob.ID+"/resources?context=tenant-a", nil, http.StatusOK)
		r := w.call(aliceToken, http.MethodGet, "/admin/contexts/tenant-a/members", nil, http.StatusOK)
		members := r.Body["items"].([]any)
		require.Len(t, members, 1)
		require.Equal(t, "alice", members[0].(map[string]any)["user"].(map[string]any)["username"])
		r = w.call(aliceToken, http.MethodGet, "/admin/contexts?parent=tenant-a", nil, http.StatusOK)
		require.Len(t, r.Body["items"], 1)

		// The administrator sees both; a context in use is not deleted.
		w.call(w.admin, http.MethodGet, "/admin/contexts/tenant-b/members", nil, http.StatusOK)
		w.call(w.admin, http.MethodGet, "/admin/contexts/tenant-c", nil, http.StatusNotFound)
		r = w.call(w.admin, http.MethodDelete, "/admin/contexts/tenant-b", nil, http.StatusConflict)
		require.Equal(t, "urn:gatehouse:problem:in-use", r.Str("type"))
		w.call(aliceToken, http.MethodDelete, "/admin/contexts/tenant-a.team", nil, http.StatusNoContent)
		w.call(aliceToken, http.MethodDelete, "/admin/contexts/tenant-a", nil, http.StatusForbidden) // its parent is the realm
	})
}

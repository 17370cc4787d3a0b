package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
)

// A user's power is what they hold anywhere: a realm-wide holder of
// users-write who may not act on an administrator may not act on a
// context's administrator either. Otherwise they reset her password and
// sign in for her context with everything there.
func TestReviewContextUserPowerCountsContexts(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.tree("tenant-a")
		alice := s.User("alice", "alice-password")
		w.join("tenant-a", administratorsID(t, s), alice.ID)

		helpdesk := s.Group("helpdesk", "users-read", "users-write", "tokens-revoke")
		helper := s.User("helper", "", helpdesk.ID)
		tool := s.Client("helpdesk-tool", helper.ID, []string{"users-read", "users-write", "tokens-revoke"})
		token := s.Token(&tool, cc).Str("access_token")

		set, err := clienthash.NewPasswordSetting("taken-over", "taken-over", apptest.Iterations)
		require.NoError(t, err)
		r := w.call(token, http.MethodPut, "/admin/users/"+alice.ID+"/password", set, http.StatusUnprocessableEntity)
		require.Equal(t, "urn:gatehouse:problem:delegation-ceiling", r.Str("type"))
		w.call(token, http.MethodPatch, "/admin/users/"+alice.ID, map[string]any{"status": "disabled"}, http.StatusUnprocessableEntity)
		w.call(token, http.MethodDelete, "/admin/users/"+alice.ID+"/tokens", nil, http.StatusUnprocessableEntity)
		w.call(token, http.MethodDelete, "/admin/users/"+alice.ID, nil, http.StatusUnprocessableEntity)
		// Her password is hers still.
		app := s.Client("tenant-app", alice.ID, []string{"users-read"})
		require.Equal(t, http.StatusOK, s.Login(&app, "alice", "alice-password", scopeIn("tenant-a")).Status)
		// Every group down the longest inclusion chain counts: a grant
		// eight steps below the group of a membership in a context is
		// held there.
		w.resource("deep")
		below := w.group(map[string]any{"name": "g8", "resources": []string{"deep"}})
		for i := 7; i >= 0; i-- {
			below = w.group(map[string]any{"name": "g" + string(rune('0'+i)), "includes": []string{below}})
		}
		carol := s.User("carol", "")
		w.join("tenant-a", below, carol.ID)
		r = w.call(w.admin, http.MethodGet, "/admin/users/"+carol.ID+"/resources?context=tenant-a", nil, http.StatusOK)
		require.Len(t, r.Body["items"], 1)
		w.call(token, http.MethodDelete, "/admin/users/"+carol.ID+"/tokens", nil, http.StatusUnprocessableEntity)

		// The administrator, who holds everything, still may.
		w.call(w.admin, http.MethodDelete, "/admin/users/"+alice.ID+"/tokens", nil, http.StatusNoContent)
	})
}

// Moving a context under another gives the new parent's members what
// they hold there in the moved context too: the mover must hold what
// they gain, as if adding them there. A holder of contexts-write alone
// must not hand tenant A's administrator tenant B's data.
func TestReviewContextMoveRespectsCeiling(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.resource("tenant-data")
		w.tree("tenant-a", "tenant-b", "tenant-b.team")
		tenantAdmin := w.group(map[string]any{"name": "tenant-admin", "resources": []string{"tenant-data", "groups-read", "groups-write"}})
		alice := s.User("alice", "alice-password")
		bob := s.User("bob", "bob-password")
		w.join("tenant-a", tenantAdmin, alice.ID)
		w.join("tenant-b", tenantAdmin, bob.ID)

		ops := s.Group("context-ops", "contexts-read", "contexts-write")
		mover := s.User("mover", "", ops.ID)
		tool := s.Client("ops-tool", mover.ID, []string{"contexts-read", "contexts-write"})
		token := s.Token(&tool, cc).Str("access_token")

		// Gaining: alice would hold tenant-data in tenant-b.
		r := w.call(token, http.MethodPatch, "/admin/contexts/tenant-b", map[string]any{"parent": "tenant-a"}, http.StatusUnprocessableEntity)
		require.Equal(t, "urn:gatehouse:problem:delegation-ceiling", r.Str("type"))
		// Losing: bob would lose tenant-data in the team.
		w.call(token, http.MethodPatch, "/admin/contexts/tenant-b.team", map[string]any{"parent": ""}, http.StatusUnprocessableEntity)
		app := s.Client("tenant-app", alice.ID, []string{"tenant-data"})
		refused(t, s.Login(&app, "alice", "alice-password", scopeIn("tenant-b")))

		// Moves that change nobody's holdings stay the mover's to make,
		// and the administrator may make any.
		w.tree("empty", "empty2")
		w.call(token, http.MethodPatch, "/admin/contexts/empty", map[string]any{"parent": "tenant-b.team"}, http.StatusUnprocessableEntity)
		w.call(token, http.MethodPatch, "/admin/contexts/empty", map[string]any{"parent": "empty2"}, http.StatusOK)
		w.call(token, http.MethodPatch, "/admin/contexts/empty", map[string]any{"parent": ""}, http.StatusOK)
		w.call(w.admin, http.MethodPatch, "/admin/contexts/tenant-b", map[string]any{"parent": "tenant-a"}, http.StatusOK)
		require.Equal(t, http.StatusOK, s.Login(&app, "alice", "alice-password", scopeIn("tenant-b")).Status)
	})
}

// A self-service client is bound only where its owner is a member: binding
// one to another tenant would tell which tenants exist and keep that
// tenant from being deleted (a context with bound clients is in use).
func TestReviewContextSelfServiceBinding(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.resource("docs-read")
		w.tree("tenant-a", "tenant-b", "tenant-a.team")
		reader := w.group(map[string]any{"name": "reader", "resources": []string{"docs-read"}})
		dev := s.Group("dev", "docs-read")
		mallory := s.User("mallory", "mallory-password", dev.ID)
		w.join("tenant-a", reader, mallory.ID)
		app := s.Client("portal", mallory.ID, []string{"docs-read"})
		login := s.Login(&app, "mallory", "mallory-password", nil)
		require.Equal(t, http.StatusOK, login.Status, login.Raw)
		token := login.Str("access_token")

		create := func(id, contextID string, status int) apptest.Response {
			return w.call(token, http.MethodPost, "/admin/me/clients", map[string]any{"client_id": id, "name": id, "context_id": contextID}, status)
		}
		foreign := create("m1", "tenant-b", http.StatusUnprocessableEntity)
		missing := create("m2", "tenant-zzz", http.StatusUnprocessableEntity)
		require.Equal(t, missing.Body, foreign.Body)
		create("m3", "tenant-a.team", http.StatusCreated)
		w.call(token, http.MethodPatch, "/admin/me/clients/m3", map[string]any{"context_id": "tenant-b"}, http.StatusUnprocessableEntity)
		w.call(w.admin, http.MethodDelete, "/admin/contexts/tenant-b", nil, http.StatusNoContent)
	})
}

// context:<id> in a scope is the context selector: no resource may take
// that form, or a realm-wide grant carrying it would read as a grant for
// that context (a refresh takes the context from the grant's scopes) and
// a resource server could not tell the two apart.
func TestReviewContextSelectorIsNoResourceName(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.tree("tenant-b")
		r := w.call(w.admin, http.MethodPost, "/admin/resources", map[string]any{"name": "context:tenant-b"}, http.StatusBadRequest)
		require.Equal(t, "name", r.Str("field"), r.Raw)
		w.call(w.admin, http.MethodPost, "/admin/groups", map[string]any{"name": "g", "resources": []string{"context:tenant-b"}}, http.StatusBadRequest)
	})
}

// A token for one tenant learns nothing about users and groups through
// the membership routes of another: the same 403 whether they exist.
func TestReviewContextMemberRoutesTellNothingOutside(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		w.tree("tenant-a", "tenant-b")
		tenantAdmin := w.group(map[string]any{"name": "tenant-admin", "resources": []string{"groups-read", "groups-write"}})
		alice := s.User("alice", "alice-password")
		bob := s.User("bob", "")
		w.join("tenant-a", tenantAdmin, alice.ID)
		app := s.Client("tenant-app", alice.ID, []string{"groups-read", "groups-write"})
		login := s.Login(&app, "alice", "alice-password", scopeIn("tenant-a"))
		require.Equal(t, http.StatusOK, login.Status, login.Raw)
		token := login.Str("access_token")

		nobody := "00000000-0000-4000-8000-000000000000"
		for _, m := range []string{http.MethodPut, http.MethodDelete} {
			for _, p := range []string{memberPath("tenant-b", tenantAdmin, bob.ID), memberPath("tenant-b", tenantAdmin, nobody),
				memberPath("tenant-b", nobody, bob.ID), memberPath("tenant-zzz", tenantAdmin, nobody)} {
				r := w.call(token, m, p, nil, http.StatusForbidden)
				require.Equal(t, "urn:gatehouse:problem:missing-resource", r.Str("type"), r.Raw)
			}
		}
		// In her tenant she is told, as before.
		w.call(token, http.MethodPut, memberPath("tenant-a", tenantAdmin, nobody), nil, http.StatusNotFound)
		w.call(token, http.MethodPut, memberPath("tenant-a", tenantAdmin, bob.ID), nil, http.StatusNoContent)
	})
}

// tree creates contexts, each below the one whose id its own extends
// (tenant-b.team below tenant-b).
func (w *contextWorld) tree(ids ...string) {
	for _, id := range ids {
		parent := ""
		if i := strings.LastIndex(id, "."); i > 0 {
			parent = id[:i]
		}
		w.context(id, id, "tenant", parent)
	}
}

// includes is bounded like a group's resources: each id is looked up, so
// an unbounded list would make one request do unbounded work.
func TestReviewContextIncludesBounded(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		w := newContextWorld(t, s)
		ids := make([]string, 101)
		for i := range ids {
			ids[i] = "00000000-0000-4000-8000-000000000000"
		}
		r := w.call(w.admin, http.MethodPost, "/admin/groups", map[string]any{"name": "wide", "includes": ids}, http.StatusBadRequest)
		require.Equal(t, "includes", r.Str("field"), r.Raw)
	})
}

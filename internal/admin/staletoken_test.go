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

const newTokenHint = "request a new access token"

// A token is a snapshot of its scope: when its holder has gained the
// resource a route needs since it was issued, the 403 says to request a
// new token — and only then, since otherwise a new token would not help.
func TestRefusalOfStaleTokenSaysToGetANewOne(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		ctx := context.Background()
		grant := func(groupID, resource string) {
			t.Helper()
			require.NoError(t, s.Store.GrantGroupResource(ctx, apptest.System, storage.DefaultRealm, groupID, resource))
		}

		// A user token: the user's group gains groups-read afterwards.
		g := f.Group("growing", "users-read")
		f.User("grower", "grower-password", g.ID)
		login := func() string {
			r := f.Login(&f.adminClient, "grower", "grower-password", nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			return r.Str("access_token")
		}
		old := login()
		r := f.call(http.MethodGet, "/admin/groups", old, nil)
		requireProblem(t, r, http.StatusForbidden, "missing-resource")
		require.NotContains(t, r.Str("detail"), newTokenHint, "the user does not hold groups-read")
		grant(g.ID, "groups-read")
		r = f.call(http.MethodGet, "/admin/groups", old, nil)
		requireProblem(t, r, http.StatusForbidden, "missing-resource")
		require.Contains(t, r.Str("detail"), "groups-read")
		require.Contains(t, r.Str("detail"), newTokenHint)
		r = f.call(http.MethodGet, "/admin/audit", old, nil)
		require.NotContains(t, r.Str("detail"), newTokenHint, "only for what the holder gained")
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/groups", login(), nil).Status, "the new token carries it")

		// A token that left the resource out of its requested scope is
		// told the same: a new one with it would do.
		narrow := f.Login(&f.adminClient, "grower", "grower-password", url.Values{"scope": {"users-read"}}).Str("access_token")
		require.Contains(t, f.call(http.MethodGet, "/admin/groups", narrow, nil).Str("detail"), newTokenHint)

		// The user gains a resource their client may not request: a new
		// token through it would not carry it either.
		limited := f.Client("limited", f.admin.ID, []string{"users-read"})
		viaLimited := f.Login(&limited, "grower", "grower-password", nil).Str("access_token")
		grant(g.ID, "clients-read")
		r = f.call(http.MethodGet, "/admin/clients", viaLimited, nil)
		requireProblem(t, r, http.StatusForbidden, "missing-resource")
		require.NotContains(t, r.Str("detail"), newTokenHint)

		// A client token: its owner gains a scope the client may request.
		og := f.Group("owners", "users-read")
		owner := f.User("owner", "", og.ID)
		svc := f.Client("svc", owner.ID, []string{"users-read", "languages-read"})
		cc := url.Values{"grant_type": {"client_credentials"}}
		svcOld := f.Token(&svc, cc).Str("access_token")
		r = f.call(http.MethodGet, "/admin/languages", svcOld, nil)
		require.NotContains(t, r.Str("detail"), newTokenHint, "the owner does not hold languages-read")
		grant(og.ID, "languages-read")
		r = f.call(http.MethodGet, "/admin/languages", svcOld, nil)
		requireProblem(t, r, http.StatusForbidden, "missing-resource")
		require.Contains(t, r.Str("detail"), newTokenHint)
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/languages", f.Token(&svc, cc).Str("access_token"), nil).Status)
	})
}

package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// twoNodes starts two nodes on one store and one token state, each with
// its own cache.
func twoNodes(t *testing.T, b apptest.Backend) (*apptest.Server, *apptest.Server) {
	store, state := b.New(t, time.Now)
	shared := apptest.Backend{Name: b.Name, New: func(*testing.T, func() time.Time) (storage.Store, storage.TokenState) {
		return store, state
	}}
	return apptest.Start(t, shared), apptest.Start(t, shared)
}

// Two nodes share one store and one token state, each with its own cache.
// A change acknowledged by one node is seen by the next token request on
// the other, although the other served the same client from its cache a
// moment before.
func TestChangesReachEveryNode(t *testing.T) {
	for _, b := range apptest.MultiNodeBackends {
		t.Run(b.Name, func(t *testing.T) {
			a, bNode := twoNodes(t, b)
			ctx := context.Background()

			g := a.Group("staff", "users-read", "groups-read")
			owner := a.User("owner", "", g.ID)
			c := a.Client("app", owner.ID, []string{"users-read", "groups-read"})
			cc := url.Values{"grant_type": {"client_credentials"}}
			for range 3 { // warm node B's cache
				require.Equal(t, "groups-read users-read", bNode.Token(&c, cc).Str("scope"))
			}

			require.NoError(t, a.Store.RevokeGroupResource(ctx, apptest.System, storage.DefaultRealm, g.ID, "groups-read"))
			require.Equal(t, "users-read", bNode.Token(&c, cc).Str("scope"), "a lost grant shows at once on the other node")

			require.NoError(t, a.Store.RemoveGroupMember(ctx, apptest.System, storage.DefaultRealm, g.ID, owner.ID))
			require.Equal(t, "", bNode.Token(&c, cc).Str("scope"), "a lost membership shows at once on the other node")

			next := a.NewSecretVersion(c.ID)
			bNode.Token(&next, cc)
			versions, err := a.Store.ListClientSecrets(ctx, storage.DefaultRealm, c.ID)
			require.NoError(t, err)
			require.NoError(t, a.Store.DeactivateClientSecret(ctx, apptest.System, storage.DefaultRealm, c.ID, versions[0].ID))
			require.Equal(t, http.StatusUnauthorized, bNode.Post("/oauth2/token", &c, cc).Status, "a deactivated secret stops at once on the other node")

			_, err = a.Store.UpdateClient(ctx, apptest.System, storage.DefaultRealm, c.ID, func(cl *storage.Client) error {
				cl.Status = storage.StatusDisabled
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, bNode.Post("/oauth2/token", &next, cc).Status, "a disabled client stops at once on the other node")
		})
	}
}

// Management reads and introspection are served from each node's cache
// too, under the stamp read with the token's revocation check: a change
// acknowledged by one node shows in the other's next answer.
func TestCachedReadsFollowChangesOnEveryNode(t *testing.T) {
	for _, b := range apptest.MultiNodeBackends {
		t.Run(b.Name, func(t *testing.T) {
			a, bNode := twoNodes(t, b)
			ctx := context.Background()
			cc := url.Values{"grant_type": {"client_credentials"}}

			staff := a.Group("staff", "users-read", "tokens-introspect")
			owner := a.User("owner", "", staff.ID)
			admin := a.Client("admin", owner.ID, []string{"users-read", "tokens-introspect"})
			other := a.Client("other", owner.ID, []string{"users-read"})
			dana := a.User("dana", "")
			// Each test node is its own issuer: B's tokens are for B.
			token := bNode.Token(&admin, cc).Str("access_token")
			foreign := bNode.Token(&other, cc).Str("access_token")

			read := func() string {
				r := bNode.Bearer(http.MethodGet, "/admin/users/"+dana.ID, token, "")
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				return r.Str("display_name")
			}
			introspect := func() bool {
				r := bNode.Post("/oauth2/introspect", &admin, url.Values{"token": {foreign}})
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				return r.Body["active"] == true
			}
			for range 3 { // warm node B's cache
				require.Equal(t, "", read())
				require.True(t, introspect())
			}

			_, err := a.Store.UpdateUser(ctx, apptest.System, storage.DefaultRealm, dana.ID, func(u *storage.User) error {
				u.DisplayName = "Dana D."
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, "Dana D.", read(), "an update shows at once in the other node's management reads")

			require.NoError(t, a.Store.RevokeGroupResource(ctx, apptest.System, storage.DefaultRealm, staff.ID, "tokens-introspect"))
			require.False(t, introspect(), "a caller losing tokens-introspect sees others' tokens inactive at once on the other node")
		})
	}
}

// twoNodesOneIssuer starts two nodes like twoNodes that also share one
// issuer (a's) and one clock (a's), as nodes behind one load balancer do:
// each accepts the other's tokens.
func twoNodesOneIssuer(t *testing.T, b apptest.Backend) (*apptest.Server, *apptest.Server) {
	store, state := b.New(t, time.Now)
	shared := apptest.Backend{Name: b.Name, New: func(*testing.T, func() time.Time) (storage.Store, storage.TokenState) {
		return store, state
	}}
	a := apptest.Start(t, shared)
	bNode := apptest.Start(t, shared, func(o *app.Options) { o.Issuer, o.Now = a.URL, a.Clock.Now })
	return a, bNode
}

// A client disabled and re-enabled within one second gets a token in that
// second that every node honours: revocation marks and issue times are
// compared to the microsecond, not the second of the JWT's iat.
func TestReenabledClientTokenWithinTheSecond(t *testing.T) {
	for _, b := range apptest.MultiNodeBackends {
		t.Run(b.Name, func(t *testing.T) {
			a, bNode := twoNodesOneIssuer(t, b)
			cc := url.Values{"grant_type": {"client_credentials"}}
			staff := a.Group("staff", "clients-read", "clients-write", "users-read", "tokens-introspect")
			owner := a.User("owner", "", staff.ID)
			admin := a.Client("admin", owner.ID, []string{"clients-read", "clients-write", "users-read", "tokens-introspect"})
			adminToken := a.Token(&admin, cc).Str("access_token")
			app := a.Client("app", owner.ID, []string{"users-read"})
			before := bNode.Token(&app, cc).Str("access_token")

			// The test clock stands still unless moved, while real requests
			// are always some time apart; a token issued in the very
			// microsecond of a revocation is revoked by it (at or before).
			// So each step moves the clock by a millisecond, staying within
			// the second the clock started at.
			second := a.Clock.Now().Truncate(time.Second)
			step := func() { a.Clock.Advance(time.Millisecond) }
			patch := func(status string) {
				t.Helper()
				r := a.Bearer(http.MethodPatch, "/admin/clients/app", adminToken, `{"status":"`+status+`"}`)
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				step()
			}
			step()
			patch("disabled")
			require.Equal(t, http.StatusUnauthorized, bNode.Post("/oauth2/token", &app, cc).Status)
			patch("active")
			token := bNode.Token(&app, cc).Str("access_token")
			step()
			require.Equal(t, second, a.Clock.Now().Truncate(time.Second), "all within one second")

			introspect := func(tok string) bool {
				t.Helper()
				r := a.Post("/oauth2/introspect", &admin, url.Values{"token": {tok}})
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				return r.Body["active"] == true
			}
			require.True(t, introspect(token), "the token issued after the re-enabling is active on the other node")
			require.False(t, introspect(before), "the token issued before the disabling stays revoked")
			for _, node := range []*apptest.Server{a, bNode} {
				r := node.Bearer(http.MethodGet, "/admin/users", token, "")
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				r = node.Bearer(http.MethodGet, "/admin/users", before, "")
				require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
			}
		})
	}
}

package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// Disabling a user on one node ends, at the next request on every other
// node, the tokens of every client they own — client tokens and user
// tokens issued through those clients — and those clients get no new
// tokens, by any grant, until the owner is active again.
func TestOwnerDisabledEndsClientTokensOnEveryNode(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			a, bNode := twoNodes(t, b)
			ctx := context.Background()
			admins, err := a.Store.GetGroupByName(ctx, storage.DefaultRealm, storage.AdministratorsGroup)
			require.NoError(t, err)
			root := a.User("root", "", admins.ID)
			rootClient := a.Client("root-cli", root.ID, nil, func(c *storage.Client) { c.AllScopes = true })
			cc := url.Values{"grant_type": {"client_credentials"}}
			adminToken := a.Token(&rootClient, cc).Str("access_token")

			staff := a.Group("staff", "users-read")
			owner := a.User("owner", "", staff.ID)
			c := a.Client("owned", owner.ID, []string{"users-read"})
			a.User("customer", "customer-password", staff.ID)
			clientToken := bNode.Token(&c, cc).Str("access_token")
			login := bNode.Login(&c, "customer", "customer-password", nil)
			require.Equal(t, http.StatusOK, login.Status, login.Raw)
			userToken, refresh := login.Str("access_token"), login.Str("refresh_token")

			// Warm node B's cache with everything it is about to decide on.
			for _, tok := range []string{clientToken, userToken} {
				require.Equal(t, http.StatusOK, bNode.Bearer(http.MethodGet, "/admin/users", tok, "").Status)
				r := bNode.Post("/oauth2/introspect", &rootClient, url.Values{"token": {tok}})
				require.Equal(t, true, r.Body["active"], r.Raw)
			}

			r := a.Bearer(http.MethodPatch, "/admin/users/"+owner.ID, adminToken, `{"status":"disabled"}`)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)

			for _, tok := range []string{clientToken, userToken} {
				require.Equal(t, http.StatusUnauthorized, bNode.Bearer(http.MethodGet, "/admin/users", tok, "").Status)
				r := bNode.Post("/oauth2/introspect", &rootClient, url.Values{"token": {tok}})
				require.Equal(t, false, r.Body["active"], r.Raw)
			}
			require.Equal(t, http.StatusUnauthorized, bNode.Bearer(http.MethodGet, "/userinfo", userToken, "").Status)
			require.Equal(t, "unauthorized_client", bNode.Post("/oauth2/token", &c, cc).Str("error"))
			require.Equal(t, "unauthorized_client", bNode.Login(&c, "customer", "customer-password", nil).Str("error"))
			r = bNode.Post("/oauth2/token", &c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		})
	}
}

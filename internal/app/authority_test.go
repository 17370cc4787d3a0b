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

// administrator creates an administrator on s with an all-scopes client
// and a token of that client.
func administrator(t *testing.T, s *apptest.Server) (storage.User, apptest.Client, string) {
	admins, err := s.Store.GetGroupByName(context.Background(), storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	root := s.User("root", "", admins.ID)
	c := s.Client("root-cli", root.ID, nil, func(c *storage.Client) { c.AllScopes = true })
	return root, c, s.Token(&c, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
}

// Disabling a user on one node ends, at the next request on every other
// node, the tokens of every client they own — client tokens and user
// tokens issued through those clients — and those clients get no new
// tokens, by any grant, until the owner is active again.
func TestOwnerDisabledEndsClientTokensOnEveryNode(t *testing.T) {
	for _, b := range apptest.MultiNodeBackends {
		t.Run(b.Name, func(t *testing.T) {
			a, bNode := twoNodes(t, b)
			_, rootClient, adminToken := administrator(t, a)
			cc := url.Values{"grant_type": {"client_credentials"}}

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

// Removing someone from a group on one node takes effect at their next
// management call on another, although that node served them from its
// cache a moment before; deleting a client's owner ends the client's
// tokens there too.
func TestLostMembershipAndDeletedOwnerOnEveryNode(t *testing.T) {
	for _, b := range apptest.MultiNodeBackends {
		t.Run(b.Name, func(t *testing.T) {
			a, bNode := twoNodes(t, b)
			root, rootClient, adminToken := administrator(t, a)
			cc := url.Values{"grant_type": {"client_credentials"}}

			readers := a.Group("readers", "users-read")
			u := a.User("reader", "reader-password", readers.ID)
			app := a.Client("app", root.ID, nil, func(c *storage.Client) { c.AllScopes = true })
			tok := bNode.Login(&app, "reader", "reader-password", nil).Str("access_token")
			for range 3 { // warm node B's cache
				require.Equal(t, http.StatusOK, bNode.Bearer(http.MethodGet, "/admin/users", tok, "").Status)
			}
			r := a.Bearer(http.MethodDelete, "/admin/groups/"+readers.ID+"/members/"+u.ID, adminToken, "")
			require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
			r = bNode.Bearer(http.MethodGet, "/admin/users", tok, "")
			require.Equal(t, http.StatusForbidden, r.Status, "a lost membership shows at the next call on the other node: %s", r.Raw)

			owner := a.User("owner", "", readers.ID)
			c := a.Client("owned", owner.ID, []string{"users-read"})
			ctok := bNode.Token(&c, cc).Str("access_token")
			require.Equal(t, http.StatusOK, bNode.Bearer(http.MethodGet, "/admin/users", ctok, "").Status)
			r = a.Bearer(http.MethodDelete, "/admin/users/"+owner.ID, adminToken, "")
			require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
			require.Equal(t, http.StatusUnauthorized, bNode.Bearer(http.MethodGet, "/admin/users", ctok, "").Status)
			intro := bNode.Post("/oauth2/introspect", &rootClient, url.Values{"token": {ctok}})
			require.Equal(t, false, intro.Body["active"], intro.Raw)
		})
	}
}

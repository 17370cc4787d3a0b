package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/storage"
)

// DemoClientID is the client_id of the demo relying party that `serve
// --dev` registers (internal/devdemo; docs/browser-sign-in.md).
const DemoClientID = "demo"

// DemoClient is the registration of the demo client for issuer, owned by
// ownerID: a public, third-party client (so the consent page shows) for
// the authorization code flow with PKCE, redirected to the demo's own
// callback page or to a native app's loopback listener on any port
// (RFC 8252 §7.3), as `gatehouse authorize` runs one.
func DemoClient(issuer, ownerID string) storage.Client {
	uris := []string{issuer + "/dev/callback", "http://127.0.0.1/callback"}
	slices.Sort(uris)
	return storage.Client{
		ClientID: DemoClientID, OwnerID: ownerID, Name: "Gatehouse demo application",
		// The OpenID Connect scopes (openid, profile, email) need no
		// registration; Scopes lists admin resources only.
		Scopes:                  []string{"users-read"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethod: storage.AuthMethodNone,
		RedirectURIs:            uris, PostLogoutRedirectURIs: []string{},
		Status: storage.StatusActive,
	}
}

// EnsureDemoClient registers the demo client, or, if a client with its
// id exists (a store that outlived a restart), sets it back to the demo's
// registration for issuer, so that running it twice changes nothing. The
// owner of an existing client stays (UpdateClient cannot move it).
func EnsureDemoClient(ctx context.Context, store storage.Store, realm, issuer, ownerID string) (storage.Client, error) {
	if realm == "" {
		realm = storage.DefaultRealm
	}
	want := DemoClient(issuer, ownerID)
	c, err := store.CreateClient(ctx, actor, realm, want, nil)
	if !errors.Is(err, storage.ErrAlreadyExists) {
		if err != nil {
			return storage.Client{}, fmt.Errorf("register the demo client: %w", err)
		}
		return c, nil
	}
	c, err = store.UpdateClient(ctx, actor, realm, DemoClientID, func(c *storage.Client) error {
		owner, created := c.OwnerID, c.CreatedAt
		*c = want
		c.OwnerID, c.CreatedAt = owner, created
		return nil
	})
	if err != nil {
		return storage.Client{}, fmt.Errorf("update the demo client: %w", err)
	}
	return c, nil
}

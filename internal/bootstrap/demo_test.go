package bootstrap_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/bootstrap"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

// The demo client is public, third-party, PKCE-bound, and registering it
// again sets it back instead of failing.
func TestEnsureDemoClient(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	res, err := bootstrap.Run(ctx, store, fastHasher(), bootstrap.Input{Iterations: 1000})
	require.NoError(t, err)
	const issuer = "http://127.0.0.1:8080"

	c, err := bootstrap.EnsureDemoClient(ctx, store, "", issuer, res.AdminUserID)
	require.NoError(t, err)
	require.Equal(t, "demo", c.ClientID)
	require.Equal(t, res.AdminUserID, c.OwnerID)
	require.Equal(t, storage.AuthMethodNone, c.TokenEndpointAuthMethod)
	require.False(t, c.SkipConsent, "third-party: the consent page shows")
	require.False(t, c.PKCEOptional)
	require.Equal(t, []string{"authorization_code", "refresh_token"}, c.GrantTypes)
	require.Equal(t, []string{"http://127.0.0.1/callback", issuer + "/dev/callback"}, c.RedirectURIs)
	require.Equal(t, []string{"users-read"}, c.Scopes)

	// Changed meanwhile (or from an older release), then ensured again.
	_, err = store.UpdateClient(ctx, storage.System("test"), storage.DefaultRealm, "demo", func(c *storage.Client) error {
		c.RedirectURIs, c.SkipConsent = []string{"https://elsewhere.example/cb"}, true
		return nil
	})
	require.NoError(t, err)
	again, err := bootstrap.EnsureDemoClient(ctx, store, "", issuer, res.AdminUserID)
	require.NoError(t, err)
	require.Equal(t, c.RedirectURIs, again.RedirectURIs)
	require.False(t, again.SkipConsent)
	require.Equal(t, c.CreatedAt, again.CreatedAt)
}

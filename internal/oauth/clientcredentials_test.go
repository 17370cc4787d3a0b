package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

// A real client library gets a token, and a real resource-server library
// discovers the issuer and verifies it against the JWKS.
func TestClientCredentialsWithRealLibraries(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		g := e.Group("readers", "users-read", "groups-read")
		owner := e.User("owner", "", g.ID)
		methods := map[oauth2.AuthStyle]string{
			oauth2.AuthStyleInHeader: storage.AuthMethodSecretBasic,
			oauth2.AuthStyleInParams: storage.AuthMethodSecretPost,
		}
		for style, method := range methods {
			c := e.Client("svc:reports/"+method, owner.ID, []string{"users-read", "clients-read"}, func(c *storage.Client) {
				c.TokenEndpointAuthMethod = method
			})
			cfg := clientcredentials.Config{
				ClientID: c.ID, ClientSecret: c.Wire(t), TokenURL: e.URL + oauth.PathToken, AuthStyle: style,
			}
			tok, err := cfg.Token(context.Background())
			require.NoError(t, err)
			e.Remember(tok.AccessToken)
			// Allowed ∩ owner's resources: clients-read is allowed but the
			// owner lacks it; groups-read the owner has but it is not allowed.
			require.Equal(t, "users-read", tok.Extra("scope"))
			require.Equal(t, "Bearer", tok.Type())

			provider, err := oidc.NewProvider(context.Background(), e.URL)
			require.NoError(t, err)
			idt, err := provider.Verifier(&oidc.Config{ClientID: e.URL}).Verify(context.Background(), tok.AccessToken)
			require.NoError(t, err)
			require.Equal(t, c.ID, idt.Subject)
			var claims struct {
				ClientID string `json:"client_id"`
				Scope    string `json:"scope"`
				JTI      string `json:"jti"`
			}
			require.NoError(t, idt.Claims(&claims))
			require.Equal(t, c.ID, claims.ClientID)
			require.Equal(t, "users-read", claims.Scope)
			require.NotEmpty(t, claims.JTI)
		}
	})
}

func TestClientCredentialsScopes(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		g := e.Group("staff", "users-read", "groups-read")
		owner := e.User("owner", "", g.ID)
		c := e.Client("reports", owner.ID, []string{"users-read", "groups-read", "clients-read"})
		cc := url.Values{"grant_type": {"client_credentials"}}

		r := e.Token(&c, cc)
		require.Equal(t, "groups-read users-read", r.Str("scope"))
		require.Equal(t, "bearer", strings.ToLower(r.Str("token_type")))
		require.InDelta(t, 900, r.Body["expires_in"], 1)

		r = e.Token(&c, url.Values{"grant_type": {"client_credentials"}, "scope": {"users-read"}})
		require.Equal(t, "users-read", r.Str("scope"))

		for _, scope := range []string{"clients-read", "does-not-exist", "users-read clients-read", "users-*"} {
			r = e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
			require.Equal(t, http.StatusBadRequest, r.Status, scope)
			require.Equal(t, "invalid_scope", r.Str("error"))
			require.NotContains(t, r.Raw, "clients-read")
			require.NotContains(t, r.Raw, "does-not-exist")
		}

		// The owner loses the group: the client loses that access at its
		// next token request.
		require.NoError(t, e.Store.RemoveGroupMember(ctx, apptest.System, storage.DefaultRealm, g.ID, owner.ID))
		r = e.Token(&c, cc)
		require.Equal(t, "", r.Str("scope"))

		// The owner is disabled: the client gets no token at all.
		require.NoError(t, e.Store.AddGroupMember(ctx, apptest.System, storage.DefaultRealm, g.ID, owner.ID))
		_, err := e.Store.UpdateUser(ctx, apptest.System, storage.DefaultRealm, owner.ID, func(u *storage.User) error {
			u.Status = storage.StatusDisabled
			return nil
		})
		require.NoError(t, err)
		r = e.Post(oauth.PathToken, &c, cc)
		require.Equal(t, http.StatusBadRequest, r.Status)
		require.Equal(t, "unauthorized_client", r.Str("error"))
	})
}

func TestClientDisabledGetsNoToken(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "", e.Group("g", "users-read").ID)
		c := e.Client("app", owner.ID, []string{"users-read"})
		_, err := e.Store.UpdateClient(context.Background(), apptest.System, storage.DefaultRealm, c.ID, func(cl *storage.Client) error {
			cl.Status = storage.StatusDisabled
			return nil
		})
		require.NoError(t, err)
		r := e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"client_credentials"}})
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Equal(t, "invalid_client", r.Str("error"))
		require.Contains(t, r.Header.Get("WWW-Authenticate"), "Basic")
	})
}

// Several secret versions are active at once during a rotation; a
// deactivated one is refused at the next request.
func TestSecretRotation(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		owner := e.User("owner", "", e.Group("g", "users-read").ID)
		old := e.Client("rotating", owner.ID, []string{"users-read"})
		oldVersions, err := e.Store.ListClientSecrets(ctx, storage.DefaultRealm, old.ID)
		require.NoError(t, err)
		require.Len(t, oldVersions, 1)

		next := e.NewSecretVersion(old.ID)
		cc := url.Values{"grant_type": {"client_credentials"}}
		e.Token(&old, cc)
		e.Token(&next, cc)

		// Each version's use is recorded, in the background.
		require.Eventually(t, func() bool {
			versions, err := e.Store.ListClientSecrets(ctx, storage.DefaultRealm, old.ID)
			return err == nil && len(versions) == 2 && versions[0].LastUsedAt != nil && versions[1].LastUsedAt != nil
		}, 5*time.Second, 10*time.Millisecond)

		require.NoError(t, e.Store.DeactivateClientSecret(ctx, apptest.System, storage.DefaultRealm, old.ID, oldVersions[0].ID))
		r := e.Post(oauth.PathToken, &old, cc)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		e.Token(&next, cc)
	})
}

// Every selectable signing algorithm verifies end to end with a real
// resource-server library.
func TestSigningAlgorithms(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			e := apptest.Start(t, apptest.Memory, func(o *app.Options) { o.SigningAlgorithm = alg })
			owner := e.User("owner", "", e.Group("g", "users-read").ID)
			c := e.Client("app", owner.ID, []string{"users-read"})
			tok := e.Token(&c, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
			provider, err := oidc.NewProvider(context.Background(), e.URL)
			require.NoError(t, err)
			var meta struct {
				Algs []string `json:"id_token_signing_alg_values_supported"`
			}
			require.NoError(t, provider.Claims(&meta))
			require.Equal(t, []string{alg}, meta.Algs)
			_, err = provider.Verifier(&oidc.Config{ClientID: e.URL, SupportedSigningAlgs: meta.Algs}).Verify(context.Background(), tok)
			require.NoError(t, err)
		})
	}
}

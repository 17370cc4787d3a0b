package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
)

// A resource server that fetched the JWKS once, after a rotation was
// started and never again, verifies every token signed after the new key
// took over, and the tokens signed before: the key is published
// keys.publish_lead ahead of its first signature (docs/operations.md,
// "Signing keys").
func TestResourceServerWithOneJWKSFetchSurvivesRotation(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		owner := s.User("owner", "", s.Group("readers", "users-read").ID)
		c := s.Client("reports", owner.ID, []string{"users-read"})
		cc := url.Values{"grant_type": {"client_credentials"}}
		before := s.Token(&c, cc).Str("access_token")

		next, err := s.App.Keys.Rotate(ctx)
		require.NoError(t, err)
		require.Equal(t, storage.KeyStateNext, next.State)
		res, err := http.Get(s.URL + "/.well-known/jwks.json")
		require.NoError(t, err)
		var cached jose.JSONWebKeySet
		require.NoError(t, json.NewDecoder(res.Body).Decode(&cached))
		res.Body.Close()
		require.Len(t, cached.Keys, 2, "the next key is published before it signs")

		require.Equal(t, headerKID(t, before), headerKID(t, s.Token(&c, cc).Str("access_token")), "not yet signing")
		s.Clock.Advance(keys.DefaultPublishLead)
		require.NoError(t, s.App.Keys.Tick(ctx))
		after := s.Token(&c, cc).Str("access_token")
		require.Equal(t, next.KID, headerKID(t, after), "the new key signs after the lead time")

		for _, tok := range []string{before, after} {
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
			require.NoError(t, err)
			found := cached.Key(jws.Signatures[0].Header.KeyID)
			require.Len(t, found, 1, "the JWKS fetched once knows the kid")
			_, err = jws.Verify(found[0])
			require.NoError(t, err)
		}
	})
}

func headerKID(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	require.NoError(t, err)
	return jws.Signatures[0].Header.KeyID
}

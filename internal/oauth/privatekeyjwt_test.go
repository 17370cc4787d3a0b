package oauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// private_key_jwt: nothing secret reaches the server at all.
func TestPrivateKeyJWT(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		pub := jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}
		jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
		require.NoError(t, err)

		owner := e.User("owner", "", e.Group("g", "users-read").ID)
		e.Client("signer", owner.ID, []string{"users-read"}, func(c *storage.Client) {
			c.TokenEndpointAuthMethod = storage.AuthMethodPrivateKeyJWT
			c.JWKS = jwks
		})
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
			(&jose.SignerOptions{}).WithType("JWT"))
		require.NoError(t, err)
		assertion := func(aud string, jti string) string {
			now := e.Clock.Now()
			s, err := jwt.Signed(signer).Claims(jwt.Claims{
				Issuer: "signer", Subject: "signer", Audience: jwt.Audience{aud}, ID: jti,
				IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)),
			}).Serialize()
			require.NoError(t, err)
			return s
		}
		request := func(a string) apptest.Response {
			return e.Post(oauth.PathToken, nil, url.Values{
				"grant_type": {"client_credentials"}, "client_assertion_type": {assertionType}, "client_assertion": {a},
			})
		}

		r := request(assertion(e.URL, "jti-1"))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "users-read", r.Str("scope"))
		r = request(assertion(e.URL+oauth.PathToken, "jti-2"))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)

		replayed := request(assertion(e.URL, "jti-1"))
		wrongAud := request(assertion("https://elsewhere.example", "jti-3"))
		for _, r := range []apptest.Response{replayed, wrongAud} {
			require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
			require.Equal(t, "invalid_client", r.Str("error"))
			require.Equal(t, replayed.Raw, r.Raw, "every failure looks the same")
		}
	})
}

package oauth_test

import (
	"context"
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
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

// The code exchange takes every client authentication method of the token
// endpoint, and a confidential client registered with require_pkce false
// (a legacy relying party) may leave PKCE out; one that did not register
// so may not, and a client cannot authenticate as another to redeem its
// code.
func TestCodeFlowConfidentialClients(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		alice := e.User("alice", "correct horse battery staple", e.Group("readers", "users-read").ID)
		b := e.Browser()
		confidential := func(method string, mutate ...func(*storage.Client)) (oauth2.Config, apptest.Client) {
			id := "conf-" + apptest.RandomString(t)
			c := e.Client(id, alice.ID, []string{"users-read"}, append([]func(*storage.Client){func(c *storage.Client) {
				c.GrantTypes = []string{"authorization_code"}
				c.TokenEndpointAuthMethod = method
				c.RedirectURIs = []string{rpRedirect}
				c.SkipConsent = true
			}}, mutate...)...)
			cfg := oauth2.Config{ClientID: id, ClientSecret: c.Wire(t), RedirectURL: rpRedirect, Scopes: []string{"openid", "users-read"},
				Endpoint: oauth2.Endpoint{AuthURL: e.URL + oauth.PathAuthorize, TokenURL: e.URL + oauth.PathToken, AuthStyle: oauth2.AuthStyleInHeader}}
			if method == storage.AuthMethodSecretPost {
				cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
			}
			return cfg, c
		}
		signIn := func(cfg oauth2.Config, opts ...oauth2.AuthCodeOption) string {
			p := b.Visit(cfg.AuthCodeURL("st", opts...))
			if p.URL.Path == "/login" {
				p = b.SignIn(p, "alice", "correct horse battery staple")
			}
			return codeFrom(t, e, p, "st")
		}

		for _, method := range []string{storage.AuthMethodSecretBasic, storage.AuthMethodSecretPost} {
			cfg, _ := confidential(method)
			v := oauth2.GenerateVerifier()
			tok, err := cfg.Exchange(ctx, signIn(cfg, oauth2.S256ChallengeOption(v)), oauth2.VerifierOption(v))
			require.NoError(t, err, method)
			e.Remember(tok.AccessToken)
			require.Equal(t, "openid users-read", tok.Extra("scope"))
			require.NotEmpty(t, tok.Extra("id_token"))

			// PKCE is required unless the client registered otherwise.
			p := b.Visit(cfg.AuthCodeURL("st"))
			redirectError(t, e, p, "invalid_request", "st")
		}

		legacy, _ := confidential(storage.AuthMethodSecretBasic, func(c *storage.Client) { c.PKCEOptional = true })
		tok, err := legacy.Exchange(ctx, signIn(legacy))
		require.NoError(t, err, "a legacy client without PKCE")
		e.Remember(tok.AccessToken)

		// A code is redeemed by its client only, whatever the other
		// client's credentials.
		a, _ := confidential(storage.AuthMethodSecretBasic)
		other, _ := confidential(storage.AuthMethodSecretBasic)
		v := oauth2.GenerateVerifier()
		code := signIn(a, oauth2.S256ChallengeOption(v))
		_, err = other.Exchange(ctx, code, oauth2.VerifierOption(v))
		requireOAuthError(t, err, "invalid_grant")
		wrongSecret := a
		wrongSecret.ClientSecret = other.ClientSecret
		_, err = wrongSecret.Exchange(ctx, signIn(a, oauth2.S256ChallengeOption(v)), oauth2.VerifierOption(v))
		requireOAuthError(t, err, "invalid_client")

		// private_key_jwt (RFC 7523).
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
		require.NoError(t, err)
		signed, _ := confidential(storage.AuthMethodPrivateKeyJWT, func(c *storage.Client) { c.JWKS = jwks })
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
			(&jose.SignerOptions{}).WithType("JWT"))
		require.NoError(t, err)
		now := e.Clock.Now()
		assertion, err := jwt.Signed(signer).Claims(jwt.Claims{
			Issuer: signed.ClientID, Subject: signed.ClientID, Audience: jwt.Audience{e.URL}, ID: apptest.RandomString(t),
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)),
		}).Serialize()
		require.NoError(t, err)
		v = oauth2.GenerateVerifier()
		r := e.Post(oauth.PathToken, nil, url.Values{
			"grant_type": {"authorization_code"}, "code": {signIn(signed, oauth2.S256ChallengeOption(v))},
			"redirect_uri": {rpRedirect}, "code_verifier": {v},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
		})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		e.Remember(r.Str("access_token"))
		require.NotEmpty(t, r.Str("id_token"))
	})
}

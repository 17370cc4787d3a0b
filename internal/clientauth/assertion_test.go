package clientauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/storage"
)

func jwtOK(clientID string) outcome {
	return outcome{clientID: clientID, method: storage.AuthMethodPrivateKeyJWT}
}

func TestAuthenticateAssertion(t *testing.T) {
	e := newEnv(t)
	f := newAssertionFixture(e)
	es := func(claims map[string]any) request { return f.req(f.sign(t, f.es, "es1", claims)) }
	c := f.claims // a fresh valid claim set with its own jti

	strangerES, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	es384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	rsaDER, err := x509.MarshalPKIXPublicKey(f.rs.Public())
	require.NoError(t, err)

	tests := []struct {
		name string
		req  request
		want outcome
	}{
		{"ES256, aud = issuer", es(c("jwt-es")), jwtOK("jwt-es")},
		{"ES256, aud = token endpoint", es(with(c("jwt-es"), "aud", tokenEndpoint)), jwtOK("jwt-es")},
		{"aud array of both", es(with(c("jwt-es"), "aud", []string{issuer, tokenEndpoint})), jwtOK("jwt-es")},
		{"aud array of one", es(with(c("jwt-es"), "aud", []string{issuer})), jwtOK("jwt-es")},
		{"RS256", f.req(f.sign(t, f.rs, "rs1", c("jwt-rs"))), jwtOK("jwt-rs")},
		{"PS256 with a key registered without alg", f.req(signWith(t, jose.PS256, f.rs, "rs1", c("jwt-ps"))), jwtOK("jwt-ps")},
		{"EdDSA without kid", f.req(f.sign(t, f.ed, "", c("jwt-ed"))), jwtOK("jwt-ed")},
		{"ES256 without kid, found among several keys", f.req(f.sign(t, f.es2, "", c("jwt-ed"))), jwtOK("jwt-ed")},
		{"unreadable and symmetric keys in the JWKS are skipped", f.req(f.sign(t, f.es, "es1", c("jwt-mixed"))), jwtOK("jwt-mixed")},
		{"form client_id equal to iss", f.req(f.sign(t, f.es, "es1", c("jwt-es")), "client_id", "jwt-es"), jwtOK("jwt-es")},
		{"expired within the clock skew", es(with(c("jwt-es"), "exp", f.at(-20*time.Second), "iat", f.at(-time.Minute))), jwtOK("jwt-es")},
		{"exp at the lifetime limit", es(with(c("jwt-es"), "exp", f.at(5*time.Minute))), jwtOK("jwt-es")},
		{"nbf and iat ahead within the clock skew", es(with(c("jwt-es"), "nbf", f.at(20*time.Second), "iat", f.at(20*time.Second))), jwtOK("jwt-es")},

		{"aud elsewhere", es(with(c("jwt-es"), "aud", "https://elsewhere.example")), invalidClient},
		{"aud naming this server and another", es(with(c("jwt-es"), "aud", []string{issuer, "https://elsewhere.example"})), invalidClient},
		{"aud with a trailing slash", es(with(c("jwt-es"), "aud", issuer+"/")), invalidClient},
		{"aud the introspection endpoint", es(with(c("jwt-es"), "aud", issuer+"/oauth2/introspect")), invalidClient},
		{"aud missing", es(with(c("jwt-es"), "aud", nil)), invalidClient},
		{"aud empty", es(with(c("jwt-es"), "aud", "")), invalidClient},
		{"iss ≠ sub", es(with(c("jwt-es"), "sub", "jwt-rs")), invalidClient},
		{"sub missing", es(with(c("jwt-es"), "sub", nil)), invalidClient},
		{"iss missing", es(with(c("jwt-es"), "iss", nil)), invalidClient},
		{"iss an unknown client", es(c("nobody")), invalidClient},
		{"iss another client, signed with this one's key", es(c("jwt-rs")), invalidClient},
		{"expired", es(with(c("jwt-es"), "exp", f.at(-31*time.Second), "iat", f.at(-time.Minute))), invalidClient},
		{"exp too far ahead", es(with(c("jwt-es"), "exp", f.at(5*time.Minute+31*time.Second))), invalidClient},
		{"exp missing", es(with(c("jwt-es"), "exp", nil)), invalidClient},
		{"exp not a number", es(with(c("jwt-es"), "exp", "soon")), invalidClient},
		{"nbf ahead", es(with(c("jwt-es"), "nbf", f.at(31*time.Second))), invalidClient},
		{"iat ahead", es(with(c("jwt-es"), "iat", f.at(31*time.Second))), invalidClient},
		{"jti missing", es(with(c("jwt-es"), "jti", nil)), invalidClient},
		{"jti too long", es(with(c("jwt-es"), "jti", strings.Repeat("j", 257))), invalidClient},

		{"alg none", f.req(unsigned(t, c("jwt-es"))), invalidClient},
		{"HS256 keyed with the public key's DER", f.req(signWith(t, jose.HS256, rsaDER, "rs1", c("jwt-rs"))), invalidClient},
		{"HS256 keyed with a registered symmetric key", f.req(signWith(t, jose.HS256, f.octKey, "es1", c("jwt-mixed"))), invalidClient},
		{"key not in the JWKS, same kid", f.req(f.sign(t, strangerES, "es1", c("jwt-es"))), invalidClient},
		{"key not in the JWKS, no kid", f.req(f.sign(t, strangerES, "", c("jwt-es"))), invalidClient},
		{"unknown kid", f.req(f.sign(t, f.es, "es9", c("jwt-es"))), invalidClient},
		{"alg other than the key's registered alg", f.req(signWith(t, jose.PS256, f.rs, "rs1", c("jwt-rs"))), invalidClient},
		{"curve other than the registered key's", f.req(signWith(t, jose.ES384, es384, "es1", c("jwt-es"))), invalidClient},
		{"client without JWKS", f.req(f.sign(t, f.es, "es1", c("jwt-nojwks"))), invalidClient},
		{"disabled client", f.req(f.sign(t, f.es, "es1", c("jwt-disabled"))), invalidClient},
		{"client registered for client_secret_basic", f.req(f.sign(t, f.es, "es1", c("basic-jwks"))), invalidClient},

		{"wrong assertion type", f.req(f.sign(t, f.es, "es1", c("jwt-es")), "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), invalidClient},
		{"assertion type missing", request{form: form("client_assertion", f.sign(t, f.es, "es1", c("jwt-es")))}, invalidClient},
		{"assertion missing", request{form: form("client_assertion_type", clientauth.AssertionType)}, invalidClient},
		{"garbage assertion", f.req("not.a.jwt"), invalidClient},
		{"five-part assertion", f.req("a.b.c.d.e"), invalidClient},
		{"huge assertion", f.req(strings.Repeat("a", 9000)), invalidClient},
		{"form client_id differs from iss", f.req(f.sign(t, f.es, "es1", c("jwt-es")), "client_id", "jwt-rs"), invalidRequest},
	}
	a := e.authenticator(false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.check(t, a, tt.req, tt.want) })
	}
}

// unsigned returns an assertion with alg "none" and an empty signature.
func unsigned(t testing.TB, claims any) string {
	b64 := base64.RawURLEncoding.EncodeToString
	return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(marshal(t, claims))) + "."
}

// A jti is accepted once per client until the assertion can no longer be
// accepted at all.
func TestAssertionReplay(t *testing.T) {
	e := newEnv(t)
	f := newAssertionFixture(e)
	a := e.authenticator(false)

	claims := f.claims("jwt-es")
	first := f.req(f.sign(t, f.es, "es1", claims))
	e.check(t, a, first, jwtOK("jwt-es"))
	e.check(t, a, first, invalidClient)
	// A new assertion reusing the jti is refused as well.
	e.check(t, a, f.req(f.sign(t, f.es, "es1", with(claims, "iat", f.at(time.Second)))), invalidClient)

	// The same jti from another client is another key.
	e.check(t, a, f.req(f.sign(t, f.rs, "rs1", with(claims, "iss", "jwt-rs", "sub", "jwt-rs"))), jwtOK("jwt-rs"))

	// Past exp but within the skew the assertion would still pass its
	// time checks: the marker must outlive exp.
	e.clock.Advance(time.Minute + 20*time.Second)
	hr, fm := first.http()
	_, err := a.Authenticate(t.Context(), hr, fm)
	require.ErrorIs(t, err, clientauth.ErrInvalidClient)
	require.Contains(t, err.Error(), "already used")

	// Once it is dead, it is refused for being expired.
	e.clock.Advance(time.Minute)
	_, err = a.Authenticate(t.Context(), hr, fm)
	require.ErrorIs(t, err, clientauth.ErrInvalidClient)
	require.Contains(t, err.Error(), "expired")
}

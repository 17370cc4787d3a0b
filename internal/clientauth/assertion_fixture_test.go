package clientauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/storage"
)

// assertionFixture holds the client keys of the private_key_jwt tests and
// registers their clients:
//
//	jwt-es        ES256 key es1 (alg ES256, use sig)
//	jwt-rs        RSA key rs1 (alg RS256)
//	jwt-ps        the same RSA key rs1, no alg: any RS*/PS* fits
//	jwt-ed        an Ed25519 key and a second P-256 key, neither with kid
//	jwt-mixed     an unreadable key, a symmetric key, then es1
//	jwt-nojwks    private_key_jwt without a JWKS
//	jwt-disabled  disabled, es1
//	basic-jwks    registered for client_secret_basic, es1
type assertionFixture struct {
	e      *env
	es     *ecdsa.PrivateKey
	es2    *ecdsa.PrivateKey
	rs     *rsa.PrivateKey
	ed     ed25519.PrivateKey
	octKey []byte
	jti    int
}

func newAssertionFixture(e *env) *assertionFixture {
	t := e.t
	f := &assertionFixture{e: e, octKey: []byte("0123456789abcdef0123456789abcdef")}
	var err error
	f.es, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f.es2, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f.rs, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, f.ed, err = ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	es1 := jose.JSONWebKey{Key: f.es.Public(), KeyID: "es1", Algorithm: "ES256", Use: "sig"}
	rs1 := jose.JSONWebKey{Key: f.rs.Public(), KeyID: "rs1", Algorithm: "RS256"}
	rsNoAlg := jose.JSONWebKey{Key: f.rs.Public(), KeyID: "rs1"}
	edKey := jose.JSONWebKey{Key: f.ed.Public()}
	es2 := jose.JSONWebKey{Key: f.es2.Public()}
	oct := jose.JSONWebKey{Key: f.octKey, KeyID: "es1"}

	reg := func(id, method string, jwks []byte, mutate ...func(*storage.Client)) {
		e.client(id, method, nil, append([]func(*storage.Client){func(c *storage.Client) { c.JWKS = jwks }}, mutate...)...)
	}
	pk := storage.AuthMethodPrivateKeyJWT
	reg("jwt-es", pk, jwks(t, es1))
	reg("jwt-rs", pk, jwks(t, rs1))
	reg("jwt-ps", pk, jwks(t, rsNoAlg))
	reg("jwt-ed", pk, jwks(t, edKey, es2))
	mixed := fmt.Sprintf(`{"keys":[{"kty":"XYZ","kid":"es1"},%s,%s]}`, marshal(t, oct), marshal(t, es1))
	reg("jwt-mixed", pk, []byte(mixed))
	reg("jwt-nojwks", pk, nil)
	reg("jwt-disabled", pk, jwks(t, es1), func(c *storage.Client) { c.Status = storage.StatusDisabled })
	reg("basic-jwks", storage.AuthMethodSecretBasic, jwks(t, es1))
	return f
}

func marshal(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func jwks(t testing.TB, keys ...jose.JSONWebKey) []byte {
	return []byte(marshal(t, jose.JSONWebKeySet{Keys: keys}))
}

// claims returns valid assertion claims for clientID with a fresh jti.
func (f *assertionFixture) claims(clientID string) map[string]any {
	f.jti++
	now := f.e.clock.Now()
	return map[string]any{
		"iss": clientID, "sub": clientID, "aud": issuer, "jti": fmt.Sprintf("jti-%d", f.jti),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
}

// with returns a copy of claims with the given changes; a nil value
// removes the claim.
func with(claims map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// at returns a NumericDate d from the fixture's now.
func (f *assertionFixture) at(d time.Duration) int64 { return f.e.clock.Now().Add(d).Unix() }

// sign signs claims with key, with the algorithm its type implies.
func (f *assertionFixture) sign(t testing.TB, key crypto.Signer, kid string, claims any) string {
	alg := map[string]jose.SignatureAlgorithm{"*ecdsa.PrivateKey": jose.ES256, "*rsa.PrivateKey": jose.RS256,
		"ed25519.PrivateKey": jose.EdDSA}[fmt.Sprintf("%T", key)]
	return signWith(t, alg, key, kid, claims)
}

func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	return s
}

// form is a private_key_jwt request body.
func (f *assertionFixture) form(assertion string, kv ...string) url.Values {
	v := form("client_assertion_type", clientauth.AssertionType, "client_assertion", assertion)
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func (f *assertionFixture) req(assertion string, kv ...string) request {
	return request{form: f.form(assertion, kv...)}
}

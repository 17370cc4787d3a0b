package clientauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// minRSABits refuses RSA keys too short to be trusted.
	minRSABits = 2048
	// maxKeysTried bounds the signature checks of one assertion without a
	// kid, so that a large JWKS cannot be made to cost much.
	maxKeysTried = 8
)

// verifyWithJWKS verifies tok with the client's registered keys only: the
// key with the header's kid if it has one, else every key whose type and
// alg fit the header's alg. It returns the verified claims.
func verifyWithJWKS(tok *jwt.JSONWebToken, jwks []byte) (jwt.Claims, error) {
	if len(jwks) == 0 {
		return jwt.Claims{}, invalidClient("client has no registered JWKS")
	}
	keys, err := parseJWKS(jwks)
	if err != nil {
		return jwt.Claims{}, err
	}
	h := tok.Headers[0]
	tried := 0
	for _, k := range keys {
		if (h.KeyID != "" && k.KeyID != h.KeyID) || !fits(k, h.Algorithm) {
			continue
		}
		if tried++; tried > maxKeysTried {
			break
		}
		var claims jwt.Claims
		if err := tok.Claims(k.Key, &claims); err == nil {
			return claims, nil
		}
	}
	return jwt.Claims{}, invalidClient("no registered key verifies the client_assertion")
}

// parseJWKS reads a registered JWKS and returns the public part of every
// key it can use. Keys it cannot read (an unknown kty, a symmetric key) are
// skipped rather than failing the whole set, so that one odd key does not
// lock the client out.
func parseJWKS(jwks []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, invalidClient("registered JWKS is not a JSON Web Key Set")
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		// A private key registered by mistake still verifies through its
		// public half; a symmetric one yields no public key and is dropped.
		if pub := k.Public(); pub.Valid() {
			keys = append(keys, pub)
		}
	}
	return keys, nil
}

// fits reports whether k may verify a signature made with alg: a signing
// key (use absent or "sig"), whose registered alg, if any, is alg, and
// whose type and curve are the ones alg is defined for.
func fits(k jose.JSONWebKey, alg string) bool {
	if (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != alg) {
		return false
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && key.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		return alg == ecdsaAlg[key.Curve.Params().Name]
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA)
	}
	return false
}

// ecdsaAlg maps a curve to the one JWS algorithm defined for it (RFC 7518
// §3.4).
var ecdsaAlg = map[string]string{
	"P-256": string(jose.ES256),
	"P-384": string(jose.ES384),
	"P-521": string(jose.ES512),
}

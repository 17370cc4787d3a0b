package clientauth

import (
	"context"
	"fmt"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/storage"
)

// AssertionAlgorithms are the JWS algorithms accepted for client
// assertions: asymmetric only. "none" cannot be parsed at all, and HMAC is
// refused so that a public key can never serve as a shared secret.
var AssertionAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

const (
	// clockSkew is the tolerance on exp, nbf and iat between the client's
	// clock and ours.
	clockSkew = 30 * time.Second
	// maxAssertionLen bounds what is parsed at all; real assertions are a
	// few hundred bytes (with an RSA-4096 signature, under 2 KiB).
	maxAssertionLen = 8 << 10
	// maxJTILen keeps replay keys small: every accepted jti is stored
	// until its assertion expires.
	maxJTILen = 256
)

// authenticateAssertion checks a private_key_jwt assertion (RFC 7523 §3):
// signed by a key of the client's registered JWKS, iss = sub = client_id,
// aud naming this server, a short exp, and a jti accepted once.
func (a *Authenticator) authenticateAssertion(ctx context.Context, cr credentials) (Result, error) {
	if cr.assertionType != AssertionType {
		return Result{}, invalidClient("client_assertion_type is not " + AssertionType)
	}
	if cr.assertion == "" || len(cr.assertion) > maxAssertionLen {
		return Result{}, invalidClient("client_assertion is missing or too long")
	}
	tok, err := jwt.ParseSigned(cr.assertion, AssertionAlgorithms)
	if err != nil || len(tok.Headers) != 1 {
		// go-jose's message may quote parts of the assertion: not logged.
		return Result{}, invalidClient("client_assertion is not a compact JWS with an accepted asymmetric algorithm")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Result{}, invalidClient("client_assertion claims are unreadable")
	}
	// The client is named by iss; nothing is trusted before the signature
	// is checked against that client's own keys.
	clientID := unverified.Issuer
	if clientID == "" {
		return Result{}, invalidClient("client_assertion has no iss")
	}
	if cr.formClientID != "" && cr.formClientID != clientID {
		return Result{}, invalidRequest("client_id of the form and iss of the assertion differ")
	}
	c, err := a.loadClient(ctx, clientID)
	if err != nil {
		return Result{}, err
	}
	if err := checkClient(c, storage.AuthMethodPrivateKeyJWT); err != nil {
		return Result{}, err
	}
	claims, err := verifyWithJWKS(tok, c.JWKS)
	if err != nil {
		return Result{}, err
	}
	if err := a.checkClaims(claims, clientID); err != nil {
		return Result{}, err
	}
	if err := a.markOnce(ctx, clientID, claims); err != nil {
		return Result{}, err
	}
	return Result{Client: c, Method: storage.AuthMethodPrivateKeyJWT}, nil
}

// checkClaims checks the verified claims of an assertion.
func (a *Authenticator) checkClaims(c jwt.Claims, clientID string) error {
	now := a.cfg.Now()
	switch {
	case c.Issuer != clientID || c.Subject != clientID:
		return invalidClient("client_assertion iss and sub must both be the client_id")
	case !a.audienceOK(c.Audience):
		return invalidClient("client_assertion aud is not the issuer or the token endpoint")
	case c.Expiry == nil:
		return invalidClient("client_assertion has no exp")
	case now.Add(-clockSkew).After(c.Expiry.Time()):
		return invalidClient("client_assertion has expired")
	case c.Expiry.Time().After(now.Add(a.cfg.MaxAssertionLifetime + clockSkew)):
		return invalidClient("client_assertion exp is too far ahead")
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(clockSkew)):
		return invalidClient("client_assertion is not valid yet")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(clockSkew)):
		return invalidClient("client_assertion is issued in the future")
	case c.ID == "":
		return invalidClient("client_assertion has no jti")
	case len(c.ID) > maxJTILen:
		return invalidClient("client_assertion jti is too long")
	}
	return nil
}

// audienceOK accepts an aud whose values are all the issuer identifier or
// the token endpoint URL, compared as exact strings, and nothing else: an
// assertion that also names another audience could be meant for, and
// replayed by, that other party (RFC 7523bis).
func (a *Authenticator) audienceOK(aud jwt.Audience) bool {
	if len(aud) == 0 {
		return false
	}
	for _, v := range aud {
		if v == "" || (v != a.cfg.Issuer && v != a.cfg.TokenEndpoint) {
			return false
		}
	}
	return true
}

// markOnce records the jti so that the assertion is accepted once. The
// marker lives as long as the assertion could still be accepted: until
// exp plus the clock skew. client_id is query-escaped so that its colons
// cannot make two clients' keys collide.
func (a *Authenticator) markOnce(ctx context.Context, clientID string, c jwt.Claims) error {
	key := "ja:" + url.QueryEscape(clientID) + ":" + c.ID
	first, err := a.replay.MarkOnce(ctx, key, c.Expiry.Time().Add(clockSkew))
	if err != nil {
		return fmt.Errorf("clientauth: record assertion jti: %w", err)
	}
	if !first {
		return invalidClient("client_assertion jti was already used")
	}
	return nil
}

package oauth

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// jwtTypeIDToken is the typ header of ID tokens: plain JWT, never
// at+jwt, so that neither kind of token passes for the other.
const jwtTypeIDToken = "JWT"

// idTokenFacts is what the authentication that led to a token contributes
// to its ID token (OIDC Core 1.0 §2).
type idTokenFacts struct {
	nonce    string
	authTime time.Time
	amr      []string
	sid      string
}

// idClaims is an ID token's claim set (OIDC Core 1.0 §2, §5.1).
type idClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	// SessionID is the login session's id (OIDC Front-Channel Logout
	// §3): RP-initiated logout with this token as id_token_hint ends it.
	SessionID string `json:"sid,omitempty"`
	AtHash    string `json:"at_hash,omitempty"`

	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Locale            string `json:"locale,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
}

// issueIDToken signs the ID token of a code exchange: profile and email
// claims as its scopes allow (OIDC Core 1.0 §5.4).
func (p *Provider) issueIDToken(c storage.Client, s *session, accessToken string, exp time.Time) (string, error) {
	now := s.issuedAt.Truncate(time.Second)
	claims := idClaims{
		Issuer: p.opts.Issuer, Subject: s.user.ID, Audience: audience{c.ClientID},
		Expiry: exp.Unix(), IssuedAt: now.Unix(), AuthTime: s.id.authTime.Unix(),
		Nonce: s.id.nonce, AMR: s.id.amr, SessionID: s.id.sid,
	}
	alg := p.opts.Keys.SigningAlgorithm()
	h := idTokenHash(alg)
	if h == nil {
		return "", fmt.Errorf("sign ID token: no hash for algorithm %q", alg)
	}
	claims.AtHash = halfHash(h, accessToken)
	profileClaims(&claims, *s.user, s.scopes)
	payload, err := json.Marshal(&claims)
	if err != nil {
		return "", fmt.Errorf("marshal ID token claims: %w", err)
	}
	token, err := p.opts.Keys.Sign(payload, jwtTypeIDToken)
	if err != nil {
		return "", fmt.Errorf("sign ID token: %w", err)
	}
	return token, nil
}

// profileClaims adds the user's claims that scopes allow, to an ID token
// or a userinfo answer.
func profileClaims(c *idClaims, u storage.User, scopes []string) {
	if slices.Contains(scopes, scopeProfile) {
		c.PreferredUsername, c.Name, c.Locale = u.Username, u.DisplayName, u.Language
	}
	if slices.Contains(scopes, scopeEmail) && u.Email != "" {
		// Verified only when a link mailed there was followed (an
		// activation, reset or invitation, docs/accounts.md): a relying
		// party may link accounts by a verified address only.
		verified := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &verified
	}
}

// idTokenHash is the hash at_hash uses for a JWS algorithm (OIDC Core
// 1.0 §3.1.3.6: the hash of the alg; SHA-512 for Ed25519, as OpenID
// Connect's EdDSA guidance and every library that verifies it use).
func idTokenHash(alg string) func() hash.Hash {
	switch alg {
	case "RS256", "ES256", "PS256":
		return sha256.New
	case "RS384", "ES384", "PS384":
		return sha512.New384
	case "RS512", "ES512", "PS512", "EdDSA":
		return sha512.New
	}
	return nil
}

// halfHash is base64url of the left half of h(token).
func halfHash(h func() hash.Hash, token string) string {
	d := h()
	d.Write([]byte(token))
	sum := d.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

var errNotOurIDToken = errors.New("not an ID token of this issuer")

// parseIDTokenHint verifies an ID token this server issued, as an
// id_token_hint (OIDC Core 1.0 §3.1.2.1, RP-Initiated Logout §2): the
// signature and issuer must hold, expiry does not matter, since a
// relying party sends the hint of a session that may be long past.
func (p *Provider) parseIDTokenHint(token string) (*idClaims, error) {
	payload, err := p.opts.Keys.Verify(token, jwtTypeIDToken)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotOurIDToken, err)
	}
	var c idClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotOurIDToken, err)
	}
	if c.Issuer != p.opts.Issuer || c.Subject == "" || len(c.Audience) == 0 || c.AuthTime == 0 {
		return nil, errNotOurIDToken
	}
	return &c, nil
}

// idTokenHintSubject returns the user an id_token_hint names, if it was
// issued to clientID.
func (p *Provider) idTokenHintSubject(token, clientID string) (string, error) {
	c, err := p.parseIDTokenHint(token)
	if err != nil {
		return "", err
	}
	if !slices.Contains(c.Audience, clientID) {
		return "", errNotOurIDToken
	}
	return c.Subject, nil
}

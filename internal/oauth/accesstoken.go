package oauth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// jwtTypeAccessToken is the typ header of access tokens (RFC 9068 §2.1).
const jwtTypeAccessToken = "at+jwt"

// Grant values of the gty claim. The claim tells user tokens and client
// tokens apart without comparing sub against client_id: a client_id may be
// chosen by its owner and could otherwise impersonate a user id.
const (
	grantClientCredentials = "client_credentials"
	grantPassword          = "password"
	grantRefreshToken      = "refresh_token"
)

// accessClaims is the claim set of an access token (RFC 9068 §2.2).
type accessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	// IssuedAtMicros is the microsecond within iat's second at which the
	// token was issued (a private claim; iat stays an integer as RFC 7519
	// clients expect). Revocation marks are compared to the microsecond
	// (storage.TimeResolution), so that a client disabled and re-enabled
	// within one second is not refused the token it gets right after.
	// Absent in tokens issued before it existed: they count from the start
	// of their second, which revokes rather than revives.
	IssuedAtMicros int64  `json:"iat_us,omitempty"`
	JTI            string `json:"jti"`
	ClientID       string `json:"client_id"`
	Scope          string `json:"scope"`
	Grant          string `json:"gty"`
	Locale         string `json:"locale,omitempty"`
	// SessionID is the refresh-token family the token was issued with
	// (OIDC's sid): revoking the refresh token revokes the access tokens
	// of its grant too.
	SessionID string `json:"sid,omitempty"`
	// Context is the context the token is for (docs/contexts.md): its
	// scope holds the resources its subject holds there. Absent in a
	// realm-wide token.
	Context string `json:"context,omitempty"`
}

// isUserToken reports whether the token was issued to a user (password or
// refresh grant) rather than to a client on its own behalf.
func (c *accessClaims) isUserToken() bool { return c.Grant != grantClientCredentials }

// ref returns what revocation checks need to know about the token.
func (c *accessClaims) ref() storage.TokenRef {
	r := storage.TokenRef{JTI: c.JTI, ClientID: c.ClientID, FamilyID: c.SessionID,
		IssuedAt: time.Unix(c.IssuedAt, c.IssuedAtMicros*int64(time.Microsecond))}
	if c.isUserToken() {
		r.UserID = c.Subject
	}
	return r
}

// audience is the aud claim: a single string when Gatehouse writes it,
// either form when it reads it (RFC 7519 §4.1.3).
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// issueAccessToken signs an access token for the decided grant and returns
// it with its expiry.
func (p *Provider) issueAccessToken(c storage.Client, s *session) (string, time.Time, error) {
	issued := s.issuedAt.Truncate(storage.TimeResolution)
	now := issued.Truncate(time.Second)
	ttl := p.opts.AccessTokenTTL
	if c.AccessTokenTTL > 0 {
		ttl = c.AccessTokenTTL
	}
	jti, err := randomID()
	if err != nil {
		return "", time.Time{}, err
	}
	claims := accessClaims{
		Issuer:         p.opts.Issuer,
		Subject:        c.ClientID,
		Audience:       audience{p.opts.Audience},
		IssuedAt:       now.Unix(),
		IssuedAtMicros: int64(issued.Sub(now) / time.Microsecond),
		Expiry:         now.Add(ttl).Unix(),
		JTI:            jti,
		ClientID:       c.ClientID,
		Scope:          strings.Join(s.scopes, " "),
		Grant:          s.grant,
		Context:        s.context,
	}
	if s.user != nil {
		claims.Subject = s.user.ID
		claims.Locale = s.user.Language
		claims.SessionID = s.family
	}
	token, err := p.opts.Keys.Sign(claims.appendJSON(make([]byte, 0, 512)), jwtTypeAccessToken)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return token, time.Unix(claims.Expiry, 0), nil
}

// errTokenInvalid covers every reason a presented access token is not
// acceptable; callers answer without saying which.
var errTokenInvalid = errors.New("invalid access token")

// parseAccessToken verifies an access token's signature, type, issuer,
// audience and lifetime. It does not consult token state: callers check
// revocation separately so that they can fail closed on an outage.
func (p *Provider) parseAccessToken(token string) (*accessClaims, error) {
	v, err := p.opts.Keys.VerifyDecoded(token, jwtTypeAccessToken, decodeAccessClaims)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTokenInvalid, err)
	}
	c := v.(*accessClaims) // shared with every request presenting the token: read only
	now := p.now().Unix()
	switch {
	case c.Issuer != p.opts.Issuer:
		return nil, fmt.Errorf("%w: foreign issuer", errTokenInvalid)
	case !contains(c.Audience, p.opts.Audience):
		return nil, fmt.Errorf("%w: audience", errTokenInvalid)
	case c.Expiry <= now:
		return nil, fmt.Errorf("%w: expired", errTokenInvalid)
	case c.IssuedAt > now+60:
		return nil, fmt.Errorf("%w: issued in the future", errTokenInvalid)
	case c.JTI == "" || c.ClientID == "" || c.Subject == "" || c.IssuedAtMicros < 0 || c.IssuedAtMicros >= 1_000_000:
		return nil, fmt.Errorf("%w: missing claims", errTokenInvalid)
	}
	return c, nil
}

func decodeAccessClaims(payload []byte) (any, error) {
	c := new(accessClaims)
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return c, nil
}

// refreshTokenPrefix marks Gatehouse refresh tokens so that secret scanners
// can recognise leaked ones.
const refreshTokenPrefix = "ghr_"

// refreshToken is an opaque refresh token: a handle, the same for every
// rotation of one grant, and a secret, new at every rotation (see
// storage.RefreshToken). Only their digests are stored.
type refreshToken struct {
	handle [16]byte
	secret [32]byte
}

// newRefreshToken returns the first refresh token of a new grant.
func newRefreshToken() (refreshToken, error) {
	var t refreshToken
	if _, err := rand.Read(t.handle[:]); err != nil {
		return t, fmt.Errorf("generate refresh token: %w", err)
	}
	return t.next()
}

// next returns the grant's next refresh token: same handle, new secret.
func (t refreshToken) next() (refreshToken, error) {
	if _, err := rand.Read(t.secret[:]); err != nil {
		return t, fmt.Errorf("generate refresh token: %w", err)
	}
	return t, nil
}

func (t refreshToken) String() string {
	var b [48]byte
	copy(b[:16], t.handle[:])
	copy(b[16:], t.secret[:])
	return refreshTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// parseRefreshToken reads a token String made; ok is false for anything else.
func parseRefreshToken(s string) (t refreshToken, ok bool) {
	rest, ok := strings.CutPrefix(s, refreshTokenPrefix)
	var b [48]byte
	// The length is checked on the text: the decoder skips CR and LF, and
	// one token must have one spelling.
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(len(b)) {
		return t, false
	}
	if n, err := base64.RawURLEncoding.Decode(b[:], []byte(rest)); err != nil || n != len(b) {
		return t, false
	}
	copy(t.handle[:], b[:16])
	copy(t.secret[:], b[16:])
	return t, true
}

// id is the storage id of the grant's record: a digest of the handle.
func (t refreshToken) id() string { return digest128("gatehouse refresh handle", t.handle[:]) }

// secretDigest is what the record keeps of the secret.
func (t refreshToken) secretDigest() string {
	return digest128("gatehouse refresh secret", t.secret[:])
}

// digest128 is SHA-256 of label and b, truncated to 128 bits, base64url:
// enough against preimages of 128- and 256-bit random inputs, and short,
// since every live grant keeps two of them in Redis.
func digest128(label string, b []byte) string {
	h := sha256.New()
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write(b)
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:16])
}

// randomID returns 128 random bits, base64url encoded.
func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse/gatehouse/storage"
)

const (
	// codeTTL is an authorization code's lifetime (RFC 6749 §4.1.2
	// recommends at most ten minutes; a browser redirect takes seconds).
	codeTTL = 60 * time.Second
	// spentCodeKept is how long a used code is remembered, so that its
	// reuse revokes what the first use issued (RFC 6749 §4.1.2).
	spentCodeKept = 10 * time.Minute
	// codePrefix marks Gatehouse authorization codes for secret scanners.
	codePrefix = "ghc_"

	grantAuthorizationCode = "authorization_code"
)

// codeRecord is what token state keeps of an authorization code, under a
// digest of the code: everything the code exchange must check and what
// the tokens it issues carry.
type codeRecord struct {
	ClientID    string    `json:"c"`
	RedirectURI string    `json:"r"`
	Challenge   string    `json:"pk,omitempty"`
	Nonce       string    `json:"n,omitempty"`
	Scopes      []string  `json:"sc"`
	UserID      string    `json:"u"`
	SessionID   string    `json:"sid"`
	AuthTime    time.Time `json:"at"`
	AMR         []string  `json:"amr,omitempty"`
	// FamilyID is the grant the exchange starts, decided now so that a
	// reused code can revoke it (and the access tokens issued with it)
	// whether or not the exchange handed out a refresh token.
	FamilyID string `json:"f"`
}

func codeKey(code string) string {
	return "ac:" + digest128("gatehouse authorization code", []byte(code))
}

// issueCode stores a new code for the decided request and returns the
// redirect that delivers it (RFC 6749 §4.1.2, RFC 9207 iss).
func (p *Provider) issueCode(ctx context.Context, c storage.Client, req *authRequest, sess *storage.LoginSession, scopes []string) (string, error) {
	_, secret := newSecret()
	code := codePrefix + secret
	family, err := randomID()
	if err != nil {
		return "", err
	}
	rec := codeRecord{ClientID: c.ClientID, RedirectURI: req.RedirectURI, Challenge: req.Challenge, Nonce: req.Nonce,
		Scopes: scopes, UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.AuthTime, AMR: sess.AMR, FamilyID: family}
	b, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encode authorization code: %w", err)
	}
	if err := p.opts.State.PutEntry(ctx, codeKey(code), b, p.now().Add(codeTTL)); err != nil {
		return "", err
	}
	v := url.Values{"code": {code}, "iss": {p.opts.Issuer}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	return withQuery(req.RedirectURI, v), nil
}

// codeGrant exchanges an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.6): once, by the client it was issued to, with the same redirect
// URI and the PKCE verifier. Its scopes are cut down to what the user
// and the client hold now.
type codeGrant struct{ grantBase }

var errCodeInvalid = errInvalidGrant.withCause(errors.New("authorization code unknown, expired, spent or foreign"))

func (g *codeGrant) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	c, s, err := g.start(ctx, ar, true)
	if err != nil {
		return err
	}
	form := ar.GetRequestForm()
	code := form.Get("code")
	if code == "" {
		return invalidRequest("The code parameter is missing.")
	}
	if !strings.HasPrefix(code, codePrefix) || len(code) != len(codePrefix)+43 {
		return errCodeInvalid
	}
	verifier := form.Get("code_verifier")
	if verifier != "" && !validVerifier(verifier) {
		return invalidRequest("The code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~].")
	}
	b, first, err := g.p.opts.State.TakeEntry(ctx, codeKey(code), g.p.now().Add(spentCodeKept))
	if errors.Is(err, storage.ErrNotFound) {
		return errCodeInvalid
	} else if err != nil {
		return err
	}
	var rec codeRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("decode authorization code: %w", err)
	}
	if !first {
		// A second use: the code leaked, or a client misbehaves. What
		// the first use issued is revoked (RFC 6749 §4.1.2).
		if err := g.p.opts.State.RevokeFamily(ctx, rec.FamilyID); err != nil {
			return err
		}
		return errInvalidGrant.withCause(errors.New("authorization code reused"))
	}
	if err := checkCode(rec, c.c.ClientID, form.Get("redirect_uri"), verifier); err != nil {
		return err
	}
	user, err := g.p.opts.Store.GetUser(ctx, g.p.opts.Realm, rec.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && user.Status != storage.StatusActive) {
		return errInvalidGrant.withCause(errors.New("user gone or disabled"))
	} else if err != nil {
		return err
	}
	// The browser flow selects no context: a client bound to one gets
	// tokens for it, any other client realm-wide ones (docs/contexts.md).
	s.context = c.c.ContextID
	userRes, err := g.p.resourcesIn(ctx, user.ID, s.context)
	if err != nil {
		return err
	}
	oidc, admin := splitScopes(rec.Scopes)
	scopes := append(oidc, intersect(admin, clientAllowed(c.c, userRes))...)
	slices.Sort(scopes)
	if s.context != "" {
		scopes = append(scopes, contextScopePrefix+s.context)
		slices.Sort(scopes)
	}
	s.user = &user
	s.family = rec.FamilyID
	s.id = &idTokenFacts{nonce: rec.Nonce, authTime: rec.AuthTime, amr: rec.AMR, sid: rec.SessionID}
	grant(ar, s, scopes)
	// The grant belongs to the browser session it came from: a logout
	// in between leaves the code worthless, and a later one ends it. The
	// binding and the first refresh record are written together (one
	// round trip, docs/benchmarks.md).
	refresh := storage.RefreshToken{FamilyID: rec.FamilyID}
	var token refreshToken
	if slices.Contains(c.c.GrantTypes, grantRefreshToken) {
		if token, refresh, err = g.p.newRefreshRecord(c.c, s, rec.FamilyID); err != nil {
			return err
		}
	}
	if err := g.p.opts.State.StartSessionGrant(ctx, rec.SessionID, refresh); errors.Is(err, storage.ErrNotFound) {
		return errInvalidGrant.withCause(errors.New("login session ended"))
	} else if err != nil {
		return err
	}
	if refresh.ID != "" {
		s.refresh = token.String()
	}
	return nil
}

// checkCode checks a code's bindings (RFC 6749 §4.1.3, RFC 7636 §4.6).
// A verifier without a challenge is refused too: it means the PKCE of the
// authorization request was stripped (RFC 9700 §4.8.2).
func checkCode(rec codeRecord, clientID, redirectURI, verifier string) error {
	switch {
	case rec.ClientID != clientID:
		return errInvalidGrant.withCause(errors.New("code of another client"))
	case redirectURI == "":
		return invalidRequest("The redirect_uri parameter is missing.")
	case redirectURI != rec.RedirectURI:
		return errInvalidGrant.withCause(errors.New("redirect_uri differs from the authorization request"))
	case rec.Challenge == "" && verifier != "":
		return errInvalidGrant.withCause(errors.New("code_verifier without a code_challenge"))
	case rec.Challenge != "" && verifier == "":
		return invalidRequest("The code_verifier parameter is missing.")
	case rec.Challenge != "":
		sum := sha256.Sum256([]byte(verifier))
		if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(rec.Challenge)) != 1 {
			return errInvalidGrant.withCause(errors.New("code_verifier does not match"))
		}
	}
	return nil
}

// validVerifier checks the form of a PKCE code verifier (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

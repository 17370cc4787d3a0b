package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// Cookie names. With an https issuer they carry the __Host- prefix
// (RFC 6265bis §4.1.3.2): Secure, Path=/ and no Domain, so that no other
// host, not even a sibling subdomain, can set or shadow them.
const (
	sessionCookieName = "gatehouse-session"
	bindingCookieName = "gatehouse-auth"
)

func (p *Provider) secureCookies() bool { return strings.HasPrefix(p.opts.Issuer, "https://") }

func (p *Provider) cookieName(base string) string {
	if p.secureCookies() {
		return "__Host-" + base
	}
	return base
}

// setCookie sets a browser-session cookie (no Max-Age: it ends with the
// browser; token state decides how long what it names lives). HttpOnly
// keeps it from scripts, SameSite=Lax from cross-site subrequests and
// POSTs while a top-level navigation back from a client still carries it.
func (p *Provider) setCookie(w http.ResponseWriter, base, value string) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(base), Value: value, Path: "/",
		HttpOnly: true, Secure: p.secureCookies(), SameSite: http.SameSiteLaxMode})
}

func (p *Provider) clearCookie(w http.ResponseWriter, base string) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(base), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secureCookies(), SameSite: http.SameSiteLaxMode})
}

// cookieSecret reads a cookie holding 32 random bytes in base64url; ok is
// false for a missing or malformed one.
func (p *Provider) cookieSecret(r *http.Request, base string) (secret []byte, ok bool) {
	ck, err := r.Cookie(p.cookieName(base))
	if err != nil || len(ck.Value) != 43 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(b) != 32 {
		return nil, false
	}
	return b, true
}

func newSecret() ([]byte, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return b, base64.RawURLEncoding.EncodeToString(b)
}

// sessionID is the token-state key of a login session: a digest of the
// cookie's secret, so that a dump of token state holds no usable cookie.
// It is also the sid of the session's ID tokens (OIDC Front- and
// Back-Channel Logout): knowing it does not let anyone use the session.
func sessionID(secret []byte) string { return digest128("gatehouse login session", secret) }

// maxSessionGrants bounds the grants (refresh families) one login session
// ties to itself: every code exchange adds one, so that a logout can end
// them, and the record that keeps them would otherwise grow for as long as
// the session lives, with every authorize-and-exchange loop of its user.
// A browser that silently renews every five minutes for the longest
// session (12 h by default) uses 144 per application.
const maxSessionGrants = 1000

// currentSession returns the browser's live login session, nil when it
// has none. A session of a user who is gone or disabled is no session,
// nor is one that holds maxSessionGrants grants: its user signs in again,
// which ends it with its grants and starts a fresh one.
func (p *Provider) currentSession(ctx context.Context, r *http.Request) (*storage.LoginSession, error) {
	secret, ok := p.cookieSecret(r, sessionCookieName)
	if !ok {
		return nil, nil
	}
	s, err := p.opts.State.GetLoginSession(ctx, sessionID(secret), p.opts.SessionIdleTTL)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && len(s.Families) >= maxSessionGrants) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if ok, err := p.sessionUnrevoked(ctx, &s); err != nil || !ok {
		return nil, err
	}
	return &s, nil
}

// sessionUnrevoked reports whether no mark on the session's user covers
// it: a new password, a disabled user, "revoke every token" end the
// user's sessions as they end their tokens, on every node and without a
// list of the sessions to find.
func (p *Provider) sessionUnrevoked(ctx context.Context, s *storage.LoginSession) (bool, error) {
	revoked, _, err := p.opts.State.IsRevoked(ctx, storage.TokenRef{UserID: s.UserID, IssuedAt: s.CreatedAt})
	return !revoked, err
}

// startSession signs the browser in as user: a new session under a new
// cookie (never one the browser brought along, against session
// fixation). A session the browser had is ended with its grants, as a
// logout would: on a shared computer the next person must not inherit the
// previous one's tokens.
//
// The session counts as begun at proved, taken before the password check
// read the user's password: a "revoked before" mark set after that read
// (a new password saved while the old one was being hashed) covers it,
// as it covers every session that old password opened (docs/operations.md,
// "Revocation").
func (p *Provider) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, user storage.User, proved time.Time) (storage.LoginSession, error) {
	return p.beginSession(ctx, w, r, user, proved.Truncate(storage.TimeResolution))
}

// startSessionAfter is startSession for a session that must begin after
// mark, a "revoked before" mark just set on the user, which would
// otherwise cover a session begun within the same microsecond.
func (p *Provider) startSessionAfter(ctx context.Context, w http.ResponseWriter, r *http.Request, user storage.User, mark time.Time) (storage.LoginSession, error) {
	now := p.now().Truncate(storage.TimeResolution)
	if after := mark.Truncate(storage.TimeResolution).Add(storage.TimeResolution); now.Before(after) {
		now = after
	}
	return p.beginSession(ctx, w, r, user, now)
}

// beginSession is startSession for a session begun at now.
func (p *Provider) beginSession(ctx context.Context, w http.ResponseWriter, r *http.Request, user storage.User, now time.Time) (storage.LoginSession, error) {
	if err := p.endSession(ctx, w, r); err != nil {
		return storage.LoginSession{}, err
	}
	secret, value := newSecret()
	s := storage.LoginSession{
		ID: sessionID(secret), UserID: user.ID, AuthTime: now, AMR: []string{"pwd"},
		CreatedAt: now, ExpiresAt: now.Add(p.opts.SessionMaxTTL),
		IdleExpiresAt: now.Add(min(p.opts.SessionIdleTTL, p.opts.SessionMaxTTL)),
		Device:        describeDevice(r.UserAgent()),
	}
	if err := p.opts.State.CreateLoginSession(ctx, s); err != nil {
		return storage.LoginSession{}, err
	}
	p.setCookie(w, sessionCookieName, value)
	return s, nil
}

// endSession ends the browser's login session, if any, with every grant
// started in it (their refresh tokens and access tokens), and clears its
// cookie.
func (p *Provider) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	secret, ok := p.cookieSecret(r, sessionCookieName)
	if !ok {
		return nil
	}
	s, err := p.opts.State.EndLoginSession(ctx, sessionID(secret))
	if errors.Is(err, storage.ErrNotFound) {
		p.clearCookie(w, sessionCookieName)
		return nil
	} else if err != nil {
		return err
	}
	for _, fam := range s.Families {
		if err := p.opts.State.RevokeFamily(ctx, fam); err != nil {
			return err
		}
	}
	p.clearCookie(w, sessionCookieName)
	return nil
}

// sessionSatisfies reports whether a live session may answer req without
// asking the user to sign in again (OIDC Core 1.0 §3.1.2.1: prompt,
// max_age, id_token_hint).
func (p *Provider) sessionSatisfies(s *storage.LoginSession, req *authRequest) bool {
	switch {
	case req.prompts("login"), req.prompts("select_account"):
		return false
	case req.MaxAge >= 0 && p.now().Sub(s.AuthTime) > time.Duration(req.MaxAge)*time.Second:
		return false
	case req.HintSubject != "" && req.HintSubject != s.UserID:
		return false
	}
	return true
}

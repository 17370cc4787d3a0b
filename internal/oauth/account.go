package oauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// PathAccount is the account page, where a signed-in user manages their
// profile, password, sessions and consents (internal/signin serves it).
const PathAccount = "/account"

// accountThrottleClient stands for the account page in the login
// throttle's buckets, which are kept per client: an old password guessed
// on the account page counts like a sign-in attempt, under no client's
// name.
const accountThrottleClient = "#account"

// Errors of the account page that the pages turn into messages.
var (
	// ErrSignedOut: the browser has no live login session.
	ErrSignedOut = errors.New("the browser is not signed in")
	// ErrConfirmationMismatch: the new password and its confirmation
	// differ.
	ErrConfirmationMismatch = errors.New("the new password and its confirmation differ")
	// ErrInvalidInput: a field of an account form is malformed; the pages
	// only send what their forms hold, so this is a tampered or broken
	// form.
	ErrInvalidInput = errors.New("invalid account form")
)

// AccountSession is the signed-in browser as the account page sees it.
type AccountSession struct {
	UserID    string
	SessionID string
	// CSRF is the token the account page's forms carry. It is derived from
	// the session cookie's secret, which only this browser holds, so that
	// it needs no storage and ends with the session.
	CSRF string
	// AuthTime is when the user last proved their password in this
	// session: it may end only sessions proven no later (MayEnd).
	AuthTime time.Time
}

// MayEnd reports whether this session may end other, one of its user's:
// only one proven no later. A cookie stolen without the password must not
// sign the user out each time they sign in to change it; the newer
// session, with the fresher proof, ends the older.
func (s AccountSession) MayEnd(other storage.LoginSession) bool {
	return other.ID == s.SessionID || !other.AuthTime.After(s.AuthTime)
}

// Account is what the account page shows.
type Account struct {
	User      storage.User
	Languages []storage.Language
	// Sessions are the user's live login sessions: this browser's first
	// (its ID is the AccountSession's SessionID), then newest first.
	Sessions []AccountLogin
	Consents []AccountConsent
}

// AccountLogin is one of the user's login sessions.
type AccountLogin struct {
	storage.LoginSession
	// LastUsed is when the session was last used, to within a request:
	// each use pushes its idle expiry to that time plus the idle
	// lifetime, until the absolute expiry caps it.
	LastUsed time.Time
}

// AccountConsent is a consent the user gave to an application.
type AccountConsent struct {
	storage.Consent
	ClientName string
	Scopes     []ScopeInfo
}

// maxListedConsents bounds the consents the account page lists: a user
// has given one per application they use.
const maxListedConsents = 200

// CurrentAccount returns the browser's signed-in user, ErrSignedOut when
// it has no live session.
func (p *Provider) CurrentAccount(r *http.Request) (AccountSession, error) {
	ctx := r.Context()
	secret, ok := p.cookieSecret(r, sessionCookieName)
	if !ok {
		return AccountSession{}, ErrSignedOut
	}
	s, err := p.currentSession(ctx, r)
	if err != nil {
		return AccountSession{}, err
	}
	if s == nil {
		return AccountSession{}, ErrSignedOut
	}
	user, err := p.opts.Store.GetUser(ctx, p.opts.Realm, s.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && user.Status != storage.StatusActive) {
		return AccountSession{}, ErrSignedOut
	} else if err != nil {
		return AccountSession{}, err
	}
	return AccountSession{UserID: s.UserID, SessionID: s.ID, CSRF: digest128("gatehouse account csrf", secret), AuthTime: s.AuthTime}, nil
}

// BeginAccountSignIn starts a sign-in whose destination is the account
// page and returns the login page's URL. uiLocales, space-separated as
// in OIDC's ui_locales, picks the login page's language.
func (p *Provider) BeginAccountSignIn(w http.ResponseWriter, r *http.Request, uiLocales string) (string, error) {
	req := authRequest{UILocales: parseUILocales(uiLocales), MaxAge: -1}
	return p.newPending(r.Context(), w, r, pendingRecord{Req: req, Stage: StageLogin, Account: true})
}

// signInAccount is SignIn for a sign-in begun by BeginAccountSignIn.
func (p *Provider) signInAccount(ctx context.Context, w http.ResponseWriter, r *http.Request, id, username string, pw []byte) (string, error) {
	proved := p.now()
	user, err := p.authenticateUser(ctx, accountThrottleClient, username, storage.ThrottleSource(r.RemoteAddr), pw)
	if err != nil {
		return "", signInError(err)
	}
	if _, err := p.startSession(ctx, w, r, user, proved); err != nil {
		return "", err
	}
	if err := p.opts.State.DeleteEntry(ctx, pendingKey(id)); err != nil {
		return "", err
	}
	return p.opts.Issuer + PathAccount, nil
}

// LoadAccount returns what the account page shows to s's user.
func (p *Provider) LoadAccount(ctx context.Context, s AccountSession) (Account, error) {
	var a Account
	var err error
	if a.User, err = p.accountUser(ctx, s); err != nil {
		return Account{}, err
	}
	langs, err := p.opts.Store.ListLanguages(ctx, p.opts.Realm, storage.ListOptions{Limit: 500})
	if err != nil {
		return Account{}, err
	}
	a.Languages = langs.Items
	sessions, err := p.opts.State.ListLoginSessions(ctx, s.UserID)
	if err != nil {
		return Account{}, err
	}
	// A session begun before a mark on its user (a password change,
	// "revoke every token") is over, though its record lives on. The
	// user has one mark and the list is newest first, so the live ones
	// are a prefix of it: found in log₂(n) checks, not n.
	var markErr error
	live := sort.Search(len(sessions), func(i int) bool {
		ok, err := p.sessionUnrevoked(ctx, &sessions[i])
		markErr = cmp.Or(markErr, err)
		return !ok
	})
	if markErr != nil {
		return Account{}, markErr
	}
	for _, ls := range sessions[:live] {
		used := ls.IdleExpiresAt.Add(-p.opts.SessionIdleTTL)
		if used.Before(ls.CreatedAt) {
			used = ls.CreatedAt
		}
		a.Sessions = append(a.Sessions, AccountLogin{LoginSession: ls, LastUsed: used})
	}
	// This browser's session first, the others newest first.
	slices.SortStableFunc(a.Sessions, func(x, y AccountLogin) int {
		return boolRank(y.ID == s.SessionID) - boolRank(x.ID == s.SessionID)
	})
	consents, err := p.opts.Store.ListConsents(ctx, p.opts.Realm, s.UserID, storage.ListOptions{Limit: maxListedConsents})
	if err != nil {
		return Account{}, err
	}
	for _, c := range consents.Items {
		ac := AccountConsent{Consent: c, ClientName: c.ClientID}
		if cl, err := p.opts.Store.GetClient(ctx, p.opts.Realm, c.ClientID); err == nil && cl.Name != "" {
			ac.ClientName = cl.Name
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return Account{}, err
		}
		if ac.Scopes, err = p.describeScopes(ctx, c.Scopes); err != nil {
			return Account{}, err
		}
		a.Consents = append(a.Consents, ac)
	}
	return a, nil
}

// accountUser loads s's user, ErrSignedOut when they are gone or
// disabled.
func (p *Provider) accountUser(ctx context.Context, s AccountSession) (storage.User, error) {
	u, err := p.opts.Store.GetUser(ctx, p.opts.Realm, s.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Status != storage.StatusActive) {
		return storage.User{}, ErrSignedOut
	}
	return u, err
}

// maxDisplayNameLen is the management API's limit on display names.
const maxDisplayNameLen = 512

// UpdateProfile sets the display name and language of s's user. language
// must be one of the realm's languages.
func (p *Provider) UpdateProfile(ctx context.Context, s AccountSession, displayName, language string) error {
	displayName = strings.TrimSpace(displayName)
	if len(displayName) > maxDisplayNameLen || !utf8.ValidString(displayName) || strings.IndexFunc(displayName, unicode.IsControl) >= 0 {
		return ErrInvalidInput
	}
	if language == "" || len(language) > 35 {
		return ErrInvalidInput
	}
	if _, err := p.opts.Store.GetLanguage(ctx, p.opts.Realm, language); errors.Is(err, storage.ErrNotFound) {
		return ErrInvalidInput
	} else if err != nil {
		return err
	}
	actor := storage.Actor{Type: storage.ActorUser, ID: s.UserID}
	_, err := p.opts.Store.UpdateUser(ctx, actor, p.opts.Realm, s.UserID, func(u *storage.User) error {
		if u.Status != storage.StatusActive {
			return ErrSignedOut
		}
		u.DisplayName, u.Language = displayName, language
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return ErrSignedOut
	}
	return err
}

// ChangePassword replaces the password of s's user after checking the
// old one, b64u(P) under the current salt, with the login throttle. Every
// token and every session of the user ends, this one included; the
// browser is then signed in afresh, under a new cookie, so that it stays
// on the account page while whoever else held a session is out.
// Errors: ErrBadCredentials (old password wrong), *RetryError,
// ErrConfirmationMismatch, ErrInvalidInput, ErrSignedOut.
func (p *Provider) ChangePassword(w http.ResponseWriter, r *http.Request, s AccountSession, old string, next clienthash.PasswordSetting) error {
	ctx := r.Context()
	user, err := p.accountUser(ctx, s)
	if err != nil {
		return err
	}
	oldP, err := credential.ParsePasswordWire(old)
	if err != nil {
		return ErrInvalidInput
	}
	// The old password first: the throttle answers before any hashing
	// (LoginThrottle), and the new password's hash is work for the server.
	if user, err = p.authenticateUser(ctx, accountThrottleClient, user.Username, storage.ThrottleSource(r.RemoteAddr), oldP); err != nil {
		return signInError(err)
	}
	if user.ID != s.UserID {
		return ErrSignedOut // renamed meanwhile, and the name taken by another
	}
	verifier, err := p.newPasswordVerifier(ctx, next)
	if err != nil {
		return err
	}
	actor := storage.Actor{Type: storage.ActorUser, ID: user.ID}
	mark, err := p.setPassword(ctx, actor, user.ID, verifier)
	if err != nil {
		return err
	}
	_, err = p.startSessionAfter(ctx, w, r, user, mark)
	return err
}

// newPasswordVerifier checks a client-side hashed password setting and
// returns what to store: the client's KDF parameters and argon2id of P.
func (p *Provider) newPasswordVerifier(ctx context.Context, in clienthash.PasswordSetting) (*storage.PasswordVerifier, error) {
	v, err := p.opts.Hasher.NewVerifier(ctx, in, p.opts.PasswordIterations)
	switch {
	case errors.Is(err, credential.ErrConfirmationMismatch):
		return nil, ErrConfirmationMismatch
	case errors.Is(err, credential.ErrBusy):
		return nil, &RetryError{After: time.Second}
	case err != nil:
		var fe *credential.FieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
		return nil, err
	}
	return v, nil
}

// setPassword stores a new password and ends every token and session of
// the user, in the management API's order (docs/operations.md,
// "Revocation"): revoke first, so that a thief's session does not outlive
// the change, then save, then revoke again, for a sign-in with the old
// password that began in between.
func (p *Provider) setPassword(ctx context.Context, actor storage.Actor, userID string, v *storage.PasswordVerifier) (mark time.Time, err error) {
	ctx = context.WithoutCancel(ctx) // half a change is worse than a slow one
	if _, err := p.revokeUser(ctx, userID); err != nil {
		return time.Time{}, err
	}
	if _, err := p.opts.Store.UpdateUser(ctx, actor, p.opts.Realm, userID, func(u *storage.User) error {
		u.Password = v
		return nil
	}); errors.Is(err, storage.ErrNotFound) {
		return time.Time{}, ErrSignedOut
	} else if err != nil {
		return time.Time{}, err
	}
	return p.revokeUser(ctx, userID)
}

// revokeUser marks every token and login session of the user as revoked,
// for as long as either can live, and returns the mark.
func (p *Provider) revokeUser(ctx context.Context, userID string) (time.Time, error) {
	keep := max(storage.MaxRefreshTokenTTL, p.opts.SessionMaxTTL)
	mark := p.now()
	return mark, p.opts.State.RevokeSubject(ctx, storage.SubjectUser, userID, mark, keep)
}

// EndAccountSession ends one of s's user's sessions (on another device,
// or this one) with every grant started in it. Ending a session that is
// not the user's, or no longer live, or that s may not end (MayEnd), does
// nothing: the page offers only those it may.
func (p *Provider) EndAccountSession(w http.ResponseWriter, r *http.Request, s AccountSession, sessionID string) error {
	ctx := r.Context()
	if sessionID == "" || len(sessionID) > 64 {
		return ErrInvalidInput
	}
	if sessionID == s.SessionID {
		return p.endSession(ctx, w, r)
	}
	other, err := p.opts.State.GetLoginSession(ctx, sessionID, 0)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (other.UserID != s.UserID || !s.MayEnd(other))) {
		return nil
	} else if err != nil {
		return err
	}
	ended, err := p.opts.State.EndLoginSession(ctx, sessionID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	for _, fam := range ended.Families {
		if err := p.opts.State.RevokeFamily(ctx, fam); err != nil {
			return err
		}
	}
	// Signing another browser out is what a user does who suspects a
	// stolen session: the audit log keeps it (the session's id is the
	// sid of its ID tokens, which names it to relying parties too).
	e := storage.AuditEntry{Actor: storage.Actor{Type: storage.ActorUser, ID: s.UserID}, Action: storage.ActionSessionEnd,
		TargetType: storage.TargetUser, TargetID: s.UserID, Details: map[string]string{"sid": sessionID}}
	if err := p.opts.Store.AppendAudit(ctx, p.opts.Realm, e); err != nil {
		p.opts.Logger.WarnContext(ctx, "cannot record a session sign-out in the audit log", "err", err)
	}
	return nil
}

// RevokeAccountConsent withdraws the consent s's user gave to clientID:
// the application asks again next time. Its tokens stay valid until they
// expire or are revoked, as with the management API's consent routes.
func (p *Provider) RevokeAccountConsent(ctx context.Context, s AccountSession, clientID string) error {
	if clientID == "" || len(clientID) > 256 {
		return ErrInvalidInput
	}
	actor := storage.Actor{Type: storage.ActorUser, ID: s.UserID}
	err := p.opts.Store.RevokeConsent(ctx, actor, p.opts.Realm, s.UserID, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// PasswordIterations is the PBKDF2 iteration count every new password
// must be derived with (docs/client-side-hashing.md).
func (p *Provider) PasswordIterations() int { return p.opts.PasswordIterations }

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CheckOwnPassword checks the password of user userID, b64u(P), under the
// login throttle, like the account page's password change: for the
// management API's PUT /admin/me/password. source is the caller's
// address (host:port or host).
func (p *Provider) CheckOwnPassword(ctx context.Context, userID, source string, pw []byte) (bool, time.Duration, error) {
	u, err := p.opts.Store.GetUser(ctx, p.opts.Realm, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, 0, nil
	} else if err != nil {
		return false, 0, err
	}
	user, err := p.authenticateUser(ctx, accountThrottleClient, u.Username, storage.ThrottleSource(source), pw)
	var retry *RetryError
	switch err := signInError(err); {
	case err == nil:
		return user.ID == userID, 0, nil
	case errors.Is(err, ErrBadCredentials):
		return false, 0, nil
	case errors.As(err, &retry):
		return false, retry.After, nil
	default:
		return false, 0, err
	}
}

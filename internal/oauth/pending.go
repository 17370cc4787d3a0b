package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// pendingTTL is how long a user has to sign in and consent.
const pendingTTL = 30 * time.Minute

// pendingRecord is a pending authorization request, kept in token state
// while the browser is at the login or consent page. The page URL names
// it; a cookie binds it to the browser that started it, so that a link to
// someone else's pending request is worthless; every form carries its
// CSRF token.
type pendingRecord struct {
	Req     authRequest `json:"q"`
	Binding string      `json:"b"` // digest of the browser's binding cookie
	CSRF    string      `json:"x"`
	Stage   Stage       `json:"st"`
	// At StageConsent: the session that signed in, its user, and the
	// scopes the user is asked to consent to.
	SessionID string   `json:"sid,omitempty"`
	UserID    string   `json:"u,omitempty"`
	Scopes    []string `json:"g,omitempty"`
	// Account marks a sign-in for the account page (BeginAccountSignIn):
	// no client, and the account page is where the browser goes next.
	Account bool `json:"acct,omitempty"`
}

func pendingKey(id string) string { return "ar:" + id }

// authorize answers a valid authorization request: with a code when the
// browser's session and the user's consent allow it, otherwise by sending
// the browser to the login or consent page.
func (p *Provider) authorize(ctx context.Context, w http.ResponseWriter, r *http.Request, c storage.Client, req *authRequest) (string, error) {
	sess, err := p.currentSession(ctx, r)
	if err != nil {
		return "", err
	}
	if sess != nil && !p.sessionSatisfies(sess, req) {
		sess = nil
	}
	if sess == nil {
		if req.prompts("none") {
			return "", newAuthError("login_required", "The user is not signed in.")
		}
		return p.newPending(ctx, w, r, pendingRecord{Req: *req, Stage: StageLogin})
	}
	return p.afterLogin(ctx, w, r, c, req, sess, "", nil)
}

// afterLogin goes on once the browser has a session that may answer req:
// to the client with a code, or to the consent page. pendingID and prev
// are the pending request the browser came from, if any: it goes on
// under its id, with its browser binding and CSRF token.
func (p *Provider) afterLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, c storage.Client, req *authRequest, sess *storage.LoginSession, pendingID string, prev *pendingRecord) (string, error) {
	user, err := p.opts.Store.GetUser(ctx, p.opts.Realm, sess.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && user.Status != storage.StatusActive) {
		if err := p.endSession(ctx, w, r); err != nil {
			return "", err
		}
		if req.prompts("none") {
			return "", newAuthError("login_required", "The user is not signed in.")
		}
		return p.newPending(ctx, w, r, pendingRecord{Req: *req, Stage: StageLogin})
	} else if err != nil {
		return "", err
	}
	scopes, err := p.grantableScopes(ctx, c, req, user.ID)
	if err != nil {
		return "", err
	}
	need, err := p.needsConsent(ctx, c, req, user.ID, scopes)
	if err != nil {
		return "", err
	}
	if !need {
		if pendingID != "" {
			if err := p.opts.State.DeleteEntry(ctx, pendingKey(pendingID)); err != nil {
				return "", err
			}
		}
		return p.issueCode(ctx, c, req, sess, scopes)
	}
	if req.prompts("none") {
		return "", newAuthError("consent_required", "The user has not consented to this client.")
	}
	rec := pendingRecord{Req: *req, Stage: StageConsent, SessionID: sess.ID, UserID: user.ID, Scopes: scopes}
	if prev != nil {
		rec.Binding, rec.CSRF = prev.Binding, prev.CSRF
		return p.updatePending(ctx, w, r, pendingID, rec)
	}
	return p.newPending(ctx, w, r, rec)
}

// grantableScopes is what a code for user would carry: the requested OIDC
// scopes, and the requested admin resources that the client may request
// and the user holds (all of them when no scope was requested, as for the
// password grant).
func (p *Provider) grantableScopes(ctx context.Context, c storage.Client, req *authRequest, userID string) ([]string, error) {
	userRes, err := p.userResources(ctx, userID, c.ContextID)
	if err != nil {
		return nil, err
	}
	permitted := clientAllowed(c, userRes)
	oidc, admin := splitScopes(req.Scopes)
	if req.ScopeGiven {
		admin = intersect(admin, permitted)
	} else {
		admin = permitted
	}
	out := append(slices.Clone(oidc), admin...)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// needsConsent reports whether the user must be asked: never for a
// first-party client, always when the client asked with prompt=consent,
// otherwise when an earlier consent does not cover scopes.
func (p *Provider) needsConsent(ctx context.Context, c storage.Client, req *authRequest, userID string, scopes []string) (bool, error) {
	if c.SkipConsent {
		return false, nil
	}
	if req.prompts("consent") {
		return true, nil
	}
	given, err := p.opts.Store.GetConsent(ctx, p.opts.Realm, userID, c.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	} else if err != nil {
		return false, err
	}
	for _, s := range scopes {
		if !slices.Contains(given.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// newPending stores rec under a new id, binds it to this browser and
// returns the URL of the page that goes on with it.
func (p *Provider) newPending(ctx context.Context, w http.ResponseWriter, r *http.Request, rec pendingRecord) (string, error) {
	binding, ok := p.cookieSecret(r, bindingCookieName)
	if !ok {
		var value string
		binding, value = newSecret()
		p.setCookie(w, bindingCookieName, value)
	}
	rec.Binding = digest128("gatehouse binding", binding)
	_, rec.CSRF = newSecret()
	id, err := randomID()
	if err != nil {
		return "", err
	}
	return p.updatePending(ctx, w, r, id, rec)
}

func (p *Provider) updatePending(ctx context.Context, _ http.ResponseWriter, _ *http.Request, id string, rec pendingRecord) (string, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encode pending request: %w", err)
	}
	if err := p.opts.State.PutEntry(ctx, pendingKey(id), b, p.now().Add(pendingTTL)); err != nil {
		return "", err
	}
	page := PathLogin
	if rec.Stage == StageConsent {
		page = PathConsent
	}
	return p.opts.Issuer + page + "?" + url.Values{"auth": {id}}.Encode(), nil
}

// loadPending reads pending request id for a request of the browser that
// started it; csrf, unless nil, must be the request's CSRF token.
func (p *Provider) loadPending(ctx context.Context, r *http.Request, id string, csrf *string) (pendingRecord, error) {
	var rec pendingRecord
	if id == "" || len(id) > 64 {
		return rec, ErrPendingGone
	}
	b, err := p.opts.State.GetEntry(ctx, pendingKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return rec, ErrPendingGone
	} else if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decode pending request: %w", err)
	}
	binding, ok := p.cookieSecret(r, bindingCookieName)
	if !ok || subtle.ConstantTimeCompare([]byte(digest128("gatehouse binding", binding)), []byte(rec.Binding)) != 1 {
		return rec, ErrPendingGone
	}
	if csrf != nil && subtle.ConstantTimeCompare([]byte(*csrf), []byte(rec.CSRF)) != 1 {
		return rec, ErrForgedForm
	}
	return rec, nil
}

// PendingAuthorization returns what the pages show of pending request
// id; ErrPendingGone unless it is live and was started in this browser.
func (p *Provider) PendingAuthorization(r *http.Request, id string) (Pending, error) {
	ctx, err := p.opts.Views.Begin(r.Context())
	if err != nil {
		return Pending{}, err
	}
	rec, err := p.loadPending(ctx, r, id, nil)
	if err != nil {
		return Pending{}, err
	}
	if rec.Account {
		return Pending{ID: id, Stage: StageLogin, Account: true, UILocales: rec.Req.UILocales, CSRF: rec.CSRF}, nil
	}
	c, err := p.opts.Store.GetClient(ctx, p.opts.Realm, rec.Req.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return Pending{}, ErrPendingGone
	} else if err != nil {
		return Pending{}, err
	}
	out := Pending{ID: id, Stage: rec.Stage, ClientID: c.ClientID, ClientName: c.Name,
		LoginHint: rec.Req.LoginHint, UILocales: rec.Req.UILocales, CSRF: rec.CSRF}
	if rec.Stage != StageConsent {
		return out, nil
	}
	user, err := p.opts.Store.GetUser(ctx, p.opts.Realm, rec.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return Pending{}, ErrPendingGone
	} else if err != nil {
		return Pending{}, err
	}
	out.Username, out.UserLanguage = user.Username, user.Language
	if out.Scopes, err = p.describeScopes(ctx, rec.Scopes); err != nil {
		return Pending{}, err
	}
	return out, nil
}

// describeScopes lists scopes for a consent page: OIDC scopes first.
func (p *Provider) describeScopes(ctx context.Context, scopes []string) ([]ScopeInfo, error) {
	oidc, admin := splitScopes(scopes)
	out := make([]ScopeInfo, 0, len(scopes))
	for _, s := range oidc {
		out = append(out, ScopeInfo{Name: s, OIDC: true})
	}
	for _, s := range admin {
		res, err := p.opts.Store.GetResource(ctx, p.opts.Realm, s)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted meanwhile: it will not be granted either
		} else if err != nil {
			return nil, err
		}
		out = append(out, ScopeInfo{Name: s, Description: res.Description})
	}
	return out, nil
}

// SignIn checks the user's password for pending request id, signs the
// browser in and returns where it goes next.
func (p *Provider) SignIn(w http.ResponseWriter, r *http.Request, id, csrf, username, password string) (string, error) {
	ctx, err := p.opts.Views.Begin(r.Context())
	if err != nil {
		return "", err
	}
	rec, err := p.loadPending(ctx, r, id, &csrf)
	if err != nil {
		return "", err
	}
	pw, err := credential.ParsePasswordWire(password)
	if err != nil {
		return "", ErrPasswordNotHashed
	}
	if username == "" || len(username) > maxUsernameLen {
		return "", ErrBadCredentials
	}
	if rec.Account {
		return p.signInAccount(ctx, w, r, id, username, pw)
	}
	c, err := p.pendingClient(ctx, &rec)
	if err != nil {
		return "", err
	}
	proved := p.now()
	user, err := p.authenticateUser(ctx, c.ClientID, username, storage.ThrottleSource(r.RemoteAddr), pw)
	if err != nil {
		return "", signInError(err)
	}
	sess, err := p.startSession(ctx, w, r, user, proved)
	if err != nil {
		return "", err
	}
	return p.afterLogin(ctx, w, r, c, &rec.Req, &sess, id, &rec)
}

// pendingClient loads the client of a pending request and checks again
// what the authorization endpoint checked when the request began: the
// request may be 30 minutes old. A client deleted, disabled, no longer
// allowed the flow or owned by a disabled user, or a redirect URI no
// longer registered, ends the request: nothing, not even an error, may
// be sent to a redirect URI the client's administrator has withdrawn.
func (p *Provider) pendingClient(ctx context.Context, rec *pendingRecord) (storage.Client, error) {
	c, err := p.opts.Store.GetClient(ctx, p.opts.Realm, rec.Req.ClientID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (c.Status != storage.StatusActive ||
		!slices.Contains(c.GrantTypes, grantAuthorizationCode) || !redirectURIRegistered(c.RedirectURIs, rec.Req.RedirectURI))) {
		return storage.Client{}, ErrPendingGone
	} else if err != nil {
		return storage.Client{}, err
	}
	if err := p.ownerActive(ctx, c); errors.Is(err, errOwnerInactive) {
		return storage.Client{}, ErrPendingGone
	} else if err != nil {
		return storage.Client{}, err
	}
	return c, nil
}

// signInError maps the password check's errors to the pages' errors.
func signInError(err error) error {
	var oe *oauthError
	if !errors.As(err, &oe) {
		if errors.Is(err, credential.ErrBusy) {
			return &RetryError{After: time.Second}
		}
		return err
	}
	switch {
	case oe.Code == errInvalidGrant.Code:
		return ErrBadCredentials
	case oe.RetryAfter > 0:
		return &RetryError{After: time.Duration(oe.RetryAfter) * time.Second}
	}
	return err
}

// Decide records the user's consent decision on pending request id and
// returns where the browser goes: to the client, with a code or with
// access_denied.
func (p *Provider) Decide(w http.ResponseWriter, r *http.Request, id, csrf string, allow bool) (string, error) {
	ctx, err := p.opts.Views.Begin(r.Context())
	if err != nil {
		return "", err
	}
	rec, err := p.loadPending(ctx, r, id, &csrf)
	if err != nil {
		return "", err
	}
	sess, err := p.currentSession(ctx, r)
	if err != nil {
		return "", err
	}
	if rec.Stage != StageConsent || sess == nil || sess.ID != rec.SessionID {
		return "", ErrPendingGone
	}
	// Spent before anything is issued: of two submissions of the form,
	// one decides.
	if _, first, err := p.opts.State.TakeEntry(ctx, pendingKey(id), p.now()); errors.Is(err, storage.ErrNotFound) || (err == nil && !first) {
		return "", ErrPendingGone
	} else if err != nil {
		return "", err
	}
	c, err := p.pendingClient(ctx, &rec)
	if err != nil {
		return "", err
	}
	v := url.Values{"iss": {p.opts.Issuer}}
	if rec.Req.State != "" {
		v.Set("state", rec.Req.State)
	}
	if !allow {
		v.Set("error", "access_denied")
		v.Set("error_description", "The user denied the request.")
		return withQuery(rec.Req.RedirectURI, v), nil
	}
	actor := storage.Actor{Type: storage.ActorUser, ID: rec.UserID}
	if _, err := p.opts.Store.GrantConsent(ctx, actor, p.opts.Realm, rec.UserID, c.ClientID, rec.Scopes); err != nil {
		return "", err
	}
	return p.issueCode(ctx, c, &rec.Req, sess, rec.Scopes)
}

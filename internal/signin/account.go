package signin

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

// AccountFlow is the OAuth provider's side of the account page: who is
// signed in, what to show them, and the changes they may make to their
// own account. Its errors are oauth.ErrSignedOut, ErrBadCredentials,
// ErrConfirmationMismatch, ErrInvalidInput and *RetryError; any other is
// an internal one.
type AccountFlow interface {
	CurrentAccount(r *http.Request) (oauth.AccountSession, error)
	BeginAccountSignIn(w http.ResponseWriter, r *http.Request, uiLocales string) (string, error)
	LoadAccount(ctx context.Context, s oauth.AccountSession) (oauth.Account, error)
	UpdateProfile(ctx context.Context, s oauth.AccountSession, displayName, language string) error
	ChangePassword(w http.ResponseWriter, r *http.Request, s oauth.AccountSession, old string, next clienthash.PasswordSetting) error
	EndAccountSession(w http.ResponseWriter, r *http.Request, s oauth.AccountSession, sessionID string) error
	RevokeAccountConsent(ctx context.Context, s oauth.AccountSession, clientID string) error
	PasswordIterations() int
}

// Paths of the account page's forms, below oauth.PathAccount.
const (
	pathAccountProfile  = oauth.PathAccount + "/profile"
	pathAccountPassword = oauth.PathAccount + "/password"
	pathAccountSession  = oauth.PathAccount + "/sessions/end"
	pathAccountConsent  = oauth.PathAccount + "/consents/revoke"
	pathAccountSignOut  = oauth.PathAccount + "/sign-out"
)

// Fields of the account page's forms, with their limits in bytes.
var (
	profileFields  = map[string]int{"csrf": maxCSRFLen, "display_name": 512, "language": 35}
	passwordFields = map[string]int{"csrf": maxCSRFLen, "old_password": maxPasswordLen, "kdf": 32,
		"iterations": 10, "salt": 64, "hash": maxPasswordLen, "confirmation": maxPasswordLen}
	sessionFields       = map[string]int{"csrf": maxCSRFLen, "session": 64}
	consentRevokeFields = map[string]int{"csrf": maxCSRFLen, "client_id": 256}
	signOutFields       = map[string]int{"csrf": maxCSRFLen}
)

// done are the confirmations the account page shows after a change
// (?done=…, post/redirect/get), each a catalogue key.
var done = map[string]string{
	"profile":  "account.done.profile",
	"password": "account.done.password",
	"session":  "account.done.session",
	"consent":  "account.done.consent",
}

// accountView is what the account template shows.
type accountView struct {
	Base       string // the issuer's path, prefixing the forms' actions
	CSRF       string
	Username   string
	Email      string
	Name       string
	Language   string
	Languages  []languageOption
	Iterations int
	Prelogin   string
	Done       string // a confirmation of the last change
	Problem    string // what went wrong with the password form
	Sessions   []sessionView
	Consents   []consentItemView
}

type languageOption struct{ Code, Name string }

type sessionView struct {
	ID, Device, SignedIn, LastSeen string
	Current                        bool
	Endable                        bool // this browser may end it (oauth.AccountSession.MayEnd)
}

type consentItemView struct {
	ClientID, Client, Given string
	Scopes                  []scopeView
}

// registerAccount mounts the account page and its forms.
func (p *Pages) registerAccount(r *mux.Router) {
	r.Handle(oauth.PathAccount, p.only(http.MethodGet, p.handleAccountPage))
	for path, h := range map[string]http.HandlerFunc{
		pathAccountProfile:  p.accountAction(profileFields, p.updateProfile),
		pathAccountPassword: p.handlePasswordPost,
		pathAccountSession:  p.accountAction(sessionFields, p.endSession),
		pathAccountConsent:  p.accountAction(consentRevokeFields, p.revokeConsent),
		pathAccountSignOut:  p.accountAction(signOutFields, p.signOut),
	} {
		r.Handle(path, p.only(http.MethodPost, h))
	}
}

// handleAccountPage shows the account page, or starts a sign-in that
// comes back to it.
func (p *Pages) handleAccountPage(w http.ResponseWriter, r *http.Request) {
	s, err := p.opts.Account.CurrentAccount(r)
	if errors.Is(err, oauth.ErrSignedOut) {
		next, err := p.opts.Account.BeginAccountSignIn(w, r, r.URL.Query().Get("ui_locales"))
		if err != nil {
			p.fail(w, r, p.langs.pick(r, queryLocales(r), ""), err)
			return
		}
		redirect(w, next)
		return
	} else if err != nil {
		p.fail(w, r, p.langs.pick(r, queryLocales(r), ""), err)
		return
	}
	p.renderAccount(w, r, s, http.StatusOK, done[r.URL.Query().Get("done")], "")
}

// renderAccount renders the account page of s with, unless empty, the
// catalogue key of a confirmation (doneKey) or of a problem with the
// password form.
func (p *Pages) renderAccount(w http.ResponseWriter, r *http.Request, s oauth.AccountSession, status int, doneKey, problemKey string) {
	a, err := p.opts.Account.LoadAccount(r.Context(), s)
	if err != nil {
		p.accountFail(w, r, err)
		return
	}
	c := p.langs.pick(r, queryLocales(r), a.User.Language)
	v := &accountView{Base: p.base, CSRF: s.CSRF, Username: a.User.Username, Email: a.User.Email,
		Name: a.User.DisplayName, Language: a.User.Language, Iterations: p.opts.Account.PasswordIterations(),
		Prelogin: p.base + oauth.PathPrelogin}
	if doneKey != "" {
		v.Done = c.must(doneKey)
	}
	if problemKey != "" {
		v.Problem = c.must(problemKey)
	}
	for _, l := range a.Languages {
		v.Languages = append(v.Languages, languageOption{l.Code, l.Name})
	}
	for _, ls := range a.Sessions {
		device := ls.Device
		if device == "" {
			device = c.must("account.sessions.unknown_device")
		}
		v.Sessions = append(v.Sessions, sessionView{ID: ls.ID, Device: device, Current: ls.ID == s.SessionID,
			Endable: s.MayEnd(ls.LoginSession), SignedIn: formatTime(ls.CreatedAt), LastSeen: formatTime(ls.LastUsed)})
	}
	for _, cs := range a.Consents {
		v.Consents = append(v.Consents, consentItemView{ClientID: cs.ClientID, Client: cs.ClientName,
			Given: formatTime(cs.UpdatedAt), Scopes: scopeViews(c, cs.Scopes)})
	}
	p.render(w, status, "account", &view{cat: c, Title: c.must("account.title"), Account: v})
}

// formatTime shows a time in UTC, the same in every language.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// accountForm reads one of the account page's forms and checks its CSRF
// token against the signed-in session. ok is false when it answered.
func (p *Pages) accountForm(w http.ResponseWriter, r *http.Request, fields map[string]int) (oauth.AccountSession, map[string]string, bool) {
	f, err := readForm(w, r, fields)
	if err != nil {
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
		return oauth.AccountSession{}, nil, false
	}
	s, err := p.opts.Account.CurrentAccount(r)
	if err != nil {
		p.accountFail(w, r, err)
		return oauth.AccountSession{}, nil, false
	}
	if subtle.ConstantTimeCompare([]byte(f["csrf"]), []byte(s.CSRF)) != 1 {
		p.fail(w, r, p.langs.pick(r, nil, ""), oauth.ErrForgedForm)
		return oauth.AccountSession{}, nil, false
	}
	return s, f, true
}

// accountFail answers an account form's failure: a browser no longer
// signed in goes back to the account page (which asks it to sign in), a
// malformed form gets the form error; the rest are fail's.
func (p *Pages) accountFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, oauth.ErrSignedOut):
		redirect(w, p.base+oauth.PathAccount)
	case errors.Is(err, oauth.ErrInvalidInput):
		p.fail(w, r, p.langs.pick(r, nil, ""), errBadForm)
	default:
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
	}
}

func (p *Pages) accountDone(w http.ResponseWriter, what string) {
	redirect(w, p.base+oauth.PathAccount+"?done="+what)
}

// handlePasswordPost changes the password. Every value is what the
// page's script derived in the browser: the typed passwords have no name
// and are never sent. A wrong old password or a mismatch shows the page
// again with the problem; the browser stays signed in.
func (p *Pages) handlePasswordPost(w http.ResponseWriter, r *http.Request) {
	s, f, ok := p.accountForm(w, r, passwordFields)
	if !ok {
		return
	}
	if !isWirePassword(f["old_password"]) || !isWirePassword(f["hash"]) || !isWirePassword(f["confirmation"]) {
		p.fail(w, r, p.langs.pick(r, nil, ""), oauth.ErrPasswordNotHashed)
		return
	}
	iterations, err := strconv.Atoi(f["iterations"])
	if err != nil {
		p.fail(w, r, p.langs.pick(r, nil, ""), errBadForm)
		return
	}
	next := clienthash.PasswordSetting{KDF: f["kdf"], Iterations: iterations, Salt: f["salt"],
		Hash: f["hash"], Confirmation: f["confirmation"]}
	err = p.opts.Account.ChangePassword(w, r, s, f["old_password"], next)
	var retry *oauth.RetryError
	switch {
	case err == nil:
		p.accountDone(w, "password")
	case errors.Is(err, oauth.ErrBadCredentials):
		p.renderAccount(w, r, s, http.StatusOK, "", "account.password.wrong_old")
	case errors.Is(err, oauth.ErrConfirmationMismatch):
		p.renderAccount(w, r, s, http.StatusUnprocessableEntity, "", "account.password.mismatch")
	case errors.As(err, &retry):
		setRetryAfter(w, retry)
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
	default:
		p.accountFail(w, r, err)
	}
}

// accountAction is the handler of an account form that makes one
// change: it reads the form, lets do make the change and confirms it with
// ?done=<what do returned>, or shows the signed-out page when do signed
// this browser out (what is "").
func (p *Pages) accountAction(fields map[string]int, do func(http.ResponseWriter, *http.Request, oauth.AccountSession, map[string]string) (what string, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, f, ok := p.accountForm(w, r, fields)
		if !ok {
			return
		}
		what, err := do(w, r, s, f)
		switch {
		case err != nil:
			p.accountFail(w, r, err)
		case what == "":
			p.SignedOut(w, r)
		default:
			p.accountDone(w, what)
		}
	}
}

func (p *Pages) updateProfile(_ http.ResponseWriter, r *http.Request, s oauth.AccountSession, f map[string]string) (string, error) {
	return "profile", p.opts.Account.UpdateProfile(r.Context(), s, f["display_name"], f["language"])
}

// endSession signs one of the user's sessions out; this browser's own
// ends on the signed-out page.
func (p *Pages) endSession(w http.ResponseWriter, r *http.Request, s oauth.AccountSession, f map[string]string) (string, error) {
	what := "session"
	if f["session"] == s.SessionID {
		what = ""
	}
	return what, p.opts.Account.EndAccountSession(w, r, s, f["session"])
}

func (p *Pages) revokeConsent(_ http.ResponseWriter, r *http.Request, s oauth.AccountSession, f map[string]string) (string, error) {
	return "consent", p.opts.Account.RevokeAccountConsent(r.Context(), s, f["client_id"])
}

// signOut ends this browser's session with its grants.
func (p *Pages) signOut(w http.ResponseWriter, r *http.Request, s oauth.AccountSession, _ map[string]string) (string, error) {
	return "", p.opts.Account.EndAccountSession(w, r, s, s.SessionID)
}

// only answers every method but method (GET includes HEAD) with 405
// and Allow (RFC 9110 §15.5.6).
func (p *Pages) only(method string, h http.HandlerFunc) http.Handler {
	allow := method
	if method == http.MethodGet {
		allow = "GET, HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && (method != http.MethodGet || r.Method != http.MethodHead) {
			p.methodNotAllowed(w, r, allow)
			return
		}
		h(w, r)
	})
}

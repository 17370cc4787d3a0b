package signin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

// LinkFlows carries out what the pages of mailed links submit;
// *accounts.Service implements it. Its errors are those of
// internal/accounts (ErrLinkGone, ErrMismatch, ErrBadPassword,
// ErrUsernameTaken, ErrBadUsername, ErrWrongEmail); any other is an
// internal one.
type LinkFlows interface {
	PasswordIterations() int
	ActivationUser(ctx context.Context, token string) (storage.User, error)
	Activate(ctx context.Context, token string, in clienthash.PasswordSetting) (storage.User, error)
	RequestReset(ctx context.Context, source, name string)
	ResetUser(ctx context.Context, token string) (storage.User, error)
	Reset(ctx context.Context, token string, in clienthash.PasswordSetting) (storage.User, error)
	Invitation(ctx context.Context, token string) (accounts.InvitationView, error)
	AcceptAsNew(ctx context.Context, token, username string, in clienthash.PasswordSetting) (storage.User, error)
	AcceptAsExisting(ctx context.Context, token string, u storage.User) (storage.Invitation, error)
}

// PasswordVerifier checks an existing account's password like the login
// form, throttled; its errors are the login page's (oauth.ErrBadCredentials,
// oauth.ErrPasswordNotHashed, *oauth.RetryError).
type PasswordVerifier interface {
	VerifyPassword(r *http.Request, username, password string) (storage.User, error)
}

// Limits of the account pages' fields. A link token is 43 characters.
const maxTokenLen = 64

var (
	setPasswordFields = map[string]int{"token": maxTokenLen, "csrf": maxCSRFLen, "mode": 16, "username": maxUsernameLen,
		"kdf": 32, "iterations": 16, "salt": 64, "hash": maxPasswordLen, "confirmation": maxPasswordLen, "password": maxPasswordLen}
	forgotFields = map[string]int{"csrf": maxCSRFLen, "name": maxUsernameLen}
)

// setPasswordView is the form that sets a password (setpw.html).
type setPasswordView struct {
	cat         *catalogue
	Action      string
	Token       string
	CSRF        string
	Mode        string // the invitation page's "new"
	Iterations  int
	AskUsername bool
	Username    string
	Submit      string
}

// T looks up a message in the page's language.
func (v *setPasswordView) T(key string, kv ...string) (string, error) { return v.cat.T(key, kv...) }

type forgotView struct {
	Action string
	CSRF   string
}

func (p *Pages) registerLinkPages(r *mux.Router) {
	r.Handle(accounts.PathActivate, p.methods(p.handleActivatePage, p.handleActivatePost))
	r.Handle(accounts.PathReset, p.methods(p.handleResetPage, p.handleResetPost))
	r.Handle(accounts.PathForgot, p.methods(p.handleForgotPage, p.handleForgotPost))
	r.Handle(accounts.PathInvite, p.methods(p.handleInvitePage, p.handleInvitePost))
}

// forgotURL is the password reset page, or "" when the pages are off.
func (p *Pages) forgotURL() string {
	if p.opts.Links == nil {
		return ""
	}
	return p.base + accounts.PathForgot
}

// linkToken reads the token query parameter of a link: exactly one,
// bounded. A bad one is a link that is gone.
func linkToken(r *http.Request) (string, bool) {
	vs := r.URL.Query()["token"]
	if len(vs) != 1 || vs[0] == "" || len(vs[0]) > maxTokenLen || !utf8.ValidString(vs[0]) {
		return "", false
	}
	return vs[0], true
}

// passwordSetting is the password object of a submitted form.
func passwordSetting(f map[string]string) clienthash.PasswordSetting {
	it, _ := strconv.Atoi(f["iterations"])
	return clienthash.PasswordSetting{KDF: f["kdf"], Iterations: it, Salt: f["salt"], Hash: f["hash"], Confirmation: f["confirmation"]}
}

// linkFail answers an account page's request that failed. This is
// where the errors of internal/accounts become statuses; the alerts shown
// beside a form (a mismatch, a taken username) are the handlers'.
func (p *Pages) linkFail(w http.ResponseWriter, r *http.Request, c *catalogue, err error) {
	switch {
	case errors.Is(err, accounts.ErrLinkGone):
		p.message(w, http.StatusGone, c, "link.gone.title", "link.gone.text")
	case errors.Is(err, accounts.ErrBadPassword):
		p.message(w, http.StatusBadRequest, c, "needs_js.title", "setpw.needs_js")
	default:
		p.fail(w, r, c, err)
	}
}

// readAccountForm reads a POST of an account page and checks its CSRF
// token.
func (p *Pages) readAccountForm(w http.ResponseWriter, r *http.Request, fields map[string]int) (map[string]string, error) {
	f, err := readForm(w, r, fields)
	if err != nil {
		return nil, err
	}
	if !p.checkFormCSRF(r, f["csrf"]) {
		return nil, oauth.ErrForgedForm
	}
	return f, nil
}

// passwordPage is what differs between activation and reset.
type passwordPage struct {
	path                       string
	title, intro, submit, done string
	user                       func(context.Context, string) (storage.User, error)
	set                        func(context.Context, string, clienthash.PasswordSetting) (storage.User, error)
}

func (p *Pages) activation() passwordPage {
	return passwordPage{accounts.PathActivate, "activate.title", "activate.intro", "activate.submit", "activate.done",
		p.opts.Links.ActivationUser, p.opts.Links.Activate}
}

func (p *Pages) reset() passwordPage {
	return passwordPage{accounts.PathReset, "reset.title", "reset.intro", "reset.submit", "reset.done",
		p.opts.Links.ResetUser, p.opts.Links.Reset}
}

func (p *Pages) handleActivatePage(w http.ResponseWriter, r *http.Request) {
	p.showPasswordPage(w, r, p.activation())
}
func (p *Pages) handleActivatePost(w http.ResponseWriter, r *http.Request) {
	p.submitPasswordPage(w, r, p.activation())
}
func (p *Pages) handleResetPage(w http.ResponseWriter, r *http.Request) {
	p.showPasswordPage(w, r, p.reset())
}
func (p *Pages) handleResetPost(w http.ResponseWriter, r *http.Request) {
	p.submitPasswordPage(w, r, p.reset())
}

func (p *Pages) showPasswordPage(w http.ResponseWriter, r *http.Request, pp passwordPage) {
	token, ok := linkToken(r)
	if !ok {
		p.linkFail(w, r, p.langs.pick(r, nil, ""), accounts.ErrLinkGone)
		return
	}
	u, err := pp.user(r.Context(), token)
	if err != nil {
		p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	p.renderPasswordPage(w, r, http.StatusOK, pp, token, u, "")
}

func (p *Pages) renderPasswordPage(w http.ResponseWriter, r *http.Request, status int, pp passwordPage, token string, u storage.User, alertKey string) {
	c := p.langs.pick(r, nil, u.Language)
	v := &view{cat: c, Title: c.must(pp.title), Message: c.must(pp.intro, "username", u.Username),
		Scripts: []string{"setpassword.mjs"},
		SetPassword: &setPasswordView{cat: c, Action: p.base + pp.path, Token: token, CSRF: p.formCSRF(w, r),
			Iterations: p.opts.Links.PasswordIterations(), Username: u.Username, Submit: c.must(pp.submit)}}
	if alertKey != "" {
		v.Alert = c.must(alertKey)
	}
	p.render(w, status, "password", v)
}

func (p *Pages) submitPasswordPage(w http.ResponseWriter, r *http.Request, pp passwordPage) {
	f, err := p.readAccountForm(w, r, setPasswordFields)
	if err != nil {
		p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	token := f["token"]
	u, err := pp.set(r.Context(), token, passwordSetting(f))
	if errors.Is(err, accounts.ErrMismatch) {
		// The link stays usable: show the form again.
		if u, uerr := pp.user(r.Context(), token); uerr == nil {
			p.renderPasswordPage(w, r, http.StatusBadRequest, pp, token, u, "setpw.mismatch")
			return
		}
		err = accounts.ErrLinkGone
	}
	if err != nil {
		p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	c := p.langs.pick(r, nil, u.Language)
	p.render(w, http.StatusOK, "message", &view{cat: c, Tone: "ok", Title: c.must(pp.done + ".title"),
		Message: c.must(pp.done+".text", "username", u.Username)})
}

func (p *Pages) handleForgotPage(w http.ResponseWriter, r *http.Request) {
	c := p.langs.pick(r, nil, "")
	p.render(w, http.StatusOK, "forgot", &view{cat: c, Title: c.must("forgot.title"),
		Forgot: &forgotView{Action: p.base + accounts.PathForgot, CSRF: p.formCSRF(w, r)}})
}

// handleForgotPost asks for a reset mail and answers the same whatever
// happens next: internal/accounts does the lookup after the answer.
func (p *Pages) handleForgotPost(w http.ResponseWriter, r *http.Request) {
	c := p.langs.pick(r, nil, "")
	f, err := p.readAccountForm(w, r, forgotFields)
	if err != nil {
		p.linkFail(w, r, c, err)
		return
	}
	p.opts.Links.RequestReset(r.Context(), r.RemoteAddr, f["name"])
	p.message(w, http.StatusOK, c, "forgot.sent.title", "forgot.sent.text")
}

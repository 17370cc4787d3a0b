package signin

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// loginView is what the login template shows.
type loginView struct {
	Action   string // where the form posts
	Prelogin string // where the script asks for the salt and iterations
	Auth     string
	CSRF     string
	Client   string
	Account  bool // a sign-in to the account page: there is no client
	Username string
	// FocusPassword puts the cursor in the password field when the
	// username is already filled in (login_hint); an Alert takes focus
	// before either.
	FocusPassword bool
}

// handleLoginPage shows the login form of pending request ?auth=id. A
// request already past sign-in goes on to the consent page.
func (p *Pages) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	id, ok := pendingID(r)
	if !ok {
		p.fail(w, r, p.langs.pick(r, nil, ""), oauth.ErrPendingGone)
		return
	}
	pend, err := p.opts.Flow.PendingAuthorization(r, id)
	if err != nil {
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	if pend.Stage == oauth.StageConsent {
		redirect(w, p.pageURL(oauth.PathConsent, pend.ID))
		return
	}
	p.renderLogin(w, http.StatusOK, p.langs.pick(r, pend.UILocales, ""), pend, pend.LoginHint, "")
}

// renderLogin renders the login form for pend with username filled in
// and, if alert is not empty, an error above the form.
func (p *Pages) renderLogin(w http.ResponseWriter, status int, c *catalogue, pend oauth.Pending, username, alert string) {
	client := pend.ClientName
	if client == "" {
		client = pend.ClientID
	}
	p.render(w, status, "login", &view{cat: c, Title: c.must("login.title"), Alert: alert, Login: &loginView{
		Action:        p.base + oauth.PathLogin,
		Prelogin:      p.base + oauth.PathPrelogin,
		Auth:          pend.ID,
		CSRF:          pend.CSRF,
		Client:        client,
		Account:       pend.Account,
		Username:      username,
		FocusPassword: username != "" && alert == "",
	}})
}

// handleLoginPost checks the submitted credentials through the Flow and
// sends the browser on (303), or shows the form again with what went
// wrong.
func (p *Pages) handleLoginPost(w http.ResponseWriter, r *http.Request) {
	f, err := readForm(w, r, loginFields)
	if err != nil {
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	id, username := f["auth"], f["username"]
	if !isWirePassword(f["password"]) {
		// The form came without its script (JavaScript off, or posted by
		// hand): refuse before any work, and without telling whether
		// the username exists.
		p.fail(w, r, p.langs.pick(r, nil, ""), oauth.ErrPasswordNotHashed)
		return
	}
	next, err := p.opts.Flow.SignIn(w, r, id, f["csrf"], username, f["password"])
	if err == nil {
		redirect(w, next)
		return
	}
	var retry *oauth.RetryError
	isRetry := errors.As(err, &retry)
	if !isRetry && !errors.Is(err, oauth.ErrBadCredentials) {
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	// Show the form again, with a fresh look at the request: its CSRF
	// token may have changed, and it may have expired meanwhile.
	pend, perr := p.opts.Flow.PendingAuthorization(r, id)
	if perr != nil {
		p.fail(w, r, p.langs.pick(r, nil, ""), perr)
		return
	}
	c := p.langs.pick(r, pend.UILocales, "")
	if isRetry {
		setRetryAfter(w, retry)
		p.renderLogin(w, http.StatusTooManyRequests, c, pend, username,
			c.must("login.retry", "wait", c.Wait(retry.After)))
		return
	}
	// 200, not 401: a 401 must carry a WWW-Authenticate challenge (RFC
	// 9110 §15.5.2), and a form login has no authentication scheme to
	// name. One message for every cause, so that the page does not tell
	// which usernames exist (issue 12: errors are generic).
	p.renderLogin(w, http.StatusOK, c, pend, username, c.must("login.bad_credentials"))
}

package signin

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

// inviteView is the invitation page's sign-in form and what it shows.
type inviteView struct {
	Action   string
	Prelogin string
	Token    string
	CSRF     string
	Username string
	Groups   []string
}

func (p *Pages) handleInvitePage(w http.ResponseWriter, r *http.Request) {
	token, ok := linkToken(r)
	if !ok {
		p.linkFail(w, r, p.langs.pick(r, nil, ""), accounts.ErrLinkGone)
		return
	}
	v, err := p.opts.Links.Invitation(r.Context(), token)
	if err != nil {
		p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	p.renderInvite(w, r, http.StatusOK, token, v, "", "", nil)
}

// renderInvite shows the invitation with its two forms: a new account,
// or an existing one. newName and oldName refill the forms' usernames.
func (p *Pages) renderInvite(w http.ResponseWriter, r *http.Request, status int, token string, iv accounts.InvitationView, newName, oldName string, alert func(*catalogue) string) {
	c := p.langs.pick(r, nil, iv.Invitation.Language)
	csrf := p.formCSRF(w, r)
	intro := c.must("invite.intro", "inviter", iv.Inviter)
	if len(iv.Groups) == 0 {
		intro = c.must("invite.intro_nogroups", "inviter", iv.Inviter)
	}
	v := &view{cat: c, Title: c.must("invite.title"), Message: intro,
		Scripts: []string{"setpassword.mjs", "login.mjs"},
		SetPassword: &setPasswordView{cat: c, Action: p.base + accounts.PathInvite, Token: token, CSRF: csrf, Mode: "new",
			Iterations: p.opts.Links.PasswordIterations(), AskUsername: true, Username: newName, Submit: c.must("invite.create")},
		Invite: &inviteView{Action: p.base + accounts.PathInvite, Prelogin: p.base + oauth.PathPrelogin, Token: token,
			CSRF: csrf, Username: oldName, Groups: iv.Groups}}
	if alert != nil {
		v.Alert = alert(c)
	}
	p.render(w, status, "invite", v)
}

func (p *Pages) handleInvitePost(w http.ResponseWriter, r *http.Request) {
	f, err := p.readAccountForm(w, r, setPasswordFields)
	if err != nil {
		p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	token, username := f["token"], f["username"]
	ctx := r.Context()
	var alertKey string
	var status int
	switch f["mode"] {
	case "new":
		u, err := p.opts.Links.AcceptAsNew(ctx, token, username, passwordSetting(f))
		switch {
		case err == nil:
			p.inviteDone(w, r, u.Language, u.Username)
			return
		case errors.Is(err, accounts.ErrMismatch):
			alertKey, status = "setpw.mismatch", http.StatusBadRequest
		case errors.Is(err, accounts.ErrUsernameTaken):
			alertKey, status = "invite.taken", http.StatusConflict
		case errors.Is(err, accounts.ErrBadUsername):
			alertKey, status = "invite.bad_username", http.StatusBadRequest
		default:
			p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
			return
		}
		p.reshowInvite(w, r, status, token, username, "", alertText(alertKey))
	case "existing":
		if !isWirePassword(f["password"]) {
			p.fail(w, r, p.langs.pick(r, nil, ""), oauth.ErrPasswordNotHashed)
			return
		}
		u, err := p.opts.Passwords.VerifyPassword(r, username, f["password"])
		var retry *oauth.RetryError
		switch {
		case errors.As(err, &retry):
			setRetryAfter(w, retry)
			p.reshowInvite(w, r, http.StatusTooManyRequests, token, "", username, func(c *catalogue) string {
				return c.must("login.retry", "wait", c.Wait(retry.After))
			})
			return
		case errors.Is(err, oauth.ErrBadCredentials):
			p.reshowInvite(w, r, http.StatusOK, token, "", username, alertText("login.bad_credentials"))
			return
		case err != nil:
			p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
			return
		}
		_, err = p.opts.Links.AcceptAsExisting(ctx, token, u)
		switch {
		case err == nil:
			p.inviteDone(w, r, u.Language, u.Username)
		case errors.Is(err, accounts.ErrWrongEmail):
			p.reshowInvite(w, r, http.StatusForbidden, token, "", username, alertText("invite.wrong_email"))
		default:
			p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
		}
	default:
		p.fail(w, r, p.langs.pick(r, nil, ""), errBadForm)
	}
}

// reshowInvite shows the invitation again with an alert, if it is still
// pending.
func (p *Pages) reshowInvite(w http.ResponseWriter, r *http.Request, status int, token, newName, oldName string, alert func(*catalogue) string) {
	iv, err := p.opts.Links.Invitation(r.Context(), token)
	if err != nil {
		p.linkFail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	p.renderInvite(w, r, status, token, iv, newName, oldName, alert)
}

func (p *Pages) inviteDone(w http.ResponseWriter, r *http.Request, lang, username string) {
	c := p.langs.pick(r, nil, lang)
	p.render(w, http.StatusOK, "message", &view{cat: c, Tone: "ok", Title: c.must("invite.done.title"),
		Message: c.must("invite.done.text", "username", username)})
}

// alertText is an alert that is one message of the catalogue.
func alertText(key string) func(*catalogue) string {
	return func(c *catalogue) string { return c.must(key) }
}

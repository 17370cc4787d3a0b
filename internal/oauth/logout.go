package oauth

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse/gatehouse/storage"
)

// handleLogout serves RP-initiated logout (OpenID Connect RP-Initiated
// Logout 1.0): it ends the browser's login session and the grants started
// in it, then sends the browser to a registered post_logout_redirect_uri
// or shows that it is signed out. A request that does not name the
// session's user with a valid id_token_hint is confirmed by the user
// first, so that no other site can sign them out.
func (p *Provider) handleLogout(w http.ResponseWriter, r *http.Request) {
	ctx, params, ok := p.browserRequest(w, r, "logout")
	if !ok {
		return
	}
	var hint *idClaims
	var err error
	if raw := params.Get("id_token_hint"); raw != "" {
		if hint, err = p.parseIDTokenHint(raw); err != nil {
			p.pageError(w, r, badPage("The id_token_hint is not an ID token this server issued."))
			return
		}
	}
	clientID := params.Get("client_id")
	switch {
	case hint != nil && clientID == "" && len(hint.Audience) == 1:
		clientID = hint.Audience[0]
	case hint != nil && clientID != "" && !slices.Contains(hint.Audience, clientID):
		p.pageError(w, r, badPage("The id_token_hint was not issued to this client_id."))
		return
	}
	target := params.Get("post_logout_redirect_uri")
	if target != "" {
		if clientID == "" {
			p.pageError(w, r, badPage("A post_logout_redirect_uri needs a client_id or an id_token_hint."))
			return
		}
		c, err := p.opts.Store.GetClient(ctx, p.opts.Realm, clientID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			p.pageError(w, r, p.unavailablePage(ctx, err))
			return
		}
		if err != nil || c.Status != storage.StatusActive || !slices.Contains(c.PostLogoutRedirectURIs, target) {
			p.pageError(w, r, badPage("The post_logout_redirect_uri is not registered for this client."))
			return
		}
	}
	sess, err := p.currentSession(ctx, r)
	if err != nil {
		p.pageError(w, r, p.unavailablePage(ctx, err))
		return
	}
	if sess != nil && !p.logoutProven(r, params, hint, sess) {
		hidden := url.Values{"logout_csrf": {logoutCSRF(sess)}}
		for _, k := range []string{"client_id", "post_logout_redirect_uri", "state", "ui_locales"} {
			if v := params.Get(k); v != "" {
				hidden.Set(k, v)
			}
		}
		if clientID != "" {
			hidden.Set("client_id", clientID)
		}
		p.confirmLogout(w, r, hidden)
		return
	}
	if err := p.endSession(ctx, w, r); err != nil {
		p.pageError(w, r, p.unavailablePage(ctx, err))
		return
	}
	if target == "" {
		p.signedOut(w, r)
		return
	}
	v := url.Values{}
	if state := params.Get("state"); state != "" {
		v.Set("state", state)
	}
	if len(v) == 0 {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, withQuery(target, v), http.StatusSeeOther)
}

// logoutProven reports whether a logout request may end sess without
// asking: its id_token_hint names the session or its user, or it is the
// confirmation form, whose token only this session's pages know.
func (p *Provider) logoutProven(r *http.Request, params url.Values, hint *idClaims, sess *storage.LoginSession) bool {
	if hint != nil && (hint.SessionID == sess.ID || hint.Subject == sess.UserID) {
		return true
	}
	got := params.Get("logout_csrf")
	return r.Method == http.MethodPost && got != "" &&
		subtle.ConstantTimeCompare([]byte(got), []byte(logoutCSRF(sess))) == 1
}

// logoutCSRF is the confirmation form's token: derived from the session's
// id, which never leaves the server but in ID tokens the user's own
// relying parties hold.
func logoutCSRF(sess *storage.LoginSession) string {
	return digest128("gatehouse logout", []byte(sess.ID))
}

func (p *Provider) signedOut(w http.ResponseWriter, r *http.Request) {
	if p.opts.Pages == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("You are signed out.\n"))
		return
	}
	p.opts.Pages.SignedOut(w, r)
}

func (p *Provider) confirmLogout(w http.ResponseWriter, r *http.Request, hidden url.Values) {
	if p.opts.Pages == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Confirm the logout with a POST of: " + hidden.Encode() + "\n"))
		return
	}
	p.opts.Pages.ConfirmLogout(w, r, hidden)
}

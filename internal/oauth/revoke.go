package oauth

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// handleRevoke serves RFC 7009 token revocation. Revoking a refresh token
// revokes its whole family; revoking an access token marks its jti until
// it expires. A token that is invalid, unknown or issued to another client
// answers 200 like a successful revocation: the caller learns nothing about
// tokens that are not its own (RFC 7009 §2.2 lets invalid tokens pass
// silently; foreign tokens are treated alike so that they cannot be probed).
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, err := postForm(w, r)
	if err != nil {
		p.writeError(ctx, w, err)
		return
	}
	if ctx, err = p.opts.Views.Begin(ctx); err != nil {
		p.writeError(ctx, w, err)
		return
	}
	// A public client may revoke its own tokens (RFC 7009 §2.1): it proves
	// nothing but its client_id, yet revoking needs the token itself, and
	// whoever holds a token could use it rather than end it. Introspection
	// stays closed to them: it would answer for tokens one merely found.
	caller, err := p.authenticateCaller(ctx, r, form, true)
	if err != nil {
		p.writeError(ctx, w, err)
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeError(ctx, w, invalidRequest("The token parameter is missing."))
		return
	}
	if rt, ok := parseRefreshToken(token); ok {
		id := rt.id()
		rec, err := p.opts.State.GetRefreshToken(ctx, id, rt.secretDigest())
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			p.writeError(ctx, w, err)
			return
		case rec.ClientID == caller.ClientID:
			if err := p.opts.State.RevokeRefreshToken(ctx, id); err != nil {
				p.writeError(ctx, w, err)
				return
			}
		}
	} else if c, err := p.parseAccessToken(token); err == nil && c.ClientID == caller.ClientID {
		if err := p.opts.State.RevokeToken(ctx, c.JTI, time.Unix(c.Expiry, 0)); err != nil {
			p.writeError(ctx, w, err)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

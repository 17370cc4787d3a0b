package oauth

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// pagesClientID is the throttle's client for passwords checked by the
// hosted pages outside an authorization request (accepting an invitation
// with an existing account, docs/accounts.md): they share the per-user
// and per-address buckets with every other sign-in.
const pagesClientID = "gatehouse-pages"

// VerifyPassword checks a username and the wire password b64u(P) as the
// login form does, throttled like every sign-in, without starting a
// session. Its errors are the login page's: ErrPasswordNotHashed,
// ErrBadCredentials (one error for every cause), *RetryError.
func (p *Provider) VerifyPassword(r *http.Request, username, password string) (storage.User, error) {
	ctx, err := p.opts.Views.Begin(r.Context())
	if err != nil {
		return storage.User{}, err
	}
	pw, err := credential.ParsePasswordWire(password)
	if err != nil {
		return storage.User{}, ErrPasswordNotHashed
	}
	if username == "" || len(username) > maxUsernameLen {
		return storage.User{}, ErrBadCredentials
	}
	u, err := p.authenticateUser(ctx, pagesClientID, username, storage.ThrottleSource(r.RemoteAddr), pw)
	if err != nil {
		return storage.User{}, signInError(err)
	}
	return u, nil
}

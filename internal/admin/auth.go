package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// authenticate returns the principal of the request's bearer token.
func (a *API) authenticate(r *http.Request) (oauth.Principal, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return oauth.Principal{}, unauthorized("A bearer access token is required.")
	}
	p, err := a.opts.Tokens.VerifyAccessToken(r.Context(), strings.TrimSpace(token))
	if errors.Is(err, oauth.ErrInvalidToken) {
		return oauth.Principal{}, withCause(unauthorized("The access token is invalid, expired or revoked."), err)
	}
	return p, err
}

// requireAll checks the delegation ceiling: the caller must hold every
// resource it is about to grant to someone else.
func requireAll(p oauth.Principal, resources []string) error {
	for _, r := range resources {
		if !p.Has(r) {
			return delegationCeiling(r)
		}
	}
	return nil
}

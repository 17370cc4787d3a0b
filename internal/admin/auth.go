package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// authenticate returns the principal of the request's bearer token, and
// the context the request's storage reads are to use (see
// oauth.Provider.VerifyAccessToken).
func (a *API) authenticate(r *http.Request) (context.Context, oauth.Principal, error) {
	ctx := r.Context()
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return ctx, oauth.Principal{}, unauthorized("A bearer access token is required.")
	}
	ctx, p, err := a.opts.Tokens.VerifyAccessToken(ctx, strings.TrimSpace(token))
	if errors.Is(err, oauth.ErrInvalidToken) {
		return ctx, oauth.Principal{}, withCause(unauthorized("The access token is invalid, expired or revoked."), err)
	}
	return ctx, p, err
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

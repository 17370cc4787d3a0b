package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// authenticate returns the principal of the request's bearer token, and
// the context the request's storage reads are to use (see
// the OAuth provider's VerifyAccessToken).
func (a *API) authenticate(r *http.Request) (context.Context, authz.Principal, error) {
	ctx := r.Context()
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return ctx, authz.Principal{}, unauthorized("A bearer access token is required.")
	}
	ctx, p, err := a.opts.Tokens.VerifyAccessToken(ctx, strings.TrimSpace(token))
	if errors.Is(err, authz.ErrInvalidToken) {
		return ctx, authz.Principal{}, withCause(unauthorized("The access token is invalid, expired or revoked."), err)
	}
	return ctx, p, err
}

// requireAll checks the delegation ceiling for what the caller is about
// to grant: it must hold every resource it gives someone else.
func requireAll(p authz.Principal, resources []string) error {
	if r, missing := p.Missing(resources); missing {
		return delegationCeiling(r)
	}
	return nil
}

// mayActOn checks the rule every management action follows: the caller
// may act on an entity — change it, take from it, end its tokens, delete
// it — only if it holds everything the entity can exercise now (power).
// Otherwise a holder of users-write could reset an administrator's
// password, and a holder of clients-write could add a secret to an
// all-scopes client, and sign in with more than they hold.
func mayActOn(p authz.Principal, power []string) error {
	if r, missing := p.Missing(power); missing {
		return withCause(actingCeiling(), errors.New("missing "+r))
	}
	return nil
}

// mayActOnUser applies mayActOn to a user: their power is every resource
// they hold through their groups, realm-wide and in every context.
func (a *API) mayActOnUser(ctx context.Context, p authz.Principal, userID string) error {
	power, err := a.powers.UserAnywhere(ctx, userID)
	if err != nil {
		return err
	}
	return mayActOn(p, power)
}

// mayActOnClient applies mayActOn to a client: its power is what it can
// obtain now (authz.Powers.Client).
func (a *API) mayActOnClient(ctx context.Context, p authz.Principal, c storage.Client) error {
	power, err := a.powers.Client(ctx, c)
	if err != nil {
		return err
	}
	return mayActOn(p, power)
}

// mayActOnGroup applies mayActOn to a group: its power is what it grants,
// every resource of the realm for administrators.
func (a *API) mayActOnGroup(ctx context.Context, p authz.Principal, g storage.Group) error {
	power, err := a.powers.Group(ctx, g)
	if err != nil {
		return err
	}
	return mayActOn(p, power)
}

// missingResource refuses a token that does not carry need. When its
// subject could obtain need now — a group granted it after the token was
// issued — the refusal says so: the token is a snapshot of its scope
// (see docs/operations.md, "Permissions now and in tokens"), and a new
// one would carry it. If that cannot be decided, the plain refusal
// stands.
func (a *API) missingResource(ctx context.Context, p authz.Principal, need string) error {
	now, err := a.obtainable(ctx, p)
	if err != nil || !slices.Contains(now, need) {
		return withCause(forbidden(need), err)
	}
	return staleToken(need)
}

// obtainable returns what a new token of the principal's client could
// carry now: the client's allowed scopes ∩ the current resources of the
// acting user (the token's user, or the client's owner for client
// tokens), as the token endpoint computes them.
func (a *API) obtainable(ctx context.Context, p authz.Principal) ([]string, error) {
	c, err := a.opts.Store.GetClient(ctx, a.opts.Realm, p.ClientID)
	if err != nil {
		return nil, err
	}
	held, err := a.powers.User(ctx, p.UserID)
	if err != nil || c.AllScopes {
		return held, err
	}
	return authz.Intersect(c.Scopes, held), nil
}

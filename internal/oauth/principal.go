package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// VerifyAccessToken is the one verifier of access tokens presented to
// Gatehouse itself: the management API, /userinfo and, in parts,
// introspection. It checks signature, issuer, audience, lifetime and
// revocation, then that the token's user, client and client owner are
// all still active, and returns what the token may do now. Every failure
// wraps authz.ErrInvalidToken; a token-state outage returns an error
// wrapping storage.ErrUnavailable instead, never a guess.
//
// The returned context carries the request's view of cached storage,
// begun in the same round trip as the revocation check: the caller's
// reads under it see every change acknowledged before it was made, and
// the status and permission reads here cost no round trip while nothing
// changed.
func (p *Provider) VerifyAccessToken(ctx context.Context, token string) (context.Context, authz.Principal, error) {
	c, err := p.parseAccessToken(token)
	if err != nil {
		return ctx, authz.Principal{}, fmt.Errorf("%w: %w", authz.ErrInvalidToken, err)
	}
	ctx, revoked, err := p.revocationView(ctx, c)
	if err != nil {
		return ctx, authz.Principal{}, err
	}
	if revoked {
		return ctx, authz.Principal{}, fmt.Errorf("%w: revoked", authz.ErrInvalidToken)
	}
	pr, err := p.principal(ctx, c)
	return ctx, pr, err
}

// revocationView checks the token's revocation and begins the request's
// view of cached storage under the change stamp read in the same round
// trip.
func (p *Provider) revocationView(ctx context.Context, c *accessClaims) (context.Context, bool, error) {
	revoked, stamp, err := p.opts.State.IsRevoked(ctx, c.ref())
	if err != nil {
		return ctx, false, err
	}
	return p.opts.Views.At(ctx, stamp), revoked, nil
}

// principal checks that everything a verified, unrevoked token stands on
// is still active — its client, the client's owner and, for user tokens,
// the user — and computes what the token holds now: its scope cut down to
// the current resources of its user (user tokens) or to the client's
// current ceiling (client tokens). A disabled owner ends the tokens of
// every client they own at once, on every node, since every node reads
// the status under the request's change stamp.
func (p *Provider) principal(ctx context.Context, c *accessClaims) (authz.Principal, error) {
	cl, err := p.activeClient(ctx, c.ClientID)
	if err != nil {
		return authz.Principal{}, err
	}
	// A token stays in the context it was issued for; a client bound to
	// another context since then holds nothing through it.
	if cl.ContextID != "" && cl.ContextID != c.Context {
		return authz.Principal{}, fmt.Errorf("%w: client bound to another context", authz.ErrInvalidToken)
	}
	pr := authz.Principal{ClientID: c.ClientID, TokenID: c.JTI, ClientToken: !c.isUserToken(), Context: c.Context}
	var scopes []string
	if c.Scope != "" {
		scopes = strings.Split(c.Scope, " ")
	}
	var allowed []string
	if pr.ClientToken {
		pr.UserID = cl.OwnerID
		allowed, err = p.clientCeiling(ctx, cl, c.Context)
	} else {
		pr.UserID = c.Subject
		pr.ThirdParty = !cl.SkipConsent && slices.Contains(cl.GrantTypes, grantAuthorizationCode)
		allowed, err = p.userAllowed(ctx, cl, c.Subject, c.Context)
	}
	if errors.Is(err, errOwnerInactive) || errors.Is(err, errUserInactive) || (c.Context != "" && errors.Is(err, storage.ErrNotFound)) {
		return authz.Principal{}, fmt.Errorf("%w: %w", authz.ErrInvalidToken, err)
	} else if err != nil {
		return authz.Principal{}, err
	}
	pr.Held = authz.Intersect(scopes, allowed)
	return pr, nil
}

// errUserInactive means a user token's user is disabled or gone.
var errUserInactive = errors.New("user is not active")

// activeClient loads a token's client; a deleted or disabled client makes
// the token invalid.
func (p *Provider) activeClient(ctx context.Context, clientID string) (storage.Client, error) {
	cl, err := p.opts.Store.GetClient(ctx, p.opts.Realm, clientID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && cl.Status != storage.StatusActive) {
		return cl, fmt.Errorf("%w: client gone or disabled", authz.ErrInvalidToken)
	}
	return cl, err
}

// userAllowed returns what a user token issued through client c may hold
// now in a context ("" for realm-wide): the user's current resources
// there ∩ what the client may request. The
// user and the client's owner must both be active: a client of a disabled
// owner serves nobody (errOwnerInactive), a disabled user has no tokens
// (errUserInactive).
func (p *Provider) userAllowed(ctx context.Context, c storage.Client, userID, contextID string) ([]string, error) {
	if err := p.ownerActive(ctx, c); err != nil {
		return nil, err
	}
	u, err := p.opts.Store.GetUser(ctx, p.opts.Realm, userID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Status != storage.StatusActive) {
		return nil, errUserInactive
	} else if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	res, err := p.userResources(ctx, userID, contextID)
	if err != nil {
		return nil, err
	}
	return clientAllowed(c, res), nil
}

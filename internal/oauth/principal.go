package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/storage"
)

// ErrInvalidToken is returned by VerifyAccessToken for every access token
// that is not acceptable: malformed, badly signed, foreign, expired or
// revoked. Callers answer 401 without saying which.
var ErrInvalidToken = errors.New("invalid access token")

// Principal is who an access token speaks for.
type Principal struct {
	// UserID is the acting user: the token's user for user tokens, the
	// client's owner for client tokens.
	UserID string
	// ClientID is the client the token was issued to.
	ClientID string
	// ClientToken is true for client_credentials tokens, which act on the
	// client's own behalf.
	ClientToken bool
	// Scopes are the admin resources the token may use.
	Scopes []string
	// TokenID is the token's jti.
	TokenID string
}

// Has reports whether the token carries the admin resource.
func (p Principal) Has(resource string) bool { return contains(p.Scopes, resource) }

// Actor returns who to record in the audit log for changes made with the
// token.
func (p Principal) Actor() storage.Actor {
	if p.ClientToken {
		return storage.Actor{Type: storage.ActorClient, ID: p.ClientID}
	}
	return storage.Actor{Type: storage.ActorUser, ID: p.UserID}
}

// VerifyAccessToken checks a bearer access token for a resource served by
// Gatehouse itself (the management API): signature, issuer, audience,
// lifetime and revocation. A token-state outage returns an error wrapping
// storage.ErrUnavailable, never a guess.
//
// The returned context carries the request's view of cached storage,
// begun in the same round trip as the revocation check: the caller's
// reads under it see every change acknowledged before it was made.
func (p *Provider) VerifyAccessToken(ctx context.Context, token string) (context.Context, Principal, error) {
	c, err := p.parseAccessToken(token)
	if err != nil {
		return ctx, Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	revoked, stamp, err := p.opts.State.IsRevoked(ctx, c.ref())
	if err != nil {
		return ctx, Principal{}, err
	}
	if revoked {
		return ctx, Principal{}, fmt.Errorf("%w: revoked", ErrInvalidToken)
	}
	ctx = p.opts.Views.At(ctx, stamp)
	pr := Principal{ClientID: c.ClientID, TokenID: c.JTI, ClientToken: !c.isUserToken(), UserID: c.Subject}
	if c.Scope != "" {
		pr.Scopes = strings.Split(c.Scope, " ")
	}
	if pr.ClientToken {
		cl, err := p.opts.Store.GetClient(ctx, p.opts.Realm, c.ClientID)
		if errors.Is(err, storage.ErrNotFound) {
			return ctx, Principal{}, fmt.Errorf("%w: client gone", ErrInvalidToken)
		} else if err != nil {
			return ctx, Principal{}, err
		}
		pr.UserID = cl.OwnerID
	}
	return ctx, pr, nil
}

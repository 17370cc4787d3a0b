package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// errScopeNotPermitted is returned for a requested scope the caller may not
// have. Its message names nothing about which scopes exist.
var errScopeNotPermitted = errors.New("a requested scope is not permitted")

// errOwnerInactive means a client's owner is disabled or gone: the client
// gets no tokens at all.
var errOwnerInactive = errors.New("client owner is not active")

// clientAllowed returns what the client is registered to request, resolving
// AllScopes against the realm's resources (userRes is the set the result is
// intersected with anyway, so AllScopes resolves to it without a query).
func clientAllowed(c storage.Client, ceiling []string) []string {
	if c.AllScopes {
		return ceiling
	}
	return intersect(c.Scopes, ceiling)
}

// clientCeiling returns what a client may hold right now: its allowed
// scopes cut down to its owner's current resources. A client never does
// more than its owner; if the owner lost a group or was disabled, the
// client loses that access at its next request.
func (p *Provider) clientCeiling(ctx context.Context, c storage.Client) ([]string, error) {
	if err := p.ownerActive(ctx, c); err != nil {
		return nil, err
	}
	ownerRes, err := p.userResources(ctx, c.OwnerID)
	if err != nil {
		return nil, err
	}
	return clientAllowed(c, ownerRes), nil
}

// ownerActive returns errOwnerInactive when the client's owner is
// disabled or gone: such a client gets no token for anyone, and the
// tokens it holds are refused.
func (p *Provider) ownerActive(ctx context.Context, c storage.Client) error {
	owner, err := p.opts.Store.GetUser(ctx, p.opts.Realm, c.OwnerID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && owner.Status != storage.StatusActive) {
		return errOwnerInactive
	}
	if err != nil {
		return fmt.Errorf("load owner of client: %w", err)
	}
	return nil
}

// userResources returns the names of the user's effective admin resources,
// sorted: what the management API counts as the user's power.
func (p *Provider) userResources(ctx context.Context, userID string) ([]string, error) {
	return authz.Powers{Store: p.opts.Store, Realm: p.opts.Realm}.User(ctx, userID)
}

// grantScopes decides the scopes of a token: every requested scope must be
// permitted (exact match, no wildcards); no request means all permitted
// scopes. The result is sorted and free of duplicates.
func grantScopes(permitted, requested []string) ([]string, error) {
	if len(requested) == 0 {
		granted := slices.Clone(permitted)
		slices.Sort(granted)
		return slices.Compact(granted), nil
	}
	granted := make([]string, 0, len(requested))
	for _, s := range requested {
		if !contains(permitted, s) {
			return nil, errScopeNotPermitted
		}
		if !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	slices.Sort(granted)
	return granted, nil
}

// intersect returns the elements of a that are also in b, in a's order.
func intersect(a, b []string) []string {
	out := make([]string, 0, min(len(a), len(b)))
	for _, s := range a {
		if contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// contains reports whether sorted or unsorted list holds s. Scope lists are
// short (tens of entries), where a linear scan beats building a set.
func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}

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

// clientCeiling returns what a client may hold right now in a context
// ("" for realm-wide): its allowed scopes cut down to its owner's current
// resources there. A client never does more than its owner; if the owner
// lost a group or was disabled, the client loses that access at its next
// request.
func (p *Provider) clientCeiling(ctx context.Context, c storage.Client, contextID string) ([]string, error) {
	if err := p.ownerActive(ctx, c); err != nil {
		return nil, err
	}
	ownerRes, err := p.userResources(ctx, c.OwnerID, contextID)
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

// userResources returns the names of the user's effective admin resources
// in a context ("" for realm-wide), sorted: what the management API
// counts as the user's power there. An unknown context wraps
// storage.ErrNotFound.
func (p *Provider) userResources(ctx context.Context, userID, contextID string) ([]string, error) {
	return authz.Powers{Store: p.opts.Store, Realm: p.opts.Realm}.UserIn(ctx, userID, contextID)
}

// contextScopePrefix starts the scope that selects the context a token is
// for: context:<id> (docs/contexts.md).
const contextScopePrefix = "context:"

// contextSelector takes the context selector out of the requested scopes:
// the context id ("" when none) and the other scopes. More than one
// selector, or an empty id, is errScopeNotPermitted.
func contextSelector(requested []string) (string, []string, error) {
	id, rest := "", requested
	for i, s := range requested {
		sel, ok := strings.CutPrefix(s, contextScopePrefix)
		if !ok {
			continue
		}
		if sel == "" || (id != "" && sel != id) {
			return "", nil, errScopeNotPermitted
		}
		if id == "" {
			rest = slices.Clone(requested[:i])
		}
		id = sel
	}
	if id != "" {
		rest = slices.DeleteFunc(slices.Clone(requested), func(s string) bool { return strings.HasPrefix(s, contextScopePrefix) })
	}
	return id, rest, nil
}

// tokenContext decides the context a token of client c is for: the
// client's own when it is bound to one (a selector must then name it),
// else the selected one, "" for realm-wide.
func tokenContext(c storage.Client, selected string) (string, error) {
	if c.ContextID != "" {
		if selected != "" && selected != c.ContextID {
			return "", errScopeNotPermitted
		}
		return c.ContextID, nil
	}
	return selected, nil
}

// resourcesIn is userResources for a token request: an unknown context
// is a scope that is not permitted, told apart from nothing else, so that
// the answer says nothing about which contexts exist.
func (p *Provider) resourcesIn(ctx context.Context, userID, contextID string) ([]string, error) {
	res, err := p.userResources(ctx, userID, contextID)
	if contextID != "" && errors.Is(err, storage.ErrNotFound) {
		return nil, errScopeNotPermitted
	}
	return res, err
}

// withSelector returns a context token's scopes: the selector and the
// admin resources, sorted. A token for a context that carries no admin
// resource would be a token for nothing there: errScopeNotPermitted, as
// for a context the subject holds nothing in.
func withSelector(contextID string, scopes []string) ([]string, error) {
	if contextID == "" {
		return scopes, nil
	}
	if _, admin := splitScopes(scopes); len(admin) == 0 {
		return nil, errScopeNotPermitted
	}
	out := append(slices.Clone(scopes), contextScopePrefix+contextID)
	slices.Sort(out)
	return out, nil
}

// scopeContext returns the context a stored scope list is for.
func scopeContext(scopes []string) string {
	for _, s := range scopes {
		if id, ok := strings.CutPrefix(s, contextScopePrefix); ok {
			return id
		}
	}
	return ""
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

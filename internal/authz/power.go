package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/storage"
)

// Powers computes what an entity can exercise now: the set of admin
// resources a caller must hold to act on it. Reads go through the store
// the caller hands in (the caching store, under the request's change
// stamp), so deciding costs no round trip while nothing changed.
type Powers struct {
	Store storage.Store
	Realm string
}

// User returns the resources the user holds through their groups.
func (w Powers) User(ctx context.Context, userID string) ([]string, error) {
	eff, err := w.Store.UserResources(ctx, w.Realm, userID)
	if err != nil {
		return nil, fmt.Errorf("load user resources: %w", err)
	}
	names := make([]string, len(eff))
	for i, r := range eff {
		names[i] = r.Name
	}
	return names, nil
}

// UserIn returns the resources the user holds in a context: through their
// memberships there, in the contexts above it and realm-wide, and the
// groups these include. contextID "" is User.
func (w Powers) UserIn(ctx context.Context, userID, contextID string) ([]string, error) {
	if contextID == "" {
		return w.User(ctx, userID)
	}
	eff, err := w.Store.UserResourcesIn(ctx, w.Realm, userID, contextID)
	if err != nil {
		return nil, fmt.Errorf("load user resources in context: %w", err)
	}
	return storage.ResourceNamesOf(eff), nil
}

// UserAnywhere returns everything the user holds somewhere: what every
// group they are a member of grants, realm-wide or in any context,
// through inclusion. A realm-wide caller acting on the user itself —
// their password, status, tokens — acts on all of it: whoever takes over
// a context's administrator holds what she holds there
// (docs/contexts.md).
func (w Powers) UserAnywhere(ctx context.Context, userID string) ([]string, error) {
	ms, err := w.Store.UserMemberships(ctx, w.Realm, userID)
	if err != nil {
		return nil, fmt.Errorf("load user memberships: %w", err)
	}
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.GroupID)
	}
	slices.Sort(ids)
	return w.Groups(ctx, slices.Compact(ids))
}

// Client returns what the client can obtain: the scopes it is allowed,
// every resource of the realm for an all-scopes client. That is more than
// its tokens carry today (allowed ∩ owner's resources, and for user
// tokens allowed ∩ the user's resources), on purpose: the owner's part
// can grow at any time, through a grant nobody connects with the client,
// and users with more than the owner sign in through it. A caller who
// could act on a client with fewer resources would plant a secret that
// gains power later, or end the sessions of users above it.
func (w Powers) Client(ctx context.Context, c storage.Client) ([]string, error) {
	if c.AllScopes {
		return w.All(ctx)
	}
	return c.Scopes, nil
}

// Group returns what the group grants: its resources and those of the
// groups it includes, every resource of the realm if any of them has
// AllResources (administrators).
func (w Powers) Group(ctx context.Context, g storage.Group) ([]string, error) {
	if len(g.Includes) == 0 {
		if g.AllResources {
			return w.All(ctx)
		}
		return g.Resources, nil
	}
	return w.Groups(ctx, g.Includes, g)
}

// Groups returns what the groups ids grant, with extra (already loaded),
// through inclusion down to storage.MaxInclusionDepth.
func (w Powers) Groups(ctx context.Context, ids []string, extra ...storage.Group) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	all := false
	var visit func(g storage.Group, depth int) error
	visit = func(g storage.Group, depth int) error {
		if seen[g.ID] || depth > storage.MaxInclusionDepth {
			return nil
		}
		seen[g.ID] = true
		all = all || g.AllResources
		out = append(out, g.Resources...)
		for _, id := range g.Includes {
			inc, err := w.Store.GetGroup(ctx, w.Realm, id)
			if errors.Is(err, storage.ErrNotFound) {
				continue // deleted meanwhile: it grants nothing
			} else if err != nil {
				return fmt.Errorf("load included group: %w", err)
			}
			if err := visit(inc, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, g := range extra {
		if err := visit(g, 0); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		g, err := w.Store.GetGroup(ctx, w.Realm, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted since its id was read: it grants nothing
		} else if err != nil {
			return nil, fmt.Errorf("load group: %w", err)
		}
		// A group of ids is where a chain starts, as a membership's
		// group is for storage.Effective: MaxInclusionDepth steps below
		// it still count.
		if err := visit(g, 0); err != nil {
			return nil, err
		}
	}
	if all {
		return w.All(ctx)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// All returns every resource of the realm.
func (w Powers) All(ctx context.Context) ([]string, error) {
	return storage.ResourceNames(ctx, w.Store, w.Realm)
}

package authz

import (
	"context"
	"fmt"

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

// Group returns what the group grants: every resource of the realm for
// a group with AllResources (administrators).
func (w Powers) Group(ctx context.Context, g storage.Group) ([]string, error) {
	if g.AllResources {
		return w.All(ctx)
	}
	return g.Resources, nil
}

// All returns every resource of the realm.
func (w Powers) All(ctx context.Context) ([]string, error) {
	return storage.ResourceNames(ctx, w.Store, w.Realm)
}

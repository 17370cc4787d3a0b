package storecache

import (
	"context"
	"slices"

	"github.com/gatehouse/gatehouse/storage"
)

// A token for a context reads the context's path (its ancestors) and what
// its subject holds there: both are cached like the realm-wide reads, so
// that a context selector costs no round trip while nothing changed.
// Every change of contexts and memberships raises the stamp.

// ContextPath implements storage.ContextStore.
func (s *Store) ContextPath(ctx context.Context, realm, id string) ([]string, error) {
	return cached(ctx, s, key{kindContextPath, realm, id}, func() ([]string, error) {
		return s.inner.ContextPath(ctx, realm, id)
	}, slices.Clone[[]string])
}

// UserResourcesIn implements storage.ContextStore.
func (s *Store) UserResourcesIn(ctx context.Context, realm, userID, contextID string) ([]storage.EffectiveResource, error) {
	if contextID == "" {
		return s.UserResources(ctx, realm, userID)
	}
	// A NUL cannot occur in a user id or a context id.
	return cached(ctx, s, key{kindResourcesIn, realm, userID + "\x00" + contextID}, func() ([]storage.EffectiveResource, error) {
		return s.inner.UserResourcesIn(ctx, realm, userID, contextID)
	}, slices.Clone[[]storage.EffectiveResource])
}

// GetContext implements storage.ContextStore.
func (s *Store) GetContext(ctx context.Context, realm, id string) (storage.Context, error) {
	return s.inner.GetContext(ctx, realm, id)
}

// ListContexts implements storage.ContextStore.
func (s *Store) ListContexts(ctx context.Context, realm, parent string, opts storage.ListOptions) (storage.Page[storage.Context], error) {
	return s.inner.ListContexts(ctx, realm, parent, opts)
}

// ListContextMembers implements storage.ContextStore.
func (s *Store) ListContextMembers(ctx context.Context, realm, id string, opts storage.ListOptions) (storage.Page[storage.User], error) {
	return s.inner.ListContextMembers(ctx, realm, id, opts)
}

// UserMemberships implements storage.ContextStore.
func (s *Store) UserMemberships(ctx context.Context, realm, userID string) ([]storage.Membership, error) {
	return s.inner.UserMemberships(ctx, realm, userID)
}

func (s *Store) CreateContext(ctx context.Context, a storage.Actor, realm string, c storage.Context) (storage.Context, error) {
	v, err := s.inner.CreateContext(ctx, a, realm, c)
	return changed1(s, ctx, v, err)
}

func (s *Store) UpdateContext(ctx context.Context, a storage.Actor, realm, id string, fn func(*storage.Context) error) (storage.Context, error) {
	v, err := s.inner.UpdateContext(ctx, a, realm, id, fn)
	return changed1(s, ctx, v, err)
}

func (s *Store) DeleteContext(ctx context.Context, a storage.Actor, realm, id string) error {
	return s.changed(ctx, s.inner.DeleteContext(ctx, a, realm, id))
}

func (s *Store) AddGroupMemberIn(ctx context.Context, a storage.Actor, realm, contextID, groupID, userID string) error {
	return s.changed(ctx, s.inner.AddGroupMemberIn(ctx, a, realm, contextID, groupID, userID))
}

func (s *Store) RemoveGroupMemberIn(ctx context.Context, a storage.Actor, realm, contextID, groupID, userID string) error {
	return s.changed(ctx, s.inner.RemoveGroupMemberIn(ctx, a, realm, contextID, groupID, userID))
}

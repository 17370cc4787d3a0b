package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/storage"
)

// CreateContext implements storage.ContextStore.
func (s *Store) CreateContext(_ context.Context, a storage.Actor, realm string, c storage.Context) (storage.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.realms[realm]; !ok {
		return storage.Context{}, fmt.Errorf("realm %q: %w", realm, storage.ErrMissingReference)
	}
	k := key{realm, c.ID}
	if _, ok := s.contexts[k]; ok {
		return storage.Context{}, fmt.Errorf("context %s: %w", c.ID, storage.ErrAlreadyExists)
	}
	if c.ParentID != "" {
		path, err := s.path(realm, c.ParentID)
		if err != nil {
			return storage.Context{}, fmt.Errorf("parent %s: %w", c.ParentID, storage.ErrMissingReference)
		}
		if len(path)+1 > storage.MaxContextDepth {
			return storage.Context{}, fmt.Errorf("context %s: deeper than %d: %w", c.ID, storage.MaxContextDepth, storage.ErrHierarchy)
		}
	}
	c.CreatedAt, c.UpdatedAt = s.stamp(), s.stamp()
	s.contexts[k] = c
	s.record(realm, a, storage.ActionContextCreate, storage.TargetContext, c.ID, map[string]string{"name": c.Name, "kind": c.Kind, "parent": c.ParentID})
	return c, nil
}

// GetContext implements storage.ContextStore.
func (s *Store) GetContext(_ context.Context, realm, id string) (storage.Context, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.contexts[key{realm, id}]
	if !ok {
		return storage.Context{}, fmt.Errorf("context %s: %w", id, storage.ErrNotFound)
	}
	return c, nil
}

// ListContexts implements storage.ContextStore.
func (s *Store) ListContexts(_ context.Context, realm, parent string, opts storage.ListOptions) (storage.Page[storage.Context], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []storage.Context
	for k, c := range s.contexts {
		if k.realm == realm && (parent == "" || c.ParentID == parent) {
			items = append(items, c)
		}
	}
	return page(items, func(c storage.Context) string { return c.ID }, opts)
}

// UpdateContext implements storage.ContextStore.
func (s *Store) UpdateContext(_ context.Context, a storage.Actor, realm, id string, fn func(*storage.Context) error) (storage.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, id}
	c, ok := s.contexts[k]
	if !ok {
		return storage.Context{}, fmt.Errorf("context %s: %w", id, storage.ErrNotFound)
	}
	next := c
	if err := fn(&next); err != nil {
		return storage.Context{}, err
	}
	next.ID, next.CreatedAt, next.UpdatedAt = c.ID, c.CreatedAt, s.stamp()
	if next.ParentID != c.ParentID && next.ParentID != "" {
		path, err := s.path(realm, next.ParentID)
		if err != nil {
			return storage.Context{}, fmt.Errorf("parent %s: %w", next.ParentID, storage.ErrMissingReference)
		}
		if slices.Contains(path, id) {
			return storage.Context{}, fmt.Errorf("context %s below itself: %w", id, storage.ErrHierarchy)
		}
		if len(path)+s.height(realm, id) > storage.MaxContextDepth {
			return storage.Context{}, fmt.Errorf("context %s: deeper than %d: %w", id, storage.MaxContextDepth, storage.ErrHierarchy)
		}
	}
	s.contexts[k] = next
	s.record(realm, a, storage.ActionContextUpdate, storage.TargetContext, id, storage.ChangeDetails(storage.ContextChanges(c, next)))
	return next, nil
}

// height returns how many levels the subtree of id holds, id included;
// callers hold the lock.
func (s *Store) height(realm, id string) int {
	h := 1
	for k, c := range s.contexts {
		if k.realm == realm && c.ParentID == id {
			h = max(h, 1+s.height(realm, c.ID))
		}
	}
	return h
}

// DeleteContext implements storage.ContextStore.
func (s *Store) DeleteContext(_ context.Context, a storage.Actor, realm, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, id}
	c, ok := s.contexts[k]
	if !ok {
		return fmt.Errorf("context %s: %w", id, storage.ErrNotFound)
	}
	for ck, other := range s.contexts {
		if ck.realm == realm && other.ParentID == id {
			return fmt.Errorf("context %s has children: %w", id, storage.ErrInUse)
		}
	}
	for m := range s.inMembers {
		if m.realm == realm && m.context == id {
			return fmt.Errorf("context %s has members: %w", id, storage.ErrInUse)
		}
	}
	for ck, cl := range s.clients {
		if ck.realm == realm && cl.ContextID == id {
			return fmt.Errorf("context %s has clients: %w", id, storage.ErrInUse)
		}
	}
	delete(s.contexts, k)
	s.record(realm, a, storage.ActionContextDelete, storage.TargetContext, id, map[string]string{"name": c.Name})
	return nil
}

// ContextPath implements storage.ContextStore.
func (s *Store) ContextPath(_ context.Context, realm, id string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.path(realm, id)
}

// path returns id and its ancestors; callers hold the lock. The depth
// bound stops the walk should the tree ever hold a cycle.
func (s *Store) path(realm, id string) ([]string, error) {
	var out []string
	for cur := id; cur != "" && len(out) < storage.MaxContextDepth; {
		c, ok := s.contexts[key{realm, cur}]
		if !ok {
			return nil, fmt.Errorf("context %s: %w", cur, storage.ErrNotFound)
		}
		out = append(out, c.ID)
		cur = c.ParentID
	}
	return out, nil
}

// ListContextMembers implements storage.ContextStore.
func (s *Store) ListContextMembers(_ context.Context, realm, id string, opts storage.ListOptions) (storage.Page[storage.User], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	path, err := s.path(realm, id)
	if err != nil {
		return storage.Page[storage.User]{}, err
	}
	seen := map[string]bool{}
	var items []storage.User
	for m := range s.inMembers {
		if m.realm == realm && slices.Contains(path, m.context) && !seen[m.user] {
			seen[m.user] = true
			items = append(items, copyUser(s.users[key{realm, m.user}]))
		}
	}
	return page(items, s.userSortKey(realm), opts)
}

// UserMemberships implements storage.ContextStore.
func (s *Store) UserMemberships(_ context.Context, realm, userID string) ([]storage.Membership, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.users[key{realm, userID}]; !ok {
		return nil, fmt.Errorf("user %s: %w", userID, storage.ErrNotFound)
	}
	out := s.memberships(realm, userID, nil)
	slices.SortFunc(out, func(a, b storage.Membership) int {
		if c := strings.Compare(a.ContextID, b.ContextID); c != 0 {
			return c
		}
		return strings.Compare(a.GroupID, b.GroupID)
	})
	return out, nil
}

// memberships returns the user's realm-wide memberships and those in the
// contexts of path (all contexts when path is nil); callers hold the
// lock.
func (s *Store) memberships(realm, userID string, path []string) []storage.Membership {
	out := []storage.Membership{}
	for gk, m := range s.members {
		if gk.realm == realm && m[userID] {
			out = append(out, storage.Membership{GroupID: gk.id, UserID: userID})
		}
	}
	for m := range s.inMembers {
		if m.realm == realm && m.user == userID && (path == nil || slices.Contains(path, m.context)) {
			out = append(out, storage.Membership{GroupID: m.group, UserID: userID, ContextID: m.context})
		}
	}
	return out
}

// UserResourcesIn implements storage.ContextStore.
func (s *Store) UserResourcesIn(_ context.Context, realm, userID, contextID string) ([]storage.EffectiveResource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.users[key{realm, userID}]; !ok {
		return nil, fmt.Errorf("user %s: %w", userID, storage.ErrNotFound)
	}
	path := []string{}
	if contextID != "" {
		var err error
		if path, err = s.path(realm, contextID); err != nil {
			return nil, err
		}
	}
	groups := map[string]storage.GroupGrants{}
	var all []string
	for k, g := range s.groups {
		if k.realm == realm {
			groups[g.ID] = storage.GroupGrants{AllResources: g.AllResources, Resources: g.Resources, Includes: g.Includes}
		}
	}
	for k := range s.resources {
		if k.realm == realm {
			all = append(all, k.id)
		}
	}
	return storage.Effective(s.memberships(realm, userID, path), groups, all), nil
}

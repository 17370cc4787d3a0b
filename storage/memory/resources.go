package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/storage"
)

// CreateResource implements storage.ResourceStore.
func (s *Store) CreateResource(_ context.Context, a storage.Actor, realm string, r storage.Resource) (storage.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.realms[realm]; !ok {
		return storage.Resource{}, fmt.Errorf("realm %q: %w", realm, storage.ErrMissingReference)
	}
	k := key{realm, r.Name}
	if _, ok := s.resources[k]; ok {
		return storage.Resource{}, fmt.Errorf("resource %q: %w", r.Name, storage.ErrAlreadyExists)
	}
	r.BuiltIn = false
	r.CreatedAt, r.UpdatedAt = s.stamp(), s.stamp()
	s.resources[k] = r
	s.record(realm, a, storage.ActionResourceCreate, storage.TargetResource, r.Name, nil)
	return r, nil
}

// GetResource implements storage.ResourceStore.
func (s *Store) GetResource(_ context.Context, realm, name string) (storage.Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.resources[key{realm, name}]
	if !ok {
		return storage.Resource{}, fmt.Errorf("resource %q: %w", name, storage.ErrNotFound)
	}
	return r, nil
}

// ListResources implements storage.ResourceStore.
func (s *Store) ListResources(_ context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Resource], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []storage.Resource
	for k, r := range s.resources {
		if k.realm == realm {
			items = append(items, r)
		}
	}
	return page(items, func(r storage.Resource) string { return r.Name }, opts)
}

// UpdateResource implements storage.ResourceStore.
func (s *Store) UpdateResource(_ context.Context, a storage.Actor, realm, name string, fn func(*storage.Resource) error) (storage.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, name}
	r, ok := s.resources[k]
	if !ok {
		return storage.Resource{}, fmt.Errorf("resource %q: %w", name, storage.ErrNotFound)
	}
	next := r
	if err := fn(&next); err != nil {
		return storage.Resource{}, err
	}
	next.Name, next.BuiltIn, next.CreatedAt, next.UpdatedAt = r.Name, r.BuiltIn, r.CreatedAt, s.stamp()
	s.resources[k] = next
	s.record(realm, a, storage.ActionResourceUpdate, storage.TargetResource, name, storage.ChangeDetails([]string{"description"}))
	return next, nil
}

// DeleteResource implements storage.ResourceStore.
func (s *Store) DeleteResource(_ context.Context, a storage.Actor, realm, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, name}
	r, ok := s.resources[k]
	if !ok {
		return fmt.Errorf("resource %q: %w", name, storage.ErrNotFound)
	}
	if r.BuiltIn {
		return fmt.Errorf("resource %q is built in: %w", name, storage.ErrInUse)
	}
	delete(s.resources, k)
	for gk, g := range s.groups {
		if gk.realm == realm && slices.Contains(g.Resources, name) {
			g.Resources = slices.DeleteFunc(slices.Clone(g.Resources), func(x string) bool { return x == name })
			s.groups[gk] = g
		}
		if gk.realm == realm && g.ManagedBy == name {
			g.ManagedBy = ""
			s.groups[gk] = g
		}
	}
	for ck, c := range s.clients {
		if ck.realm == realm && slices.Contains(c.Scopes, name) {
			c.Scopes = slices.DeleteFunc(slices.Clone(c.Scopes), func(x string) bool { return x == name })
			s.clients[ck] = c
		}
	}
	s.record(realm, a, storage.ActionResourceDelete, storage.TargetResource, name, nil)
	return nil
}

// missingResource returns the first name that is not a resource of the
// realm; callers hold the lock.
func (s *Store) missingResource(realm string, names []string) error {
	for _, n := range names {
		if _, ok := s.resources[key{realm, n}]; !ok {
			return fmt.Errorf("resource %q: %w", n, storage.ErrMissingReference)
		}
	}
	return nil
}

// normalize sorts and de-duplicates a name list.
func normalize(names []string) []string {
	out := slices.Clone(names)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

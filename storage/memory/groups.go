package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/storage"
)

func copyGroup(g storage.Group) storage.Group {
	g.Resources = normalize(g.Resources)
	g.Includes = normalize(g.Includes)
	return g
}

// checkGroupRefs checks what g refers to — resources, the managing
// resource, included groups — and that inclusion stays acyclic and
// bounded with g as given; callers hold the lock.
func (s *Store) checkGroupRefs(realm string, g storage.Group) error {
	if err := s.missingResource(realm, g.Resources); err != nil {
		return err
	}
	if g.ManagedBy != "" {
		if err := s.missingResource(realm, []string{g.ManagedBy}); err != nil {
			return err
		}
	}
	includes := map[string][]string{g.ID: g.Includes}
	for k, other := range s.groups {
		if k.realm == realm && other.ID != g.ID {
			includes[other.ID] = other.Includes
		}
	}
	for _, inc := range g.Includes {
		if _, ok := s.groups[key{realm, inc}]; !ok && inc != g.ID {
			return fmt.Errorf("group %s: %w", inc, storage.ErrMissingReference)
		}
	}
	return storage.CheckInclusion(includes)
}

// checkGroupName fails if another group of the realm has the name;
// callers hold the lock.
func (s *Store) checkGroupName(realm, id, name string) error {
	for k, g := range s.groups {
		if k.realm == realm && g.ID != id && strings.EqualFold(g.Name, name) {
			return fmt.Errorf("group %q: %w", name, storage.ErrAlreadyExists)
		}
	}
	return nil
}

// CreateGroup implements storage.GroupStore.
func (s *Store) CreateGroup(_ context.Context, a storage.Actor, realm string, g storage.Group) (storage.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.realms[realm]; !ok {
		return storage.Group{}, fmt.Errorf("realm %q: %w", realm, storage.ErrMissingReference)
	}
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	if _, ok := s.groups[key{realm, g.ID}]; ok {
		return storage.Group{}, fmt.Errorf("group %s: %w", g.ID, storage.ErrAlreadyExists)
	}
	if err := s.checkGroupName(realm, g.ID, g.Name); err != nil {
		return storage.Group{}, err
	}
	g = copyGroup(g)
	if err := s.checkGroupRefs(realm, g); err != nil {
		return storage.Group{}, err
	}
	g.AllResources, g.BuiltIn = false, false
	g.CreatedAt, g.UpdatedAt = s.stamp(), s.stamp()
	s.groups[key{realm, g.ID}] = g
	s.members[key{realm, g.ID}] = map[string]bool{}
	s.record(realm, a, storage.ActionGroupCreate, storage.TargetGroup, g.ID, map[string]string{"name": g.Name, "resources": strings.Join(g.Resources, " ")})
	return copyGroup(g), nil
}

// GetGroup implements storage.GroupStore.
func (s *Store) GetGroup(_ context.Context, realm, id string) (storage.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, ok := s.groups[key{realm, id}]
	if !ok {
		return storage.Group{}, fmt.Errorf("group %s: %w", id, storage.ErrNotFound)
	}
	return copyGroup(g), nil
}

// GetGroupByName implements storage.GroupStore.
func (s *Store) GetGroupByName(_ context.Context, realm, name string) (storage.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, g := range s.groups {
		if k.realm == realm && strings.EqualFold(g.Name, name) {
			return copyGroup(g), nil
		}
	}
	return storage.Group{}, fmt.Errorf("group %q: %w", name, storage.ErrNotFound)
}

// ListGroups implements storage.GroupStore.
func (s *Store) ListGroups(_ context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Group], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []storage.Group
	for k, g := range s.groups {
		if k.realm == realm {
			items = append(items, copyGroup(g))
		}
	}
	return page(items, func(g storage.Group) string { return strings.ToLower(g.Name) }, opts)
}

// UpdateGroup implements storage.GroupStore.
func (s *Store) UpdateGroup(_ context.Context, a storage.Actor, realm, id string, fn func(*storage.Group) error) (storage.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, id}
	g, ok := s.groups[k]
	if !ok {
		return storage.Group{}, fmt.Errorf("group %s: %w", id, storage.ErrNotFound)
	}
	next := copyGroup(g)
	if err := fn(&next); err != nil {
		return storage.Group{}, err
	}
	next.ID, next.AllResources, next.BuiltIn, next.CreatedAt, next.UpdatedAt = g.ID, g.AllResources, g.BuiltIn, g.CreatedAt, s.stamp()
	if g.BuiltIn && !strings.EqualFold(next.Name, g.Name) {
		return storage.Group{}, fmt.Errorf("group %q is built in and cannot be renamed: %w", g.Name, storage.ErrInUse)
	}
	if err := s.checkGroupName(realm, id, next.Name); err != nil {
		return storage.Group{}, err
	}
	next = copyGroup(next)
	if err := s.checkGroupRefs(realm, next); err != nil {
		return storage.Group{}, err
	}
	s.groups[k] = next
	s.record(realm, a, storage.ActionGroupUpdate, storage.TargetGroup, id, storage.ChangeDetails(storage.GroupChanges(g, next)))
	return copyGroup(next), nil
}

// DeleteGroup implements storage.GroupStore.
func (s *Store) DeleteGroup(_ context.Context, a storage.Actor, realm, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, id}
	g, ok := s.groups[k]
	if !ok {
		return fmt.Errorf("group %s: %w", id, storage.ErrNotFound)
	}
	if g.BuiltIn {
		return fmt.Errorf("group %q is built in: %w", g.Name, storage.ErrInUse)
	}
	delete(s.groups, k)
	delete(s.members, k)
	for gk, other := range s.groups {
		if gk.realm == realm && slices.Contains(other.Includes, id) {
			other.Includes = slices.DeleteFunc(slices.Clone(other.Includes), func(x string) bool { return x == id })
			s.groups[gk] = other
		}
	}
	for m := range s.inMembers {
		if m.realm == realm && m.group == id {
			delete(s.inMembers, m)
		}
	}
	s.record(realm, a, storage.ActionGroupDelete, storage.TargetGroup, id, map[string]string{"name": g.Name})
	return nil
}

// AddGroupMember implements storage.GroupStore.
func (s *Store) AddGroupMember(_ context.Context, a storage.Actor, realm, groupID, userID string) error {
	return s.setMember(a, realm, "", groupID, userID, true)
}

// RemoveGroupMember implements storage.GroupStore.
func (s *Store) RemoveGroupMember(_ context.Context, a storage.Actor, realm, groupID, userID string) error {
	return s.setMember(a, realm, "", groupID, userID, false)
}

// AddGroupMemberIn implements storage.ContextStore.
func (s *Store) AddGroupMemberIn(_ context.Context, a storage.Actor, realm, contextID, groupID, userID string) error {
	return s.setMember(a, realm, contextID, groupID, userID, true)
}

// RemoveGroupMemberIn implements storage.ContextStore.
func (s *Store) RemoveGroupMemberIn(_ context.Context, a storage.Actor, realm, contextID, groupID, userID string) error {
	return s.setMember(a, realm, contextID, groupID, userID, false)
}

func (s *Store) setMember(a storage.Actor, realm, contextID, groupID, userID string, member bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, groupID}
	g, ok := s.groups[k]
	if !ok {
		return fmt.Errorf("group %s: %w", groupID, storage.ErrNotFound)
	}
	if _, ok := s.users[key{realm, userID}]; !ok {
		return fmt.Errorf("user %s: %w", userID, storage.ErrNotFound)
	}
	details := map[string]string{"user": userID}
	if contextID != "" {
		if _, ok := s.contexts[key{realm, contextID}]; !ok {
			return fmt.Errorf("context %s: %w", contextID, storage.ErrNotFound)
		}
		details["context"] = contextID
		m := inMember{realm, contextID, groupID, userID}
		if s.inMembers[m] == member {
			return nil
		}
		if member {
			s.inMembers[m] = true
		} else {
			delete(s.inMembers, m)
		}
	} else {
		if s.members[k][userID] == member {
			return nil
		}
		if !member && g.AllResources && s.lastActiveAdmin(realm, userID) {
			return lastAdminError(userID)
		}
		if member {
			s.members[k][userID] = true
		} else {
			delete(s.members[k], userID)
		}
	}
	action := storage.ActionGroupMemberAdd
	if !member {
		action = storage.ActionGroupMemberRemove
	}
	s.record(realm, a, action, storage.TargetGroup, groupID, details)
	return nil
}

// ListGroupMembers implements storage.GroupStore.
func (s *Store) ListGroupMembers(_ context.Context, realm, groupID string, opts storage.ListOptions) (storage.Page[storage.User], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.members[key{realm, groupID}]
	if !ok {
		return storage.Page[storage.User]{}, fmt.Errorf("group %s: %w", groupID, storage.ErrNotFound)
	}
	var items []storage.User
	for id := range m {
		items = append(items, copyUser(s.users[key{realm, id}]))
	}
	return page(items, s.userSortKey(realm), opts)
}

// GrantGroupResource implements storage.GroupStore.
func (s *Store) GrantGroupResource(_ context.Context, a storage.Actor, realm, groupID, resource string) error {
	return s.setGrant(a, realm, groupID, resource, true)
}

// RevokeGroupResource implements storage.GroupStore.
func (s *Store) RevokeGroupResource(_ context.Context, a storage.Actor, realm, groupID, resource string) error {
	return s.setGrant(a, realm, groupID, resource, false)
}

func (s *Store) setGrant(a storage.Actor, realm, groupID, resource string, grant bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, groupID}
	g, ok := s.groups[k]
	if !ok {
		return fmt.Errorf("group %s: %w", groupID, storage.ErrNotFound)
	}
	if _, ok := s.resources[key{realm, resource}]; !ok {
		return fmt.Errorf("resource %q: %w", resource, storage.ErrNotFound)
	}
	if slices.Contains(g.Resources, resource) == grant {
		return nil
	}
	action := storage.ActionGroupResourceGrant
	if grant {
		g.Resources = normalize(append(slices.Clone(g.Resources), resource))
	} else {
		g.Resources = slices.DeleteFunc(slices.Clone(g.Resources), func(x string) bool { return x == resource })
		action = storage.ActionGroupResourceRevoke
	}
	g.UpdatedAt = s.stamp()
	s.groups[k] = g
	s.record(realm, a, action, storage.TargetGroup, groupID, map[string]string{"resource": resource})
	return nil
}

// lastActiveAdmin reports whether the user is the only active member of
// the realm's administrators group (the one with AllResources), so that
// disabling, deleting or removing them would leave nobody able to manage
// the realm. Callers hold the lock; holding it for the whole change is
// what makes the decision safe against concurrent changes.
func (s *Store) lastActiveAdmin(realm, userID string) bool {
	var members map[string]bool
	for k, g := range s.groups {
		if k.realm == realm && g.AllResources {
			members = s.members[k]
		}
	}
	if !members[userID] || s.users[key{realm, userID}].Status != storage.StatusActive {
		return false
	}
	for id := range members {
		if id != userID && s.users[key{realm, id}].Status == storage.StatusActive {
			return false
		}
	}
	return true
}

func lastAdminError(userID string) error {
	return fmt.Errorf("user %s: %w", userID, storage.ErrLastAdministrator)
}

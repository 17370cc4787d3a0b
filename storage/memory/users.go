package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/storage"
)

func copyUser(u storage.User) storage.User {
	if u.Password != nil {
		p := *u.Password
		p.Salt = slices.Clone(p.Salt)
		u.Password = &p
	}
	return u
}

// checkUser validates references and uniqueness of u and returns its
// canonical username; callers hold the write lock.
func (s *Store) checkUser(realm string, u *storage.User) (string, error) {
	canonical, err := storage.CanonicalUsername(u.Username)
	if err != nil {
		return "", fmt.Errorf("username %q: %w", u.Username, err)
	}
	if _, ok := s.realms[realm]; !ok {
		return "", fmt.Errorf("realm %q: %w", realm, storage.ErrMissingReference)
	}
	l, ok := s.languages[langKey(realm, u.Language)]
	if !ok {
		return "", fmt.Errorf("language %q: %w", u.Language, storage.ErrMissingReference)
	}
	u.Language = l.Code
	if id, ok := s.userByUsername(realm, canonical); ok && id != u.ID {
		return "", fmt.Errorf("username %q: %w", u.Username, storage.ErrAlreadyExists)
	}
	return canonical, nil
}

// userByUsername returns the id of the user with the canonical username;
// callers hold the lock.
func (s *Store) userByUsername(realm, canonical string) (string, bool) {
	for k, c := range s.usernames {
		if k.realm == realm && c == canonical {
			return k.id, true
		}
	}
	return "", false
}

// CreateUser implements storage.UserStore.
func (s *Store) CreateUser(_ context.Context, a storage.Actor, realm string, u storage.User, groups []string) (storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	if _, ok := s.users[key{realm, u.ID}]; ok {
		return storage.User{}, fmt.Errorf("user %s: %w", u.ID, storage.ErrAlreadyExists)
	}
	canonical, err := s.checkUser(realm, &u)
	if err != nil {
		return storage.User{}, err
	}
	for _, g := range groups {
		if _, ok := s.groups[key{realm, g}]; !ok {
			return storage.User{}, fmt.Errorf("group %s: %w", g, storage.ErrMissingReference)
		}
	}
	u = copyUser(u)
	u.CreatedAt, u.UpdatedAt = s.stamp(), s.stamp()
	s.users[key{realm, u.ID}] = u
	s.usernames[key{realm, u.ID}] = canonical
	s.record(realm, a, storage.ActionUserCreate, storage.TargetUser, u.ID, map[string]string{"username": u.Username})
	for _, g := range groups {
		s.members[key{realm, g}][u.ID] = true
		s.record(realm, a, storage.ActionGroupMemberAdd, storage.TargetGroup, g, map[string]string{"user": u.ID})
	}
	return copyUser(u), nil
}

// GetUser implements storage.UserStore.
func (s *Store) GetUser(_ context.Context, realm, id string) (storage.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[key{realm, id}]
	if !ok {
		return storage.User{}, fmt.Errorf("user %s: %w", id, storage.ErrNotFound)
	}
	return copyUser(u), nil
}

// GetUserByUsername implements storage.UserStore.
func (s *Store) GetUserByUsername(_ context.Context, realm, username string) (storage.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	// A username without a canonical form names no account.
	if canonical, err := storage.CanonicalUsername(username); err == nil {
		if id, ok := s.userByUsername(realm, canonical); ok {
			return copyUser(s.users[key{realm, id}]), nil
		}
	}
	return storage.User{}, fmt.Errorf("username %q: %w", username, storage.ErrNotFound)
}

// ListUsers implements storage.UserStore.
func (s *Store) ListUsers(_ context.Context, realm string, f storage.UserFilter, opts storage.ListOptions) (storage.Page[storage.User], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []storage.User
	canonical := ""
	if f.Username != "" {
		var err error
		if canonical, err = storage.CanonicalUsername(f.Username); err != nil {
			return storage.Page[storage.User]{Items: []storage.User{}}, nil
		}
	}
	for k, u := range s.users {
		switch {
		case k.realm != realm:
		case canonical != "" && s.usernames[k] != canonical:
		case f.Email != "" && !strings.EqualFold(u.Email, f.Email):
		case f.Status != "" && u.Status != f.Status:
		case f.GroupID != "" && !s.members[key{realm, f.GroupID}][u.ID]:
		default:
			items = append(items, copyUser(u))
		}
	}
	return page(items, s.userSortKey(realm), opts)
}

// userSortKey orders users by canonical username, which is unique; callers
// hold the lock.
func (s *Store) userSortKey(realm string) func(storage.User) string {
	return func(u storage.User) string { return s.usernames[key{realm, u.ID}] }
}

// UpdateUser implements storage.UserStore.
func (s *Store) UpdateUser(_ context.Context, a storage.Actor, realm, id string, fn func(*storage.User) error) (storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, id}
	u, ok := s.users[k]
	if !ok {
		return storage.User{}, fmt.Errorf("user %s: %w", id, storage.ErrNotFound)
	}
	next := copyUser(u)
	if err := fn(&next); err != nil {
		return storage.User{}, err
	}
	next.ID, next.CreatedAt, next.UpdatedAt = u.ID, u.CreatedAt, s.stamp()
	canonical, err := s.checkUser(realm, &next)
	if err != nil {
		return storage.User{}, err
	}
	if next.Status != storage.StatusActive && s.lastActiveAdmin(realm, id) {
		return storage.User{}, lastAdminError(id)
	}
	s.users[k] = copyUser(next)
	s.usernames[k] = canonical
	s.record(realm, a, storage.ActionUserUpdate, storage.TargetUser, id, storage.ChangeDetails(storage.UserChanges(u, next)))
	return next, nil
}

// DeleteUser implements storage.UserStore.
func (s *Store) DeleteUser(_ context.Context, a storage.Actor, realm, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, id}
	if _, ok := s.users[k]; !ok {
		return fmt.Errorf("user %s: %w", id, storage.ErrNotFound)
	}
	if s.lastActiveAdmin(realm, id) {
		return lastAdminError(id)
	}
	delete(s.users, k)
	delete(s.usernames, k)
	s.dropConsents(realm, id, "")
	s.dropAccountsOf(realm, id)
	for gk, m := range s.members {
		if gk.realm == realm {
			delete(m, id)
		}
	}
	for m := range s.inMembers {
		if m.realm == realm && m.user == id {
			delete(s.inMembers, m)
		}
	}
	for ck, c := range s.clients {
		if ck.realm == realm && c.OwnerID == id {
			delete(s.clients, ck)
			delete(s.secrets, ck)
			s.dropConsents(realm, "", c.ClientID)
			s.record(realm, a, storage.ActionClientDelete, storage.TargetClient, c.ClientID, map[string]string{"reason": "owner deleted"})
		}
	}
	s.record(realm, a, storage.ActionUserDelete, storage.TargetUser, id, nil)
	return nil
}

// UserGroups implements storage.UserStore.
func (s *Store) UserGroups(_ context.Context, realm, userID string) ([]storage.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.users[key{realm, userID}]; !ok {
		return nil, fmt.Errorf("user %s: %w", userID, storage.ErrNotFound)
	}
	out := []storage.Group{}
	for gk, m := range s.members {
		if gk.realm == realm && m[userID] {
			out = append(out, copyGroup(s.groups[gk]))
		}
	}
	slices.SortFunc(out, func(a, b storage.Group) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// UserResources implements storage.UserStore.
func (s *Store) UserResources(ctx context.Context, realm, userID string) ([]storage.EffectiveResource, error) {
	return s.UserResourcesIn(ctx, realm, userID, "")
}

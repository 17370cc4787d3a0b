package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/storage"
)

func copyClient(c storage.Client) storage.Client {
	c.Scopes = normalize(c.Scopes)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.JWKS = slices.Clone(c.JWKS)
	c.RedirectURIs = normalize(c.RedirectURIs)
	c.PostLogoutRedirectURIs = normalize(c.PostLogoutRedirectURIs)
	return c
}

// checkClient validates a client's references; callers hold the lock.
func (s *Store) checkClient(realm string, c storage.Client) error {
	if _, ok := s.users[key{realm, c.OwnerID}]; !ok {
		return fmt.Errorf("owner %s: %w", c.OwnerID, storage.ErrMissingReference)
	}
	if _, ok := s.contexts[key{realm, c.ContextID}]; c.ContextID != "" && !ok {
		return fmt.Errorf("context %s: %w", c.ContextID, storage.ErrMissingReference)
	}
	return s.missingResource(realm, c.Scopes)
}

// CreateClient implements storage.ClientStore.
func (s *Store) CreateClient(_ context.Context, a storage.Actor, realm string, c storage.Client, verifiers [][]byte) (storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, c.ClientID}
	if _, ok := s.clients[k]; ok {
		return storage.Client{}, fmt.Errorf("client %q: %w", c.ClientID, storage.ErrAlreadyExists)
	}
	if err := s.checkClient(realm, c); err != nil {
		return storage.Client{}, err
	}
	c = copyClient(c)
	c.CreatedAt, c.UpdatedAt = s.stamp(), s.stamp()
	s.clients[k] = c
	s.record(realm, a, storage.ActionClientCreate, storage.TargetClient, c.ClientID, map[string]string{"owner": c.OwnerID, "name": c.Name})
	for _, v := range verifiers {
		s.addSecret(a, realm, c.ClientID, v)
	}
	return copyClient(c), nil
}

// GetClient implements storage.ClientStore.
func (s *Store) GetClient(_ context.Context, realm, clientID string) (storage.Client, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.clients[key{realm, clientID}]
	if !ok {
		return storage.Client{}, fmt.Errorf("client %q: %w", clientID, storage.ErrNotFound)
	}
	return copyClient(c), nil
}

// ListClients implements storage.ClientStore.
func (s *Store) ListClients(_ context.Context, realm, ownerID string, opts storage.ListOptions) (storage.Page[storage.Client], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []storage.Client
	for k, c := range s.clients {
		if k.realm == realm && (ownerID == "" || c.OwnerID == ownerID) {
			items = append(items, copyClient(c))
		}
	}
	return page(items, func(c storage.Client) string { return c.ClientID }, opts)
}

// UpdateClient implements storage.ClientStore.
func (s *Store) UpdateClient(_ context.Context, a storage.Actor, realm, clientID string, fn func(*storage.Client) error) (storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, clientID}
	c, ok := s.clients[k]
	if !ok {
		return storage.Client{}, fmt.Errorf("client %q: %w", clientID, storage.ErrNotFound)
	}
	next := copyClient(c)
	if err := fn(&next); err != nil {
		return storage.Client{}, err
	}
	next.ClientID, next.OwnerID, next.CreatedAt, next.UpdatedAt = c.ClientID, c.OwnerID, c.CreatedAt, s.stamp()
	if err := s.checkClient(realm, next); err != nil {
		return storage.Client{}, err
	}
	next = copyClient(next)
	s.clients[k] = next
	s.record(realm, a, storage.ActionClientUpdate, storage.TargetClient, clientID, storage.ChangeDetails(storage.ClientChanges(c, next)))
	return copyClient(next), nil
}

// DeleteClient implements storage.ClientStore.
func (s *Store) DeleteClient(_ context.Context, a storage.Actor, realm, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, clientID}
	if _, ok := s.clients[k]; !ok {
		return fmt.Errorf("client %q: %w", clientID, storage.ErrNotFound)
	}
	delete(s.clients, k)
	delete(s.secrets, k)
	s.dropConsents(realm, "", clientID)
	s.record(realm, a, storage.ActionClientDelete, storage.TargetClient, clientID, nil)
	return nil
}

// addSecret appends a secret version; callers hold the lock.
func (s *Store) addSecret(a storage.Actor, realm, clientID string, verifier []byte) storage.ClientSecret {
	sec := storage.ClientSecret{ID: uuid.NewString(), ClientID: clientID, Verifier: slices.Clone(verifier), CreatedAt: s.stamp()}
	k := key{realm, clientID}
	s.secrets[k] = append(s.secrets[k], sec)
	s.record(realm, a, storage.ActionClientSecretAdd, storage.TargetClient, clientID, map[string]string{"secret": sec.ID})
	return sec
}

// AddClientSecret implements storage.ClientStore.
func (s *Store) AddClientSecret(_ context.Context, a storage.Actor, realm, clientID string, verifier []byte) (storage.ClientSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[key{realm, clientID}]; !ok {
		return storage.ClientSecret{}, fmt.Errorf("client %q: %w", clientID, storage.ErrNotFound)
	}
	return copySecret(s.addSecret(a, realm, clientID, verifier)), nil
}

func copySecret(sec storage.ClientSecret) storage.ClientSecret {
	sec.Verifier = slices.Clone(sec.Verifier)
	if sec.DeactivatedAt != nil {
		t := *sec.DeactivatedAt
		sec.DeactivatedAt = &t
	}
	if sec.LastUsedAt != nil {
		t := *sec.LastUsedAt
		sec.LastUsedAt = &t
	}
	return sec
}

// ListClientSecrets implements storage.ClientStore.
func (s *Store) ListClientSecrets(_ context.Context, realm, clientID string) ([]storage.ClientSecret, error) {
	return s.secretList(realm, clientID, false)
}

// ActiveClientSecrets implements storage.ClientStore.
func (s *Store) ActiveClientSecrets(_ context.Context, realm, clientID string) ([]storage.ClientSecret, error) {
	return s.secretList(realm, clientID, true)
}

func (s *Store) secretList(realm, clientID string, activeOnly bool) ([]storage.ClientSecret, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := key{realm, clientID}
	if _, ok := s.clients[k]; !ok {
		return nil, fmt.Errorf("client %q: %w", clientID, storage.ErrNotFound)
	}
	out := []storage.ClientSecret{}
	for _, sec := range s.secrets[k] {
		if !activeOnly || sec.Active() {
			out = append(out, copySecret(sec))
		}
	}
	return out, nil
}

// DeactivateClientSecret implements storage.ClientStore.
func (s *Store) DeactivateClientSecret(_ context.Context, a storage.Actor, realm, clientID, secretID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.secrets[key{realm, clientID}]
	for i := range list {
		if list[i].ID == secretID {
			if list[i].DeactivatedAt == nil {
				t := s.stamp()
				list[i].DeactivatedAt = &t
				s.record(realm, a, storage.ActionClientSecretDeactivate, storage.TargetClient, clientID, map[string]string{"secret": secretID})
			}
			return nil
		}
	}
	return fmt.Errorf("secret %s of client %q: %w", secretID, clientID, storage.ErrNotFound)
}

// TouchClientSecret implements storage.ClientStore.
func (s *Store) TouchClientSecret(_ context.Context, realm, clientID, secretID string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.secrets[key{realm, clientID}]
	for i := range list {
		if list[i].ID == secretID {
			u := t.UTC().Truncate(time.Microsecond)
			list[i].LastUsedAt = &u
			return nil
		}
	}
	return fmt.Errorf("secret %s of client %q: %w", secretID, clientID, storage.ErrNotFound)
}

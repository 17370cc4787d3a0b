package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/storage"
)

// consentKey identifies a consent: one per user and client of a realm.
type consentKey struct{ realm, userID, clientID string }

func copyConsent(c storage.Consent) storage.Consent {
	c.Scopes = normalize(c.Scopes)
	return c
}

func consentNotFound(userID, clientID string) error {
	return fmt.Errorf("consent of user %s to client %q: %w", userID, clientID, storage.ErrNotFound)
}

// GrantConsent implements storage.ConsentStore.
func (s *Store) GrantConsent(_ context.Context, a storage.Actor, realm, userID, clientID string, scopes []string) (storage.Consent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, userOK := s.users[key{realm, userID}]
	_, clientOK := s.clients[key{realm, clientID}]
	if !userOK || !clientOK {
		return storage.Consent{}, consentNotFound(userID, clientID)
	}
	k := consentKey{realm, userID, clientID}
	t := s.stamp()
	c, ok := s.consents[k]
	if !ok {
		c = storage.Consent{UserID: userID, ClientID: clientID, CreatedAt: t}
	}
	c.Scopes = normalize(append(slices.Clone(c.Scopes), scopes...))
	c.UpdatedAt = t
	s.consents[k] = c
	s.record(realm, a, storage.ActionConsentGrant, storage.TargetUser, userID,
		map[string]string{"client": clientID, "scopes": strings.Join(c.Scopes, " ")})
	return copyConsent(c), nil
}

// GetConsent implements storage.ConsentStore.
func (s *Store) GetConsent(_ context.Context, realm, userID, clientID string) (storage.Consent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.consents[consentKey{realm, userID, clientID}]
	if !ok {
		return storage.Consent{}, consentNotFound(userID, clientID)
	}
	return copyConsent(c), nil
}

// ListConsents implements storage.ConsentStore.
func (s *Store) ListConsents(_ context.Context, realm, userID string, opts storage.ListOptions) (storage.Page[storage.Consent], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []storage.Consent
	for k, c := range s.consents {
		if k.realm == realm && k.userID == userID {
			items = append(items, copyConsent(c))
		}
	}
	return page(items, func(c storage.Consent) string { return c.ClientID }, opts)
}

// RevokeConsent implements storage.ConsentStore.
func (s *Store) RevokeConsent(_ context.Context, a storage.Actor, realm, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := consentKey{realm, userID, clientID}
	if _, ok := s.consents[k]; !ok {
		return consentNotFound(userID, clientID)
	}
	delete(s.consents, k)
	s.record(realm, a, storage.ActionConsentRevoke, storage.TargetUser, userID, map[string]string{"client": clientID})
	return nil
}

// dropConsents deletes the consents of a user or of a client (the other
// argument empty), as the foreign keys of the SQL schema do; callers hold
// the write lock.
func (s *Store) dropConsents(realm, userID, clientID string) {
	for k := range s.consents {
		if k.realm == realm && (k.userID == userID || k.clientID == clientID) {
			delete(s.consents, k)
		}
	}
}

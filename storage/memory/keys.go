package memory

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

func copyKey(k storage.SigningKey) storage.SigningKey {
	k.PrivateKeyEncrypted = slices.Clone(k.PrivateKeyEncrypted)
	k.PublicJWK = slices.Clone(k.PublicJWK)
	if k.ActivatedAt != nil {
		t := *k.ActivatedAt
		k.ActivatedAt = &t
	}
	if k.RetiredAt != nil {
		t := *k.RetiredAt
		k.RetiredAt = &t
	}
	return k
}

// CreateSigningKey implements storage.KeyStore.
func (s *Store) CreateSigningKey(_ context.Context, a storage.Actor, realm string, k storage.SigningKey) (storage.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kk := key{realm, k.KID}
	if _, ok := s.keys[kk]; ok {
		return storage.SigningKey{}, fmt.Errorf("signing key %q: %w", k.KID, storage.ErrAlreadyExists)
	}
	k = copyKey(k)
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.stamp()
	}
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Microsecond)
	if k.State == "" {
		k.State = storage.KeyStateNext
	}
	if k.State == storage.KeyStateActive {
		s.retireActive(a, realm, k.CreatedAt)
		k.ActivatedAt = &k.CreatedAt
	}
	s.keys[kk] = k
	s.record(realm, a, storage.ActionKeyCreate, storage.TargetSigningKey, k.KID, map[string]string{"alg": k.Algorithm, "state": string(k.State)})
	return copyKey(k), nil
}

// ListSigningKeys implements storage.KeyStore.
func (s *Store) ListSigningKeys(_ context.Context, realm string) ([]storage.SigningKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []storage.SigningKey{}
	for k, v := range s.keys {
		if k.realm == realm {
			out = append(out, copyKey(v))
		}
	}
	slices.SortFunc(out, func(a, b storage.SigningKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.KID, a.KID)
	})
	return out, nil
}

// SetSigningKeyState implements storage.KeyStore.
func (s *Store) SetSigningKeyState(_ context.Context, a storage.Actor, realm, kid string, state storage.KeyState, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kk := key{realm, kid}
	k, ok := s.keys[kk]
	if !ok {
		return fmt.Errorf("signing key %q: %w", kid, storage.ErrNotFound)
	}
	t = t.UTC().Truncate(time.Microsecond)
	switch state {
	case storage.KeyStateActive:
		if k.State != storage.KeyStateActive {
			s.retireActive(a, realm, t)
		}
		k.ActivatedAt = &t
	case storage.KeyStateRetired:
		k.RetiredAt = &t
	}
	k.State = state
	s.keys[kk] = k
	s.record(realm, a, storage.ActionKeyState, storage.TargetSigningKey, kid, map[string]string{"state": string(state)})
	return nil
}

// retireActive retires the realm's active key; callers hold the lock.
func (s *Store) retireActive(a storage.Actor, realm string, t time.Time) {
	for kk, k := range s.keys {
		if kk.realm == realm && k.State == storage.KeyStateActive {
			k.State, k.RetiredAt = storage.KeyStateRetired, &t
			s.keys[kk] = k
			s.record(realm, a, storage.ActionKeyState, storage.TargetSigningKey, k.KID, map[string]string{"state": string(storage.KeyStateRetired)})
		}
	}
}

// DeleteSigningKey implements storage.KeyStore.
func (s *Store) DeleteSigningKey(_ context.Context, a storage.Actor, realm, kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kk := key{realm, kid}
	k, ok := s.keys[kk]
	if !ok {
		return fmt.Errorf("signing key %q: %w", kid, storage.ErrNotFound)
	}
	if k.State == storage.KeyStateActive {
		return fmt.Errorf("signing key %q is active: %w", kid, storage.ErrInUse)
	}
	delete(s.keys, kk)
	s.record(realm, a, storage.ActionKeyDelete, storage.TargetSigningKey, kid, nil)
	return nil
}

// ResealSigningKey implements storage.KeyStore.
func (s *Store) ResealSigningKey(_ context.Context, a storage.Actor, realm, kid string, was, sealed []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kk := key{realm, kid}
	k, ok := s.keys[kk]
	if !ok {
		return fmt.Errorf("signing key %q: %w", kid, storage.ErrNotFound)
	}
	if !bytes.Equal(k.PrivateKeyEncrypted, was) {
		return fmt.Errorf("signing key %q changed meanwhile: %w", kid, storage.ErrConflict)
	}
	k.PrivateKeyEncrypted = slices.Clone(sealed)
	s.keys[kk] = k
	s.record(realm, a, storage.ActionKeyReseal, storage.TargetSigningKey, kid, nil)
	return nil
}

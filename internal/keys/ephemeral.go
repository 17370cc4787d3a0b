package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// NewEphemeral returns an initialised manager whose keys live only in its
// process, sealed under a random secret: for --dev and tests. Tokens it
// signs stop verifying when the process exits. alg "" means ES256.
func NewEphemeral(realm, alg string) (*Manager, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	m, err := NewManager(&ephemeralStore{}, realm, Options{Algorithm: alg, EncryptionSecret: secret})
	if err != nil {
		return nil, err
	}
	if err := m.Init(context.Background()); err != nil {
		return nil, err
	}
	return m, nil
}

// ephemeralStore is the smallest storage.KeyStore that honours the
// interface's contract, for one manager's keys. It ignores the realm: a
// store belongs to one manager.
type ephemeralStore struct {
	mu   sync.Mutex
	keys []storage.SigningKey // oldest first
}

var _ storage.KeyStore = (*ephemeralStore)(nil)

func (s *ephemeralStore) CreateSigningKey(_ context.Context, _ storage.Actor, _ string, k storage.SigningKey) (storage.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(k.KID) >= 0 {
		return storage.SigningKey{}, fmt.Errorf("signing key %q: %w", k.KID, storage.ErrAlreadyExists)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	if k.State == "" {
		k.State = storage.KeyStateNext
	}
	if k.State == storage.KeyStateActive {
		s.retireActive(k.CreatedAt)
		k.ActivatedAt = &k.CreatedAt
	}
	s.keys = append(s.keys, k)
	return k, nil
}

func (s *ephemeralStore) ListSigningKeys(context.Context, string) ([]storage.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.keys)
	slices.Reverse(out)
	return out, nil
}

func (s *ephemeralStore) SetSigningKeyState(_ context.Context, _ storage.Actor, _, kid string, state storage.KeyState, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(kid)
	if i < 0 {
		return fmt.Errorf("signing key %q: %w", kid, storage.ErrNotFound)
	}
	switch state {
	case storage.KeyStateActive:
		if s.keys[i].State != storage.KeyStateActive {
			s.retireActive(t)
		}
		s.keys[i].ActivatedAt = &t
	case storage.KeyStateRetired:
		s.keys[i].RetiredAt = &t
	}
	s.keys[i].State = state
	return nil
}

func (s *ephemeralStore) DeleteSigningKey(_ context.Context, _ storage.Actor, _, kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(kid)
	if i < 0 {
		return fmt.Errorf("signing key %q: %w", kid, storage.ErrNotFound)
	}
	if s.keys[i].State == storage.KeyStateActive {
		return fmt.Errorf("signing key %q is active: %w", kid, storage.ErrInUse)
	}
	s.keys = slices.Delete(s.keys, i, i+1)
	return nil
}

func (s *ephemeralStore) ResealSigningKey(_ context.Context, _ storage.Actor, _, kid string, was, sealed []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(kid)
	if i < 0 {
		return fmt.Errorf("signing key %q: %w", kid, storage.ErrNotFound)
	}
	if !bytes.Equal(s.keys[i].PrivateKeyEncrypted, was) {
		return fmt.Errorf("signing key %q changed meanwhile: %w", kid, storage.ErrConflict)
	}
	s.keys[i].PrivateKeyEncrypted = slices.Clone(sealed)
	return nil
}

// find returns the index of kid, or -1; callers hold mu.
func (s *ephemeralStore) find(kid string) int {
	return slices.IndexFunc(s.keys, func(k storage.SigningKey) bool { return k.KID == kid })
}

// retireActive retires the active key at t; callers hold mu.
func (s *ephemeralStore) retireActive(t time.Time) {
	for i := range s.keys {
		if s.keys[i].State == storage.KeyStateActive {
			s.keys[i].State, s.keys[i].RetiredAt = storage.KeyStateRetired, &t
		}
	}
}

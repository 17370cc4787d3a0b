package memory

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/storage"
)

func langKey(realm, code string) key { return key{realm, strings.ToLower(code)} }

// CreateLanguage implements storage.LanguageStore.
func (s *Store) CreateLanguage(_ context.Context, a storage.Actor, realm string, l storage.Language) (storage.Language, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.realms[realm]; !ok {
		return storage.Language{}, fmt.Errorf("realm %q: %w", realm, storage.ErrMissingReference)
	}
	k := langKey(realm, l.Code)
	if _, ok := s.languages[k]; ok {
		return storage.Language{}, fmt.Errorf("language %q: %w", l.Code, storage.ErrAlreadyExists)
	}
	l.CreatedAt, l.UpdatedAt = s.stamp(), s.stamp()
	s.languages[k] = l
	s.record(realm, a, storage.ActionLanguageCreate, storage.TargetLanguage, l.Code, map[string]string{"name": l.Name})
	return l, nil
}

// GetLanguage implements storage.LanguageStore.
func (s *Store) GetLanguage(_ context.Context, realm, code string) (storage.Language, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.languages[langKey(realm, code)]
	if !ok {
		return storage.Language{}, fmt.Errorf("language %q: %w", code, storage.ErrNotFound)
	}
	return l, nil
}

// ListLanguages implements storage.LanguageStore.
func (s *Store) ListLanguages(_ context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Language], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []storage.Language
	for k, l := range s.languages {
		if k.realm == realm {
			items = append(items, l)
		}
	}
	return page(items, func(l storage.Language) string { return strings.ToLower(l.Code) }, opts)
}

// UpdateLanguage implements storage.LanguageStore.
func (s *Store) UpdateLanguage(_ context.Context, a storage.Actor, realm, code string, fn func(*storage.Language) error) (storage.Language, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := langKey(realm, code)
	l, ok := s.languages[k]
	if !ok {
		return storage.Language{}, fmt.Errorf("language %q: %w", code, storage.ErrNotFound)
	}
	next := l
	if err := fn(&next); err != nil {
		return storage.Language{}, err
	}
	next.Code, next.CreatedAt, next.UpdatedAt = l.Code, l.CreatedAt, s.stamp()
	s.languages[k] = next
	s.record(realm, a, storage.ActionLanguageUpdate, storage.TargetLanguage, l.Code, map[string]string{"name": next.Name})
	return next, nil
}

// DeleteLanguage implements storage.LanguageStore.
func (s *Store) DeleteLanguage(_ context.Context, a storage.Actor, realm, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := langKey(realm, code)
	l, ok := s.languages[k]
	if !ok {
		return fmt.Errorf("language %q: %w", code, storage.ErrNotFound)
	}
	if strings.EqualFold(s.realms[realm].DefaultLanguage, l.Code) {
		return fmt.Errorf("language %q is the realm's default: %w", code, storage.ErrInUse)
	}
	for uk, u := range s.users {
		if uk.realm == realm && strings.EqualFold(u.Language, l.Code) {
			return fmt.Errorf("language %q is spoken by users: %w", code, storage.ErrInUse)
		}
	}
	delete(s.languages, k)
	s.record(realm, a, storage.ActionLanguageDelete, storage.TargetLanguage, l.Code, nil)
	return nil
}

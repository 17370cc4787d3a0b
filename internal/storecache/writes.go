package storecache

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// Every change of what a token request reads raises the stamp once it is
// committed (changed). The exceptions below say why they need not.

func changed1[T any](s *Store, ctx context.Context, v T, err error) (T, error) {
	return v, s.changed(ctx, err)
}

func (s *Store) CreateLanguage(ctx context.Context, a storage.Actor, realm string, l storage.Language) (storage.Language, error) {
	v, err := s.inner.CreateLanguage(ctx, a, realm, l)
	return changed1(s, ctx, v, err)
}

func (s *Store) UpdateLanguage(ctx context.Context, a storage.Actor, realm, code string, fn func(*storage.Language) error) (storage.Language, error) {
	v, err := s.inner.UpdateLanguage(ctx, a, realm, code, fn)
	return changed1(s, ctx, v, err)
}

func (s *Store) DeleteLanguage(ctx context.Context, a storage.Actor, realm, code string) error {
	return s.changed(ctx, s.inner.DeleteLanguage(ctx, a, realm, code))
}

func (s *Store) CreateUser(ctx context.Context, a storage.Actor, realm string, u storage.User, groups []string) (storage.User, error) {
	v, err := s.inner.CreateUser(ctx, a, realm, u, groups)
	return changed1(s, ctx, v, err)
}

func (s *Store) UpdateUser(ctx context.Context, a storage.Actor, realm, id string, fn func(*storage.User) error) (storage.User, error) {
	v, err := s.inner.UpdateUser(ctx, a, realm, id, fn)
	return changed1(s, ctx, v, err)
}

func (s *Store) DeleteUser(ctx context.Context, a storage.Actor, realm, id string) error {
	return s.changed(ctx, s.inner.DeleteUser(ctx, a, realm, id))
}

func (s *Store) CreateResource(ctx context.Context, a storage.Actor, realm string, r storage.Resource) (storage.Resource, error) {
	v, err := s.inner.CreateResource(ctx, a, realm, r)
	return changed1(s, ctx, v, err)
}

func (s *Store) UpdateResource(ctx context.Context, a storage.Actor, realm, name string, fn func(*storage.Resource) error) (storage.Resource, error) {
	v, err := s.inner.UpdateResource(ctx, a, realm, name, fn)
	return changed1(s, ctx, v, err)
}

func (s *Store) DeleteResource(ctx context.Context, a storage.Actor, realm, name string) error {
	return s.changed(ctx, s.inner.DeleteResource(ctx, a, realm, name))
}

func (s *Store) CreateGroup(ctx context.Context, a storage.Actor, realm string, g storage.Group) (storage.Group, error) {
	v, err := s.inner.CreateGroup(ctx, a, realm, g)
	return changed1(s, ctx, v, err)
}

func (s *Store) UpdateGroup(ctx context.Context, a storage.Actor, realm, id string, fn func(*storage.Group) error) (storage.Group, error) {
	v, err := s.inner.UpdateGroup(ctx, a, realm, id, fn)
	return changed1(s, ctx, v, err)
}

func (s *Store) DeleteGroup(ctx context.Context, a storage.Actor, realm, id string) error {
	return s.changed(ctx, s.inner.DeleteGroup(ctx, a, realm, id))
}

func (s *Store) AddGroupMember(ctx context.Context, a storage.Actor, realm, groupID, userID string) error {
	return s.changed(ctx, s.inner.AddGroupMember(ctx, a, realm, groupID, userID))
}

func (s *Store) RemoveGroupMember(ctx context.Context, a storage.Actor, realm, groupID, userID string) error {
	return s.changed(ctx, s.inner.RemoveGroupMember(ctx, a, realm, groupID, userID))
}

func (s *Store) GrantGroupResource(ctx context.Context, a storage.Actor, realm, groupID, resource string) error {
	return s.changed(ctx, s.inner.GrantGroupResource(ctx, a, realm, groupID, resource))
}

func (s *Store) RevokeGroupResource(ctx context.Context, a storage.Actor, realm, groupID, resource string) error {
	return s.changed(ctx, s.inner.RevokeGroupResource(ctx, a, realm, groupID, resource))
}

func (s *Store) CreateClient(ctx context.Context, a storage.Actor, realm string, c storage.Client, verifiers [][]byte) (storage.Client, error) {
	v, err := s.inner.CreateClient(ctx, a, realm, c, verifiers)
	return changed1(s, ctx, v, err)
}

func (s *Store) UpdateClient(ctx context.Context, a storage.Actor, realm, clientID string, fn func(*storage.Client) error) (storage.Client, error) {
	v, err := s.inner.UpdateClient(ctx, a, realm, clientID, fn)
	return changed1(s, ctx, v, err)
}

func (s *Store) DeleteClient(ctx context.Context, a storage.Actor, realm, clientID string) error {
	return s.changed(ctx, s.inner.DeleteClient(ctx, a, realm, clientID))
}

func (s *Store) AddClientSecret(ctx context.Context, a storage.Actor, realm, clientID string, verifier []byte) (storage.ClientSecret, error) {
	v, err := s.inner.AddClientSecret(ctx, a, realm, clientID, verifier)
	return changed1(s, ctx, v, err)
}

func (s *Store) DeactivateClientSecret(ctx context.Context, a storage.Actor, realm, clientID, secretID string) error {
	return s.changed(ctx, s.inner.DeactivateClientSecret(ctx, a, realm, clientID, secretID))
}

// GrantConsent and RevokeConsent raise the stamp like every change,
// although nothing cached reads consents today: a cache of them added
// later must not have to remember to start.
func (s *Store) GrantConsent(ctx context.Context, a storage.Actor, realm, userID, clientID string, scopes []string) (storage.Consent, error) {
	v, err := s.inner.GrantConsent(ctx, a, realm, userID, clientID, scopes)
	return changed1(s, ctx, v, err)
}

func (s *Store) RevokeConsent(ctx context.Context, a storage.Actor, realm, userID, clientID string) error {
	return s.changed(ctx, s.inner.RevokeConsent(ctx, a, realm, userID, clientID))
}

// TouchClientSecret implements storage.ClientStore without raising the
// stamp: it records use and changes nothing a token request decides on.
func (s *Store) TouchClientSecret(ctx context.Context, realm, clientID, secretID string, t time.Time) error {
	return s.inner.TouchClientSecret(ctx, realm, clientID, secretID, t)
}

// AppendAudit implements storage.AuditStore without raising the stamp: an
// audit entry changes no identity or permission, and nothing is cached
// from the audit log.
func (s *Store) AppendAudit(ctx context.Context, realm string, e storage.AuditEntry) error {
	return s.inner.AppendAudit(ctx, realm, e)
}

// The signing-key methods do not raise the stamp either. Nothing here
// caches keys: nodes converge on them through keys.Manager.Refresh. And
// reporting a failed raise after the change was committed would mislead
// the manager: Rotate discards a key whose activation returned an error,
// which would delete the key it had just made active.

// CreateSigningKey implements storage.KeyStore.
func (s *Store) CreateSigningKey(ctx context.Context, a storage.Actor, realm string, k storage.SigningKey) (storage.SigningKey, error) {
	return s.inner.CreateSigningKey(ctx, a, realm, k)
}

// SetSigningKeyState implements storage.KeyStore.
func (s *Store) SetSigningKeyState(ctx context.Context, a storage.Actor, realm, kid string, state storage.KeyState, t time.Time) error {
	return s.inner.SetSigningKeyState(ctx, a, realm, kid, state, t)
}

// ResealSigningKey implements storage.KeyStore.
func (s *Store) ResealSigningKey(ctx context.Context, a storage.Actor, realm, kid string, was, sealed []byte) error {
	return s.inner.ResealSigningKey(ctx, a, realm, kid, was, sealed)
}

// DeleteSigningKey implements storage.KeyStore.
func (s *Store) DeleteSigningKey(ctx context.Context, a storage.Actor, realm, kid string) error {
	return s.inner.DeleteSigningKey(ctx, a, realm, kid)
}

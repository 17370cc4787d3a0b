package storecache

import (
	"context"
	"slices"

	"github.com/gatehouse/gatehouse/storage"
)

// The reads of a token request are served from the cache under the
// request's stamp (see cached). They must be reads of what every change
// through this Store raises the stamp for.

// GetClient implements storage.Store.
func (s *Store) GetClient(ctx context.Context, realm, clientID string) (storage.Client, error) {
	return cached(ctx, s, key{kindClient, realm, clientID}, func() (storage.Client, error) {
		return s.inner.GetClient(ctx, realm, clientID)
	}, cloneClient)
}

// ActiveClientSecrets implements storage.Store.
func (s *Store) ActiveClientSecrets(ctx context.Context, realm, clientID string) ([]storage.ClientSecret, error) {
	return cached(ctx, s, key{kindSecrets, realm, clientID}, func() ([]storage.ClientSecret, error) {
		return s.inner.ActiveClientSecrets(ctx, realm, clientID)
	}, slices.Clone[[]storage.ClientSecret])
}

// GetUser implements storage.Store.
func (s *Store) GetUser(ctx context.Context, realm, id string) (storage.User, error) {
	return cached(ctx, s, key{kindUser, realm, id}, func() (storage.User, error) {
		return s.inner.GetUser(ctx, realm, id)
	}, cloneUser)
}

// UserResources implements storage.Store.
func (s *Store) UserResources(ctx context.Context, realm, userID string) ([]storage.EffectiveResource, error) {
	return cached(ctx, s, key{kindResources, realm, userID}, func() ([]storage.EffectiveResource, error) {
		return s.inner.UserResources(ctx, realm, userID)
	}, slices.Clone[[]storage.EffectiveResource])
}

func cloneClient(c storage.Client) storage.Client {
	c.Scopes, c.GrantTypes, c.JWKS = slices.Clone(c.Scopes), slices.Clone(c.GrantTypes), slices.Clone(c.JWKS)
	c.RedirectURIs, c.PostLogoutRedirectURIs = slices.Clone(c.RedirectURIs), slices.Clone(c.PostLogoutRedirectURIs)
	return c
}

func cloneUser(u storage.User) storage.User {
	if u.Password != nil {
		p := *u.Password
		u.Password = &p
	}
	return u
}

// Every other read goes to the store.

// GetRealm implements storage.Store.
func (s *Store) GetRealm(ctx context.Context, realm string) (storage.Realm, error) {
	return s.inner.GetRealm(ctx, realm)
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error { return s.inner.Ping(ctx) }

// Close implements storage.Store.
func (s *Store) Close() { s.inner.Close() }

// GetLanguage implements storage.LanguageStore.
func (s *Store) GetLanguage(ctx context.Context, realm, code string) (storage.Language, error) {
	return s.inner.GetLanguage(ctx, realm, code)
}

// ListLanguages implements storage.LanguageStore.
func (s *Store) ListLanguages(ctx context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Language], error) {
	return s.inner.ListLanguages(ctx, realm, opts)
}

// GetUserByUsername implements storage.UserStore.
func (s *Store) GetUserByUsername(ctx context.Context, realm, username string) (storage.User, error) {
	return s.inner.GetUserByUsername(ctx, realm, username)
}

// ListUsers implements storage.UserStore.
func (s *Store) ListUsers(ctx context.Context, realm string, f storage.UserFilter, opts storage.ListOptions) (storage.Page[storage.User], error) {
	return s.inner.ListUsers(ctx, realm, f, opts)
}

// UserGroups implements storage.UserStore.
func (s *Store) UserGroups(ctx context.Context, realm, userID string) ([]storage.Group, error) {
	return s.inner.UserGroups(ctx, realm, userID)
}

// GetResource implements storage.ResourceStore.
func (s *Store) GetResource(ctx context.Context, realm, name string) (storage.Resource, error) {
	return s.inner.GetResource(ctx, realm, name)
}

// ListResources implements storage.ResourceStore.
func (s *Store) ListResources(ctx context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Resource], error) {
	return s.inner.ListResources(ctx, realm, opts)
}

// GetGroup implements storage.GroupStore.
func (s *Store) GetGroup(ctx context.Context, realm, id string) (storage.Group, error) {
	return s.inner.GetGroup(ctx, realm, id)
}

// GetGroupByName implements storage.GroupStore.
func (s *Store) GetGroupByName(ctx context.Context, realm, name string) (storage.Group, error) {
	return s.inner.GetGroupByName(ctx, realm, name)
}

// ListGroups implements storage.GroupStore.
func (s *Store) ListGroups(ctx context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Group], error) {
	return s.inner.ListGroups(ctx, realm, opts)
}

// ListGroupMembers implements storage.GroupStore.
func (s *Store) ListGroupMembers(ctx context.Context, realm, groupID string, opts storage.ListOptions) (storage.Page[storage.User], error) {
	return s.inner.ListGroupMembers(ctx, realm, groupID, opts)
}

// ListClients implements storage.ClientStore.
func (s *Store) ListClients(ctx context.Context, realm, ownerID string, opts storage.ListOptions) (storage.Page[storage.Client], error) {
	return s.inner.ListClients(ctx, realm, ownerID, opts)
}

// ListClientSecrets implements storage.ClientStore.
func (s *Store) ListClientSecrets(ctx context.Context, realm, clientID string) ([]storage.ClientSecret, error) {
	return s.inner.ListClientSecrets(ctx, realm, clientID)
}

// GetConsent implements storage.ConsentStore. Consents are read by the
// authorization endpoint, not by token requests: not cached.
func (s *Store) GetConsent(ctx context.Context, realm, userID, clientID string) (storage.Consent, error) {
	return s.inner.GetConsent(ctx, realm, userID, clientID)
}

// ListConsents implements storage.ConsentStore.
func (s *Store) ListConsents(ctx context.Context, realm, userID string, opts storage.ListOptions) (storage.Page[storage.Consent], error) {
	return s.inner.ListConsents(ctx, realm, userID, opts)
}

// ListSigningKeys implements storage.KeyStore.
func (s *Store) ListSigningKeys(ctx context.Context, realm string) ([]storage.SigningKey, error) {
	return s.inner.ListSigningKeys(ctx, realm)
}

// ListAudit implements storage.AuditStore.
func (s *Store) ListAudit(ctx context.Context, realm string, f storage.AuditFilter, opts storage.ListOptions) (storage.Page[storage.AuditEntry], error) {
	return s.inner.ListAudit(ctx, realm, f, opts)
}

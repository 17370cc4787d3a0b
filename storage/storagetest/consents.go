package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

const noSuchUser = "00000000-0000-4000-8000-000000000000"

// browserClient creates a client of the authorization code flow owned by
// owner.
func browserClient(t *testing.T, s storage.Store, id, owner string) storage.Client {
	t.Helper()
	c, err := s.CreateClient(ctx, actor, realm, storage.Client{ClientID: id, OwnerID: owner, Name: id,
		GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: storage.AuthMethodNone,
		RedirectURIs: []string{"https://app.example/cb"}, Status: storage.StatusActive}, nil)
	require.NoError(t, err)
	return c
}

// The fields of the authorization code flow round-trip, sorted and never
// nil, and an update may change every one of them.
func testClientBrowserFields(t *testing.T, s storage.Store) {
	owner := user(t, s, "owner")
	c, err := s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "web", OwnerID: owner.ID, Name: "Web",
		GrantTypes: []string{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: storage.AuthMethodSecretBasic,
		RedirectURIs:           []string{"https://b.example/cb", "com.example.app:/cb", "http://127.0.0.1/cb"},
		PostLogoutRedirectURIs: []string{"https://b.example/bye"},
		PKCEOptional:           true, SkipConsent: true, Status: storage.StatusActive}, nil)
	require.NoError(t, err)
	want := []string{"com.example.app:/cb", "http://127.0.0.1/cb", "https://b.example/cb"}
	require.Equal(t, want, c.RedirectURIs, "sorted")
	got, err := s.GetClient(ctx, realm, "web")
	require.NoError(t, err)
	require.Equal(t, want, got.RedirectURIs)
	require.Equal(t, []string{"https://b.example/bye"}, got.PostLogoutRedirectURIs)
	require.True(t, got.PKCEOptional)
	require.True(t, got.SkipConsent)

	up, err := s.UpdateClient(ctx, actor, realm, "web", func(c *storage.Client) error {
		c.RedirectURIs, c.PostLogoutRedirectURIs, c.PKCEOptional, c.SkipConsent = []string{"https://c.example/cb"}, nil, false, false
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"https://c.example/cb"}, up.RedirectURIs)
	require.NotNil(t, up.PostLogoutRedirectURIs, "never nil")
	require.Empty(t, up.PostLogoutRedirectURIs)
	require.False(t, up.PKCEOptional)
	require.False(t, up.SkipConsent)
	page, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: "web"}, storage.ListOptions{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, storage.ActionClientUpdate, page.Items[0].Action)
	require.Equal(t, "redirect_uris,post_logout_redirect_uris,require_pkce,skip_consent", page.Items[0].Details["changed"])

	plain, err := s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "plain", OwnerID: owner.ID, Name: "p",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
	require.NoError(t, err)
	for _, c := range []storage.Client{plain, mustClient(t, s, "plain")} {
		require.NotNil(t, c.RedirectURIs, "never nil")
		require.NotNil(t, c.PostLogoutRedirectURIs, "never nil")
		require.Empty(t, c.RedirectURIs)
		require.False(t, c.PKCEOptional, "PKCE is required unless said otherwise")
		require.False(t, c.SkipConsent, "third-party unless said otherwise")
	}
}

func mustClient(t *testing.T, s storage.Store, id string) storage.Client {
	t.Helper()
	c, err := s.GetClient(ctx, realm, id)
	require.NoError(t, err)
	return c
}

func testConsents(t *testing.T, s storage.Store) {
	owner := user(t, s, "owner")
	ada := user(t, s, "ada")
	browserClient(t, s, "app", owner.ID)
	start := time.Now().Add(-time.Minute)

	_, err := s.GetConsent(ctx, realm, ada.ID, "app")
	require.ErrorIs(t, err, storage.ErrNotFound, "no consent yet")
	c, err := s.GrantConsent(ctx, actor, realm, ada.ID, "app", []string{"profile", "openid", "profile"})
	require.NoError(t, err)
	require.Equal(t, ada.ID, c.UserID)
	require.Equal(t, "app", c.ClientID)
	require.Equal(t, []string{"openid", "profile"}, c.Scopes, "sorted, without duplicates")
	require.False(t, c.CreatedAt.Before(start))
	require.Equal(t, c.CreatedAt, c.UpdatedAt)

	again, err := s.GrantConsent(ctx, actor, realm, ada.ID, "app", []string{"users-read", "email", "openid"})
	require.NoError(t, err)
	require.Equal(t, []string{"email", "openid", "profile", "users-read"}, again.Scopes, "a later consent adds to the earlier")
	require.True(t, again.CreatedAt.Equal(c.CreatedAt), "one record per user and client")
	require.False(t, again.UpdatedAt.Before(c.UpdatedAt))
	got, err := s.GetConsent(ctx, realm, ada.ID, "app")
	require.NoError(t, err)
	require.Equal(t, again.Scopes, got.Scopes)
	require.True(t, got.UpdatedAt.Equal(again.UpdatedAt))

	empty, err := s.GrantConsent(ctx, actor, realm, owner.ID, "app", nil)
	require.NoError(t, err)
	require.NotNil(t, empty.Scopes, "never nil")
	require.Empty(t, empty.Scopes)

	for _, tc := range []struct{ name, user, client string }{
		{"unknown user", noSuchUser, "app"},
		{"malformed user id", "not-a-uuid", "app"},
		{"unknown client", ada.ID, "nope"},
	} {
		_, err := s.GrantConsent(ctx, actor, realm, tc.user, tc.client, []string{"openid"})
		require.ErrorIs(t, err, storage.ErrNotFound, tc.name)
		_, err = s.GetConsent(ctx, realm, tc.user, tc.client)
		require.ErrorIs(t, err, storage.ErrNotFound, tc.name)
		require.ErrorIs(t, s.RevokeConsent(ctx, actor, realm, tc.user, tc.client), storage.ErrNotFound, tc.name)
	}
	_, err = s.GetConsent(ctx, "elsewhere", ada.ID, "app")
	require.ErrorIs(t, err, storage.ErrNotFound, "consents belong to a realm")

	require.NoError(t, s.RevokeConsent(ctx, actor, realm, ada.ID, "app"))
	require.ErrorIs(t, s.RevokeConsent(ctx, actor, realm, ada.ID, "app"), storage.ErrNotFound, "revoked already")
	_, err = s.GetConsent(ctx, realm, ada.ID, "app")
	require.ErrorIs(t, err, storage.ErrNotFound)
	fresh, err := s.GrantConsent(ctx, actor, realm, ada.ID, "app", []string{"openid"})
	require.NoError(t, err)
	require.Equal(t, []string{"openid"}, fresh.Scopes, "a revoked consent is gone, not merged into the next")

	// Audit: every grant and revocation, on the user, naming the client;
	// failures write nothing.
	page, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: ada.ID}, storage.ListOptions{})
	require.NoError(t, err)
	var actions []string
	for _, e := range page.Items {
		if e.Action == storage.ActionConsentGrant || e.Action == storage.ActionConsentRevoke {
			actions = append(actions, e.Action)
			require.Equal(t, storage.TargetUser, e.TargetType)
			require.Equal(t, "app", e.Details["client"])
			require.Equal(t, actor, e.Actor)
		}
	}
	require.Equal(t, []string{"consent.grant", "consent.revoke", "consent.grant", "consent.grant"}, actions, "newest first")
	require.Equal(t, "email openid profile users-read", page.Items[2].Details["scopes"])
}

func testConsentPages(t *testing.T, s storage.Store) {
	owner := user(t, s, "owner")
	ada := user(t, s, "ada")
	bob := user(t, s, "bob")
	ids := []string{"b", "a/1", "A", "c:x", "a"}
	for _, id := range ids {
		browserClient(t, s, id, owner.ID)
		_, err := s.GrantConsent(ctx, actor, realm, ada.ID, id, []string{"openid"})
		require.NoError(t, err)
	}
	_, err := s.GrantConsent(ctx, actor, realm, bob.ID, "b", []string{"openid"})
	require.NoError(t, err)
	list := func(userID string) func(storage.ListOptions) (storage.Page[storage.Consent], error) {
		return func(o storage.ListOptions) (storage.Page[storage.Consent], error) {
			return s.ListConsents(ctx, realm, userID, o)
		}
	}
	clientID := func(c storage.Consent) string { return c.ClientID }
	want := []string{"A", "a", "a/1", "b", "c:x"}
	for _, limit := range []int{1, 2, 5, 50} {
		require.Equal(t, want, walk(t, limit, list(ada.ID), clientID), "ordered by client_id, byte-wise, limit %d", limit)
	}
	require.Equal(t, []string{"b"}, walk(t, 10, list(bob.ID), clientID), "only the user's own")
	for _, id := range []string{owner.ID, noSuchUser, "not-a-uuid"} {
		p, err := s.ListConsents(ctx, realm, id, storage.ListOptions{})
		require.NoError(t, err)
		require.NotNil(t, p.Items)
		require.Empty(t, p.Items)
		require.Empty(t, p.NextCursor)
	}
	_, err = s.ListConsents(ctx, realm, ada.ID, storage.ListOptions{Cursor: "%%%"})
	require.ErrorIs(t, err, storage.ErrInvalidCursor)
}

// Consents end with their user or their client, including clients that
// end with their owner.
func testConsentCascades(t *testing.T, s storage.Store) {
	owner := user(t, s, "owner")
	ada := user(t, s, "ada")
	bob := user(t, s, "bob")
	browserClient(t, s, "kept", owner.ID)
	browserClient(t, s, "deleted", owner.ID)
	browserClient(t, s, "bobs", bob.ID)
	for _, u := range []string{ada.ID, bob.ID} {
		for _, c := range []string{"kept", "deleted", "bobs"} {
			_, err := s.GrantConsent(ctx, actor, realm, u, c, []string{"openid"})
			require.NoError(t, err)
		}
	}
	require.NoError(t, s.DeleteClient(ctx, actor, realm, "deleted"))
	for _, u := range []string{ada.ID, bob.ID} {
		_, err := s.GetConsent(ctx, realm, u, "deleted")
		require.ErrorIs(t, err, storage.ErrNotFound, "deleting a client deletes its consents")
		_, err = s.GetConsent(ctx, realm, u, "kept")
		require.NoError(t, err)
	}
	// A client registered again under the same client_id starts without
	// the consents of its predecessor.
	browserClient(t, s, "deleted", owner.ID)
	_, err := s.GetConsent(ctx, realm, ada.ID, "deleted")
	require.ErrorIs(t, err, storage.ErrNotFound)

	require.NoError(t, s.DeleteUser(ctx, actor, realm, bob.ID))
	p, err := s.ListConsents(ctx, realm, bob.ID, storage.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, p.Items, "deleting a user deletes their consents")
	_, err = s.GetConsent(ctx, realm, ada.ID, "bobs")
	require.ErrorIs(t, err, storage.ErrNotFound, "and those given to the clients they owned")
	_, err = s.GetConsent(ctx, realm, ada.ID, "kept")
	require.NoError(t, err, "other users' consents stay")
}

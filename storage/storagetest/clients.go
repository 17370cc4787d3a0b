package storagetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

func verifier(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func testClients(t *testing.T, s storage.Store) {
	owner := user(t, s, "owner")
	jwks := []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`)
	c, err := s.CreateClient(ctx, actor, realm, storage.Client{
		ClientID: "svc:reports/v2", OwnerID: owner.ID, Name: "Reports", Scopes: []string{"users-read", "groups-read"},
		GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: storage.AuthMethodPrivateKeyJWT, JWKS: jwks,
		AccessTokenTTL: 5 * time.Minute, RefreshTokenTTL: 24 * time.Hour, Status: storage.StatusActive,
	}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"groups-read", "users-read"}, c.Scopes)
	got, err := s.GetClient(ctx, realm, "svc:reports/v2")
	require.NoError(t, err)
	require.Equal(t, owner.ID, got.OwnerID)
	require.Equal(t, 5*time.Minute, got.AccessTokenTTL)
	require.Equal(t, 24*time.Hour, got.RefreshTokenTTL)
	require.JSONEq(t, string(jwks), string(got.JWKS))
	require.Equal(t, []string{"client_credentials"}, got.GrantTypes)

	_, err = s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "svc:reports/v2", OwnerID: owner.ID, Name: "dup",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, err = s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "x", OwnerID: "00000000-0000-0000-0000-000000000000", Name: "x",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrMissingReference)
	_, err = s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "x", OwnerID: owner.ID, Name: "x", Scopes: []string{"nope"},
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrMissingReference)
	_, err = s.GetClient(ctx, realm, "x")
	require.ErrorIs(t, err, storage.ErrNotFound)

	up, err := s.UpdateClient(ctx, actor, realm, c.ClientID, func(c *storage.Client) error {
		c.Name, c.Scopes, c.Status, c.OwnerID, c.ClientID = "Reports 2", []string{"audit-read"}, storage.StatusDisabled, "someone", "other"
		c.AccessTokenTTL = 0
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "Reports 2", up.Name)
	require.Equal(t, []string{"audit-read"}, up.Scopes)
	require.Equal(t, storage.StatusDisabled, up.Status)
	require.Equal(t, owner.ID, up.OwnerID, "the owner does not change")
	require.Equal(t, "svc:reports/v2", up.ClientID)
	require.Zero(t, up.AccessTokenTTL)
	_, err = s.UpdateClient(ctx, actor, realm, c.ClientID, func(c *storage.Client) error { c.Scopes = []string{"nope"}; return nil })
	require.ErrorIs(t, err, storage.ErrMissingReference)

	other := user(t, s, "other")
	for _, id := range []string{"b", "a", "c"} {
		_, err := s.CreateClient(ctx, actor, realm, storage.Client{ClientID: id, OwnerID: other.ID, Name: id,
			TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
		require.NoError(t, err)
	}
	ids := walk(t, 2, func(o storage.ListOptions) (storage.Page[storage.Client], error) {
		return s.ListClients(ctx, realm, "", o)
	},
		func(c storage.Client) string { return c.ClientID })
	require.Equal(t, []string{"a", "b", "c", "svc:reports/v2"}, ids)
	ids = walk(t, 10, func(o storage.ListOptions) (storage.Page[storage.Client], error) {
		return s.ListClients(ctx, realm, owner.ID, o)
	},
		func(c storage.Client) string { return c.ClientID })
	require.Equal(t, []string{"svc:reports/v2"}, ids)

	require.NoError(t, s.DeleteClient(ctx, actor, realm, "a"))
	require.ErrorIs(t, s.DeleteClient(ctx, actor, realm, "a"), storage.ErrNotFound)
}

func testClientSecrets(t *testing.T, s storage.Store) {
	owner := user(t, s, "owner")
	_, err := s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "app", OwnerID: owner.ID, Name: "app",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, [][]byte{verifier(1)})
	require.NoError(t, err)
	second, err := s.AddClientSecret(ctx, actor, realm, "app", verifier(2))
	require.NoError(t, err)
	require.True(t, second.Active())
	active, err := s.ActiveClientSecrets(ctx, realm, "app")
	require.NoError(t, err)
	require.Len(t, active, 2, "several versions are active at once")
	require.Equal(t, verifier(1), active[0].Verifier, "oldest first")

	require.NoError(t, s.DeactivateClientSecret(ctx, actor, realm, "app", active[0].ID))
	require.NoError(t, s.DeactivateClientSecret(ctx, actor, realm, "app", active[0].ID), "idempotent")
	active, err = s.ActiveClientSecrets(ctx, realm, "app")
	require.NoError(t, err)
	require.Len(t, active, 1)
	require.Equal(t, second.ID, active[0].ID)
	all, err := s.ListClientSecrets(ctx, realm, "app")
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.NotNil(t, all[0].DeactivatedAt)

	used := time.Now().UTC().Truncate(time.Second)
	require.NoError(t, s.TouchClientSecret(ctx, realm, "app", second.ID, used))
	all, err = s.ListClientSecrets(ctx, realm, "app")
	require.NoError(t, err)
	require.NotNil(t, all[1].LastUsedAt)
	require.True(t, used.Equal(*all[1].LastUsedAt))

	require.ErrorIs(t, s.DeactivateClientSecret(ctx, actor, realm, "app", "00000000-0000-0000-0000-000000000000"), storage.ErrNotFound)
	_, err = s.AddClientSecret(ctx, actor, realm, "nope", verifier(3))
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.ActiveClientSecrets(ctx, realm, "nope")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func testUserDeleteCascades(t *testing.T, s storage.Store) {
	g := group(t, s, "g", "users-read")
	u := user(t, s, "leaver", g.ID)
	_, err := s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "owned", OwnerID: u.ID, Name: "owned",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, [][]byte{verifier(1)})
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, actor, realm, u.ID))
	_, err = s.GetClient(ctx, realm, "owned")
	require.ErrorIs(t, err, storage.ErrNotFound, "a client never outlives its owner")
	members, err := s.ListGroupMembers(ctx, realm, g.ID, storage.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, members.Items)
}

func testAudit(t *testing.T, s storage.Store) {
	before := time.Now().Add(-time.Minute)
	bob := storage.Actor{Type: storage.ActorClient, ID: "bob-client"}
	pw := &storage.PasswordVerifier{KDF: "pbkdf2-sha256", Iterations: 600000, Salt: []byte("SALTSALTSALTSALT"), Hash: "$argon2id$v=19$m=1,t=1,p=1$SECRETHASH$SECRETHASH"}
	u, err := s.CreateUser(ctx, bob, realm, storage.User{Username: "audited", Language: "en", Status: storage.StatusActive, Password: pw}, nil)
	require.NoError(t, err)
	_, err = s.UpdateUser(ctx, actor, realm, u.ID, func(u *storage.User) error { u.DisplayName = "A"; u.Password = nil; return nil })
	require.NoError(t, err)
	_, err = s.CreateClient(ctx, bob, realm, storage.Client{ClientID: "audited-client", OwnerID: u.ID, Name: "c",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, [][]byte{verifier(7)})
	require.NoError(t, err)

	page, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: u.ID}, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	require.Equal(t, "user.update", page.Items[0].Action, "newest first")
	require.Equal(t, actor, page.Items[0].Actor)
	require.Equal(t, "user.create", page.Items[1].Action)
	require.Equal(t, bob, page.Items[1].Actor)
	require.Equal(t, "user", page.Items[1].TargetType)
	require.False(t, page.Items[1].Time.Before(before))

	page, err = s.ListAudit(ctx, realm, storage.AuditFilter{ActorID: "bob-client"}, storage.ListOptions{})
	require.NoError(t, err)
	actions := []string{}
	for _, e := range page.Items {
		actions = append(actions, e.Action)
		for k, v := range e.Details {
			for _, secret := range []string{"SECRETHASH", "SALTSALT", string(verifier(7))} {
				require.NotContains(t, k+v, secret, "audit details never hold secrets")
			}
		}
	}
	require.Equal(t, []string{"client.secret.add", "client.create", "user.create"}, actions)

	all := walk(t, 2, func(o storage.ListOptions) (storage.Page[storage.AuditEntry], error) {
		return s.ListAudit(ctx, realm, storage.AuditFilter{}, o)
	}, func(e storage.AuditEntry) string { return e.ID })
	require.GreaterOrEqual(t, len(all), 4)
	page, err = s.ListAudit(ctx, realm, storage.AuditFilter{Until: before}, storage.ListOptions{})
	require.NoError(t, err)
	for _, e := range page.Items {
		require.True(t, e.Time.Before(before))
	}
	page, err = s.ListAudit(ctx, realm, storage.AuditFilter{Since: time.Now().Add(time.Hour)}, storage.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, page.Items)

	// A failed change writes no audit entry.
	n := len(all)
	_, err = s.CreateUser(ctx, bob, realm, storage.User{Username: "AUDITED", Language: "en", Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	after := walk(t, 50, func(o storage.ListOptions) (storage.Page[storage.AuditEntry], error) {
		return s.ListAudit(ctx, realm, storage.AuditFilter{}, o)
	}, func(e storage.AuditEntry) string { return e.ID })
	require.Len(t, after, n)
}

func testOtherRealm(t *testing.T, s storage.Store) {
	u := user(t, s, "here")
	const other = "elsewhere"
	_, err := s.GetUser(ctx, other, u.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, other, "here")
	require.ErrorIs(t, err, storage.ErrNotFound)
	page, err := s.ListUsers(ctx, other, storage.UserFilter{}, storage.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, page.Items)
	_, err = s.GetLanguage(ctx, other, "en")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.CreateUser(ctx, actor, other, storage.User{Username: "x", Language: "en", Status: storage.StatusActive}, nil)
	require.Error(t, err)
	require.ErrorIs(t, s.DeleteUser(ctx, actor, other, u.ID), storage.ErrNotFound)
}

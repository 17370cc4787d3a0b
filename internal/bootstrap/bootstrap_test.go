package bootstrap_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/bootstrap"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
)

// fastHasher keeps the tests quick; the parameters do not matter here.
func fastHasher() *credential.PasswordHasher {
	return credential.NewPasswordHasher(credential.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 0, 0, time.Second)
}

func TestRunMemory(t *testing.T) { testRun(t, memory.New()) }

func TestRunPostgres(t *testing.T) { testRun(t, pgtest.NewStore(t)) }

func testRun(t *testing.T, store storage.Store) {
	ctx := context.Background()
	hasher := fastHasher()
	res, err := bootstrap.Run(ctx, store, hasher, bootstrap.Input{Iterations: 1000})
	require.NoError(t, err)
	require.Equal(t, "admin", res.AdminUsername)
	require.NotEmpty(t, res.AdminPassword, "a generated password is returned once")
	require.True(t, strings.HasPrefix(res.AdminClientID, "admin-"), res.AdminClientID)

	// The administrator: active, in administrators, holding every resource.
	u, err := store.GetUser(ctx, storage.DefaultRealm, res.AdminUserID)
	require.NoError(t, err)
	require.Equal(t, storage.StatusActive, u.Status)
	require.NotNil(t, u.Password)
	require.Equal(t, clienthash.KDFPBKDF2SHA256, u.Password.KDF)
	require.Equal(t, 1000, u.Password.Iterations)
	require.NotContains(t, u.Password.Hash, res.AdminPassword)
	groups, err := store.UserGroups(ctx, storage.DefaultRealm, u.ID)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	require.Equal(t, storage.AdministratorsGroup, groups[0].Name)
	eff, err := store.UserResources(ctx, storage.DefaultRealm, u.ID)
	require.NoError(t, err)
	all, err := store.ListResources(ctx, storage.DefaultRealm, storage.ListOptions{Limit: 500})
	require.NoError(t, err)
	require.Len(t, all.Items, 18, "the built-in resources of migrations 00001, 00004 and 00005")
	require.Len(t, eff, len(all.Items), "the administrator holds every built-in resource")

	// The printed password logs in: the stored verifier matches P.
	wire, err := clienthash.LoginPassword(res.AdminPassword, clienthash.LoginParams{
		KDF: u.Password.KDF, Iterations: u.Password.Iterations, Salt: clienthash.Encode(u.Password.Salt)})
	require.NoError(t, err)
	p, err := credential.ParsePasswordWire(wire)
	require.NoError(t, err)
	ok, err := hasher.Verify(ctx, u.Password.Hash, p)
	require.NoError(t, err)
	require.True(t, ok)

	// The admin client: owned by the administrator, every scope, and the
	// printed S authenticates it.
	c, err := store.GetClient(ctx, storage.DefaultRealm, res.AdminClientID)
	require.NoError(t, err)
	require.True(t, c.AllScopes)
	require.Equal(t, u.ID, c.OwnerID)
	require.Equal(t, storage.StatusActive, c.Status)
	require.Equal(t, storage.AuthMethodSecretBasic, c.TokenEndpointAuthMethod)
	require.ElementsMatch(t, []string{"client_credentials", "password", "refresh_token"}, c.GrantTypes)
	secrets, err := store.ActiveClientSecrets(ctx, storage.DefaultRealm, c.ClientID)
	require.NoError(t, err)
	require.Len(t, secrets, 1)
	w, err := clienthash.WireSecret(res.AdminClientSecret, c.ClientID)
	require.NoError(t, err)
	_, ok = credential.VerifyClientSecret(w, [][]byte{secrets[0].Verifier})
	require.True(t, ok)

	// The changes are audited as the bootstrap, and hold no secret.
	page, err := store.ListAudit(ctx, storage.DefaultRealm, storage.AuditFilter{}, storage.ListOptions{Limit: 50})
	require.NoError(t, err)
	require.NotEmpty(t, page.Items)
	for _, e := range page.Items {
		require.Equal(t, storage.System("bootstrap"), e.Actor, e.Action)
		for _, v := range e.Details {
			require.NotContains(t, v, res.AdminClientSecret)
			require.NotContains(t, v, res.AdminPassword)
		}
	}

	// A second run with the same username fails and changes nothing.
	for _, name := range []string{"admin", "ADMIN"} {
		_, err = bootstrap.Run(ctx, store, hasher, bootstrap.Input{Username: name, Iterations: 1000})
		require.ErrorIs(t, err, bootstrap.ErrExists, name)
	}
	u2, err := store.GetUser(ctx, storage.DefaultRealm, res.AdminUserID)
	require.NoError(t, err)
	require.Equal(t, u.Password.Hash, u2.Password.Hash, "the existing administrator is untouched")

	typed, err := bootstrap.Run(ctx, store, hasher, bootstrap.Input{Username: "root", Password: "chosen-password", Iterations: 1000})
	require.NoError(t, err)
	require.Empty(t, typed.AdminPassword, "a typed password is never echoed")
	require.NotEqual(t, res.AdminClientID, typed.AdminClientID)
}

func TestRunRejectsBadUsernames(t *testing.T) {
	store := memory.New()
	for _, name := range []string{" admin", "ad min", "-admin", strings.Repeat("a", 65), "admin\n"} {
		_, err := bootstrap.Run(context.Background(), store, fastHasher(), bootstrap.Input{Username: name, Iterations: 1000})
		require.ErrorIs(t, err, bootstrap.ErrInvalidUsername, "%q", name)
	}
	_, err := bootstrap.Run(context.Background(), store, fastHasher(), bootstrap.Input{Username: "ops.admin@example.com", Iterations: 1000})
	require.NoError(t, err)
}

// failingClients is a store that cannot create clients.
type failingClients struct{ storage.Store }

var errBoom = errors.New("boom")

func (failingClients) CreateClient(context.Context, storage.Actor, string, storage.Client, [][]byte) (storage.Client, error) {
	return storage.Client{}, errBoom
}

// A half-done bootstrap is undone, so that it can be retried.
func TestRunUndoesAHalfCreatedAdministrator(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	_, err := bootstrap.Run(ctx, failingClients{mem}, fastHasher(), bootstrap.Input{Iterations: 1000})
	require.ErrorIs(t, err, errBoom)
	_, err = mem.GetUserByUsername(ctx, storage.DefaultRealm, "admin")
	require.ErrorIs(t, err, storage.ErrNotFound, "the administrator was removed again")

	res, err := bootstrap.Run(ctx, mem, fastHasher(), bootstrap.Input{Iterations: 1000})
	require.NoError(t, err, "a retry succeeds")
	clients, err := mem.ListClients(ctx, storage.DefaultRealm, "", storage.ListOptions{Limit: 10})
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(clients.Items, func(c storage.Client) bool { return c.ClientID == res.AdminClientID }))
}

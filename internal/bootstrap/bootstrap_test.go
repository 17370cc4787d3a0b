package bootstrap_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/bootstrap"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

func TestRun(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	hasher := credential.NewPasswordHasher(credential.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 0, 0, time.Second)
	res, err := bootstrap.Run(ctx, store, hasher, bootstrap.Input{Iterations: 1000})
	require.NoError(t, err)
	require.Equal(t, "admin", res.AdminUsername)
	require.NotEmpty(t, res.AdminPassword, "a generated password is returned once")

	u, err := store.GetUser(ctx, storage.DefaultRealm, res.AdminUserID)
	require.NoError(t, err)
	require.NotNil(t, u.Password)
	require.NotContains(t, u.Password.Hash, res.AdminPassword)
	eff, err := store.UserResources(ctx, storage.DefaultRealm, u.ID)
	require.NoError(t, err)
	require.Len(t, eff, 14, "the administrator holds every built-in resource")

	// The printed password logs in: the stored verifier matches P.
	wire, err := clienthash.LoginPassword(res.AdminPassword, clienthash.LoginParams{KDF: u.Password.KDF, Iterations: u.Password.Iterations, Salt: clienthash.Encode(u.Password.Salt)})
	require.NoError(t, err)
	p, err := credential.ParsePasswordWire(wire)
	require.NoError(t, err)
	ok, err := hasher.Verify(ctx, u.Password.Hash, p)
	require.NoError(t, err)
	require.True(t, ok)

	// The printed client secret S authenticates the client.
	c, err := store.GetClient(ctx, storage.DefaultRealm, res.AdminClientID)
	require.NoError(t, err)
	require.True(t, c.AllScopes)
	require.Equal(t, u.ID, c.OwnerID)
	secrets, err := store.ActiveClientSecrets(ctx, storage.DefaultRealm, c.ClientID)
	require.NoError(t, err)
	w, err := clienthash.WireSecret(res.AdminClientSecret, c.ClientID)
	require.NoError(t, err)
	_, ok = credential.VerifyClientSecret(w, [][]byte{secrets[0].Verifier})
	require.True(t, ok)

	_, err = bootstrap.Run(ctx, store, hasher, bootstrap.Input{Iterations: 1000})
	require.ErrorIs(t, err, bootstrap.ErrExists)

	typed, err := bootstrap.Run(ctx, store, hasher, bootstrap.Input{Username: "root", Password: "chosen-password", Iterations: 1000})
	require.NoError(t, err)
	require.Empty(t, typed.AdminPassword, "a typed password is never echoed")
}

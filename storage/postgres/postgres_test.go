package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/postgres"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
)

func TestMigrateUpIsIdempotent(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	applied, err := postgres.Migrate(ctx, dsn)
	require.NoError(t, err)
	require.NotEmpty(t, applied)
	again, err := postgres.Migrate(ctx, dsn)
	require.NoError(t, err)
	require.Empty(t, again, "a second run is a no-op")
	status, err := postgres.Migrations(ctx, dsn)
	require.NoError(t, err)
	require.NotEmpty(t, status)
	for _, m := range status {
		require.True(t, m.Applied, m.Name)
	}
}

func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	results := make([][]int64, 3)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = postgres.Migrate(ctx, dsn)
		}()
	}
	wg.Wait()
	total := 0
	for i := range 3 {
		require.NoError(t, errs[i])
		total += len(results[i])
	}
	status, err := postgres.Migrations(ctx, dsn)
	require.NoError(t, err)
	require.Equal(t, len(status), total, "every migration applied exactly once")
}

func TestOpenErrorsAreOneLineWithoutPassword(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{
		"postgres://gatehouse:s3cr3t-pw@127.0.0.1:1/nowhere?connect_timeout=1",
		"postgres://gatehouse:s3cr3t-pw@[::1:bad/nowhere",
	} {
		_, err := postgres.Open(ctx, dsn)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "s3cr3t-pw")
		require.NotContains(t, err.Error(), "\n")
	}
}

// The schema itself makes bad states impossible, whatever the code does.
func TestSchemaConstraints(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	_, err := postgres.Migrate(ctx, dsn)
	require.NoError(t, err)
	s, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	defer s.Close()
	for name, sql := range map[string]string{
		"partial password":    `INSERT INTO users (id, realm_id, username, language, password_kdf) VALUES (gen_random_uuid(), 'default', 'x', 'en', 'pbkdf2-sha256')`,
		"invalid resource":    `INSERT INTO resources (realm_id, name) VALUES ('default', 'has space')`,
		"short verifier":      `INSERT INTO client_secrets (id, realm_id, client_id, verifier) VALUES (gen_random_uuid(), 'default', 'x', '\x00')`,
		"two active keys":     `INSERT INTO signing_keys (realm_id, kid, algorithm, private_key_encrypted, public_jwk, state) VALUES ('default', 'a', 'ES256', '\x00', '{}', 'active'), ('default', 'b', 'ES256', '\x00', '{}', 'active')`,
		"unknown language":    `INSERT INTO users (id, realm_id, username, language) VALUES (gen_random_uuid(), 'default', 'y', 'zz')`,
		"bad status":          `INSERT INTO users (id, realm_id, username, language, status) VALUES (gen_random_uuid(), 'default', 'z', 'en', 'banned')`,
		"delete default lang": `DELETE FROM languages WHERE realm_id = 'default' AND code = 'en'`,
	} {
		err := execSQL(ctx, s, sql)
		require.Error(t, err, name)
	}
	require.NoError(t, execSQL(ctx, s, `SELECT 1`))
}

func execSQL(ctx context.Context, s *postgres.Store, sql string) error {
	return postgres.ExecForTest(ctx, s, sql)
}

var _ = strings.Contains
var _ storage.Store = (*postgres.Store)(nil)

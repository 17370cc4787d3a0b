package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/postgres"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
)

// Migration 2 makes usernames unique by canonical form. Accounts whose
// spellings were distinct before but are one username now are reported,
// not merged, and the schema stays where it was until they are renamed.
func TestCanonicalUsernameMigrationReportsCollisions(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	require.NoError(t, postgres.MigrateToForTest(ctx, dsn, 1))
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)

	const (
		alice     = "00000000-0000-4000-8000-00000000000a"
		fullwidth = "00000000-0000-4000-8000-00000000000b"
		spaced    = "00000000-0000-4000-8000-00000000000c"
		bob       = "00000000-0000-4000-8000-00000000000d"
		otherBob  = "00000000-0000-4000-8000-00000000000e"
	)
	_, err = conn.Exec(ctx, `BEGIN;
		SET CONSTRAINTS realms_default_language_fk DEFERRED;
		INSERT INTO realms (id, name, default_language) VALUES ('other', 'Other', 'en');
		INSERT INTO languages (realm_id, code, name) VALUES ('other', 'en', 'English');
		INSERT INTO users (id, realm_id, username, language) VALUES
			('`+alice+`', 'default', 'Alice', 'en'),
			('`+fullwidth+`', 'default', 'ＡＬＩＣＥ', 'en'),
			('`+spaced+`', 'default', 'a b', 'en'),
			('`+bob+`', 'default', 'Bob', 'en'),
			('`+otherBob+`', 'other', 'ＢＯＢ', 'en');
		COMMIT`)
	require.NoError(t, err)

	_, err = postgres.Migrate(ctx, dsn)
	require.Error(t, err)
	t.Log(err)
	for _, want := range []string{alice, "Alice", fullwidth, "ＡＬＩＣＥ", spaced, `"a b"`} {
		require.Contains(t, err.Error(), want, "the report names every user involved")
	}
	for _, notWant := range []string{bob, otherBob} {
		require.NotContains(t, err.Error(), notWant, "one spelling per realm is no collision")
	}
	requireVersion(t, dsn, 1)
	_, err = conn.Exec(ctx, `SELECT username_canonical FROM users`)
	require.Error(t, err, "the column added by the failed migration is gone")
	_, err = conn.Exec(ctx, `INSERT INTO users (id, realm_id, username, language) VALUES (gen_random_uuid(), 'default', 'BOB', 'en')`)
	require.Error(t, err, "the old unique index on lower(username) is still in place")

	// Renamed by the operator, the accounts migrate.
	_, err = conn.Exec(ctx, `UPDATE users SET username = 'ａｌｉｃｅ２' WHERE id = '`+fullwidth+`';
		UPDATE users SET username = 'a.b' WHERE id = '`+spaced+`'`)
	require.NoError(t, err)
	applied, err := postgres.Migrate(ctx, dsn)
	require.NoError(t, err)
	require.Contains(t, applied, int64(2))
	requireVersion(t, dsn, 5)

	s, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	defer s.Close()
	for username, id := range map[string]string{"ALICE": alice, "alice2": fullwidth, "A.B": spaced, "ｂｏｂ": bob} {
		u, err := s.GetUserByUsername(ctx, storage.DefaultRealm, username)
		require.NoError(t, err, username)
		require.Equal(t, id, u.ID, username)
	}
	u, err := s.GetUserByUsername(ctx, "other", "bob")
	require.NoError(t, err)
	require.Equal(t, "ＢＯＢ", u.Username, "the form as typed is kept for display")
	_, err = s.CreateUser(ctx, storage.System("test"), storage.DefaultRealm,
		storage.User{Username: "ALICE2", Language: "en", Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrAlreadyExists, "the new unique index holds")
}

// requireVersion checks the highest applied migration.
func requireVersion(t *testing.T, dsn string, want int64) {
	t.Helper()
	status, err := postgres.Migrations(context.Background(), dsn)
	require.NoError(t, err)
	var got int64
	for _, m := range status {
		if m.Applied {
			got = max(got, m.Version)
		}
		require.NotEmpty(t, m.Name, "version %d has a name", m.Version)
	}
	require.Equal(t, want, got)
}

// Package pgtest gives tests a fresh PostgreSQL database: created on the
// server named by GATEHOUSE_TEST_DATABASE_URL, migrated, and dropped when
// the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage/postgres"
)

// NewDatabase creates an empty scratch database and returns its DSN. It is
// dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := testenv.DatabaseURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gatehouse_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Logf("pgtest: cannot drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL", testenv.DatabaseURLVar)
	}
	u.Path = "/" + name
	return u.String()
}

// NewStore returns a store on a fresh, migrated scratch database.
func NewStore(t testing.TB) *postgres.Store {
	t.Helper()
	dsn := NewDatabase(t)
	ctx := context.Background()
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatalf("pgtest: migrate: %v", err)
	}
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

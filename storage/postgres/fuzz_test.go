package postgres_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

// FuzzCursors lists every kind with any cursor: a page or
// storage.ErrInvalidCursor, never a PostgreSQL error (docs/testing.md).
// Like every test here, it needs GATEHOUSE_TEST_DATABASE_URL.
func FuzzCursors(f *testing.F) { storagetest.FuzzCursors(f, pgtest.NewStore(f)) }

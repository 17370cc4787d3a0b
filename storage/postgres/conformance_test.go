package postgres_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

func TestStoreConformance(t *testing.T) {
	storagetest.RunStoreTests(t, func(t *testing.T) storage.Store { return pgtest.NewStore(t) })
}

func TestAccountConformance(t *testing.T) {
	storagetest.RunAccountTests(t, func(t *testing.T) storagetest.AccountBackend { return pgtest.NewStore(t) })
}

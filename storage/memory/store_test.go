package memory_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

func TestStoreConformance(t *testing.T) {
	storagetest.RunStoreTests(t, func(t *testing.T) storage.Store { return memory.New() })
}

func TestAccountConformance(t *testing.T) {
	storagetest.RunAccountTests(t, func(t *testing.T) storagetest.AccountBackend { return memory.New() })
}

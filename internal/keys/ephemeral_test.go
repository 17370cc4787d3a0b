package keys

import (
	"testing"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

// The ephemeral store keeps signing keys only; it honours the KeyStore
// part of the storage contract.
func TestEphemeralStoreConformance(t *testing.T) {
	storagetest.RunKeyStoreTests(t, func(*testing.T) storage.KeyStore { return &ephemeralStore{} })
}

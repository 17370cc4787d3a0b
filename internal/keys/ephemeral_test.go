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

// No kid starts with '-', which a command line reads as a flag. One
// random kid in 64 used to; a thousand draws meet one with near
// certainty (1 - (63/64)^1000 > 1 - 1e-6) if the rule is broken.
func TestKIDIsNeverAFlag(t *testing.T) {
	for range 1000 {
		kid, err := newKID()
		if err != nil {
			t.Fatal(err)
		}
		if kid[0] == '-' {
			t.Fatalf("kid %q reads as a flag", kid)
		}
	}
}

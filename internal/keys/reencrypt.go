package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/storage"
)

// Reencrypt reseals under EncryptionSecret every stored key still sealed
// under one of PreviousEncryptionSecrets, and returns how many it
// resealed. It first opens every key: if one opens under no configured
// secret it changes nothing and says which, so that a secret is never
// dropped from the configuration while a key still needs it. A key
// resealed meanwhile by another node is left as that node wrote it.
//
// Rotating keys.encryption_secret is therefore: configure the new secret
// with the old one in keys.previous_encryption_secrets on every node, run
// Reencrypt (gatehouse keys reencrypt), then remove the old secret.
func (m *Manager) Reencrypt(ctx context.Context) (int, error) {
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return 0, fmt.Errorf("load signing keys: %w", err)
	}
	type stale struct {
		key  storage.SigningKey
		priv crypto.Signer
	}
	var todo []stale
	var unreadable []string
	for _, k := range list {
		priv, current, err := m.sealer.open(m.realm, k.KID, k.PrivateKeyEncrypted)
		switch {
		case err != nil:
			unreadable = append(unreadable, k.KID)
		case !current:
			todo = append(todo, stale{k, priv})
		}
	}
	if len(unreadable) > 0 {
		return 0, fmt.Errorf("signing keys %s: %w; nothing was re-encrypted", strings.Join(unreadable, ", "), ErrDecrypt)
	}
	n := 0
	for _, st := range todo {
		k := st.key
		sealed, err := m.sealer.seal(m.realm, k.KID, st.priv)
		if err != nil {
			return n, fmt.Errorf("seal signing key %s: %w", k.KID, err)
		}
		err = m.store.ResealSigningKey(ctx, actor, m.realm, k.KID, k.PrivateKeyEncrypted, sealed)
		switch {
		case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
			continue // resealed or deleted by another node meanwhile
		case err != nil:
			return n, fmt.Errorf("reseal signing key %s: %w", k.KID, err)
		}
		n++
		m.opts.Logger.Info("signing key re-encrypted under the current secret", "realm", m.realm, "kid", k.KID)
	}
	return n, m.Refresh(ctx)
}

// ErrReencryptPending refuses a rotation by hand while a stored key is
// still sealed under one of PreviousEncryptionSecrets.
var ErrReencryptPending = errors.New("some signing keys are still sealed under a previous encryption secret: " +
	"a new key would be sealed under keys.encryption_secret, which the servers may not hold yet, and a server " +
	"that cannot open a published key cannot load the keys at all; once every server has the new secret, " +
	"run gatehouse keys reencrypt, then rotate")

// CheckSecretCurrent returns ErrReencryptPending (naming the keys) if a
// stored key opens only under a previous secret, and ErrDecrypt if one
// opens under none. The keys commands call it before they create a key:
// a key sealed under a secret the servers lack is published in storage
// but breaks every server's next reload (build opens every published
// key), so a secret rollout half done on the operator's machine must
// not publish one. While every key is sealed under EncryptionSecret, the
// servers that read them hold it too.
func (m *Manager) CheckSecretCurrent(ctx context.Context) error {
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	return m.sealedCurrent(list)
}

// sealedCurrent is CheckSecretCurrent on keys already read.
func (m *Manager) sealedCurrent(list []storage.SigningKey) error {
	var stale []string
	for _, k := range list {
		_, current, err := m.sealer.open(m.realm, k.KID, k.PrivateKeyEncrypted)
		switch {
		case err != nil:
			return fmt.Errorf("signing key %s: %w", k.KID, err)
		case !current:
			stale = append(stale, k.KID)
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("signing keys %s: %w", strings.Join(stale, ", "), ErrReencryptPending)
	}
	return nil
}

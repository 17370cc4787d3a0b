package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// MinPublishLead is the shortest PublishLead: twice the time a resource
// server may cache the JWKS, so that even a copy fetched just before the
// new key was published has expired and been refetched, with a margin for
// a late refetch. DefaultPublishLead adds the minute in which other nodes
// pick a new key up (keys.refresh_interval) and some slack.
const (
	MinPublishLead     = 2 * JWKSMaxAge
	DefaultPublishLead = 15 * time.Minute
)

// Errors of the lifecycle commands.
var (
	// ErrActiveKey refuses to retire the key that signs: rotate first.
	ErrActiveKey = errors.New("the key is active: rotate first (gatehouse keys rotate), then retire it once the next key signs")
	// ErrKeyStillVerifies refuses to unpublish a retired key whose tokens
	// have not all expired unless the caller forces it.
	ErrKeyStillVerifies = errors.New("tokens signed by the key may still be valid; unpublishing it makes them fail verification (force it for a compromised key)")
)

// Rotate starts a rotation ahead of time: it publishes a new key of the
// configured algorithm, which Tick activates once it has been in the JWKS
// for PublishLead, retiring the active key then. A rotation already under
// way is returned as it is, so running Rotate twice does not push the
// activation back. The returned key's activation time is ActivatesAt.
func (m *Manager) Rotate(ctx context.Context) (KeyInfo, error) {
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("load signing keys: %w", err)
	}
	if k, ok := m.pending(list); ok {
		return m.info(k), nil
	}
	k, err := m.publishNext(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	return m.info(k), m.Refresh(ctx)
}

// Tick moves the lifecycle along at the current time, and is what Run
// does every refresh interval on every node:
//   - without an active key, one is created and activated at once (there
//     is no token and no cached JWKS to be ahead of);
//   - when the active key is due for replacement (RotationInterval), or
//     has another algorithm than the configured one, the next key is
//     published, PublishLead before the activation;
//   - a next key published for PublishLead is activated;
//   - retired keys whose tokens have all expired are deleted.
//
// Nodes ticking at once may both publish a next key or both activate
// one; storage keeps one active key, and a key retired at once stays
// published until its tokens expire, so nothing breaks.
func (m *Manager) Tick(ctx context.Context) error {
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	now := m.opts.Now()
	active, hasActive := activeOf(list)
	next, hasNext := m.pending(list)
	switch {
	case !hasActive && hasNext:
		if err := m.activate(ctx, next.KID, now); err != nil {
			return err
		}
	case !hasActive:
		if _, err := m.RotateNow(ctx); err != nil {
			return err
		}
	case hasNext && !now.Before(next.CreatedAt.Add(m.opts.PublishLead)):
		if err := m.activate(ctx, next.KID, now); err != nil {
			return err
		}
	case !hasNext && m.due(active, now):
		// A node that already has a new keys.encryption_secret must not
		// seal a key under it while others may lack it: the rotation
		// waits until keys reencrypt has run (see CheckSecretCurrent).
		if err := m.sealedCurrent(list); err != nil {
			m.opts.Logger.Warn("scheduled signing key rotation postponed", "realm", m.realm, "error", err)
			break
		}
		if _, err := m.publishNext(ctx); err != nil {
			return err
		}
	}
	for _, k := range list {
		if m.published(k, now) {
			continue
		}
		if err := m.store.DeleteSigningKey(ctx, actor, m.realm, k.KID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("delete signing key %s: %w", k.KID, err)
		}
		m.opts.Logger.Info("retired signing key deleted", "realm", m.realm, "kid", k.KID)
	}
	// Reloading also picks up other nodes' changes; it costs one read
	// and nothing else when the key set is unchanged.
	return m.Refresh(ctx)
}

// due reports whether active must be replaced: it has another algorithm
// than the configured one, or it reaches RotationInterval within
// PublishLead, so that the next key is published that long before.
func (m *Manager) due(active storage.SigningKey, now time.Time) bool {
	if active.Algorithm != m.opts.Algorithm {
		return true
	}
	if m.opts.RotationInterval <= 0 || active.ActivatedAt == nil {
		return false
	}
	return !now.Before(active.ActivatedAt.Add(m.opts.RotationInterval - m.opts.PublishLead))
}

// pending returns the oldest next key of the configured algorithm: the one
// the running rotation activates. Next keys of another algorithm (left by
// a node with another token.signing_alg) are published but never
// activated here.
func (m *Manager) pending(list []storage.SigningKey) (storage.SigningKey, bool) {
	var out storage.SigningKey
	found := false
	for _, k := range list {
		if k.State == storage.KeyStateNext && k.Algorithm == m.opts.Algorithm && (!found || k.CreatedAt.Before(out.CreatedAt)) {
			out, found = k, true
		}
	}
	return out, found
}

func activeOf(list []storage.SigningKey) (storage.SigningKey, bool) {
	i := slices.IndexFunc(list, func(k storage.SigningKey) bool { return k.State == storage.KeyStateActive })
	if i < 0 {
		return storage.SigningKey{}, false
	}
	return list[i], true
}

// publishNext stores a new next key, published from now on.
func (m *Manager) publishNext(ctx context.Context) (storage.SigningKey, error) {
	k, err := m.newKey(m.opts.Algorithm)
	if err != nil {
		return storage.SigningKey{}, err
	}
	out, err := m.store.CreateSigningKey(ctx, actor, m.realm, k)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("store signing key: %w", err)
	}
	m.opts.Logger.Info("signing key published ahead of its activation", "realm", m.realm, "kid", k.KID, "alg", k.Algorithm,
		"activates_at", out.CreatedAt.Add(m.opts.PublishLead))
	return out, nil
}

func (m *Manager) activate(ctx context.Context, kid string, now time.Time) error {
	if err := m.store.SetSigningKeyState(ctx, actor, m.realm, kid, storage.KeyStateActive, now); err != nil {
		return fmt.Errorf("activate signing key %s: %w", kid, err)
	}
	m.opts.Logger.Info("signing key activated", "realm", m.realm, "kid", kid)
	return nil
}

// Retire takes a key out of the lifecycle by hand. A next key is deleted:
// it never signed anything. A retired key is deleted before its time only
// with force, for a key that must stop verifying at once (compromised):
// the tokens it signed then fail verification. The active key is refused
// with ErrActiveKey. Unknown kids are storage.ErrNotFound.
func (m *Manager) Retire(ctx context.Context, kid string, force bool) error {
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	i := slices.IndexFunc(list, func(k storage.SigningKey) bool { return k.KID == kid })
	if i < 0 {
		return fmt.Errorf("signing key %s: %w", kid, storage.ErrNotFound)
	}
	switch k := list[i]; {
	case k.State == storage.KeyStateActive:
		return ErrActiveKey
	case k.State == storage.KeyStateRetired && m.published(k, m.opts.Now()) && !force:
		return ErrKeyStillVerifies
	}
	// Storage refuses to delete the active key in the same change, so a
	// next key that a node activated since the list was read stays.
	err = m.store.DeleteSigningKey(ctx, actor, m.realm, kid)
	if errors.Is(err, storage.ErrInUse) {
		return ErrActiveKey
	}
	if err != nil {
		return fmt.Errorf("delete signing key %s: %w", kid, err)
	}
	m.opts.Logger.Warn("signing key unpublished by hand", "realm", m.realm, "kid", kid)
	return m.Refresh(ctx)
}

// KeyInfo describes a stored key and where it is in its lifecycle.
type KeyInfo struct {
	KID         string
	Algorithm   string
	State       storage.KeyState
	PublishedAt time.Time
	ActivatedAt *time.Time
	RetiredAt   *time.Time
	// ActivatesAt is when a pending next key starts signing (zero for
	// other keys); UnpublishedAt when a retired key leaves the JWKS.
	ActivatesAt   time.Time
	UnpublishedAt time.Time
}

func (m *Manager) info(k storage.SigningKey) KeyInfo {
	i := KeyInfo{KID: k.KID, Algorithm: k.Algorithm, State: k.State, PublishedAt: k.CreatedAt, ActivatedAt: k.ActivatedAt, RetiredAt: k.RetiredAt}
	switch {
	case k.State == storage.KeyStateNext && k.Algorithm == m.opts.Algorithm:
		i.ActivatesAt = k.CreatedAt.Add(m.opts.PublishLead)
	case k.State == storage.KeyStateRetired && k.RetiredAt != nil:
		i.UnpublishedAt = k.RetiredAt.Add(m.opts.MaxTokenLifetime)
	}
	return i
}

// List returns every stored key of the realm, newest first.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	out := make([]KeyInfo, len(list))
	for i, k := range list {
		out[i] = m.info(k)
	}
	return out, nil
}

// ActiveKeyAge returns how long the signing key has been active, or false
// before Init.
func (m *Manager) ActiveKeyAge() (time.Duration, bool) {
	a := m.set.Load().active
	if a == nil || a.activatedAt.IsZero() {
		return 0, false
	}
	return m.opts.Now().Sub(a.activatedAt), true
}

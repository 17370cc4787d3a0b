package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// Options configures a Manager.
type Options struct {
	Algorithm        string // ES256 (default), RS256 or EdDSA
	EncryptionSecret []byte // at least 32 bytes
	// PreviousEncryptionSecrets still decrypt keys stored before
	// EncryptionSecret replaced them, until Reencrypt has resealed every
	// key under the current one.
	PreviousEncryptionSecrets [][]byte
	// MaxTokenLifetime is how long a retired key stays published: every
	// token it signed has expired by then. Default 30 days.
	MaxTokenLifetime time.Duration
	// PublishLead is how long a new key is published in the JWKS before it
	// signs anything, so that every resource server's cached copy holds it
	// by then. Default DefaultPublishLead; at least MinPublishLead.
	PublishLead time.Duration
	// RotationInterval is the age at which the active key is replaced; 0
	// rotates only by hand (Rotate) or when Algorithm changes.
	RotationInterval time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
}

// Manager owns a realm's signing keys. It is safe for concurrent use.
type Manager struct {
	store  storage.KeyStore
	realm  string
	opts   Options
	sealer *sealer

	set         atomic.Pointer[keySet] // never nil after NewManager
	refresh     sync.Mutex             // serialises reloads
	refreshing  atomic.Bool            // a reload holds refresh
	lastRefresh atomic.Int64           // unix nanos of the last reload attempt
}

// actor is who key changes are recorded as in the audit log.
var actor = storage.System("keys")

// NewManager returns a manager for realm's keys in store; call Init before
// signing. Until then the manager publishes an empty key set and verifies
// nothing.
func NewManager(store storage.KeyStore, realm string, opts Options) (*Manager, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = ES256
	}
	if err := checkAlgorithm(opts.Algorithm); err != nil {
		return nil, err
	}
	if opts.MaxTokenLifetime <= 0 {
		opts.MaxTokenLifetime = 30 * 24 * time.Hour
	}
	if opts.PublishLead == 0 {
		opts.PublishLead = DefaultPublishLead
	}
	if opts.PublishLead < MinPublishLead {
		return nil, fmt.Errorf("keys.publish_lead must be at least %s, twice the time resource servers may cache the JWKS", MinPublishLead)
	}
	if opts.RotationInterval < 0 || (opts.RotationInterval > 0 && opts.RotationInterval <= opts.PublishLead) {
		return nil, fmt.Errorf("keys.rotation_interval must be 0 or longer than keys.publish_lead (%s)", opts.PublishLead)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s, err := newSealer(opts.EncryptionSecret, opts.PreviousEncryptionSecrets...)
	if err != nil {
		return nil, err
	}
	m := &Manager{store: store, realm: realm, opts: opts, sealer: s}
	empty, err := m.build("", nil)
	if err != nil {
		return nil, err
	}
	m.set.Store(empty)
	return m, nil
}

// Init loads the keys and, if none is active, creates and activates one at
// once: with no key there is no token and no cached JWKS to be ahead of.
// If the active key has another algorithm than the configured one, Init
// publishes a key of the configured algorithm that signs once it has been
// published for PublishLead (see Tick). Several nodes may Init at once:
// each reloads after activating and uses whichever key storage says is
// active (storage keeps at most one); a key activated and at once retired
// by a racing node stays published, so tokens it signed still verify.
func (m *Manager) Init(ctx context.Context) error {
	if err := m.Refresh(ctx); err != nil {
		return err
	}
	return m.Tick(ctx)
}

// RotateNow creates a key with the configured algorithm and activates it
// at once, retiring the previous one, which stays published until every
// token it signed has expired. It returns the new kid. A resource server
// whose cached JWKS lacks the new key meets an unknown kid and must
// refetch: this is for a compromised key, when waiting is worse (Rotate
// is the normal way).
func (m *Manager) RotateNow(ctx context.Context) (string, error) {
	k, err := m.newKey(m.opts.Algorithm)
	if err != nil {
		return "", err
	}
	if _, err := m.store.CreateSigningKey(ctx, actor, m.realm, k); err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	if err := m.store.SetSigningKeyState(ctx, actor, m.realm, k.KID, storage.KeyStateActive, m.opts.Now()); err != nil {
		m.discard(ctx, k.KID)
		return "", fmt.Errorf("activate signing key: %w", err)
	}
	m.opts.Logger.Info("signing key activated", "realm", m.realm, "kid", k.KID, "alg", k.Algorithm)
	if err := m.Refresh(ctx); err != nil {
		return "", err
	}
	return k.KID, nil
}

// newKey generates a key and returns it ready for storage, sealed.
func (m *Manager) newKey(alg string) (storage.SigningKey, error) {
	priv, err := generate(alg)
	if err != nil {
		return storage.SigningKey{}, err
	}
	kid, err := newKID()
	if err != nil {
		return storage.SigningKey{}, err
	}
	sealed, err := m.sealer.seal(m.realm, kid, priv)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("seal signing key: %w", err)
	}
	pub, err := json.Marshal(publicJWK(priv, kid, alg))
	if err != nil {
		return storage.SigningKey{}, err
	}
	return storage.SigningKey{KID: kid, Algorithm: alg, PrivateKeyEncrypted: sealed, PublicJWK: pub, State: storage.KeyStateNext,
		CreatedAt: m.opts.Now().UTC().Truncate(time.Microsecond)}, nil
}

// discard deletes a key that was stored but could not be activated, so
// that it is not published for ever. It runs even if ctx was cancelled.
func (m *Manager) discard(ctx context.Context, kid string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := m.store.DeleteSigningKey(ctx, actor, m.realm, kid); err != nil && !errors.Is(err, storage.ErrNotFound) {
		m.opts.Logger.Warn("cannot delete a signing key that failed to activate; it stays published", "realm", m.realm, "kid", kid, "error", err)
	}
}

// Prune deletes the retired keys whose tokens have all expired, then
// reloads. Several nodes may prune at once.
func (m *Manager) Prune(ctx context.Context) error {
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	now := m.opts.Now()
	for _, k := range list {
		if m.published(k, now) {
			continue
		}
		err := m.store.DeleteSigningKey(ctx, actor, m.realm, k.KID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("delete signing key %s: %w", k.KID, err)
		}
		m.opts.Logger.Info("retired signing key deleted", "realm", m.realm, "kid", k.KID)
	}
	return m.Refresh(ctx)
}

// published reports whether k belongs in the JWKS at now: every key but a
// retired one whose tokens have all expired.
func (m *Manager) published(k storage.SigningKey, now time.Time) bool {
	if k.State != storage.KeyStateRetired {
		return true
	}
	return k.RetiredAt != nil && now.Before(k.RetiredAt.Add(m.opts.MaxTokenLifetime))
}

// Refresh reloads the keys from storage, picking up rotations made by
// other nodes and dropping retired keys whose time is up. When the
// published keys and their states are unchanged it costs one storage read
// and nothing else. On error the current keys stay in use.
func (m *Manager) Refresh(ctx context.Context) error {
	m.refresh.Lock()
	m.refreshing.Store(true)
	defer func() {
		m.refreshing.Store(false)
		m.refresh.Unlock()
	}()
	now := m.opts.Now()
	m.lastRefresh.Store(now.UnixNano())
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	var fp strings.Builder
	pub := make([]storage.SigningKey, 0, len(list))
	for _, k := range list {
		if m.published(k, now) {
			pub = append(pub, k)
			fp.WriteString(k.KID + ":" + string(k.State) + ";")
		}
	}
	if m.set.Load().fingerprint == fp.String() {
		return nil
	}
	set, err := m.build(fp.String(), pub)
	if err != nil {
		return err
	}
	m.set.Store(set)
	return nil
}

// Run moves the key lifecycle along (Tick: publishing, activating,
// retiring and pruning keys when due, and picking up other nodes'
// changes) every interval (a minute if not positive) until ctx is done.
// Failures are logged and the last good keys stay in use. Every node runs
// it; see Tick for why nodes acting at once is harmless.
func (m *Manager) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Tick(ctx); err != nil && ctx.Err() == nil {
				m.opts.Logger.Warn("signing key maintenance failed; keeping the current keys", "realm", m.realm, "error", err)
			}
		}
	}
}

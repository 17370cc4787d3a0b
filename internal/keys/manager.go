package keys

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/storage"
)

// ErrInvalidToken is returned by Verify for every token that does not
// verify; the wrapped detail is for logs only.
var ErrInvalidToken = errors.New("invalid token")

// Options configures a Manager.
type Options struct {
	Algorithm        string // ES256 (default), RS256 or EdDSA
	EncryptionSecret []byte // at least 32 bytes
	// MaxTokenLifetime is how long a retired key stays published: every
	// token it signed has expired by then. Default 30 days.
	MaxTokenLifetime time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
}

// Manager owns a realm's signing keys. It is safe for concurrent use.
type Manager struct {
	store  storage.KeyStore
	realm  string
	opts   Options
	sealer *sealer

	set         atomic.Pointer[keySet]
	refresh     sync.Mutex   // serialises reloads
	lastRefresh atomic.Int64 // unix nanos of the last reload attempt
}

// refreshOnUnknownKID bounds how often a token with an unknown kid may
// trigger a reload, so that garbage tokens cannot hammer storage.
const refreshOnUnknownKID = time.Second

// keySet is an immutable snapshot of the published keys.
type keySet struct {
	fingerprint string
	activeKID   string
	activeAlg   string
	signer      crypto.Signer
	signers     sync.Map // typ → jose.Signer
	public      map[string]jose.JSONWebKey
	algs        []jose.SignatureAlgorithm
	jwks        []byte
	etag        string
}

// NewManager returns a manager; call Init before use.
func NewManager(store storage.KeyStore, realm string, opts Options) (*Manager, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = ES256
	}
	if _, err := generateCheck(opts.Algorithm); err != nil {
		return nil, err
	}
	if opts.MaxTokenLifetime <= 0 {
		opts.MaxTokenLifetime = 30 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s, err := newSealer(opts.EncryptionSecret)
	if err != nil {
		return nil, err
	}
	return &Manager{store: store, realm: realm, opts: opts, sealer: s}, nil
}

func generateCheck(alg string) (bool, error) {
	switch alg {
	case ES256, RS256, EdDSA:
		return true, nil
	}
	return false, fmt.Errorf("token.signing_alg: unsupported signing algorithm %q (ES256, RS256 or EdDSA)", alg)
}

// Init loads the keys and, if no key of the configured algorithm is
// active, creates and activates one. Several nodes may Init at once: each
// reloads afterwards and uses whichever key storage says is active.
func (m *Manager) Init(ctx context.Context) error {
	if err := m.Refresh(ctx); err != nil {
		return err
	}
	if set := m.set.Load(); set.signer != nil && set.activeAlg == m.opts.Algorithm {
		return nil
	}
	if _, err := m.Rotate(ctx); err != nil {
		return err
	}
	return nil
}

// Rotate creates a key, activates it and retires the previous one, which
// stays published until every token it signed has expired.
func (m *Manager) Rotate(ctx context.Context) (string, error) {
	priv, err := generate(m.opts.Algorithm)
	if err != nil {
		return "", err
	}
	kid, err := newKID()
	if err != nil {
		return "", err
	}
	sealed, err := m.sealer.seal(m.realm, kid, priv)
	if err != nil {
		return "", err
	}
	pub, err := json.Marshal(publicJWK(priv, kid, m.opts.Algorithm))
	if err != nil {
		return "", err
	}
	actor := storage.System("keys")
	if _, err := m.store.CreateSigningKey(ctx, actor, m.realm, storage.SigningKey{
		KID: kid, Algorithm: m.opts.Algorithm, PrivateKeyEncrypted: sealed, PublicJWK: pub, State: storage.KeyStateNext,
	}); err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	if err := m.store.SetSigningKeyState(ctx, actor, m.realm, kid, storage.KeyStateActive, m.opts.Now()); err != nil {
		return "", fmt.Errorf("activate signing key: %w", err)
	}
	m.opts.Logger.Info("signing key activated", "kid", kid, "alg", m.opts.Algorithm)
	return kid, m.Refresh(ctx)
}

// Prune deletes retired keys whose tokens have all expired.
func (m *Manager) Prune(ctx context.Context) error {
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return err
	}
	for _, k := range list {
		if !m.published(k) {
			if err := m.store.DeleteSigningKey(ctx, storage.System("keys"), m.realm, k.KID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
	}
	return m.Refresh(ctx)
}

// published reports whether a key belongs in the JWKS.
func (m *Manager) published(k storage.SigningKey) bool {
	if k.State != storage.KeyStateRetired {
		return true
	}
	return k.RetiredAt != nil && m.opts.Now().Before(k.RetiredAt.Add(m.opts.MaxTokenLifetime))
}

// Refresh reloads the keys from storage; it is cheap when nothing changed.
func (m *Manager) Refresh(ctx context.Context) error {
	m.refresh.Lock()
	defer m.refresh.Unlock()
	m.lastRefresh.Store(m.opts.Now().UnixNano())
	list, err := m.store.ListSigningKeys(ctx, m.realm)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	var fp strings.Builder
	var pub []storage.SigningKey
	for _, k := range list {
		if m.published(k) {
			pub = append(pub, k)
			fmt.Fprintf(&fp, "%s:%s;", k.KID, k.State)
		}
	}
	if cur := m.set.Load(); cur != nil && cur.fingerprint == fp.String() {
		return nil
	}
	set, err := m.build(fp.String(), pub)
	if err != nil {
		return err
	}
	m.set.Store(set)
	return nil
}

func (m *Manager) build(fp string, keys []storage.SigningKey) (*keySet, error) {
	set := &keySet{fingerprint: fp, public: make(map[string]jose.JSONWebKey, len(keys))}
	var jwks jose.JSONWebKeySet
	for _, k := range keys {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil || !jwk.IsPublic() {
			return nil, fmt.Errorf("signing key %s: stored public key is invalid", k.KID)
		}
		set.public[k.KID] = jwk
		jwks.Keys = append(jwks.Keys, jwk)
		if alg := jose.SignatureAlgorithm(k.Algorithm); !slices.Contains(set.algs, alg) {
			set.algs = append(set.algs, alg)
		}
		if k.State == storage.KeyStateActive {
			priv, err := m.sealer.open(m.realm, k.KID, k.PrivateKeyEncrypted)
			if err != nil {
				return nil, err
			}
			set.signer, set.activeKID, set.activeAlg = priv, k.KID, k.Algorithm
		}
	}
	body, err := json.Marshal(jwks)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	set.jwks, set.etag = body, `"`+base64.RawURLEncoding.EncodeToString(sum[:16])+`"`
	return set, nil
}

// Run refreshes the keys every interval until ctx is done, keeping the last
// good set when storage fails.
func (m *Manager) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
				m.opts.Logger.Warn("signing key refresh failed; keeping the current keys", "error", err)
			}
		}
	}
}

// SigningAlgorithm returns the algorithm of the active key.
func (m *Manager) SigningAlgorithm() string { return m.set.Load().activeAlg }

// Algorithms returns the algorithms of the published keys.
func (m *Manager) Algorithms() []string {
	set := m.set.Load()
	out := make([]string, len(set.algs))
	for i, a := range set.algs {
		out[i] = string(a)
	}
	return out
}

// Sign signs claims (already marshalled JSON) as a compact JWS with the
// active key, with header typ.
func (m *Manager) Sign(claims []byte, typ string) (string, error) {
	set := m.set.Load()
	if set == nil || set.signer == nil {
		return "", errors.New("no active signing key")
	}
	s, err := set.joseSigner(typ)
	if err != nil {
		return "", err
	}
	jws, err := s.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// joseSigner returns the set's signer for typ, built once.
func (s *keySet) joseSigner(typ string) (jose.Signer, error) {
	if v, ok := s.signers.Load(typ); ok {
		return v.(jose.Signer), nil
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(s.activeAlg), Key: jose.JSONWebKey{Key: s.signer, KeyID: s.activeKID}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	v, _ := s.signers.LoadOrStore(typ, signer)
	return v.(jose.Signer), nil
}

// Verify checks a compact JWS against the published keys and, when typ is
// not empty, its typ header (RFC 8725 §3.11), and returns the payload. Only
// the algorithms of the published keys are accepted: never none, never an
// HMAC keyed with a public key.
func (m *Manager) Verify(token, typ string) ([]byte, error) {
	set := m.set.Load()
	jws, err := jose.ParseSignedCompact(token, set.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	key, ok := set.public[h.KeyID]
	if !ok {
		// Another node may have rotated in a key this one has not loaded
		// yet: reload once in a while rather than wait for Run.
		if m.opts.Now().Sub(time.Unix(0, m.lastRefresh.Load())) < refreshOnUnknownKID {
			return nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := m.Refresh(ctx); err != nil {
			return nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
		}
		set = m.set.Load()
		if key, ok = set.public[h.KeyID]; !ok {
			return nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
		}
	}
	if h.Algorithm != key.Algorithm {
		return nil, fmt.Errorf("%w: algorithm does not match the key", ErrInvalidToken)
	}
	if typ != "" {
		got, _ := h.ExtraHeaders[jose.HeaderType].(string)
		if !strings.EqualFold(got, typ) && !strings.EqualFold(got, "application/"+typ) {
			return nil, fmt.Errorf("%w: wrong typ", ErrInvalidToken)
		}
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return payload, nil
}

func newKID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

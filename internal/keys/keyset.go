package keys

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/storage"
)

// keySet is an immutable snapshot of the published keys, built once per
// change of the key set and swapped in atomically, so that signing,
// verifying and serving the JWKS never parse, decrypt or serialise a key.
type keySet struct {
	fingerprint string                  // kid:state of every published key
	active      *activeKey              // nil when no key is active
	public      map[string]publishedKey // by kid
	algs        []string                // of the published keys: the active key's first, then newest first

	jwks         []byte
	etag         string
	etagHeader   []string // shared by every response; never modified
	lengthHeader []string

	verified verifiedTokens
}

// publishedKey is a verification key.
type publishedKey struct {
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

// activeKey signs. Its jose.Signers (one per typ header) are created on
// first use and reused: go-jose's Sign only reads the signer's state and
// the stdlib keys sign concurrently.
type activeKey struct {
	kid         string
	alg         string
	activatedAt time.Time
	priv        crypto.Signer
	signers     sync.Map // typ → jose.Signer
}

// build makes a key set from the published keys, newest first. Every key
// is decrypted, not only the active one: the public key published for a
// kid must be the one derived from its sealed private key, so that a row
// written by someone without the encryption secret is refused rather than
// published.
func (m *Manager) build(fingerprint string, keys []storage.SigningKey) (*keySet, error) {
	set := &keySet{fingerprint: fingerprint, public: make(map[string]publishedKey, len(keys))}
	jwks := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		priv, jwk, err := m.open(k)
		if err != nil {
			return nil, err
		}
		alg := jose.SignatureAlgorithm(k.Algorithm)
		set.public[k.KID] = publishedKey{alg: alg, key: jwk.Key}
		jwks.Keys = append(jwks.Keys, jwk)
		if !slices.Contains(set.algs, k.Algorithm) {
			set.algs = append(set.algs, k.Algorithm)
		}
		if k.State == storage.KeyStateActive && set.active == nil {
			set.active = &activeKey{kid: k.KID, alg: k.Algorithm, priv: priv}
			if k.ActivatedAt != nil {
				set.active.activatedAt = *k.ActivatedAt
			}
		}
	}
	if set.active != nil {
		i := slices.Index(set.algs, set.active.alg)
		set.algs = slices.Insert(slices.Delete(set.algs, i, i+1), 0, set.active.alg)
	}
	body, err := json.Marshal(jwks)
	if err != nil {
		return nil, fmt.Errorf("serialise JWKS: %w", err)
	}
	sum := sha256.Sum256(body)
	set.jwks = body
	set.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	set.etagHeader = []string{set.etag}
	set.lengthHeader = []string{strconv.Itoa(len(body))}
	return set, nil
}

// open decrypts a stored key and checks it against its row: the algorithm
// fits the key, and the stored public JWK (kept for other readers) is the
// key's public half. It returns the private key and the JWK to publish.
func (m *Manager) open(k storage.SigningKey) (crypto.Signer, jose.JSONWebKey, error) {
	fail := func(what string) (crypto.Signer, jose.JSONWebKey, error) {
		return nil, jose.JSONWebKey{}, fmt.Errorf("signing key %s: %s", k.KID, what)
	}
	if err := checkAlgorithm(k.Algorithm); err != nil {
		return fail("unsupported algorithm " + strconv.Quote(k.Algorithm))
	}
	priv, _, err := m.sealer.open(m.realm, k.KID, k.PrivateKeyEncrypted)
	if err != nil {
		return nil, jose.JSONWebKey{}, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	if !fitsAlgorithm(priv, k.Algorithm) {
		return fail("the key does not fit its algorithm " + k.Algorithm)
	}
	jwk := publicJWK(priv, k.KID, k.Algorithm)
	if !jwk.IsPublic() {
		return fail("the published key would not be public")
	}
	var stored jose.JSONWebKey
	if err := json.Unmarshal(k.PublicJWK, &stored); err != nil || !stored.IsPublic() ||
		stored.KeyID != k.KID || stored.Algorithm != k.Algorithm || !samePublicKey(jwk.Key, stored.Key) {
		return fail("the stored public key does not match the private key")
	}
	return priv, jwk, nil
}

// signer returns the active key's jose.Signer for typ, created once.
func (a *activeKey) signer(typ string) (jose.Signer, error) {
	if s, ok := a.signers.Load(typ); ok {
		return s.(jose.Signer), nil
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(a.alg),
		Key:       jose.JSONWebKey{Key: a.priv, KeyID: a.kid},
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", a.kid, err)
	}
	actual, _ := a.signers.LoadOrStore(typ, s)
	return actual.(jose.Signer), nil
}

package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrInvalidToken is returned by Verify for every token that does not
// verify. What it wraps is detail for logs, never for the client.
var ErrInvalidToken = errors.New("invalid token")

// ErrNoActiveKey is returned by Sign when no key is active: Init was not
// called, or storage holds no active key.
var ErrNoActiveKey = errors.New("no active signing key")

// maxTokenLength bounds what Verify parses. Gatehouse's tokens are well
// under 2 KiB; anything far larger is an attempt to make it work.
const maxTokenLength = 16 << 10

// signingAlgorithms are the algorithms Verify parses.
var signingAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}

// refreshOnUnknownKID bounds how often a token with an unknown kid may
// trigger a reload, so that garbage tokens cannot hammer storage.
const refreshOnUnknownKID = time.Second

// unknownKIDTimeout bounds the reload a token with an unknown kid waits for.
const unknownKIDTimeout = 2 * time.Second

// SigningAlgorithm returns the algorithm of the active key, or "" when no
// key is active.
func (m *Manager) SigningAlgorithm() string {
	if a := m.set.Load().active; a != nil {
		return a.alg
	}
	return ""
}

// Algorithms returns the algorithms of the published keys, the signing
// key's first, then newest first.
func (m *Manager) Algorithms() []string { return slices.Clone(m.set.Load().algs) }

// Sign signs claims (already marshalled JSON) with the active key as a
// compact JWS whose protected header holds alg, kid and, unless empty, typ
// (for example "at+jwt", RFC 9068).
func (m *Manager) Sign(claims []byte, typ string) (string, error) {
	a := m.set.Load().active
	if a == nil {
		return "", ErrNoActiveKey
	}
	s, err := a.signer(typ)
	if err != nil {
		return "", err
	}
	jws, err := s.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", a.kid, err)
	}
	return jws.CompactSerialize()
}

// Verify checks a compact JWS against the published keys and returns its
// payload. The alg must be the one of the key named by kid (so never none
// and never an HMAC keyed with a public key); when typ is not empty the typ
// header must be typ or "application/"+typ, compared case-insensitively
// (RFC 8725 §3.11). It does not look at the claims. Every failure wraps
// ErrInvalidToken. Successful verifications are remembered while the key
// set is unchanged (see verifiedTokens): the payload returned is shared
// and must not be modified.
func (m *Manager) Verify(token, typ string) ([]byte, error) {
	if len(token) > maxTokenLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxTokenLength)
	}
	set := m.set.Load()
	if e, ok := set.verified.get(token, typ); ok {
		return e.payload, nil
	}
	// Every algorithm Gatehouse signs with is parsed, not only those of the
	// keys loaded here: a token from a key of a new algorithm, rotated in by
	// another node, must reach the unknown-kid reload. The alg is then held
	// to the key's own, which is what keeps none and HMAC out.
	if !canonicalCompact(token) {
		return nil, fmt.Errorf("%w: not canonical base64url compact serialization", ErrInvalidToken)
	}
	jws, err := jose.ParseSignedCompact(token, signingAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	key, ok := m.lookup(h.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
	}
	if jose.SignatureAlgorithm(h.Algorithm) != key.alg {
		return nil, fmt.Errorf("%w: alg %s is not the key's", ErrInvalidToken, h.Algorithm)
	}
	if typ != "" && !typeMatches(h.ExtraHeaders[jose.HeaderType], typ) {
		return nil, fmt.Errorf("%w: typ is not %s", ErrInvalidToken, typ)
	}
	payload, err := jws.Verify(key.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	// Remembered only when the key came from the set loaded above: after a
	// reload (an unknown kid) the next verification fills the new set.
	if m.set.Load() == set {
		set.verified.put(token, typ, payload)
	}
	return payload, nil
}

// VerifyDecoded is Verify followed by decode, whose result is remembered
// along with the verification: a remembered token is neither verified nor
// decoded again. decode must be the same for every call with typ, and its
// result is shared: it must not be modified. Decoding errors are returned
// and not remembered.
func (m *Manager) VerifyDecoded(token, typ string, decode func(payload []byte) (any, error)) (any, error) {
	set := m.set.Load()
	if e, ok := set.verified.get(token, typ); ok && e.decoded != nil {
		return e.decoded, nil
	}
	payload, err := m.Verify(token, typ)
	if err != nil {
		return nil, err
	}
	v, err := decode(payload)
	if err != nil {
		return nil, err
	}
	if m.set.Load() == set {
		set.verified.setDecoded(token, typ, v)
	}
	return v, nil
}

// typeMatches compares a typ header with the expected media type; either
// may omit the "application/" prefix (RFC 7515 §4.1.9).
func typeMatches(header any, want string) bool {
	got, ok := header.(string)
	return ok && strings.EqualFold(shortType(got), shortType(want))
}

func shortType(t string) string {
	const prefix = "application/"
	if len(t) > len(prefix) && strings.EqualFold(t[:len(prefix)], prefix) {
		return t[len(prefix):]
	}
	return t
}

// lookup finds the published key kid. A kid this node does not know may
// be a key another node has just rotated in: then the keys are reloaded,
// at most once per refreshOnUnknownKID whatever the traffic. Lookups that
// arrive while a reload is in flight wait for it; others fail at once.
func (m *Manager) lookup(kid string) (publishedKey, bool) {
	if k, ok := m.set.Load().public[kid]; ok || kid == "" {
		return k, ok
	}
	now := m.opts.Now().UnixNano()
	last := m.lastRefresh.Load()
	switch {
	case now-last >= int64(refreshOnUnknownKID) && m.lastRefresh.CompareAndSwap(last, now):
		ctx, cancel := context.WithTimeout(context.Background(), unknownKIDTimeout)
		defer cancel()
		if err := m.Refresh(ctx); err != nil {
			m.opts.Logger.Warn("signing key refresh for an unknown kid failed", "realm", m.realm, "error", err)
		}
	case m.refreshing.Load():
		m.refresh.Lock() // waits for the reload in flight
		m.refresh.Unlock()
	default:
		return publishedKey{}, false
	}
	k, ok := m.set.Load().public[kid]
	return k, ok
}

package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

var b64 = base64.RawURLEncoding

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			m := newManager(t, memory.New(), alg, newClock())
			tok, err := m.Sign(claims, "at+jwt")
			require.NoError(t, err)
			h := header(t, tok)
			require.Equal(t, alg, h["alg"])
			require.Equal(t, "at+jwt", h["typ"])
			require.NotEmpty(t, h["kid"])
			require.Len(t, h, 3, "alg, kid and typ only: no embedded key")

			got, err := m.Verify(tok, "at+jwt")
			require.NoError(t, err)
			require.Equal(t, claims, got)
			require.Equal(t, alg, m.SigningAlgorithm())
			require.Equal(t, []string{alg}, m.Algorithms())
		})
	}
}

// A resource server that has nothing but the JWKS document verifies the
// token with plain go-jose.
func TestTokensVerifyWithTheJWKSAlone(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			m := newManager(t, memory.New(), alg, newClock())
			tok := must(m.Sign(claims, "at+jwt"))
			body, _ := m.JWKS()

			var set jose.JSONWebKeySet
			require.NoError(t, json.Unmarshal(body, &set))
			parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			require.NoError(t, err)
			var got jwt.Claims
			require.NoError(t, parsed.Claims(set, &got))
			require.Equal(t, "reports", got.Subject)
			require.Equal(t, "https://id.example", got.Issuer)
		})
	}
}

func TestTypHeader(t *testing.T) {
	m := newManager(t, memory.New(), keys.ES256, newClock())
	cases := []struct {
		signed, want string
		ok           bool
	}{
		{"at+jwt", "at+jwt", true},
		{"AT+JWT", "at+jwt", true},
		{"application/at+jwt", "at+jwt", true},
		{"at+jwt", "application/at+jwt", true},
		{"JWT", "", true},
		{"", "", true},
		{"JWT", "at+jwt", false},
		{"", "at+jwt", false},
		{"at+jwt", "id+jwt", false},
		{"at+jwt+x", "at+jwt", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q as %q", tc.signed, tc.want), func(t *testing.T) {
			tok := must(m.Sign(claims, tc.signed))
			if tc.signed == "" {
				require.NotContains(t, header(t, tok), "typ")
			}
			_, err := m.Verify(tok, tc.want)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, keys.ErrInvalidToken)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	store := memory.New()
	c := newClock()
	es := newManager(t, store, keys.ES256, c)
	esKID := kidOf(t, es)
	m := newManager(t, store, keys.RS256, c)
	c.add(keys.DefaultPublishLead)
	require.NoError(t, m.Tick(ctx)) // publishes the retired ES256 key and the active RS256 key
	rsKID := kidOf(t, m)
	good := must(m.Sign(claims, "at+jwt"))
	parts := strings.Split(good, ".")
	_, err := m.Verify(good, "at+jwt")
	require.NoError(t, err)

	attacker := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	attackerRSA := must(rsa.GenerateKey(rand.Reader, 2048))
	attackerJWK := jose.JSONWebKey{Key: attacker.Public(), Algorithm: "ES256", Use: "sig"}
	foreign := must(newManager(t, memory.New(), keys.ES256, newClock()).Sign(claims, "at+jwt"))
	tampered := []byte(parts[1])
	tampered[5] ^= 1

	cases := map[string]string{
		"alg none":           forge(map[string]any{"alg": "none", "kid": rsKID, "typ": "at+jwt"}, claims, nil),
		"alg none no kid":    forge(map[string]any{"alg": "none", "typ": "at+jwt"}, claims, nil),
		"unknown kid":        forge(map[string]any{"alg": "RS256", "kid": "nope", "typ": "at+jwt"}, claims, nil) + parts[2],
		"no kid":             forge(map[string]any{"alg": "RS256", "typ": "at+jwt"}, claims, nil) + parts[2],
		"foreign key":        foreign,
		"attacker key":       forge(map[string]any{"alg": "ES256", "kid": esKID, "typ": "at+jwt"}, claims, esSigner(attacker)),
		"embedded jwk":       forge(map[string]any{"alg": "ES256", "kid": esKID, "typ": "at+jwt", "jwk": attackerJWK}, claims, esSigner(attacker)),
		"alg not the key's":  forge(map[string]any{"alg": "RS256", "kid": esKID, "typ": "at+jwt"}, claims, rsSigner(attackerRSA)),
		"tampered payload":   parts[0] + "." + string(tampered) + "." + parts[2],
		"other payload":      parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2],
		"tampered header":    forge(map[string]any{"alg": "RS256", "kid": rsKID, "typ": "at+jwt", "x": 1}, claims, nil) + parts[2],
		"no signature":       parts[0] + "." + parts[1] + ".",
		"two parts":          parts[0] + "." + parts[1],
		"garbage":            "a.b.c",
		"not base64":         "!!!.???.***",
		"empty":              "",
		"JSON serialization": fmt.Sprintf(`{"protected":%q,"payload":%q,"signature":%q}`, parts[0], parts[1], parts[2]),
		"oversized":          parts[0] + "." + b64.EncodeToString([]byte(`{"x":"`+strings.Repeat("a", 20000)+`"}`)) + "." + parts[2],
	}
	// Algorithm confusion: HS256 keyed with the public key in every form
	// a verifier might have it.
	stored := must(store.ListSigningKeys(ctx, storage.DefaultRealm))
	pub := stored[slices.IndexFunc(stored, func(k storage.SigningKey) bool { return k.KID == rsKID })]
	var jwk jose.JSONWebKey
	require.NoError(t, json.Unmarshal(pub.PublicJWK, &jwk))
	der := must(x509.MarshalPKIXPublicKey(jwk.Key))
	body, _ := m.JWKS()
	for name, secret := range map[string][]byte{
		"jwk": pub.PublicJWK, "jwks": body, "der": der,
		"pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
	} {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			cases[alg+" keyed with the public key as "+name] = forge(map[string]any{"alg": alg, "kid": rsKID, "typ": "at+jwt"}, claims, hsSigner(secret))
		}
	}

	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := m.Verify(tok, "at+jwt")
			require.ErrorIs(t, err, keys.ErrInvalidToken)
			require.Nil(t, got)
			require.Equal(t, keys.ErrInvalidToken.Error(), strings.SplitN(err.Error(), ":", 2)[0])
		})
	}
}

// A node that has not refreshed yet learns a key rotated in by another node
// when it first sees a token signed with it, and tokens with unknown kids
// reload the keys at most once a second whatever their number.
func TestUnknownKIDTriggersOneRefresh(t *testing.T) {
	shared := memory.New()
	c := newClock()
	store := &flakyStore{KeyStore: shared}
	a := newManager(t, shared, keys.ES256, c)
	b := newManager(t, store, keys.ES256, c)
	must(a.RotateNow(ctx))
	tok := must(a.Sign(claims, "at+jwt"))

	lists := store.lists.Load()
	_, err := b.Verify(tok, "at+jwt")
	require.ErrorIs(t, err, keys.ErrInvalidToken, "b reloaded less than a second ago")
	require.Equal(t, lists, store.lists.Load())

	c.add(time.Second)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			bogus := forge(map[string]any{"alg": "ES256", "kid": fmt.Sprint("bogus", i)}, claims, nil) + "AAAA"
			_, _ = b.Verify(bogus, "")
		})
	}
	wg.Wait()
	require.Equal(t, lists+1, store.lists.Load(), "50 unknown kids, one reload")
	_, err = b.Verify(tok, "at+jwt")
	require.NoError(t, err)
}

// One go-jose signer per key serves concurrent requests (run with -race).
func TestConcurrentSigning(t *testing.T) {
	m := newManager(t, memory.New(), keys.ES256, newClock())
	tokens := make([][]string, 8)
	var wg sync.WaitGroup
	for g := range tokens {
		wg.Go(func() {
			for i := range 25 {
				tok, err := m.Sign(fmt.Appendf(nil, `{"n":%d}`, i), []string{"at+jwt", "JWT"}[i%2])
				if err == nil {
					tokens[g] = append(tokens[g], tok)
				}
			}
		})
	}
	wg.Wait()
	for _, batch := range tokens {
		require.Len(t, batch, 25)
		for i, tok := range batch {
			got, err := m.Verify(tok, []string{"at+jwt", "JWT"}[i%2])
			require.NoError(t, err)
			require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(got))
		}
	}
}

// forge builds a compact JWS from header and payload, signed by sign, or
// without a signature part (ending in ".") when sign is nil.
func forge(header map[string]any, payload []byte, sign func(input []byte) []byte) string {
	input := b64.EncodeToString(must(json.Marshal(header))) + "." + b64.EncodeToString(payload)
	if sign == nil {
		return input + "."
	}
	return input + "." + b64.EncodeToString(sign([]byte(input)))
}

func esSigner(k *ecdsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		r, s := must2(ecdsa.Sign(rand.Reader, k, sum[:]))
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
}

func rsSigner(k *rsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		return must(rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]))
	}
}

func hsSigner(key []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		mac := hmac.New(sha256.New, key)
		mac.Write(input)
		return mac.Sum(nil)
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// A node learns a key of an algorithm it has never published when another
// node, configured for it, rotates it in.
func TestUnknownKIDOfANewAlgorithm(t *testing.T) {
	store := memory.New()
	c := newClock()
	b := newManager(t, store, keys.ES256, c)
	ed := newManager(t, store, keys.EdDSA, c)
	c.add(keys.DefaultPublishLead)
	require.NoError(t, ed.Tick(ctx))
	tok := must(ed.Sign(claims, "at+jwt"))
	require.Equal(t, keys.EdDSA, header(t, tok)["alg"])
	require.Equal(t, []string{keys.ES256}, b.Algorithms())

	c.add(time.Second)
	_, err := b.Verify(tok, "at+jwt")
	require.NoError(t, err)
	require.Equal(t, []string{keys.EdDSA, keys.ES256}, b.Algorithms())
}

// Verification is remembered for the exact token that verified: the same
// header and payload under another signature, or the same token checked
// for another typ, are judged afresh.
func TestVerifyRemembersOnlyWhatVerified(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			m := newManager(t, memory.New(), alg, newClock())
			tok := must(m.Sign(claims, "at+jwt"))
			for range 3 {
				got, err := m.Verify(tok, "at+jwt")
				require.NoError(t, err)
				require.Equal(t, claims, got)
			}
			_, err := m.Verify(tok, "id+jwt")
			require.ErrorIs(t, err, keys.ErrInvalidToken, "typ is checked on a remembered token too")

			i := strings.LastIndexByte(tok, '.')
			sig := must(b64.DecodeString(tok[i+1:]))
			sig[len(sig)/2] ^= 1
			_, err = m.Verify(tok[:i+1]+b64.EncodeToString(sig), "at+jwt")
			require.ErrorIs(t, err, keys.ErrInvalidToken, "another signature over a remembered payload")

			other := must(m.Sign(claims, "at+jwt")) // a new signature for ES256; the same token for the deterministic RS256 and EdDSA
			got, err := m.Verify(other, "at+jwt")
			require.NoError(t, err)
			require.Equal(t, claims, got)
		})
	}
}

// VerifyDecoded decodes a token once while it is remembered, and never
// remembers what failed to decode.
func TestVerifyDecodedDecodesOnce(t *testing.T) {
	m := newManager(t, memory.New(), keys.ES256, newClock())
	tok := must(m.Sign(claims, "at+jwt"))
	calls := 0
	decode := func(p []byte) (any, error) {
		calls++
		if calls == 1 {
			return nil, fmt.Errorf("first decode fails")
		}
		return string(p), nil
	}
	_, err := m.VerifyDecoded(tok, "at+jwt", decode)
	require.Error(t, err)
	for range 3 {
		v, err := m.VerifyDecoded(tok, "at+jwt", decode)
		require.NoError(t, err)
		require.Equal(t, string(claims), v)
	}
	require.Equal(t, 2, calls)
	_, err = m.VerifyDecoded(tok, "id+jwt", decode)
	require.ErrorIs(t, err, keys.ErrInvalidToken)
	require.Equal(t, 2, calls, "nothing is decoded for a token that does not verify")
}

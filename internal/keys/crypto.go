package keys

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// Supported signing algorithms.
const (
	ES256 = "ES256"
	RS256 = "RS256"
	EdDSA = "EdDSA"
)

// rsaBits is the RSA modulus size: 3072 bits give 128-bit security, the
// level of P-256 and Ed25519, at a signing cost that RS256 users accept.
const rsaBits = 3072

// hkdfInfo binds the derived key to this one purpose and version, so that
// the same configured secret can never yield this key elsewhere.
const hkdfInfo = "gatehouse signing key v1"

// ErrDecrypt is returned (wrapped) when a stored private key cannot be
// decrypted: the configured secret is not the one the key was stored
// with, or the stored key was altered. It says nothing about the key.
var ErrDecrypt = errors.New("cannot decrypt signing key: keys.encryption_secret (GATEHOUSE_KEYS_ENCRYPTION_SECRET) is not the one the key was stored with, or the stored key is corrupt")

// checkAlgorithm returns an error naming the setting when alg is not one
// Gatehouse signs with. HMAC and none are never accepted.
func checkAlgorithm(alg string) error {
	switch alg {
	case ES256, RS256, EdDSA:
		return nil
	}
	return fmt.Errorf("token.signing_alg: unsupported signing algorithm %q (ES256, RS256 or EdDSA)", alg)
}

// generate creates a private key for alg.
func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, checkAlgorithm(alg)
}

// fitsAlgorithm reports whether the private key k can sign with alg. It
// guards against a stored row whose algorithm column and key disagree.
func fitsAlgorithm(k crypto.Signer, alg string) bool {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return alg == ES256 && k.Curve == elliptic.P256()
	case *rsa.PrivateKey:
		return alg == RS256 && k.N.BitLen() >= 2048
	case ed25519.PrivateKey:
		return alg == EdDSA
	}
	return false
}

// sealer encrypts private keys at rest with AES-256-GCM under a key derived
// from the configured secret, and decrypts with it or, while a secret is
// being replaced, with one of the previous ones.
type sealer struct {
	aead     cipher.AEAD
	previous []*sealer
}

func newSealer(secret []byte, previous ...[]byte) (*sealer, error) {
	s, err := newAEAD(secret, "keys.encryption_secret")
	if err != nil {
		return nil, err
	}
	for _, p := range previous {
		old, err := newAEAD(p, "keys.previous_encryption_secrets")
		if err != nil {
			return nil, err
		}
		s.previous = append(s.previous, old)
	}
	return s, nil
}

func newAEAD(secret []byte, setting string) (*sealer, error) {
	if len(secret) < 32 {
		return nil, errors.New(setting + " must be at least 32 bytes")
	}
	k, err := hkdf.Key(sha256.New, secret, nil, hkdfInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// aad binds a ciphertext to its realm and kid, so that a sealed key copied
// to another row or realm does not decrypt.
func aad(realm, kid string) []byte { return []byte(realm + "\x00" + kid) }

// seal returns nonce || ciphertext of the PKCS #8 encoding of k. Random
// 96-bit nonces are safe here: a realm seals a handful of keys, far below
// the 2^32 messages GCM allows per key with random nonces.
func (s *sealer) seal(realm, kid string, k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(der)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, der, aad(realm, kid)), nil
}

// open decrypts what seal returned, under the current secret or a previous
// one; current reports which. Every failure is ErrDecrypt, so that neither
// the error nor a log line says anything about the key.
func (s *sealer) open(realm, kid string, sealed []byte) (k crypto.Signer, current bool, err error) {
	if k, err := s.openOne(realm, kid, sealed); err == nil {
		return k, true, nil
	}
	for _, p := range s.previous {
		if k, err := p.openOne(realm, kid, sealed); err == nil {
			return k, false, nil
		}
	}
	return nil, false, ErrDecrypt
}

func (s *sealer) openOne(realm, kid string, sealed []byte) (crypto.Signer, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrDecrypt
	}
	der, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(realm, kid))
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, ErrDecrypt
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, ErrDecrypt
	}
	return signer, nil
}

// publicJWK returns the public half of k as a JWK.
func publicJWK(k crypto.Signer, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}
}

// samePublicKey reports whether a and b are the same public key.
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// newKID returns a random key id: 96 bits, so that kids never collide
// across nodes generating keys at the same moment. It never starts with
// '-': "gatehouse keys retire KID" would read such a kid as a flag (one
// kid in 64 did), which is no time to learn about "--" when the key is
// compromised.
func newKID() (string, error) {
	var b [12]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		if kid := base64.RawURLEncoding.EncodeToString(b[:]); kid[0] != '-' {
			return kid, nil
		}
	}
}

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

// generate creates a private key for alg.
func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		return rsa.GenerateKey(rand.Reader, 3072)
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q (ES256, RS256 or EdDSA)", alg)
}

// errDecrypt hides why decryption failed: the secret is wrong or the
// stored key was tampered with; either way nothing about the key leaks.
var errDecrypt = errors.New("cannot decrypt signing key: keys.encryption_secret (GATEHOUSE_KEYS_ENCRYPTION_SECRET) is not the one the key was stored with, or the stored key is corrupt")

// sealer encrypts private keys at rest.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) < 32 {
		return nil, errors.New("keys.encryption_secret must be at least 32 bytes")
	}
	k, err := hkdf.Key(sha256.New, secret, nil, "gatehouse signing key v1", 32)
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

func aad(realm, kid string) []byte { return []byte(realm + "\x00" + kid) }

// seal returns nonce || ciphertext of the PKCS #8 encoding of k.
func (s *sealer) seal(realm, kid string, k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, der, aad(realm, kid)), nil
}

func (s *sealer) open(realm, kid string, sealed []byte) (crypto.Signer, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errDecrypt
	}
	der, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(realm, kid))
	if err != nil {
		return nil, errDecrypt
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errDecrypt
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errDecrypt
	}
	return signer, nil
}

// publicJWK returns the public half of k as a JWK.
func publicJWK(k crypto.Signer, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}
}

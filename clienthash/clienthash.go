// Package clienthash implements Gatehouse's client-side hashing: what an
// application does so that no raw password or client secret ever reaches
// the server. docs/client-side-hashing.md is the specification; this
// package and clienthash/js reproduce its test vectors.
//
// Passwords: P = PBKDF2-HMAC-SHA256(UTF-8(NFC(password)), salt, iterations,
// 32 bytes), sent as b64u(P). Client secrets: the secret S never leaves its
// owner; W = HMAC-SHA256(S, "gatehouse-client-secret-v1:" + client_id) is
// sent where OAuth 2.0 expects client_secret, and only V = SHA-256(W) is
// registered.
package clienthash

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Parameters of the scheme.
const (
	KDFPBKDF2SHA256   = "pbkdf2-sha256"
	DefaultIterations = 600000
	SecretPrefix      = "gatehouse-client-secret-v1:"
	// KeyLen is the length of P, W and V in bytes.
	KeyLen  = 32
	saltLen = 16
)

var b64u = base64.RawURLEncoding.Strict()

// Encode returns b, base64url encoded without padding.
func Encode(b []byte) string { return b64u.EncodeToString(b) }

// Decode decodes base64url without padding, strictly: padding and
// characters outside the alphabet are errors.
func Decode(s string) ([]byte, error) {
	if strings.ContainsAny(s, "=+/") {
		return nil, errors.New("clienthash: not base64url without padding")
	}
	return b64u.DecodeString(s)
}

// DerivePassword returns P for a password. The password is NFC-normalised
// first, so that the same password typed on any system gives the same P.
func DerivePassword(password string, salt []byte, iterations int) ([]byte, error) {
	if iterations < 1 {
		return nil, errors.New("clienthash: iterations must be positive")
	}
	return pbkdf2.Key(sha256.New, norm.NFC.String(password), salt, iterations, KeyLen)
}

// PasswordSetting is the JSON object sent whenever a password is set.
type PasswordSetting struct {
	KDF          string `json:"kdf"`
	Iterations   int    `json:"iterations"`
	Salt         string `json:"salt"`
	Hash         string `json:"hash"`
	Confirmation string `json:"confirmation"`
}

// NewPasswordSetting picks a random salt and derives the hash of the
// password and of its confirmation (the password typed a second time). It
// does not compare them: the server does, and says which field is wrong.
// Zero iterations means DefaultIterations.
func NewPasswordSetting(password, confirmation string, iterations int) (PasswordSetting, error) {
	if iterations == 0 {
		iterations = DefaultIterations
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return PasswordSetting{}, fmt.Errorf("clienthash: salt: %w", err)
	}
	p, err := DerivePassword(password, salt, iterations)
	if err != nil {
		return PasswordSetting{}, err
	}
	p2, err := DerivePassword(confirmation, salt, iterations)
	if err != nil {
		return PasswordSetting{}, err
	}
	return PasswordSetting{KDF: KDFPBKDF2SHA256, Iterations: iterations, Salt: Encode(salt), Hash: Encode(p), Confirmation: Encode(p2)}, nil
}

// LoginParams is the prelogin answer: how to derive a user's P.
type LoginParams struct {
	KDF        string `json:"kdf"`
	Iterations int    `json:"iterations"`
	Salt       string `json:"salt"`
}

// LoginPassword returns b64u(P), the password parameter of the token
// endpoint's password grant.
func LoginPassword(password string, p LoginParams) (string, error) {
	if p.KDF != KDFPBKDF2SHA256 {
		return "", fmt.Errorf("clienthash: unsupported kdf %q", p.KDF)
	}
	salt, err := Decode(p.Salt)
	if err != nil {
		return "", fmt.Errorf("clienthash: salt: %w", err)
	}
	key, err := DerivePassword(password, salt, p.Iterations)
	if err != nil {
		return "", err
	}
	return Encode(key), nil
}

// NewClientSecret returns a fresh client secret S: 32 random bytes, shown
// to its owner once and never sent anywhere.
func NewClientSecret() ([]byte, error) {
	s := make([]byte, KeyLen)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("clienthash: secret: %w", err)
	}
	return s, nil
}

// ClientSecretWire returns W, what is sent as client_secret.
func ClientSecretWire(s []byte, clientID string) []byte {
	m := hmac.New(sha256.New, s)
	m.Write([]byte(SecretPrefix + clientID))
	return m.Sum(nil)
}

// ClientSecretVerifier returns V = SHA-256(W) over the raw bytes of W,
// what is registered with the server.
func ClientSecretVerifier(w []byte) []byte {
	v := sha256.Sum256(w)
	return v[:]
}

// WireSecret derives b64u(W) from b64u(S).
func WireSecret(sB64u, clientID string) (string, error) {
	s, err := Decode(sB64u)
	if err != nil {
		return "", fmt.Errorf("clienthash: secret: %w", err)
	}
	return Encode(ClientSecretWire(s, clientID)), nil
}

// VerifierFor derives b64u(V) from b64u(S).
func VerifierFor(sB64u, clientID string) (string, error) {
	s, err := Decode(sB64u)
	if err != nil {
		return "", fmt.Errorf("clienthash: secret: %w", err)
	}
	return Encode(ClientSecretVerifier(ClientSecretWire(s, clientID))), nil
}

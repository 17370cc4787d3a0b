package credential

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strconv"

	"github.com/gatehouse/gatehouse/clienthash"
)

// Errors of password and secret input. Their messages never contain the
// input.
var (
	// ErrPasswordNotHashed means a password parameter is not b64u(P).
	ErrPasswordNotHashed = errors.New("the password must be hashed on the client (43 characters of base64url); see docs/client-side-hashing.md")
	// ErrConfirmationMismatch means hash and confirmation differ: the
	// user mistyped one of them.
	ErrConfirmationMismatch = errors.New("the password and its confirmation differ")
)

// SaltLen is the length of the client-side salt of every stored password
// (what clienthash.NewPasswordSetting picks), and of prelogin's made-up
// salts: a stored salt of another length would tell a real account from
// an unknown name.
const SaltLen = 16

// ParsePasswordWire decodes b64u(P): exactly 43 characters of base64url
// encoding 32 bytes. Anything else, a plain-text password above all, is
// ErrPasswordNotHashed.
func ParsePasswordWire(s string) ([]byte, error) {
	if len(s) != 43 {
		return nil, ErrPasswordNotHashed
	}
	p, err := clienthash.Decode(s)
	if err != nil || len(p) != clienthash.KeyLen {
		return nil, ErrPasswordNotHashed
	}
	return p, nil
}

// FieldError names the field of a password-setting object that is wrong.
type FieldError struct {
	Field  string // kdf, iterations, salt, hash or confirmation
	Reason string
	// Policy is set when the field is well-formed but not what this server
	// accepts (iterations other than the configured count, a salt of
	// another length), rather than malformed.
	Policy bool
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// ValidatePasswordSetting checks a password-setting object and returns P.
// It accepts exactly the configured iterations and a SaltLen-byte salt:
// prelogin answers unknown names with those parameters, so a stored
// password with any other would mark its account as real (see
// docs/client-side-hashing.md). Malformed fields give a *FieldError;
// hash ≠ confirmation gives ErrConfirmationMismatch.
func ValidatePasswordSetting(s clienthash.PasswordSetting, iterations int) ([]byte, error) {
	switch {
	case s.KDF != clienthash.KDFPBKDF2SHA256:
		return nil, &FieldError{Field: "kdf", Reason: "must be " + clienthash.KDFPBKDF2SHA256}
	case s.Iterations != iterations:
		return nil, &FieldError{Field: "iterations", Reason: "must be " + strconv.Itoa(iterations), Policy: true}
	}
	salt, err := clienthash.Decode(s.Salt)
	if err != nil {
		return nil, &FieldError{Field: "salt", Reason: "must be base64url"}
	}
	if len(salt) != SaltLen {
		return nil, &FieldError{Field: "salt", Reason: "must be " + strconv.Itoa(SaltLen) + " bytes", Policy: true}
	}
	p, err := ParsePasswordWire(s.Hash)
	if err != nil {
		return nil, &FieldError{Field: "hash", Reason: "must be b64u(P), 43 characters"}
	}
	p2, err := ParsePasswordWire(s.Confirmation)
	if err != nil {
		return nil, &FieldError{Field: "confirmation", Reason: "must be b64u(P), 43 characters"}
	}
	if subtle.ConstantTimeCompare(p, p2) != 1 {
		return nil, ErrConfirmationMismatch
	}
	return p, nil
}

// VerifyClientSecret checks the wire secret W against every verifier and
// returns the index of the one that matches. It compares against all of
// them, in constant time each, so that the time taken does not depend on
// which matched. A malformed W matches nothing.
func VerifyClientSecret(wire string, verifiers [][]byte) (int, bool) {
	w, err := ParsePasswordWire(wire)
	if err != nil {
		return -1, false
	}
	sum := sha256.Sum256(w)
	match := -1
	for i, v := range verifiers {
		if subtle.ConstantTimeCompare(sum[:], v) == 1 {
			match = i
		}
	}
	return match, match >= 0
}

// PreloginSalter derives the salts prelogin answers for unknown users.
type PreloginSalter struct{ secret []byte }

// NewPreloginSalter returns a salter keyed with a server secret.
func NewPreloginSalter(secret []byte) *PreloginSalter {
	return &PreloginSalter{secret: append([]byte(nil), secret...)}
}

// FakeSalt returns a SaltLen-byte salt for an unknown username: stable
// for the same username and indistinguishable from a random one without
// the server secret. Callers pass the canonical username
// (storage.CanonicalUsername), so that every spelling of one name gets
// one answer, as a real account would.
func (s *PreloginSalter) FakeSalt(realm, username string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(realm))
	m.Write([]byte{0})
	m.Write([]byte(username))
	return m.Sum(nil)[:SaltLen]
}

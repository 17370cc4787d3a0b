package storage

import (
	"errors"
	"fmt"

	"golang.org/x/text/secure/precis"
)

// ErrInvalidUsername means a username has no canonical form: it is empty,
// too long, or holds characters the PRECIS IdentifierClass disallows
// (spaces, controls, symbols outside the class).
var ErrInvalidUsername = errors.New("invalid username")

// MaxUsernameBytes bounds a username, as typed and in canonical form.
const MaxUsernameBytes = 256

// CanonicalUsername returns the canonical form of a username under the
// PRECIS UsernameCaseMapped profile (RFC 8265 §3.3: width mapping, case
// mapping, NFC, IdentifierClass). Two spellings with the same canonical
// form name one account: backends use it for uniqueness and lookup, and
// the login throttle and prelogin's made-up answers are keyed by it, so
// that no second spelling gives an attacker a fresh counter or tells a
// real account from an unknown one. The username as typed is kept for
// display.
func CanonicalUsername(s string) (string, error) {
	if s == "" || len(s) > MaxUsernameBytes {
		return "", fmt.Errorf("%w: length", ErrInvalidUsername)
	}
	c, err := precis.UsernameCaseMapped.String(s)
	if err != nil || c == "" || len(c) > MaxUsernameBytes {
		return "", fmt.Errorf("%w: not a PRECIS username", ErrInvalidUsername)
	}
	return c, nil
}

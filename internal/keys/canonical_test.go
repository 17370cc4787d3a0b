package keys_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage/memory"
)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Every token has one spelling: other encodings of the same header,
// payload and signature (nonzero pad bits, CR or LF inside a part), which
// go-jose alone would accept, do not verify (RFC 7515 §2).
func TestVerifyRejectsOtherSpellings(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			m := newManager(t, memory.New(), alg, newClock())
			tok, err := m.Sign(claims, "at+jwt")
			require.NoError(t, err)
			parts := strings.Split(tok, ".")
			var variants []string
			for i, p := range parts {
				respell := func(q string) {
					c := append([]string{}, parts...)
					c[i] = q
					variants = append(variants, strings.Join(c, "."))
				}
				respell(p[:len(p)/2] + "\n" + p[len(p)/2:])
				respell(p[:len(p)/2] + "\r\n" + p[len(p)/2:])
				if len(p)%4 != 0 { // the last character has pad bits
					last := strings.IndexByte(b64Alphabet, p[len(p)-1])
					respell(p[:len(p)-1] + string(b64Alphabet[last^1]))
				}
			}
			require.GreaterOrEqual(t, len(variants), 7)
			for _, v := range variants {
				_, err := m.Verify(v, "at+jwt")
				require.True(t, errors.Is(err, keys.ErrInvalidToken), "%q: %v", v, err)
			}
			_, err = m.Verify(tok, "at+jwt")
			require.NoError(t, err)
		})
	}
}

package storage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/storage"
)

// FuzzCanonicalUsername: CanonicalUsername never panics, fails only with
// ErrInvalidUsername, and what it returns is at most MaxUsernameBytes and
// its own canonical form (RFC 8265 §3.3 profiles are idempotent).
func FuzzCanonicalUsername(f *testing.F) {
	for _, s := range []string{"alice", "Alice", "ALICE", "ａｌｉｃｅ", "\u212a", "K", "straße", "STRASSE", "ǅ", "Ǆ",
		"é", "e\u0301", "ﬁ", "İ", "ı", "Σ", "ς", "a b", "", "\x00", "\xff", "a\u200db", "user@example.com",
		strings.Repeat("a", storage.MaxUsernameBytes), strings.Repeat("a", storage.MaxUsernameBytes+1),
		strings.Repeat("Ａ", 85), strings.Repeat("ﷺ", 20), "\u0345", "ᾳ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := storage.CanonicalUsername(s)
		if err != nil {
			if !errors.Is(err, storage.ErrInvalidUsername) || c != "" {
				t.Fatalf("%q: %q, %v", s, c, err)
			}
			return
		}
		if c == "" || len(c) > storage.MaxUsernameBytes {
			t.Fatalf("%q: canonical form %q of %d bytes", s, c, len(c))
		}
		again, err := storage.CanonicalUsername(c)
		if err != nil || again != c {
			t.Fatalf("%q: canonical %q, canonical again %q, %v", s, c, again, err)
		}
	})
}

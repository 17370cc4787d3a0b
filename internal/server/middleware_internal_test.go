package server

import (
	"regexp"
	"strings"
	"testing"
)

// validRequestID is the regexp it replaced, without the regexp.
func TestValidRequestIDMatchesItsPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	ids := []string{"", "a", "abc-123", "A.b_c:d-e", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"bad id", "a\"b", "<script>", "tab\t", "ü", "a/b", "a+b", "a\nb", "\x00"}
	for c := 0; c < 256; c++ {
		ids = append(ids, "x"+string(rune(c)), "x"+string([]byte{byte(c)}))
	}
	for _, id := range ids {
		if got, want := validRequestID(id), pattern.MatchString(id); got != want {
			t.Errorf("%q: %v, want %v", id, got, want)
		}
	}
}

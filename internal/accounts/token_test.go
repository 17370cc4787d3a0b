package accounts

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Link tokens carry 256 random bits; the store gets their digest only,
// and anything that cannot be a token is refused before a lookup.
func TestLinkTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, digest, err := newToken()
		require.NoError(t, err)
		require.Len(t, tok, 43)
		require.False(t, seen[tok])
		seen[tok] = true
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		require.NoError(t, err)
		sum := sha256.Sum256(raw)
		require.Equal(t, sum[:], digest)
		d, ok := tokenDigest(tok)
		require.True(t, ok)
		require.Equal(t, digest, d)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("!", 43), strings.Repeat("A", 42) + "="} {
		_, ok := tokenDigest(bad)
		require.False(t, ok, bad)
	}
}

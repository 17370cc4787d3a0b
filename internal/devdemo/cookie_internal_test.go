package devdemo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFlowCookie(t *testing.T) {
	s, err := newSealer()
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0)
	f := flowState{State: "s", Nonce: "n", Verifier: "v", Expires: now.Add(flowTTL).Unix()}
	v, err := s.seal(f)
	require.NoError(t, err)

	got, err := s.open(v, now)
	require.NoError(t, err)
	require.Equal(t, f, got)

	_, err = s.open(v, now.Add(flowTTL))
	require.ErrorIs(t, err, errBadCookie, "expired")
	other, err := newSealer()
	require.NoError(t, err)
	_, err = other.open(v, now)
	require.ErrorIs(t, err, errBadCookie, "another process's key")
	for _, bad := range []string{"", ".", "x", v + "x", "e30." + v[len(v)-43:]} {
		_, err = s.open(bad, now)
		require.ErrorIs(t, err, errBadCookie, bad)
	}
	// A validly signed flow with a field missing is refused too.
	empty, err := s.seal(flowState{State: "s", Expires: f.Expires})
	require.NoError(t, err)
	_, err = s.open(empty, now)
	require.ErrorIs(t, err, errBadCookie)
}

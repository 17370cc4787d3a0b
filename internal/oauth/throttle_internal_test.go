package oauth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSourceAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"203.0.113.7:5555":           "203.0.113.7",
		"[::ffff:203.0.113.7]:5555":  "203.0.113.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64", // one subscriber's /64 is one source
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:443":         "fe80::/64",
		"not an address":             "not an address",
	} {
		require.Equal(t, want, sourceAddress(remote), remote)
	}
}

func TestThrottleDelay(t *testing.T) {
	th := LoginThrottle{BaseDelay: time.Second, MaxDelay: 10 * time.Second}
	var got []time.Duration
	for n := range 9 {
		got = append(got, th.delay(n, 3))
	}
	s := time.Second
	require.Equal(t, []time.Duration{0, 0, 0, 0, s, 2 * s, 4 * s, 8 * s, 10 * s}, got)
	require.Equal(t, 10*s, th.delay(1_000_000, 3), "capped, without overflow")
}

package storage

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestThrottleSource(t *testing.T) {
	for remote, want := range map[string]string{
		"203.0.113.7:5555":           "203.0.113.7",
		"[::ffff:203.0.113.7]:5555":  "203.0.113.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64", // one subscriber's /64 is one source
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:443":         "fe80::/64",
		"not an address":             "not an address",
	} {
		require.Equal(t, want, ThrottleSource(remote), remote)
	}
}

package redistest

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// The test binaries of several packages run at once (go test ./...), and
// a failover in one would fail the Sentinel tests of another. Tests that
// use the Sentinel setup therefore hold a lock on a file, shared by those
// that only use it and exclusive for those that kill a server. Within one
// process the lock is counted, so that a test may take it twice.
var sentinelLock struct {
	sync.Mutex
	f                 *os.File
	shared, exclusive int
}

// LockSentinel holds the Sentinel setup until the test ends: shared, or
// exclusive when the test will fail it over (see KillPrimary).
func LockSentinel(t testing.TB, exclusive bool) {
	t.Helper()
	l := &sentinelLock
	l.Lock()
	defer l.Unlock()
	if l.f == nil {
		f, err := os.OpenFile(filepath.Join(os.TempDir(), "gatehouse-test-redis-sentinel.lock"), os.O_CREATE|os.O_RDWR, 0o600)
		require.NoError(t, err)
		l.f = f
	}
	switch {
	case exclusive && l.exclusive == 0:
		require.NoError(t, syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX))
	case !exclusive && l.exclusive == 0 && l.shared == 0:
		require.NoError(t, syscall.Flock(int(l.f.Fd()), syscall.LOCK_SH))
	}
	if exclusive {
		l.exclusive++
	} else {
		l.shared++
	}
	t.Cleanup(func() {
		l.Lock()
		defer l.Unlock()
		if exclusive {
			l.exclusive--
		} else {
			l.shared--
		}
		switch {
		case l.exclusive == 0 && l.shared == 0:
			_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		case exclusive && l.exclusive == 0:
			_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_SH)
		}
	})
}

// Package redistest drives the Redis setups of scripts/test-env.sh for
// tests that need more than a running server, such as a failover.
package redistest

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// SentinelPrimary is the name the sentinels of scripts/test-env.sh know
// their primary by.
const SentinelPrimary = "gatehouse-test"

// KillPrimary kills the primary of the Sentinel setup that the
// redis+sentinel:// URL names, with SIGKILL, as a crash (no shutdown,
// nothing flushed), and returns a function that waits until the sentinels
// have promoted a replica. When the test ends, the killed server is
// started again from its config file and made a replica of the new
// primary, so that the setup is whole for the next test. It holds the
// setup exclusively (LockSentinel) until then: take the lock before
// opening anything on it.
func KillPrimary(t *testing.T, sentinelURL string) (promoted func()) {
	t.Helper()
	LockSentinel(t, true)
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: firstSentinel(t, sentinelURL)})
	t.Cleanup(func() { sc.Close() })
	primary := func() string {
		addr, err := sc.GetMasterAddrByName(context.Background(), SentinelPrimary).Result()
		require.NoError(t, err)
		return net.JoinHostPort(addr[0], addr[1])
	}
	old := primary()
	pid, conf := serverProcess(t, old)
	t.Cleanup(func() { rejoin(t, primary(), conf, old) })
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	return func() {
		t.Helper()
		WaitFor(t, 30*time.Second, "a promoted replica", func() bool { return primary() != old })
	}
}

// firstSentinel is the first address of a redis+sentinel:// URL.
func firstSentinel(t *testing.T, url string) string {
	_, rest, ok := strings.Cut(url, "://")
	require.True(t, ok, "not a redis+sentinel:// URL")
	authority, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = authority[i+1:]
	}
	first, _, _ := strings.Cut(authority, ",")
	return first
}

// serverProcess returns the process id and config file of the Redis at
// addr.
func serverProcess(t *testing.T, addr string) (int, string) {
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "server").Result()
	require.NoError(t, err)
	var pid int
	var conf string
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "process_id":
			pid, _ = strconv.Atoi(v)
		case "config_file":
			conf = v
		}
	}
	require.NotZero(t, pid)
	require.NotEmpty(t, conf, "the server was started from a config file (scripts/test-env.sh)")
	return pid, conf
}

// rejoin starts the killed server at addr again from its config file and
// makes it a replica of primary, as the sentinels would a few seconds
// later, then waits until the primary sees both its replicas.
func rejoin(t *testing.T, primary, conf, addr string) {
	out, err := exec.Command("redis-server", conf).CombinedOutput()
	require.NoError(t, err, "restarting the killed server: %s", out)
	host, port, _ := net.SplitHostPort(primary)
	back := goredis.NewClient(&goredis.Options{Addr: addr})
	defer back.Close()
	WaitFor(t, 10*time.Second, "the killed server back", func() bool {
		return back.Do(context.Background(), "replicaof", host, port).Err() == nil
	})
	c := goredis.NewClient(&goredis.Options{Addr: primary})
	defer c.Close()
	WaitFor(t, 30*time.Second, "the killed server back as a replica", func() bool {
		info, err := c.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "connected_slaves:2")
	})
}

// WaitFor polls cond until it holds or timeout passes. Polling a real
// server's state is all a test can do here: a failover runs on the
// sentinels' clock.
func WaitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/redis"
)

// sentinelPrimary is the name scripts/test-env.sh monitors the primary
// under.
const sentinelPrimary = "gatehouse-test"

// TestSentinelFailover kills the primary (SIGKILL, as a crash: no
// shutdown, nothing flushed) under a stream of revocations and checks.
// Meanwhile every answer is right or ErrUnavailable, never a wrong one;
// after the sentinels promote a replica, token state recovers by itself;
// and every revocation acknowledged before the kill is still there,
// because each was acknowledged only once a replica had it (WAIT 1).
// The killed server is started again afterwards and rejoins as a replica,
// so that the setup is whole for the next run.
func TestSentinelFailover(t *testing.T) {
	url := testenv.RedisSentinelURL(t)
	s, _ := openOn(t, deployments[2])
	ctx := context.Background()

	_, sentinels, err := redis.SplitHosts(url)
	require.NoError(t, err)
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: sentinels[0]})
	t.Cleanup(func() { sc.Close() })
	primary := func() string {
		addr, err := sc.GetMasterAddrByName(ctx, sentinelPrimary).Result()
		require.NoError(t, err)
		return net.JoinHostPort(addr[0], addr[1])
	}
	old := primary()
	pid, conf := serverProcess(t, old)
	t.Cleanup(func() { rejoin(t, primary, conf, old) })

	var (
		mu             sync.Mutex
		acked          []string // revocations acknowledged, in order
		wrong          atomic.Value
		outages        atomic.Int64
		killed         atomic.Bool
		ackedAfterKill atomic.Int64
		stop           = make(chan struct{})
		wg             sync.WaitGroup
	)
	classify := func(what string, err error) {
		switch {
		case err == nil:
		case errors.Is(err, storage.ErrUnavailable):
			outages.Add(1)
		default:
			wrong.Store(fmt.Sprintf("%s: %v", what, err))
		}
	}
	wg.Add(2)
	go func() { // revocations
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			jti := "failover-" + strconv.Itoa(i)
			wasKilled := killed.Load()
			err := s.RevokeToken(ctx, jti, time.Now().Add(5*time.Minute))
			classify("revoke", err)
			if err == nil {
				mu.Lock()
				acked = append(acked, jti)
				mu.Unlock()
				if wasKilled {
					ackedAfterKill.Add(1)
				}
			}
		}
	}()
	go func() { // checks of acknowledged revocations, and of a token never revoked
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			var jti string
			if len(acked) > 0 {
				jti = acked[len(acked)/2]
			}
			mu.Unlock()
			if jti != "" {
				revoked, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: jti, ClientID: "c", IssuedAt: time.Now()})
				classify("check", err)
				if err == nil && !revoked {
					wrong.Store("an acknowledged revocation of " + jti + " read as not revoked")
				}
			}
			revoked, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: "never-revoked", ClientID: "c", IssuedAt: time.Now()})
			classify("check", err)
			if err == nil && revoked {
				wrong.Store("a token never revoked read as revoked")
			}
		}
	}()

	waitFor(t, 10*time.Second, "revocations before the kill", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 200 })
	mu.Lock()
	killed.Store(true)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	mu.Unlock()
	waitFor(t, 30*time.Second, "a promoted replica", func() bool { return primary() != old })
	waitFor(t, 30*time.Second, "recovery", func() bool { return ackedAfterKill.Load() >= 100 })
	close(stop)
	wg.Wait()

	require.Nil(t, wrong.Load(), "a wrong answer during the failover")
	require.NotZero(t, outages.Load(), "the outage was answered with ErrUnavailable")
	t.Logf("%d revocations acknowledged, %d calls unavailable during the failover", len(acked), outages.Load())
	for _, jti := range acked {
		revoked, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: jti, ClientID: "c", IssuedAt: time.Now()})
		require.NoError(t, err)
		require.True(t, revoked, "acknowledged revocation of %s lost in the failover", jti)
	}
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

// rejoin starts the killed server again from its config file and makes
// it a replica of the new primary, as the sentinels would a few seconds
// later, then waits until the primary sees it.
func rejoin(t *testing.T, primary func() string, conf string, addr string) {
	out, err := exec.Command("redis-server", conf).CombinedOutput()
	require.NoError(t, err, "restarting the killed server: %s", out)
	host, port, _ := net.SplitHostPort(primary())
	back := goredis.NewClient(&goredis.Options{Addr: addr})
	defer back.Close()
	waitFor(t, 10*time.Second, "the killed server back", func() bool {
		return back.Do(context.Background(), "replicaof", host, port).Err() == nil
	})
	c := goredis.NewClient(&goredis.Options{Addr: net.JoinHostPort(host, port)})
	defer c.Close()
	waitFor(t, 30*time.Second, "the killed server back as a replica", func() bool {
		info, err := c.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "connected_slaves:2")
	})
}

// waitFor polls cond until it holds or timeout passes. Polling a real
// server's state is all a test can do here: the failover runs on the
// sentinels' clock.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A write that must reach a replica fails with ErrUnavailable when no
// replica confirms it, rather than being acknowledged on the primary
// alone; reads and writes that are not waited for go on.
func TestWaitReplicasFailsClosed(t *testing.T) {
	s, _ := openOn(t, deployment{"standalone", testenv.RedisURL, []redis.Option{redis.WithWaitReplicas(1)}})
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	require.ErrorIs(t, s.RevokeToken(ctx, "j", exp), storage.ErrUnavailable)
	require.ErrorIs(t, s.RevokeSubject(ctx, storage.SubjectUser, "u", time.Now(), time.Minute), storage.ErrUnavailable)
	require.ErrorIs(t, s.RevokeFamily(ctx, "f"), storage.ErrUnavailable)
	_, err := s.MarkOnce(ctx, "k", exp)
	require.ErrorIs(t, err, storage.ErrUnavailable)
	_, err = s.BumpChangeStamp(ctx)
	require.ErrorIs(t, err, storage.ErrUnavailable)
	require.NoError(t, s.PutEntry(ctx, "e", []byte("v"), exp))
	_, _, err = s.TakeEntry(ctx, "e", exp)
	require.ErrorIs(t, err, storage.ErrUnavailable)

	_, _, err = s.IsRevoked(ctx, storage.TokenRef{JTI: "j", ClientID: "c", IssuedAt: time.Now()})
	require.NoError(t, err)
}

package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/redis"
	"github.com/gatehouse/gatehouse/storage/redis/redistest"
)

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
	redistest.LockSentinel(t, true) // before anything holds it shared
	s, _ := openOn(t, deployments[2])
	ctx := context.Background()

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

	redistest.WaitFor(t, 10*time.Second, "revocations before the kill", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 200 })
	killed.Store(true)
	promoted := redistest.KillPrimary(t, url)
	promoted()
	redistest.WaitFor(t, 30*time.Second, "recovery", func() bool { return ackedAfterKill.Load() >= 100 })
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

// A write that must reach a replica fails with ErrUnavailable when no
// replica confirms it, rather than being acknowledged on the primary
// alone; reads and writes that are not waited for go on.
func TestWaitReplicasFailsClosed(t *testing.T) {
	s, _ := openOn(t, deployment{"standalone", testenv.RedisURL, []redis.Option{redis.WithWaitReplicas(1)}, false})
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

package redis

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stalledRedis accepts connections and never answers, like a Redis that
// hangs; it counts the connections made to it, and hangUp closes them.
func stalledRedis(t *testing.T) (addr string, conns *atomic.Int64, hangUp func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	conns = new(atomic.Int64)
	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
		}
	}()
	hangUp = func() {
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
	}
	t.Cleanup(func() {
		l.Close()
		hangUp()
	})
	return l.Addr().String(), conns, hangUp
}

// When Redis stalls, callers that gave up are not sent later, and beyond
// a bound new callers fail at once instead of queueing.
func TestReadsUnderAStalledRedis(t *testing.T) {
	addr, conns, hangUp := stalledRedis(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, Protocol: 2, DisableIdentity: true,
		ReadTimeout: time.Minute, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	r := &reads{rdb: rdb}

	// One call holds the pipeline; a full queue waits behind it.
	long, cancelLong := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 1 + maxWaiting {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.mget(long, []string{"k"})
			assert.Error(t, err)
		}()
	}
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.pending) == maxWaiting
	}, 10*time.Second, 5*time.Millisecond)
	_, err := r.mget(context.Background(), []string{"k"})
	require.ErrorIs(t, err, errTooManyWaiting)

	// Everyone gives up, then the stalled pipeline fails: none of them is
	// sent after it.
	cancelLong()
	wg.Wait()
	hangUp()
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return !r.inAir && len(r.pending) == 0
	}, 10*time.Second, 5*time.Millisecond)
	require.EqualValues(t, 1, conns.Load(), "only the first pipeline reached Redis")
}

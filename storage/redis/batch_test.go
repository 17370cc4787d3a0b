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
// a bound new callers fail at once instead of queueing: reads and writes.
func TestBatchesUnderAStalledRedis(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(rdb goredis.UniversalClient) (call func(context.Context) error, state func() (inAir bool, pending int))
	}{
		{"reads", func(rdb goredis.UniversalClient) (func(context.Context) error, func() (bool, int)) {
			r := &reads{rdb: rdb}
			return func(ctx context.Context) error {
					_, err := r.mget(ctx, []string{"k"})
					return err
				}, func() (bool, int) {
					r.mu.Lock()
					defer r.mu.Unlock()
					return r.inAir, len(r.pending)
				}
		}},
		{"writes", func(rdb goredis.UniversalClient) (func(context.Context) error, func() (bool, int)) {
			w := &writes{rdb: rdb}
			return func(ctx context.Context) error {
					var set *goredis.StatusCmd
					answered, err := w.do(ctx, func(p goredis.Pipeliner) { set = p.Set(ctx, "k", "v", 0) })
					if answered && err == nil {
						err = set.Err()
					}
					return err
				}, func() (bool, int) {
					w.mu.Lock()
					defer w.mu.Unlock()
					return w.inAir, len(w.pending)
				}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, conns, hangUp := stalledRedis(t)
			rdb := goredis.NewClient(&goredis.Options{Addr: addr, Protocol: 2, DisableIdentity: true,
				ReadTimeout: time.Minute, MaxRetries: -1})
			t.Cleanup(func() { rdb.Close() })
			call, state := tc.new(rdb)

			// One call holds the pipeline; a full queue waits behind it.
			long, cancelLong := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range 1 + maxWaiting {
				wg.Add(1)
				go func() {
					defer wg.Done()
					assert.Error(t, call(long))
				}()
			}
			require.Eventually(t, func() bool {
				_, pending := state()
				return pending == maxWaiting
			}, 10*time.Second, 5*time.Millisecond)
			require.ErrorIs(t, call(context.Background()), errTooManyWaiting)

			// Everyone gives up, then the stalled pipeline fails: none of
			// them is sent after it.
			cancelLong()
			wg.Wait()
			hangUp()
			require.Eventually(t, func() bool {
				hangUp() // go-redis may dial again for the stalled pipeline
				inAir, pending := state()
				return !inAir && pending == 0
			}, 10*time.Second, 5*time.Millisecond)
			if tc.name == "reads" {
				// A write pipeline's connection may be dialled again by
				// go-redis, for the same pipeline: this count only tells
				// for reads.
				require.EqualValues(t, 1, conns.Load(), "only the first pipeline reached Redis")
			}
		})
	}
}

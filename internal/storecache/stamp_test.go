package storecache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// counter is a change stamp whose reads take a while, like a round trip.
type counter struct {
	v     atomic.Int64
	reads atomic.Int64
	fail  atomic.Bool
}

func (c *counter) read(context.Context) (int64, error) {
	c.reads.Add(1)
	v := c.v.Load() // the value at the moment the read "reaches the server"
	time.Sleep(2 * time.Millisecond)
	if c.fail.Load() {
		return 0, errors.New("unavailable")
	}
	return v, nil
}

// A read that starts after a change was made sees it, however reads are
// shared: the promise every cached answer rests on.
func TestSharedStampReadsNeverPredateTheRequest(t *testing.T) {
	c := &counter{}
	r := &stampReader{read: c.read}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				changed := c.v.Add(1)
				got, err := r.get(ctx)
				require.NoError(t, err)
				require.GreaterOrEqual(t, got, changed)
			}
		}()
	}
	wg.Wait()
	require.Less(t, c.reads.Load(), int64(16*50), "concurrent requests share reads")
}

func TestSharedStampReadsShareFailure(t *testing.T) {
	c := &counter{}
	c.fail.Store(true)
	r := &stampReader{read: c.read}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.get(context.Background())
			require.Error(t, err, "every waiter fails closed")
		}()
	}
	wg.Wait()

	c.fail.Store(false)
	c.v.Store(7)
	got, err := r.get(context.Background())
	require.NoError(t, err, "a failure is not remembered")
	require.Equal(t, int64(7), got)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.get(ctx)
	require.ErrorIs(t, err, context.Canceled, "a waiter may give up")
}

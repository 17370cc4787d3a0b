package storecache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// stampReadTimeout bounds a shared stamp read: it serves many requests, so
// it runs on no single request's context.
const stampReadTimeout = 5 * time.Second

// stampReader shares change-stamp reads between concurrent requests. At
// most one read is in the air; requests arriving meanwhile wait together
// for the next one, which leaves only once the current one has landed.
// Every waiter thus gets a value read after it arrived, which is all the
// cache's promise needs (a change acknowledged before a request starts is
// seen by it), and under load the token endpoint makes one stamp read per
// round-trip time instead of one per request.
type stampReader struct {
	read func(ctx context.Context) (int64, error)

	requests, reads atomic.Uint64 // for Store.Stats

	mu      sync.Mutex
	inAir   bool
	pending *stampRead // not yet sent; joined by newcomers
}

type stampRead struct {
	done  chan struct{}
	stamp int64
	err   error
}

// get returns a stamp read that started after get was called.
func (r *stampReader) get(ctx context.Context) (int64, error) {
	// A caller that has already gone gets nothing, deterministically: the
	// select below would otherwise pick at random when the read has landed.
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r.requests.Add(1)
	r.mu.Lock()
	f := r.pending
	if f == nil {
		f = &stampRead{done: make(chan struct{})}
		r.pending = f
		if !r.inAir {
			r.launch()
		}
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.stamp, f.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// launch sends the pending read. Callers hold mu.
func (r *stampReader) launch() {
	f := r.pending
	r.pending, r.inAir = nil, true
	r.reads.Add(1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), stampReadTimeout)
		f.stamp, f.err = r.read(ctx)
		cancel()
		close(f.done)
		r.mu.Lock()
		r.inAir = false
		if r.pending != nil {
			r.launch()
		}
		r.mu.Unlock()
	}()
}

package redis

import (
	"context"
	"errors"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// maxBatch bounds the commands sent in one pipeline.
const maxBatch = 256

// maxWaiting bounds the calls waiting for the next pipeline. When Redis
// stalls, requests fail fast beyond it instead of queueing behind ones
// that will time out anyway.
const maxWaiting = 16 * maxBatch

var errTooManyWaiting = errors.New("too many reads waiting for Redis")

// batchTimeout bounds one pipeline: it serves many requests, so it runs on
// no single request's context.
const batchTimeout = 5 * time.Second

// reads pipelines concurrent read-only MGETs: one pipeline is in the air
// at a time, and the calls that arrive meanwhile leave together in the
// next, in one write and one read on one connection. Under load that turns
// a syscall pair and a Redis wake-up per request into one per batch; with
// no concurrency it costs a goroutine hand-off. Only reads go this way: a
// caller that gives up has changed nothing.
//
// On a Redis Cluster an MGET must keep to one slot, and the keys of one
// call are in many (see IsRevoked): there each key is a GET of its own in
// the same pipeline, which the cluster client splits by node and sends to
// every node at once, so the batch is still one round trip per node.
type reads struct {
	rdb     goredis.UniversalClient
	cluster bool

	batches[*readCall]
}

type readCall struct {
	ctx  context.Context
	keys []string
	vals []any
	err  error
	done chan struct{}
}

func (r *reads) mget(ctx context.Context, keys []string) ([]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &readCall{ctx: ctx, keys: keys, done: make(chan struct{})}
	if err := r.add(c, r.send); err != nil {
		return nil, err
	}
	select {
	case <-c.done:
		return c.vals, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// batches is what reads and writes share: one pipeline in the air, and
// the calls that arrive meanwhile pending for the next.
type batches[C interface{ gaveUp() bool }] struct {
	mu      sync.Mutex
	inAir   bool
	pending []C
}

// add queues c for the next batch, which send sends; errTooManyWaiting
// when the queue is full.
func (b *batches[C]) add(c C, send func([]C)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) >= maxWaiting {
		return errTooManyWaiting
	}
	b.pending = append(b.pending, c)
	if !b.inAir {
		b.launch(send)
	}
	return nil
}

// launch sends up to maxBatch pending calls, dropping those whose caller
// has given up. Callers hold mu.
func (b *batches[C]) launch(send func([]C)) {
	batch := nextBatch(&b.pending)
	if len(batch) == 0 {
		return // everything pending was given up
	}
	b.inAir = true
	go func() {
		send(batch)
		b.mu.Lock()
		b.inAir = false
		if len(b.pending) > 0 {
			b.launch(send)
		}
		b.mu.Unlock()
	}()
}

func (c *readCall) gaveUp() bool { return c.ctx.Err() != nil }

// nextBatch takes up to maxBatch calls off the front of *pending,
// dropping those whose caller has given up.
func nextBatch[C interface{ gaveUp() bool }](pending *[]C) []C {
	p := *pending
	batch := make([]C, 0, min(len(p), maxBatch))
	n := 0
	for ; n < len(p) && len(batch) < maxBatch; n++ {
		if !p[n].gaveUp() {
			batch = append(batch, p[n])
		}
	}
	*pending = append(p[:0], p[n:]...)
	return batch
}

func (r *reads) send(batch []*readCall) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if r.cluster {
		r.sendGets(ctx, batch)
		return
	}
	if len(batch) == 1 {
		c := batch[0]
		c.vals, c.err = r.rdb.MGet(ctx, c.keys...).Result()
		close(c.done)
		return
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*goredis.SliceCmd, len(batch))
	for i, c := range batch {
		cmds[i] = pipe.MGet(ctx, c.keys...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, c := range batch {
		c.vals, c.err = cmds[i].Result()
		close(c.done)
	}
}

// sendGets is send on a cluster: a GET per key.
func (r *reads) sendGets(ctx context.Context, batch []*readCall) {
	n := 0
	for _, c := range batch {
		n += len(c.keys)
	}
	cmds := make([]*goredis.StringCmd, 0, n)
	pipe := r.rdb.Pipeline()
	for _, c := range batch {
		for _, k := range c.keys {
			cmds = append(cmds, pipe.Get(ctx, k))
		}
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for _, c := range batch {
		c.vals = make([]any, len(c.keys))
		for i := range c.keys {
			v, err := cmds[i].Result()
			if err != nil && !isNil(err) {
				c.vals, c.err = nil, err
				break
			}
			if err == nil {
				c.vals[i] = v
			}
		}
		cmds = cmds[len(c.keys):]
		close(c.done)
	}
}

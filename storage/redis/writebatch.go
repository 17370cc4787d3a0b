package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// writes pipelines the token endpoint's per-request writes (an
// authorization code taken, a grant started) the way reads pipelines
// MGETs: one pipeline in the air, the calls that arrive meanwhile leave
// together in the next, so that under load a request pays a share of one
// round trip's syscalls, on the server and in Redis, instead of a whole
// one (docs/benchmarks.md). A call whose context ends before its batch
// leaves is dropped unsent, having changed nothing; once sent, its
// commands run whether or not it still waits, as a request's own
// commands do when its client hangs up. With replicas to wait for, the
// batch ends with one WAIT on its connection, which covers every write in
// it (see durable); on a cluster a batch's commands spread over nodes and
// no single WAIT could, so there callers use durable instead (see
// batchedScript).
type writes struct {
	rdb          goredis.UniversalClient
	waitReplicas int

	batches[*writeCall]
}

type writeCall struct {
	ctx   context.Context
	queue func(p goredis.Pipeliner)
	err   error
	done  chan struct{}
}

// do runs queue's commands in the next batch. answered reports whether
// they were sent and have answered (each command then carries its own
// result); until then the caller must not read them. err is ctx's, or the
// batch's own: too many waiting, or the replicas not confirming.
func (w *writes) do(ctx context.Context, queue func(p goredis.Pipeliner)) (answered bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	c := &writeCall{ctx: ctx, queue: queue, done: make(chan struct{})}
	if err := w.add(c, w.send); err != nil {
		return false, err
	}
	select {
	case <-c.done:
		return true, c.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (c *writeCall) gaveUp() bool { return c.ctx.Err() != nil }

func (w *writes) send(batch []*writeCall) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var wait *goredis.Cmd
	_, _ = w.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, c := range batch {
			c.queue(p)
		}
		if w.waitReplicas > 0 {
			wait = p.Do(ctx, "wait", w.waitReplicas, waitTimeout.Milliseconds())
		}
		return nil
	}) // each command carries its own error
	var err error
	if wait != nil {
		if n, _ := wait.Int64(); n < int64(w.waitReplicas) {
			err = fmt.Errorf("%w: %d of %d replicas confirmed the write within %v", errNotReplicated, n, w.waitReplicas, waitTimeout)
		}
	}
	for _, c := range batch {
		c.err = err
		close(c.done)
	}
}

// batchedScript runs a script as a durable write (see durable) in the
// next write batch, on a cluster waiting for replicas through
// durableScript. A script Redis does not know yet did not run, and runs
// again through durableScript, which loads it.
func (s *TokenState) batchedScript(ctx context.Context, sc *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	if s.clusterWait() {
		return s.durableScript(ctx, sc, keys, args...)
	}
	var cmd *goredis.Cmd
	answered, err := s.writes.do(ctx, func(p goredis.Pipeliner) { cmd = sc.EvalSha(ctx, p, keys, args...) })
	if answered && err == nil && goredis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		return s.durableScript(ctx, sc, keys, args...)
	}
	if err != nil {
		cmd = goredis.NewCmd(ctx)
		cmd.SetErr(err)
	}
	return cmd
}

// clusterWait reports whether durable writes wait for replicas on a
// cluster, where they cannot be batched.
func (s *TokenState) clusterWait() bool {
	_, cluster := s.rdb.(*goredis.ClusterClient)
	return cluster && s.waitReplicas > 0
}

package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// waitTimeout bounds how long a durable write waits for its replicas
// (WAIT's timeout): well within the read timeout, so that a replica that
// lags or is gone turns into a fast 503 rather than a hung request.
const waitTimeout = 250 * time.Millisecond

// A durable write is one whose loss would revive something: a revocation
// (of a token, a subject, a family), a spent authorization code or
// request, a replay marker, a refresh token's rotation, an ended login
// session, a raised change stamp. Redis replicates asynchronously, so a
// primary that fails right after acknowledging a write may never have
// passed it on, and the promoted replica would not have it. With
// waitReplicas > 0 such a write is followed, on the same connection (WAIT
// counts that connection's writes), by WAIT waitReplicas; fewer replicas
// confirming within waitTimeout fails the write with ErrUnavailable, so
// that only what a replica holds is ever acknowledged. Writes whose loss
// only takes something away (a new refresh token, an entry, a session, a
// throttle count) are not waited for: losing them fails closed.
//
// durable runs fn's commands in one pipeline on the primary holding key
// (every key fn uses must be in its slot), then the WAIT. It returns the
// first error of a command other than a nil reply.
func (s *TokenState) durable(ctx context.Context, key string, fn func(p goredis.Pipeliner)) error {
	var node goredis.Cmdable = s.rdb
	if c, ok := s.rdb.(*goredis.ClusterClient); ok && s.waitReplicas > 0 {
		// The WAIT must reach the node that took the writes: a cluster
		// pipeline would send a keyless command anywhere.
		n, err := c.MasterForKey(ctx, key)
		if err != nil {
			return err
		}
		node = n
	}
	var wait *goredis.Cmd
	cmds, _ := node.Pipelined(ctx, func(p goredis.Pipeliner) error {
		fn(p)
		if s.waitReplicas > 0 {
			wait = p.Do(ctx, "wait", s.waitReplicas, waitTimeout.Milliseconds())
		}
		return nil
	})
	for _, c := range cmds {
		if err := c.Err(); err != nil && !isNil(err) {
			return err
		}
	}
	if wait != nil {
		if n, _ := wait.Int64(); n < int64(s.waitReplicas) {
			return fmt.Errorf("%w: %d of %d replicas confirmed the write within %v", errNotReplicated, n, s.waitReplicas, waitTimeout)
		}
	}
	return nil
}

var errNotReplicated = errors.New("write not replicated")

// durableScript runs a script as a durable write on the slot of keys[0].
// Without replicas to wait for it is the plain EVALSHA; with them it is
// EVAL, which a pipeline can send without a NOSCRIPT fallback.
func (s *TokenState) durableScript(ctx context.Context, sc *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	if s.waitReplicas == 0 {
		return sc.Run(ctx, s.rdb, keys, args...)
	}
	var cmd *goredis.Cmd
	err := s.durable(ctx, keys[0], func(p goredis.Pipeliner) { cmd = sc.Eval(ctx, p, keys, args...) })
	if cmd == nil {
		cmd = goredis.NewCmd(ctx)
	}
	if err != nil && (cmd.Err() == nil || isNil(cmd.Err())) {
		cmd.SetErr(err)
	}
	return cmd
}

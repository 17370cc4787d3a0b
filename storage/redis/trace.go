package redis

import (
	"context"
	"errors"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/storage"
)

// WithTracerProvider makes every Redis command, and every pipeline, a
// client span of tp. Without it no hook is installed.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(s *TokenState) {
		s.rdb.AddHook(tracingHook{tracer: tp.Tracer("github.com/gatehouse/gatehouse/storage/redis")})
	}
}

// tracingHook is a go-redis hook that records command names only: never
// arguments, keys or values, which hold token ids and refresh-token
// hashes. Errors are recorded as a status without their message, which
// may quote a script's arguments.
type tracingHook struct {
	tracer trace.Tracer
}

var attrSystem = attribute.String("db.system", "redis")

func (h tracingHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h tracingHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		name := cmd.Name()
		ctx, span := h.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrSystem, attribute.String("db.operation.name", name)))
		err := next(ctx, cmd)
		end(span, err)
		return err
	}
}

func (h tracingHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		ctx, span := h.tracer.Start(ctx, "pipeline", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrSystem, attribute.String("db.operation.name", "pipeline"),
				attribute.Int("db.operation.batch.size", len(cmds)), attribute.StringSlice("db.redis.commands", names)))
		err := next(ctx, cmds)
		end(span, err)
		return err
	}
}

func end(span trace.Span, err error) {
	if err != nil && !errors.Is(err, goredis.Nil) {
		status := "error"
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			status = "timeout"
		}
		span.SetStatus(codes.Error, status)
	}
	span.End()
}

// poolSizes returns the configured sizes of the command and pipeline
// pools: per node on a cluster, whose PoolStats add up every node's.
func (s *TokenState) poolSizes() (size, pipeline int) {
	switch c := s.rdb.(type) {
	case *goredis.Client:
		return c.Options().PoolSize, c.Options().PipelinePoolSize
	case *goredis.ClusterClient:
		return c.Options().PoolSize, c.Options().PipelinePoolSize
	}
	return 0, 0
}

// PoolStats reports the connection pools (commands' and pipelines') for
// metrics.
func (s *TokenState) PoolStats() storage.PoolStats {
	st := s.rdb.PoolStats()
	size, pipeline := s.poolSizes()
	out := storage.PoolStats{MaxConns: size}
	add := func(p *goredis.PoolStats) {
		out.TotalConns += int(p.TotalConns)
		out.IdleConns += int(p.IdleConns)
		out.Acquires += uint64(p.Hits) + uint64(p.Misses)
		out.Waits += uint64(p.WaitCount)
		out.WaitTime += time.Duration(p.WaitDurationNs)
		out.Timeouts += uint64(p.Timeouts)
	}
	add(st)
	if st.PipelineStats != nil {
		add((*goredis.PoolStats)(st.PipelineStats))
		pps := pipeline
		if pps == 0 {
			pps = goredis.DefaultPipelinePoolSize
		}
		out.MaxConns += pps
	}
	return out
}

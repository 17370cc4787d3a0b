package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/storage"
)

// Option configures Open.
type Option func(*options)

type options struct {
	tracer trace.TracerProvider
}

// WithTracerProvider makes every query a client span of tp. Without it
// no tracer is installed and queries cost nothing extra.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// queryTracer is pgx's QueryTracer: a span per query named after its SQL
// operation. It records the operation and, on failure, the SQLSTATE, and
// never the SQL arguments, nor an error message: PostgreSQL's messages may
// quote a value ("invalid input syntax for type uuid: …").
type queryTracer struct {
	tracer trace.Tracer
}

var _ pgx.QueryTracer = queryTracer{}

var attrSystem = attribute.String("db.system", "postgresql")

func (t queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	op := operation(data.SQL)
	ctx, _ = t.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrSystem, attribute.String("db.operation.name", op)))
	return ctx
}

func (t queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if data.Err != nil && !errors.Is(data.Err, pgx.ErrNoRows) {
		code := "error"
		var pgErr *pgconn.PgError
		if errors.As(data.Err, &pgErr) {
			code = pgErr.Code
			span.SetAttributes(attribute.String("db.response.status_code", pgErr.Code))
		}
		span.SetStatus(codes.Error, code)
	}
	span.End()
}

// operation returns the SQL statement's first keyword, upper-cased
// (SELECT, INSERT, WITH, …): what the span may say about a query without
// repeating it. Comments and anything else yield "QUERY".
func operation(sql string) string {
	sql = strings.TrimLeft(sql, " \t\r\n(")
	end := strings.IndexFunc(sql, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if end < 0 {
		end = len(sql)
	}
	switch op := strings.ToUpper(sql[:end]); op {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "BEGIN", "COMMIT", "ROLLBACK",
		"SAVEPOINT", "RELEASE", "LOCK", "CREATE", "ALTER", "DROP", "TRUNCATE", "SET", "SHOW", "VALUES", "COPY":
		return op
	}
	return "QUERY"
}

// PoolStats reports the connection pool for metrics.
func (s *Store) PoolStats() storage.PoolStats {
	st := s.pool.Stat()
	return storage.PoolStats{
		MaxConns: int(st.MaxConns()), TotalConns: int(st.TotalConns()), IdleConns: int(st.IdleConns()),
		Acquires: uint64(st.AcquireCount()), Waits: uint64(st.EmptyAcquireCount()),
		WaitTime: st.EmptyAcquireWaitTime(), Timeouts: uint64(st.CanceledAcquireCount()),
	}
}

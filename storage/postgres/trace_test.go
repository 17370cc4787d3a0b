package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/postgres"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
)

func TestOperation(t *testing.T) {
	for sql, want := range map[string]string{
		"SELECT id FROM users WHERE username = $1": "SELECT",
		"  \n insert into x values ($1)":           "INSERT",
		"(SELECT 1) UNION (SELECT 2)":              "SELECT",
		"WITH a AS (SELECT 1) UPDATE t SET x = 1":  "WITH",
		"-- a comment\nSELECT 1":                   "QUERY",
		"frobnicate 'secret'":                      "QUERY",
		"":                                         "QUERY",
	} {
		require.Equal(t, want, postgres.Operation(sql), sql)
	}
}

// A traced store makes a span per query that names the operation and the
// database system, and holds none of the query's arguments.
func TestQueriesAreTracedWithoutArguments(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	_, err := postgres.Migrate(ctx, dsn)
	require.NoError(t, err)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s, err := postgres.Open(ctx, dsn, postgres.WithTracerProvider(tp))
	require.NoError(t, err)
	defer s.Close()

	const secret = "sEcReT-username-value"
	_, err = s.GetUserByUsername(ctx, storage.DefaultRealm, secret)
	require.ErrorIs(t, err, storage.ErrNotFound)

	spans := rec.Ended()
	require.NotEmpty(t, spans)
	var selects int
	for _, sp := range spans {
		attrs := map[string]string{}
		for _, a := range sp.Attributes() {
			attrs[string(a.Key)] = a.Value.String()
			require.NotContains(t, strings.ToLower(a.Value.String()), strings.ToLower(secret), "attribute %s", a.Key)
		}
		require.NotContains(t, sp.Name(), secret)
		require.Equal(t, "postgresql", attrs["db.system"], sp.Name())
		require.Equal(t, sp.Name(), attrs["db.operation.name"])
		if sp.Name() == "SELECT" {
			selects++
		}
	}
	require.Positive(t, selects, "the lookup is a SELECT span")

	st := s.PoolStats()
	require.Positive(t, st.MaxConns)
	require.Positive(t, st.TotalConns)
	require.Positive(t, st.Acquires)
	require.LessOrEqual(t, st.IdleConns, st.TotalConns)
}

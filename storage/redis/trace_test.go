package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/redis"
)

// A traced token state makes a span per command (and per pipeline) that
// names the command only: no key, no argument, no value.
func TestCommandsAreTracedByNameOnly(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	const prefix = "ghtest:trace:"
	s, err := redis.Open(ctx, testenv.RedisURL(t), redis.WithKeyPrefix(prefix), redis.WithTracerProvider(tp))
	require.NoError(t, err)
	defer s.Close()

	const jti = "sEcReT-token-id"
	require.NoError(t, s.RevokeToken(ctx, jti, time.Now().Add(time.Minute)))
	revoked, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: jti, ClientID: "sEcReT-client", IssuedAt: time.Now()})
	require.NoError(t, err)
	require.True(t, revoked)
	_, err = s.ChangeStamp(ctx)
	require.NoError(t, err)
	defer direct(t).Del(ctx, prefix+"r:"+jti)

	spans := rec.Ended()
	names := map[string]bool{}
	for _, sp := range spans {
		names[sp.Name()] = true
		if sp.Name() == "pipeline" {
			names["pipeline:"+attrOf(sp, "db.redis.commands")] = true
		}
		require.NotContains(t, sp.Name(), jti)
		for _, a := range sp.Attributes() {
			v := a.Value.String()
			require.NotContains(t, v, "sEcReT", "attribute %s", a.Key)
			require.NotContains(t, v, prefix, "attribute %s names a key", a.Key)
		}
		require.Equal(t, "redis", attrOf(sp, "db.system"), sp.Name())
	}
	// A revocation is a durable write: a pipeline of its SET (and a WAIT
	// when replicas are awaited).
	require.True(t, names[`pipeline:["set"]`] || names[`pipeline:["set","wait"]`], "spans: %v", names)
	require.True(t, names["mget"], "spans: %v", names)

	st := s.PoolStats()
	require.Positive(t, st.MaxConns)
	require.Positive(t, st.TotalConns)
	require.Positive(t, st.Acquires)
}

func attrOf(sp sdktrace.ReadOnlySpan, key string) string {
	for _, a := range sp.Attributes() {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

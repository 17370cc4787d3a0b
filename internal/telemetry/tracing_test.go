package telemetry_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/internal/telemetry"
	"github.com/gatehouse/gatehouse/internal/telemetry/telemetrytest"
)

func TestTracingOff(t *testing.T) {
	tp, shutdown, err := telemetry.StartTracing(context.Background(), telemetry.TracingOptions{})
	require.NoError(t, err)
	require.Nil(t, tp, "no endpoint, no provider: nothing is traced")
	require.NoError(t, shutdown(context.Background()))
}

// Spans reach the collector's /v1/traces under the configured service
// name, at the latest when the provider shuts down.
func TestTracingExportsOverOTLPHTTP(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	ctx := context.Background()
	tp, shutdown, err := telemetry.StartTracing(ctx, telemetry.TracingOptions{
		Endpoint: rc.URL + "/", SampleRatio: 1, ServiceName: "gatehouse-test", ServiceVersion: "v0.0.0-test"})
	require.NoError(t, err)
	_, span := tp.Tracer("test").Start(ctx, "work", trace.WithSpanKind(trace.SpanKindServer))
	span.End()
	require.NoError(t, shutdown(ctx))

	spans := rc.Spans()
	require.Len(t, spans, 1)
	require.Equal(t, "work", spans[0].Name)
	require.Equal(t, "SPAN_KIND_SERVER", spans[0].Kind)
	require.Equal(t, "gatehouse-test", spans[0].Attributes["resource.service.name"])
	require.Equal(t, "v0.0.0-test", spans[0].Attributes["resource.service.version"])
}

// A ratio of 0 records no new trace.
func TestSampleRatioZero(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	ctx := context.Background()
	tp, shutdown, err := telemetry.StartTracing(ctx, telemetry.TracingOptions{Endpoint: rc.URL, SampleRatio: 0, ServiceName: "g"})
	require.NoError(t, err)
	_, span := tp.Tracer("test").Start(ctx, "work")
	span.End()
	require.NoError(t, shutdown(ctx))
	require.Empty(t, rc.Spans())
}

package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TracingOptions configures StartTracing.
type TracingOptions struct {
	// Endpoint is the collector's OTLP/HTTP base URL; spans go to its
	// /v1/traces. Empty turns tracing off.
	Endpoint string
	// SampleRatio is the share of new traces recorded (0 to 1); a request
	// with a parent follows the parent's decision.
	SampleRatio    float64
	ServiceName    string
	ServiceVersion string
	// Logger hears of failed exports; default slog.Default().
	Logger *slog.Logger
}

// StartTracing returns a tracer provider that batches spans and exports
// them to o.Endpoint, and the function that flushes and stops it. Without
// an endpoint it returns a nil provider, which every Gatehouse package
// takes as "trace nothing" and skips at no cost, and a shutdown that does
// nothing.
func StartTracing(ctx context.Context, o TracingOptions) (trace.TracerProvider, func(context.Context) error, error) {
	if o.Endpoint == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(o.Endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", o.ServiceName), attribute.String("service.version", o.ServiceVersion)))
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	// The SDK reports failed exports through the global handler only.
	log := o.Logger
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: spans not exported", "error", err.Error())
	}))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
	)
	return tp, tp.Shutdown, nil
}

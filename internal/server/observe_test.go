package server_test

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse/gatehouse/internal/server"
)

type observation struct {
	route, method string
	status        int
}

// recordingMetrics is an HTTPMetrics that remembers what it was told.
type recordingMetrics struct {
	mu  sync.Mutex
	obs []observation
}

func (m *recordingMetrics) ObserveRequest(route, method string, status int, elapsed time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if elapsed < 0 {
		panic("negative duration")
	}
	m.obs = append(m.obs, observation{route, method, status})
}

func (m *recordingMetrics) last() observation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.obs[len(m.obs)-1]
}

func instrumented(t *testing.T, opts server.Options) *httptest.Server {
	t.Helper()
	var logs logBuffer
	opts.Logger = server.NewLogger(&logs, "json", slog.LevelDebug)
	s := server.New(opts, func(r *mux.Router) {
		r.HandleFunc("/items/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }).
			Methods(http.MethodGet, "PURGE")
		sub := r.PathPrefix("/admin").Subrouter()
		sub.HandleFunc("/users/{id}", func(http.ResponseWriter, *http.Request) { panic("boom") })
	})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// Requests are recorded by route template, never by raw path, and by
// standard method; what matched no route is "unmatched".
func TestMetricsByRouteTemplate(t *testing.T) {
	m := &recordingMetrics{}
	ts := instrumented(t, server.Options{Metrics: m})
	for _, tc := range []struct {
		method, path string
		want         observation
	}{
		{http.MethodGet, "/items/alice-secret", observation{"/items/{id}", "GET", 204}},
		{"PURGE", "/items/alice-secret", observation{"/items/{id}", "other", 204}},
		{http.MethodGet, "/admin/users/alice-secret", observation{"/admin/users/{id}", "GET", 500}},
		{http.MethodGet, "/health/alive", observation{"/health/alive", "GET", 200}},
		{http.MethodGet, "/no/such/alice-secret", observation{server.RouteUnmatched, "GET", 404}},
		{http.MethodPost, "/items/alice-secret", observation{server.RouteUnmatched, "POST", 405}},
	} {
		res, _ := do(t, tc.method, ts.URL+tc.path, nil)
		require.Equal(t, tc.want.status, res.StatusCode, tc.path)
		require.Equal(t, tc.want, m.last(), "%s %s", tc.method, tc.path)
	}
}

// A request is a server span named after method and route template that
// continues the caller's trace, and carries no path.
func TestRequestSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ts := instrumented(t, server.Options{Tracer: tp})

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	res, _ := do(t, http.MethodGet, ts.URL+"/items/alice-secret?token=t0ps3cret", nil,
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	do(t, http.MethodGet, ts.URL+"/admin/users/bob", nil)
	do(t, http.MethodGet, ts.URL+"/nope", nil)

	spans := rec.Ended()
	require.Len(t, spans, 3)
	require.Equal(t, "GET /items/{id}", spans[0].Name())
	require.Equal(t, traceID, spans[0].SpanContext().TraceID().String(), "continues the caller's trace")
	attrs := attribute.NewSet(spans[0].Attributes()...)
	route, _ := attrs.Value("http.route")
	require.Equal(t, "/items/{id}", route.AsString())
	code, _ := attrs.Value("http.response.status_code")
	require.Equal(t, int64(204), code.AsInt64())
	for _, a := range spans[0].Attributes() {
		require.NotContains(t, a.Value.String(), "alice")
		require.NotContains(t, a.Value.String(), "t0ps3cret")
	}
	require.Equal(t, "GET /admin/users/{id}", spans[1].Name())
	require.Equal(t, "Error", spans[1].Status().Code.String(), "a 500 is an error")
	require.Equal(t, "GET unmatched", spans[2].Name())
}

type discardMetrics struct{}

func (discardMetrics) ObserveRequest(string, string, int, time.Duration) {}

// Recording the route costs no allocation per request: the token endpoint
// is measured against a bare handler (docs/benchmarks.md).
func TestRouteRecordingDoesNotAllocate(t *testing.T) {
	allocs := func(opts server.Options) float64 {
		opts.Logger = slog.New(slog.DiscardHandler)
		s := server.New(opts, func(r *mux.Router) {
			r.HandleFunc("/items/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		})
		req := httptest.NewRequest(http.MethodGet, "/items/1", nil)
		req.Header.Set("X-Request-Id", "fixed-id")
		// The fewest of several runs: under the race detector sync.Pool
		// drops items at random, so one run can count an allocation that
		// is the pool's, not the handler's.
		fewest := math.Inf(1)
		for range 5 {
			fewest = min(fewest, testing.AllocsPerRun(200, func() { s.Handler().ServeHTTP(httptest.NewRecorder(), req) }))
		}
		return fewest
	}
	require.Equal(t, allocs(server.Options{}), allocs(server.Options{Metrics: discardMetrics{}}))
}

package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HTTPMetrics records finished requests; telemetry.Metrics implements it.
// route is a path template or RouteUnmatched and method one of the
// standard methods or MethodOther: never anything a client chose freely.
type HTTPMetrics interface {
	ObserveRequest(route, method string, status int, elapsed time.Duration)
}

const (
	// RouteUnmatched is the route of a request that matched none (404,
	// 405): its raw path is the client's and never becomes a label.
	RouteUnmatched = "unmatched"
	// MethodOther stands for every non-standard method.
	MethodOther = "other"
)

// observer is what instrument reports to: the access log, and metrics
// and traces when configured.
type observer struct {
	log     *slog.Logger
	metrics HTTPMetrics  // nil: none
	tracer  trace.Tracer // nil: none
	prop    propagation.TraceContext
}

// statusWriter records the status written, and the route template that
// the router matched (see recordRoutes): it is the one writer every request
// already gets, so the route travels with it rather than in a context
// value that would cost a copy of the request.
type statusWriter struct {
	http.ResponseWriter
	status int
	route  string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// started reports whether the response has begun: too late for a 500.
func (w *statusWriter) started() bool { return w.status != 0 }

// instrument logs one line per request (method, path without the query,
// which may hold parameters, status and duration; never headers or
// bodies), records its metrics by route template, and traces it as a
// server span named after method and route. The request id comes from the
// context.
func (o *observer) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		method := methodLabel(r.Method)
		var span trace.Span
		if o.tracer != nil {
			ctx := o.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span = o.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", method)))
			r = r.WithContext(ctx)
		}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK // the handler wrote nothing
			}
			elapsed := time.Since(start)
			route := sw.route
			if route == "" {
				route = RouteUnmatched
			}
			if o.metrics != nil {
				o.metrics.ObserveRequest(route, method, status, elapsed)
			}
			if span != nil {
				endSpan(span, method, route, status)
			}
			o.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), durationMS(elapsed))
		}()
		next.ServeHTTP(sw, r)
	})
}

func endSpan(span trace.Span, method, route string, status int) {
	span.SetName(method + " " + route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}

// recordRoutes wraps the handler of every route of r, once, so that it
// hands its path template (/admin/users/{id}) to the statusWriter that
// instrument put around the request. Doing it at registration rather than
// in a router middleware costs nothing per request: mux builds its
// middleware chain anew for every match.
func recordRoutes(r *mux.Router) {
	_ = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		h := route.GetHandler()
		tpl, err := route.GetPathTemplate()
		if h == nil || err != nil {
			return nil // a subrouter's prefix, whose routes are walked too
		}
		route.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if sw := findStatusWriter(w); sw != nil {
				sw.route = tpl
			}
			h.ServeHTTP(w, r)
		}))
		return nil
	})
}

// findStatusWriter finds instrument's writer under any wrappers.
func findStatusWriter(w http.ResponseWriter) *statusWriter {
	for {
		switch x := w.(type) {
		case *statusWriter:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// methodLabel returns the standard methods as they are and every other
// one as MethodOther: a method is a free string from the client.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return MethodOther
}

// durationMS renders a duration as milliseconds: slog's JSON handler would
// print a time.Duration as integer nanoseconds.
func durationMS(d time.Duration) slog.Attr {
	return slog.Float64("duration_ms", float64(d.Microseconds())/1000)
}

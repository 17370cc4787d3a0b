package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/trace"
)

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	Addr            string // for ListenAndServe
	Logger          *slog.Logger
	Ready           []Check       // what /health/ready pings
	ReadyTimeout    time.Duration // for all checks together; default 1 s
	ReadTimeout     time.Duration // default 10 s
	WriteTimeout    time.Duration // default 15 s
	IdleTimeout     time.Duration // default 60 s
	ShutdownTimeout time.Duration // default 15 s
	MaxBodyBytes    int64         // default 64 KiB
	// Metrics records every request by route template; nil records none.
	Metrics HTTPMetrics
	// Tracer traces every request as a server span, continuing a W3C
	// traceparent the client sent; nil (the default) traces nothing and
	// costs nothing.
	Tracer trace.TracerProvider
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadyTimeout, time.Second)
	def(&o.ReadTimeout, 10*time.Second)
	def(&o.WriteTimeout, 15*time.Second)
	def(&o.IdleTimeout, 60*time.Second)
	def(&o.ShutdownTimeout, 15*time.Second)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	return o
}

// Server is Gatehouse's HTTP server.
type Server struct {
	opts    Options
	router  *mux.Router
	handler http.Handler
}

// New builds the server. mount, if not nil, registers the application's
// routes on the router (see the package documentation); the health
// endpoints and the middleware are added here.
func New(opts Options, mount func(r *mux.Router)) *Server {
	opts = opts.withDefaults()
	r := mux.NewRouter()
	r.HandleFunc("/health/alive", handleAlive).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/health/ready", readiness(opts.Logger, opts.Ready, opts.ReadyTimeout)).Methods(http.MethodGet, http.MethodHead)
	if mount != nil {
		mount(r)
	}
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)

	// Outermost first: request id and body limit, access log with
	// metrics and traces, headers, recovery.
	obs := &observer{log: opts.Logger, metrics: opts.Metrics}
	if opts.Tracer != nil {
		obs.tracer = opts.Tracer.Tracer("github.com/gatehouse/gatehouse/internal/server")
	}
	if obs.metrics != nil || obs.tracer != nil {
		recordRoutes(r)
	}
	var h http.Handler = r
	h = recoverPanics(opts.Logger, h)
	h = securityHeaders(h)
	h = obs.instrument(h)
	h = requestScope(opts.MaxBodyBytes, h)
	return &Server{opts: opts, router: r, handler: h}
}

// Handler returns the server's handler with all middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// Router returns the router, for tests that walk the routes.
func (s *Server) Router() *mux.Router { return s.router }

// ListenAndServe listens on Options.Addr and serves like Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	l, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, l)
}

// Serve serves on l until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish within ShutdownTimeout, and
// then closes whatever is left. Requests do not see ctx's cancellation, so
// that they can finish.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadTimeout:       s.opts.ReadTimeout,
		ReadHeaderTimeout: min(5*time.Second, s.opts.ReadTimeout),
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.opts.Logger.Info("shutting down: finishing requests in flight", "timeout", s.opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		<-errc
		return fmt.Errorf("shutdown: requests still running after http.shutdown_timeout (%s) were cut off", s.opts.ShutdownTimeout)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.opts.Logger.Info("stopped")
	return nil
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"type":"urn:gatehouse:problem:not-found","title":"Not found","status":404,"detail":"No such endpoint."}` + "\n"))
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write([]byte(`{"type":"urn:gatehouse:problem:method-not-allowed","title":"Method not allowed","status":405,"detail":"The endpoint does not support this method."}` + "\n"))
}

package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// Check is a readiness check: a named dependency and how to ping it.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Options configures a Server.
type Options struct {
	Addr            string
	Logger          *slog.Logger
	Ready           []Check
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	ShutdownTimeout time.Duration
	MaxBodyBytes    int64
}

// Server is Gatehouse's HTTP server.
type Server struct {
	opts    Options
	router  *mux.Router
	handler http.Handler
}

// New builds the server. mount registers the application's routes on the
// router; the health endpoints and the middleware are added here.
func New(opts Options, mount func(r *mux.Router)) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	r := mux.NewRouter()
	r.HandleFunc("/health/alive", handleAlive).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/health/ready", readiness(opts.Ready)).Methods(http.MethodGet, http.MethodHead)
	if mount != nil {
		mount(r)
	}
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)
	var h http.Handler = r
	h = http.MaxBytesHandler(h, opts.MaxBodyBytes)
	h = recoverPanics(opts.Logger, h)
	h = securityHeaders(h)
	h = accessLog(opts.Logger, h)
	h = requestID(h)
	return &Server{opts: opts, router: r, handler: h}
}

// Handler returns the server's handler with all middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// Router returns the router, for tests that walk the routes.
func (s *Server) Router() *mux.Router { return s.router }

// Serve serves on l until ctx is done, then shuts down gracefully: it stops
// accepting and lets in-flight requests finish within ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadTimeout:       s.opts.ReadTimeout,
		ReadHeaderTimeout: 5 * time.Second,
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
	s.opts.Logger.Info("shutting down", "timeout", s.opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), max(s.opts.ShutdownTimeout, time.Second))
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func handleAlive(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readiness answers 200 when every check passes within a second, 503
// naming the failing components otherwise (never their errors).
func readiness(checks []Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		status := map[string]string{}
		ok := true
		for _, c := range checks {
			if err := c.Ping(ctx); err != nil {
				status[c.Name], ok = "unavailable", false
			} else {
				status[c.Name] = "ok"
			}
		}
		body := map[string]any{"status": "ok", "checks": status}
		if !ok {
			body["status"] = "unavailable"
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
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

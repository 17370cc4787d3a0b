package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/bootstrap"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/telemetry"
	"github.com/gatehouse/gatehouse/storage"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the authorization server",
		Long: `Run the authorization server.

With --dev it runs on in-memory storage with an ephemeral signing key, creates an
administrator and an admin API client, and prints how to use them. Without it, it
needs PostgreSQL (migrated with 'gatehouse migrate up') and Redis.`,
		Args: cobra.NoArgs,
		RunE: runServe,
	}
	f := cmd.Flags()
	f.Bool("dev", false, "in-memory storage, ephemeral keys, bootstrap admin printed")
	f.String("addr", "", "listen address (default 127.0.0.1:8080)")
	f.String("issuer", "", "public issuer URL (default http://127.0.0.1:8080)")
	f.String("bootstrap-out", "", "with --dev: also write the bootstrap credentials as JSON to this file (mode 0600)")
	// The load benchmark's baseline (bench/, docs/benchmarks.md); not a
	// product feature, hence hidden.
	f.String("bench-baseline-addr", "", "serve a bare net/http handler on this loopback address, for the load benchmark")
	_ = f.MarkHidden("bench-baseline-addr")
	return cmd
}

// runServe wires configuration → logger → stores → app → HTTP server.
func runServe(cmd *cobra.Command, _ []string) error {
	c, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	log := newLogger(c)
	tuneGC(log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second signal stops at once

	var metrics *telemetry.Metrics
	if c.MetricsAddr != "" {
		metrics = telemetry.NewMetrics()
	}
	v, _ := buildVersion()
	tp, stopTracing, err := telemetry.StartTracing(ctx, telemetry.TracingOptions{Endpoint: c.Tracing.OTLPEndpoint,
		SampleRatio: c.Tracing.SampleRatio, ServiceName: c.Tracing.ServiceName, ServiceVersion: v, Logger: log})
	if err != nil {
		return &config.Error{Key: "tracing.otlp_endpoint", Reason: err.Error()}
	}
	defer flushTraces(stopTracing, log)
	store, state, err := openBackends(ctx, c, tp, metrics)
	if err != nil {
		return err
	}
	defer store.Close()
	defer state.Close()
	opts, err := appOptions(c, store, state)
	if err != nil {
		return err
	}
	opts.Logger = log
	if c.Dev {
		// The demo relying party's pages (docs/browser-sign-in.md); its
		// client is registered by devBootstrap.
		opts.DevDemoClientID = bootstrap.DemoClientID
	}
	opts.Metrics = metrics
	a, err := app.New(ctx, opts)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return &config.Error{Key: "addr", Reason: err.Error()}
	}
	if c.Dev {
		if err := devBootstrap(ctx, cmd, a, c.Issuer, c.Password.Iterations); err != nil {
			return err
		}
	}
	go a.Run(ctx)
	if c.DebugAddr != "" {
		if err := serveProfiles(ctx, c.DebugAddr, log); err != nil {
			return err
		}
	}
	if addr, _ := cmd.Flags().GetString("bench-baseline-addr"); addr != "" {
		if err := serveBenchBaseline(ctx, addr, log); err != nil {
			return err
		}
	}
	if metrics != nil {
		// Stopped after the public server has drained, so that scrapes
		// see the shutdown through.
		stopMetrics, err := serveMetrics(c.MetricsAddr, metrics, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	log.Info("gatehouse listening", "addr", l.Addr().String(), "config", c)
	return newHTTPServer(c, log, store, state, a, metrics, tp).Serve(ctx, l)
}

// serveMetrics serves the Prometheus metrics on their own listener, apart
// from the public routes, until the returned stop is called.
func serveMetrics(addr string, m *telemetry.Metrics, log *slog.Logger) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &config.Error{Key: "metrics_addr", Reason: err.Error()}
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(l) }()
	log.Info("metrics served", "addr", l.Addr().String(), "path", "/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// flushTraces sends the spans still buffered, within a few seconds.
func flushTraces(stop func(context.Context) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("tracing: spans lost at shutdown", "error", err.Error())
	}
}

// gcPercent replaces Go's default GOGC of 100: the live heap is small
// (~10 MiB) while every token request leaves ~25 KB of short-lived
// garbage, so at 100 the collector runs every few hundred requests and
// costs a fifth of the token endpoint's CPU. At 200 the heap stays
// bounded by three times the live data; under password-grant load that is
// dominated by the concurrent argon2id hashes (password.max_concurrent_hashes
// × memory_kib), so it stays bounded too. A soft memory limit was tried
// and dropped: near the working set it makes the runtime return and
// re-fault argon2id's blocks, costing the password grant ~10 %.
const gcPercent = 200

// tuneGC sets the collector's pace unless GOGC says otherwise.
func tuneGC(log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		log.Debug("garbage collector pace", "gc_percent", gcPercent)
	}
}

// serveProfiles serves net/http/pprof on its own loopback listener, apart
// from the public routes, until ctx ends.
func serveProfiles(ctx context.Context, addr string, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return &config.Error{Key: "debug_addr", Reason: err.Error()}
	}
	// The configuration allows loopback only; a name such as localhost is
	// checked again here, where it has been resolved.
	if a, ok := l.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		l.Close()
		return &config.Error{Key: "debug_addr", Reason: "must be a loopback address, got " + l.Addr().String()}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	go func() { _ = srv.Serve(l) }()
	log.Info("profiles served", "addr", l.Addr().String(), "path", "/debug/pprof/")
	return nil
}

// newHTTPServer is the HTTP server with every Gatehouse route mounted.
func newHTTPServer(c config.Config, log *slog.Logger, store storage.Store, state storage.TokenState, a *app.App,
	metrics *telemetry.Metrics, tp trace.TracerProvider) *server.Server {
	opts := server.Options{
		Addr: c.Addr, Logger: log, Ready: readyChecks(c.Dev, store, state),
		ReadTimeout: c.HTTP.ReadTimeout, WriteTimeout: c.HTTP.WriteTimeout, IdleTimeout: c.HTTP.IdleTimeout,
		ShutdownTimeout: c.HTTP.ShutdownTimeout, MaxBodyBytes: c.HTTP.MaxBodyBytes, Tracer: tp,
	}
	if metrics != nil { // a nil *telemetry.Metrics must stay a nil interface
		opts.Metrics = metrics
	}
	return server.New(opts, a.Register)
}

// devBootstrap creates the dev administrator and the demo client owned by
// them, and prints how to use them.
func devBootstrap(ctx context.Context, cmd *cobra.Command, a *app.App, issuer string, iterations int) error {
	res, err := bootstrap.Run(ctx, a.Store(), a.Hasher, bootstrap.Input{Iterations: iterations})
	if err != nil {
		return err
	}
	if _, err := bootstrap.EnsureDemoClient(ctx, a.Store(), "", issuer, res.AdminUserID); err != nil {
		return err
	}
	if path, _ := cmd.Flags().GetString("bootstrap-out"); path != "" {
		if err := writeBootstrapJSON(path, issuer, res); err != nil {
			return err
		}
	}
	fmt.Fprint(cmd.OutOrStdout(), devBanner(issuer, res))
	return nil
}

// bootstrapJSON is the machine-readable form of the bootstrap credentials.
type bootstrapJSON struct {
	Issuer string `json:"issuer"`
	bootstrap.Result
}

func writeBootstrapJSON(path, issuer string, res bootstrap.Result) error {
	b, err := json.MarshalIndent(bootstrapJSON{issuer, res}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("bootstrap-out: %w", err)
	}
	return os.Chmod(path, 0o600)
}

func devBanner(issuer string, r bootstrap.Result) string {
	return fmt.Sprintf(`
  Gatehouse is running in DEV mode: in-memory storage, everything is lost on exit.

  Issuer          %[1]s
  Admin user      %[2]s  (id %[3]s)
  Admin password  %[4]s
  Admin client    %[5]s
  Client secret   %[6]s
                  (the secret S: shown once and never sent; clients send W, derived from it)

  Sign in with a browser: open %[1]s/dev/start
  and sign in as %[2]s with the password above (the demo application "demo"
  asks for your consent, then shows the ID token's claims). Or from a terminal:
    go run ./cmd/gatehouse authorize --issuer %[1]s --client-id demo
  Manage your account (password, sessions, applications): %[1]s/account

  Try the admin API, in another shell at the repository root:
    export GATEHOUSE_CLI_ISSUER=%[1]s GATEHOUSE_CLI_CLIENT_ID=%[5]s GATEHOUSE_CLI_CLIENT_SECRET=%[6]s
    curl -s %[1]s/health/ready

    # A token with curl: derive W from S, then the client_credentials grant.
    W=$(go run ./cmd/gatehouse secret wire)
    curl -s -u "$GATEHOUSE_CLI_CLIENT_ID:$W" -d grant_type=client_credentials %[1]s/oauth2/token

    # Or let the CLI do the derivation (token, clients, users, groups and
    # resources all read the GATEHOUSE_CLI_* variables):
    go run ./cmd/gatehouse token
    go run ./cmd/gatehouse groups list

  More in README.md (walk-through). Stop with Ctrl-C.

`, issuer, r.AdminUsername, r.AdminUserID, r.AdminPassword, r.AdminClientID, r.AdminClientSecret)
}

// readyChecks names what /health/ready pings.
func readyChecks(dev bool, store storage.Store, state storage.TokenState) []server.Check {
	if dev {
		return []server.Check{{Name: "memory", Ping: store.Ping}}
	}
	return []server.Check{{Name: "postgres", Ping: store.Ping}, {Name: "redis", Ping: state.Ping}}
}

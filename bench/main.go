package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

type config struct {
	dev         bool
	databaseURL string
	redisURL    string
	duration    time.Duration
	warmup      time.Duration
	connections int
	only        string
	out         string
}

// row is one scenario's figures.
type row struct {
	Scenario     string  `json:"scenario"`
	Requests     uint64  `json:"requests"`
	RPS          float64 `json:"requests_per_second"`
	P50ms        float64 `json:"p50_ms"`
	P90ms        float64 `json:"p90_ms"`
	P99ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	Errors       uint64  `json:"errors"`
	CPUPerReqUs  float64 `json:"server_cpu_per_request_us"`
	PeakRSSMiB   float64 `json:"server_peak_rss_mib"`
	FractionHTTP float64 `json:"fraction_of_baseline"`
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.dev, "dev", false, "run the server on in-memory storage (--dev) instead of PostgreSQL and Redis")
	flag.StringVar(&cfg.databaseURL, "database-url", envOr("GATEHOUSE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server to create a scratch database on")
	flag.StringVar(&cfg.redisURL, "redis-url", envOr("GATEHOUSE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"), "Redis for token state")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per scenario")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured warm-up per scenario")
	flag.IntVar(&cfg.connections, "connections", 32, "concurrent connections")
	flag.StringVar(&cfg.only, "only", "", "comma-separated scenarios to run (default all)")
	flag.StringVar(&cfg.out, "out", filepath.Join("bench", "results", "latest.json"), "JSON results file")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func run(cfg config) error {
	ctx := context.Background()
	srv, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.stop()
	fx, err := setup(srv)
	if err != nil {
		return err
	}
	var rows []row
	var baseline float64
	for _, sc := range scenarios(fx) {
		if cfg.only != "" && !strings.Contains(","+cfg.only+",", ","+sc.name+",") && sc.name != "health" {
			continue
		}
		r, err := measure(srv, cfg, sc)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		if sc.name == "health" {
			baseline = r.RPS
		}
		if baseline > 0 {
			r.FractionHTTP = r.RPS / baseline
		}
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "bench: %-22s %8.0f req/s  p99 %6.2f ms  errors %d\n", r.Scenario, r.RPS, r.P99ms, r.Errors)
	}
	hash := argon2Alone(cfg)
	rows = append(rows, hash)
	printTable(rows, cfg)
	return writeJSON(cfg, rows)
}

// measure warms a scenario up, then drives it for the configured time with
// a fixed number of connections, as fast as the server answers (closed
// loop: every latency is a request that really waited).
func measure(srv *server, cfg config, sc scenario) (row, error) {
	attack := func(d time.Duration, m *vegeta.Metrics) {
		a := vegeta.NewAttacker(vegeta.Connections(cfg.connections), vegeta.MaxConnections(cfg.connections),
			vegeta.Workers(uint64(cfg.connections)), vegeta.MaxWorkers(uint64(cfg.connections)),
			vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second), vegeta.HTTP2(false))
		for res := range a.Attack(sc.target, vegeta.Rate{Freq: 0}, d, sc.name) {
			if sc.result != nil {
				sc.result(res)
			}
			if m != nil {
				m.Add(res)
			}
		}
	}
	attack(cfg.warmup, nil)
	srv.resetPeakRSS()
	var m vegeta.Metrics
	cpu0 := srv.cpu()
	attack(cfg.duration, &m)
	cpu := srv.cpu() - cpu0
	m.Close()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r := row{Scenario: sc.name, Requests: m.Requests, RPS: m.Throughput,
		P50ms: ms(m.Latencies.P50), P90ms: ms(m.Latencies.P90), P99ms: ms(m.Latencies.P99), MaxMs: ms(m.Latencies.Max),
		Errors: m.Requests - uint64(float64(m.Requests)*m.Success+0.5), PeakRSSMiB: srv.peakRSS()}
	if m.Requests > 0 {
		r.CPUPerReqUs = float64(cpu.Microseconds()) / float64(m.Requests)
	}
	if r.Errors > 0 && len(m.Errors) > 0 {
		fmt.Fprintf(os.Stderr, "bench: %s errors, e.g. %s (status codes %v)\n", sc.name, m.Errors[0], m.StatusCodes)
	}
	return r, nil
}

func printTable(rows []row, cfg config) {
	storage := "PostgreSQL + Redis"
	if cfg.dev {
		storage = "memory (--dev)"
	}
	fmt.Printf("\nGatehouse benchmark — %s, %d connections, %s per scenario, %d CPUs, %s\n\n",
		storage, cfg.connections, cfg.duration, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tCPU µs/req\tpeak RSS MiB\t× baseline\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%.0f\t%.0f\t%.2f\t\n",
			r.Scenario, r.RPS, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.Errors, r.CPUPerReqUs, r.PeakRSSMiB, r.FractionHTTP)
	}
	tw.Flush()
}

func writeJSON(cfg config, rows []row) error {
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{
		"date": time.Now().UTC().Format(time.RFC3339), "dev": cfg.dev, "connections": cfg.connections,
		"duration_seconds": cfg.duration.Seconds(), "cpus": runtime.NumCPU(), "results": rows,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(cfg.out, append(b, '\n'), 0o644)
}

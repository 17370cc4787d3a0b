package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
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
	profiles    string
}

// row is one scenario's figures.
type row struct {
	Scenario    string  `json:"scenario"`
	Requests    uint64  `json:"requests"`
	RPS         float64 `json:"requests_per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Errors      uint64  `json:"errors"`
	CPUPerReqUs float64 `json:"server_cpu_per_request_us"`
	RedisCPUUs  float64 `json:"redis_cpu_per_request_us,omitempty"`
	PeakRSSMiB  float64 `json:"server_peak_rss_mib"`
	// OfBare is the throughput as a fraction of the bare net/http
	// handler's (the baseline, see scenarios); OfHealth as a fraction of
	// /health/alive's, which passes through the middleware.
	OfBare   float64 `json:"fraction_of_bare_handler,omitempty"`
	OfHealth float64 `json:"fraction_of_health,omitempty"`
}

// findings are the figures beside the table.
type findings struct {
	ClientPBKDF2ms       float64  `json:"client_pbkdf2_ms_per_derivation"`
	PasswordOfArgon2     float64  `json:"password_fraction_of_argon2id_alone,omitempty"`
	LoginPostOfArgon2    float64  `json:"login_post_fraction_of_argon2id_alone,omitempty"`
	CodeExchangeOfCC     float64  `json:"code_exchange_fraction_of_cc_secret,omitempty"`
	CCContextOfCC        float64  `json:"cc_context_fraction_of_cc_secret,omitempty"`
	RedisLiveAccessToken *float64 `json:"redis_bytes_per_live_access_token,omitempty"`
	RedisRevokedToken    *float64 `json:"redis_bytes_per_revoked_access_token,omitempty"`
	RedisRefreshGrant    *float64 `json:"redis_bytes_per_refresh_grant,omitempty"`
	RefreshGrantsInRedis int64    `json:"refresh_grant_records,omitempty"`
	RefreshesServed      uint64   `json:"refreshes_served,omitempty"`
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.dev, "dev", false, "run the server on in-memory storage (--dev) instead of PostgreSQL and Redis")
	flag.StringVar(&cfg.databaseURL, "database-url", envOr("GATEHOUSE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server to create a scratch database on")
	flag.StringVar(&cfg.redisURL, "redis-url", envOr("GATEHOUSE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"), "Redis database for token state; the bench empties it at start")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per scenario")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured warm-up per scenario")
	flag.IntVar(&cfg.connections, "connections", 32, "concurrent connections")
	flag.StringVar(&cfg.only, "only", "", "comma-separated scenarios to run (default all)")
	flag.StringVar(&cfg.profiles, "profiles", "", "directory to write a server CPU profile of each scenario's measured run to (go tool pprof)")
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
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("the load generator wrk is not installed: apt-get install wrk (make bench installs it)")
	}
	ctx := context.Background()
	srv, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.stop()
	var state *tokenState
	if !cfg.dev {
		if state, err = openTokenState(ctx, cfg.redisURL); err != nil {
			return err
		}
		defer state.rdb.Close()
		srv.redisCPU = func() time.Duration { return state.cpu(ctx) }
	}
	fx, err := setup(srv)
	if err != nil {
		return err
	}
	found := findings{ClientPBKDF2ms: float64(fx.pbkdf2.Microseconds()) / 1000}
	var rows []row
	var hash argon2Run
	rates := map[string]float64{} // of the scenarios measured so far
	fx.rates = rates
	for _, sc := range scenarios(fx) {
		if !selected(cfg.only, sc) {
			continue
		}
		var mem0 int64
		if state != nil && sc.name == "cc-secret" {
			if mem0, err = state.usedMemory(ctx); err != nil {
				return err
			}
		}
		hashes := sc.name == "password" || sc.name == "login-post"
		if hashes {
			// The hash alone is measured just before and just after each
			// scenario that hashes: this machine's speed drifts by
			// several percent over minutes, and bracketing puts the drift
			// on both sides.
			hash.add(argon2Alone(cfg))
		}
		r, err := measure(srv, cfg, sc)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		rates[sc.name] = r.RPS
		if hashes {
			hash.add(argon2Alone(cfg))
		}
		if state != nil {
			if err := found.tokenState(ctx, state, r, mem0); err != nil {
				return fmt.Errorf("%s: redis: %w", sc.name, err)
			}
		}
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "bench: %-22s %8.0f req/s  p99 %6.2f ms  errors %d\n", r.Scenario, r.RPS, r.P99ms, r.Errors)
	}
	if hash.hashes > 0 {
		h := hash.row()
		found.PasswordOfArgon2 = rates["password"] / h.RPS
		found.LoginPostOfArgon2 = rates["login-post"] / h.RPS
		rows = append(rows, h)
	}
	ratios(rows, rates)
	if rates["cc-secret"] > 0 {
		found.CodeExchangeOfCC = rates["code-exchange"] / rates["cc-secret"]
		found.CCContextOfCC = rates["cc-context"] / rates["cc-secret"]
	}
	printTable(rows, cfg)
	printFindings(found, rows)
	return writeJSON(cfg, rows, found)
}

// tokenState records what a scenario left in Redis: nothing per issued
// access token (cc-secret, from used_memory before and after, warm-up
// included), a key per revoked one, a record per refresh grant however
// often it was refreshed.
func (f *findings) tokenState(ctx context.Context, state *tokenState, r row, mem0 int64) error {
	switch r.Scenario {
	case "cc-secret":
		mem1, err := state.usedMemory(ctx)
		if err != nil {
			return err
		}
		per := max(0, float64(mem1-mem0)) / float64(max(r.Requests, 1))
		f.RedisLiveAccessToken = &per
	case "revoke":
		_, mean, err := state.perKey(ctx, "gh:r:*")
		if err != nil {
			return err
		}
		f.RedisRevokedToken = &mean
	case "refresh":
		n, mean, err := state.perKey(ctx, "gh:t:*")
		if err != nil {
			return err
		}
		f.RedisRefreshGrant, f.RefreshGrantsInRedis, f.RefreshesServed = &mean, n, r.Requests
	}
	return nil
}

// ratios sets each measured row's throughput as a fraction of the two
// baselines measured in the same run. Rows measured in the harness
// (argon2id alone) have none.
func ratios(rows []row, rates map[string]float64) {
	for i := range rows {
		if rows[i].PeakRSSMiB == 0 {
			continue
		}
		if b := rates[scenarioBare]; b > 0 {
			rows[i].OfBare = rows[i].RPS / b
		}
		if h := rates[scenarioHealth]; h > 0 {
			rows[i].OfHealth = rows[i].RPS / h
		}
	}
}

// selected reports whether -only names the scenario or its group; the
// two baselines always run.
func selected(only string, sc scenario) bool {
	if only == "" || sc.name == scenarioBare || sc.name == scenarioHealth {
		return true
	}
	for _, name := range strings.Split(only, ",") {
		if name == sc.name || (sc.group != "" && name == sc.group) {
			return true
		}
	}
	return false
}

func printFindings(f findings, rows []row) {
	byName := map[string]row{}
	for _, r := range rows {
		byName[r.Scenario] = r
	}
	fmt.Println()
	if f.CodeExchangeOfCC > 0 {
		ce, cc := byName["code-exchange"], byName["cc-secret"]
		fmt.Printf("code exchange / cc-secret: %.2f (%.0f against %.0f req/s; goal ≥ 0.80); server CPU per request %.0f against %.0f µs\n",
			f.CodeExchangeOfCC, ce.RPS, cc.RPS, ce.CPUPerReqUs, cc.CPUPerReqUs)
	}
	if f.CCContextOfCC > 0 {
		cx, cc := byName["cc-context"], byName["cc-secret"]
		fmt.Printf("cc-context / cc-secret: %.2f (%.0f against %.0f req/s; goal ≥ 0.90); server CPU per request %.0f against %.0f µs\n",
			f.CCContextOfCC, cx.RPS, cc.RPS, cx.CPUPerReqUs, cc.CPUPerReqUs)
	}
	if f.PasswordOfArgon2 > 0 {
		fmt.Printf("password grant: %.0f %% of argon2id alone; server CPU per login %.1f ms\n", 100*f.PasswordOfArgon2, byName["password"].CPUPerReqUs/1000)
	}
	if f.LoginPostOfArgon2 > 0 {
		fmt.Printf("login POST: %.0f %% of argon2id alone; server CPU per login %.1f ms\n", 100*f.LoginPostOfArgon2, byName["login-post"].CPUPerReqUs/1000)
	}
	fmt.Printf("client-side PBKDF2 (clienthash.DerivePassword): %.0f ms per derivation, in the harness, once per user: the server never runs it\n", f.ClientPBKDF2ms)
	if f.RedisLiveAccessToken != nil {
		fmt.Printf("Redis per live access token: %.2f bytes (used_memory growth over cc-secret)\n", *f.RedisLiveAccessToken)
	}
	if f.RedisRevokedToken != nil {
		fmt.Printf("Redis per revoked access token: %.0f bytes (MEMORY USAGE)\n", *f.RedisRevokedToken)
	}
	if f.RedisRefreshGrant != nil {
		fmt.Printf("Redis per refresh grant: %.0f bytes (MEMORY USAGE); %d grant records after %d refreshes\n",
			*f.RedisRefreshGrant, f.RefreshGrantsInRedis, f.RefreshesServed)
	}
}

// measure warms a scenario up, then drives it for the configured time
// with wrk: a fixed number of connections, each sending its next request
// as soon as the previous answer arrives (closed loop, so every latency is
// a request that really waited and none are omitted).
//
// A scenario's prepare runs before the warm-up and again before the
// measured run, outside the measured server CPU and profile; the second
// time it knows the warm-up's rate.
func measure(srv *server, cfg config, sc scenario) (row, error) {
	if sc.prepare != nil {
		if err := sc.prepare(cfg.warmup, 0); err != nil {
			return row{}, fmt.Errorf("prepare: %w", err)
		}
	}
	warm, err := runWrk(srv, cfg, sc, cfg.warmup)
	if err != nil {
		return row{}, err
	}
	if sc.prepare != nil {
		var rate float64
		if warm.elapsed > 0 {
			rate = float64(warm.requests) / warm.elapsed.Seconds()
		}
		if err := sc.prepare(cfg.duration, rate); err != nil {
			return row{}, fmt.Errorf("prepare: %w", err)
		}
	}
	srv.resetPeakRSS()
	profiled := make(chan error, 1)
	if cfg.profiles != "" {
		go func() {
			profiled <- srv.profile(filepath.Join(cfg.profiles, sc.name+".pprof"), cfg.duration-time.Second)
		}()
	} else {
		profiled <- nil
	}
	var redis0, redisCPU time.Duration
	if srv.redisCPU != nil {
		redis0 = srv.redisCPU()
	}
	cpu0 := srv.cpu()
	res, err := runWrk(srv, cfg, sc, cfg.duration)
	if err != nil {
		return row{}, err
	}
	cpu := srv.cpu() - cpu0
	if srv.redisCPU != nil {
		redisCPU = srv.redisCPU() - redis0
	}
	if err := <-profiled; err != nil {
		return row{}, fmt.Errorf("profile: %w", err)
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	r := row{Scenario: sc.name, Requests: res.requests, RPS: float64(res.requests) / res.elapsed.Seconds(),
		P50ms: ms(res.p50), P90ms: ms(res.p90), P99ms: ms(res.p99), MaxMs: ms(res.max), Errors: res.errors, PeakRSSMiB: srv.peakRSS()}
	if res.requests > 0 {
		r.CPUPerReqUs = float64(cpu.Microseconds()) / float64(res.requests)
		r.RedisCPUUs = float64(redisCPU.Microseconds()) / float64(res.requests)
	}
	return r, nil
}

// wrkResult is what report.lua prints.
type wrkResult struct {
	requests, errors   uint64
	elapsed            time.Duration
	p50, p90, p99, max int64 // µs
}

func runWrk(srv *server, cfg config, sc scenario, d time.Duration) (wrkResult, error) {
	script, err := sc.script()
	if err != nil {
		return wrkResult{}, err
	}
	file := filepath.Join(srv.dir, sc.name+".lua")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		return wrkResult{}, err
	}
	secs := max(1, int((d+time.Second-1)/time.Second))
	threads := min(runtime.NumCPU(), cfg.connections)
	base := srv.issuer
	if sc.bare {
		base = srv.bare
	}
	out, err := exec.Command("wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(cfg.connections), "-d", strconv.Itoa(secs)+"s",
		"--timeout", "10s", "-s", file, base+sc.path).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		rest, ok := strings.CutPrefix(line, "GATEHOUSE_RESULT ")
		if !ok {
			continue
		}
		var n [11]int64
		for i, f := range strings.Fields(rest) {
			if i < len(n) {
				n[i], _ = strconv.ParseInt(f, 10, 64)
			}
		}
		errs := n[2] + n[3] + n[4] + n[5] + n[6]
		if errs > 0 {
			fmt.Fprintf(os.Stderr, "bench: %s: %d errors (connect %d, read %d, write %d, HTTP status %d, timeout %d)\n",
				sc.name, errs, n[2], n[3], n[4], n[5], n[6])
		}
		return wrkResult{requests: uint64(n[0]), elapsed: time.Duration(n[1]) * time.Microsecond, errors: uint64(errs),
			p50: n[7], p90: n[8], p99: n[9], max: n[10]}, nil
	}
	return wrkResult{}, fmt.Errorf("wrk printed no result: %s", out)
}

func printTable(rows []row, cfg config) {
	storage := "PostgreSQL + Redis"
	if cfg.dev {
		storage = "memory (--dev)"
	}
	fmt.Printf("\nGatehouse benchmark — %s, %d connections, %s per scenario, %d CPUs, %s\n\n",
		storage, cfg.connections, cfg.duration, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tCPU µs/req\tRedis µs/req\tpeak RSS MiB\t× bare\t× health\t")
	for _, r := range rows {
		if r.PeakRSSMiB == 0 { // measured in the harness, not over HTTP
			fmt.Fprintf(tw, "%s\t%.0f\t\t\t\t\t\t\t\t\t\t\t\n", r.Scenario, r.RPS)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t\n",
			r.Scenario, r.RPS, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.Errors, r.CPUPerReqUs, r.RedisCPUUs, r.PeakRSSMiB, r.OfBare, r.OfHealth)
	}
	tw.Flush()
}

func writeJSON(cfg config, rows []row, found findings) error {
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{
		"date": time.Now().UTC().Format(time.RFC3339), "dev": cfg.dev, "connections": cfg.connections,
		"duration_seconds": cfg.duration.Seconds(), "cpus": runtime.NumCPU(), "results": rows, "findings": found,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(cfg.out, append(b, '\n'), 0o644)
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// server is a running gatehouse process under test.
type server struct {
	cmd    *exec.Cmd
	issuer string
	bare   string // base URL of the bare handler (the baseline)
	boot   map[string]string
	dir    string // binary, bootstrap output, data files; removed by stop
	debug  string // pprof listener, with -profiles
	dropDB func()
	// redisCPU, when set, returns the CPU time Redis has used so far.
	redisCPU func() time.Duration
}

func secret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// startServer builds and starts gatehouse, on fresh scratch storage.
func startServer(ctx context.Context, cfg config) (*server, error) {
	dir, err := os.MkdirTemp("", "gatehouse-bench")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{issuer: "http://" + addr, dir: dir, dropDB: func() {}}
	// The password scenario logs one user in from 32 connections at once,
	// always with the right password. The login throttle counts an attempt
	// while it is in flight (so that parallel guesses cannot pass a bucket
	// together): 32 at once exceed the 10 a user may have in flight from
	// one place. The scenario measures hashing, not the throttle: lift it.
	env := append(os.Environ(), "GATEHOUSE_ADDR="+addr, "GATEHOUSE_ISSUER="+s.issuer, "GATEHOUSE_LOG_LEVEL=warn",
		"GATEHOUSE_PASSWORD_THROTTLE_FREE_PER_USER_CLIENT=1000")
	if cfg.profiles != "" {
		if err := os.MkdirAll(cfg.profiles, 0o755); err != nil {
			return nil, err
		}
		s.debug = freeLoopback()
		env = append(env, "GATEHOUSE_DEBUG_ADDR="+s.debug)
	}
	bootFile := filepath.Join(dir, "bootstrap.json")
	s.bare = "http://" + freeLoopback()
	args := []string{"serve", "--bench-baseline-addr", strings.TrimPrefix(s.bare, "http://")}
	if cfg.dev {
		args = append(args, "--dev", "--bootstrap-out", bootFile)
	} else {
		dsn, drop, err := scratchDatabase(ctx, cfg.databaseURL)
		if err != nil {
			return nil, err
		}
		s.dropDB = drop
		env = append(env, "GATEHOUSE_DATABASE_URL="+dsn, "GATEHOUSE_REDIS_URL="+cfg.redisURL,
			"GATEHOUSE_KEYS_ENCRYPTION_SECRET="+secret(), "GATEHOUSE_PASSWORD_PRELOGIN_SECRET="+secret())
		for _, step := range [][]string{{"migrate", "up"}, {"bootstrap", "--json"}} {
			c := exec.Command(bin, step...)
			c.Env = env
			out, err := c.Output()
			if err != nil {
				return nil, fmt.Errorf("%s: %v", strings.Join(step, " "), err)
			}
			if step[0] == "bootstrap" {
				if err := os.WriteFile(bootFile, out, 0o600); err != nil {
					return nil, err
				}
			}
		}
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = env
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.issuer + "/health/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("server not ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	raw, err := os.ReadFile(bootFile)
	if err != nil {
		s.stop()
		return nil, err
	}
	if err := json.Unmarshal(raw, &s.boot); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		_, _ = s.cmd.Process.Wait()
	}
	s.dropDB()
	_ = os.RemoveAll(s.dir)
}

// profile saves a CPU profile of the next d of the server's life.
func (s *server) profile(path string, d time.Duration) error {
	res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.debug, max(1, int(d.Seconds()))))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %s", res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func freeLoopback() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:6060"
	}
	defer l.Close()
	return l.Addr().String()
}

// cpu returns the server's user+system CPU time so far.
func (s *server) cpu() time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// resetPeakRSS clears the kernel's peak-RSS mark, so that each scenario
// reports its own peak.
func (s *server) resetPeakRSS() {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
}

// peakRSS returns VmHWM in MiB.
func (s *server) peakRSS() float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func scratchDatabase(ctx context.Context, base string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "gatehouse_bench_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	drop := func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	i := strings.LastIndex(base, "/")
	q := ""
	if j := strings.Index(base[i:], "?"); j >= 0 {
		q = base[i+j:]
	}
	return base[:i] + "/" + name + q, drop, nil
}

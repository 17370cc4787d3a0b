package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Check is a readiness check: a named dependency and how to ping it. Ping
// must return promptly once ctx is done.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handleAlive answers as long as the process serves HTTP: it depends on
// nothing else, so that a database outage never gets the process killed.
func handleAlive(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readiness runs every check at once, all within timeout, and answers 200
// when all pass, 503 naming the failing components otherwise. The causes
// are logged, never shown: they name hosts and ports.
func readiness(log *slog.Logger, checks []Check, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		errs := make([]error, len(checks))
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() { errs[i] = ping(ctx, c) })
		}
		wg.Wait()

		status, ok := make(map[string]string, len(checks)), true
		for i, c := range checks {
			status[c.Name] = "ok"
			if errs[i] != nil {
				status[c.Name], ok = "unavailable", false
				log.WarnContext(r.Context(), "readiness check failed", "check", c.Name, "error", errs[i].Error())
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

// ping runs one check, turning a panic or a check that ignores ctx into a
// failure rather than a hung or crashed probe.
func ping(ctx context.Context, c Check) (err error) {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- errPanicked
			}
		}()
		done <- c.Ping(ctx)
	}()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errPanicked = errors.New("check panicked")

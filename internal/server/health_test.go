package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

// downStore is a store whose backend cannot be reached.
type downStore struct{ storage.Store }

func (downStore) Ping(context.Context) error {
	return fmt.Errorf("dial tcp 10.0.0.7:5432: connection refused: %w", storage.ErrUnavailable)
}

// hungState is token state whose backend never answers.
type hungState struct{ storage.TokenState }

func (hungState) Ping(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestHealth(t *testing.T) {
	up := memory.New()
	state := memory.NewTokenState(nil)
	for _, tc := range []struct {
		name   string
		checks []server.Check
		status int
		want   map[string]string
	}{
		{"all up", []server.Check{{Name: "postgres", Ping: up.Ping}, {Name: "redis", Ping: state.Ping}},
			http.StatusOK, map[string]string{"postgres": "ok", "redis": "ok"}},
		{"store down", []server.Check{{Name: "postgres", Ping: downStore{up}.Ping}, {Name: "redis", Ping: state.Ping}},
			http.StatusServiceUnavailable, map[string]string{"postgres": "unavailable", "redis": "ok"}},
		{"state hangs", []server.Check{{Name: "postgres", Ping: up.Ping}, {Name: "redis", Ping: hungState{state}.Ping}},
			http.StatusServiceUnavailable, map[string]string{"postgres": "ok", "redis": "unavailable"}},
		{"check panics", []server.Check{{Name: "postgres", Ping: func(context.Context) error { panic("x") }}},
			http.StatusServiceUnavailable, map[string]string{"postgres": "unavailable"}},
		{"nothing to check", nil, http.StatusOK, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			ts := newServer(t, &logs, server.Options{Ready: tc.checks, ReadyTimeout: 200 * time.Millisecond})

			res, body := do(t, http.MethodGet, ts.URL+"/health/alive", nil)
			require.Equal(t, http.StatusOK, res.StatusCode, "alive depends on nothing")
			require.JSONEq(t, `{"status":"ok"}`, body)

			start := time.Now()
			res, body = do(t, http.MethodGet, ts.URL+"/health/ready", nil)
			require.Less(t, time.Since(start), 2*time.Second, "a hung check is bounded by the timeout")
			require.Equal(t, tc.status, res.StatusCode)
			require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			var got struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &got))
			require.Equal(t, tc.want, got.Checks)
			require.NotContains(t, body, "10.0.0.7", "no internals in the answer")
			if tc.status == http.StatusOK {
				require.Equal(t, "ok", got.Status)
				require.Empty(t, logs.lines(t, "readiness check failed"))
			} else {
				require.Equal(t, "unavailable", got.Status)
				require.NotEmpty(t, logs.lines(t, "readiness check failed"), "the cause is logged for operators")
			}
		})
	}
}

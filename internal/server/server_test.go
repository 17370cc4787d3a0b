package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/server"
)

func newServer(t *testing.T, logs *bytes.Buffer, checks ...server.Check) *httptest.Server {
	s := server.New(server.Options{Logger: server.NewLogger(logs, "json", slog.LevelDebug), Ready: checks}, func(r *mux.Router) {
		r.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom: secret-value") })
		r.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
			slog.New(server.NewLogger(logs, "json", slog.LevelDebug).Handler()).InfoContext(r.Context(), "inside")
		})
	})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string, hdr ...string) *http.Response {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestHealth(t *testing.T) {
	var logs bytes.Buffer
	up := server.Check{Name: "postgres", Ping: func(context.Context) error { return nil }}
	down := server.Check{Name: "redis", Ping: func(context.Context) error { return errors.New("dial tcp: secret-host") }}

	ts := newServer(t, &logs, up)
	require.Equal(t, http.StatusOK, get(t, ts.URL+"/health/alive").StatusCode)
	require.Equal(t, http.StatusOK, get(t, ts.URL+"/health/ready").StatusCode)

	ts = newServer(t, &logs, up, down)
	res := get(t, ts.URL+"/health/ready")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	body, _ := io.ReadAll(res.Body)
	require.Contains(t, string(body), `"redis":"unavailable"`)
	require.Contains(t, string(body), `"postgres":"ok"`)
	require.NotContains(t, string(body), "secret-host")
	require.Equal(t, http.StatusOK, get(t, ts.URL+"/health/alive").StatusCode, "alive does not depend on others")
}

func TestRequestIDAndAccessLog(t *testing.T) {
	var logs bytes.Buffer
	ts := newServer(t, &logs)
	res := get(t, ts.URL+"/log?password=hunter2", "X-Request-Id", "abc-123")
	require.Equal(t, "abc-123", res.Header.Get("X-Request-Id"))
	require.Contains(t, logs.String(), `"request_id":"abc-123"`)
	require.Contains(t, logs.String(), `"msg":"inside"`)
	require.Contains(t, logs.String(), `"path":"/log"`)
	require.NotContains(t, logs.String(), "hunter2", "the query is never logged")

	res = get(t, ts.URL+"/health/alive", "X-Request-Id", "bad id <script>")
	id := res.Header.Get("X-Request-Id")
	require.Len(t, id, 16, "an unsafe incoming id is replaced")
}

func TestPanicAnswers500WithoutDetails(t *testing.T) {
	var logs bytes.Buffer
	ts := newServer(t, &logs)
	res := get(t, ts.URL+"/panic")
	require.Equal(t, http.StatusInternalServerError, res.StatusCode)
	body, _ := io.ReadAll(res.Body)
	require.NotContains(t, string(body), "boom")
	require.NotContains(t, string(body), "goroutine")
	require.Contains(t, logs.String(), "panic in handler")
}

func TestUnknownRoute(t *testing.T) {
	var logs bytes.Buffer
	ts := newServer(t, &logs)
	res := get(t, ts.URL+"/nope")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
}

// On shutdown, a request in flight still completes.
func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	s := server.New(server.Options{ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, func(r *mux.Router) {
		r.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
			close(started)
			<-release
			_, _ = w.Write([]byte("done"))
		})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()

	result := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		result <- string(b)
	}()
	<-started
	cancel()
	close(release)
	require.Equal(t, "done", <-result)
	require.NoError(t, <-served)
	_, err = http.Get("http://" + l.Addr().String() + "/health/alive")
	require.Error(t, err, "no longer accepting")
	require.True(t, strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "reset"), err.Error())
}

package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/server"
)

// logBuffer is a concurrency-safe log sink: the server logs from its own
// goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log records with the given msg.
func (l *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), sc.Text())
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// newServer serves a server with a few test routes and the given checks.
func newServer(t *testing.T, logs *logBuffer, opts server.Options) *httptest.Server {
	t.Helper()
	log := server.NewLogger(logs, "json", slog.LevelDebug)
	opts.Logger = log
	s := server.New(opts, func(r *mux.Router) {
		r.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
		r.HandleFunc("/panic-late", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("partial"))
			panic("late boom")
		})
		r.HandleFunc("/silent", func(http.ResponseWriter, *http.Request) {})
		r.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
			log.InfoContext(r.Context(), "inside")
			w.WriteHeader(http.StatusTeapot)
		})
		r.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
				return
			}
			_, _ = w.Write(b)
		}).Methods(http.MethodPost)
	})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, method, url string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestRequestIDPropagation(t *testing.T) {
	var logs logBuffer
	ts := newServer(t, &logs, server.Options{})

	res, _ := do(t, http.MethodGet, ts.URL+"/log", nil, "X-Request-Id", "abc-123")
	require.Equal(t, "abc-123", res.Header.Get("X-Request-Id"), "a sane incoming id is echoed")
	inside := logs.lines(t, "inside")
	require.Len(t, inside, 1)
	require.Equal(t, "abc-123", inside[0]["request_id"], "a handler's log line carries the id")

	for _, bad := range []string{"", "bad id <script>", strings.Repeat("a", 65), "a\"b"} {
		res, _ := do(t, http.MethodGet, ts.URL+"/health/alive", nil, "X-Request-Id", bad)
		id := res.Header.Get("X-Request-Id")
		require.Regexp(t, `^[0-9a-f]{16}$`, id, "an absent or unsafe id %q is replaced", bad)
	}
	ids := map[string]bool{}
	for _, rec := range logs.lines(t, "request") {
		ids[rec["request_id"].(string)] = true
	}
	require.Len(t, ids, 5, "every request has its own id in the access log")
}

func TestAccessLog(t *testing.T) {
	var logs logBuffer
	ts := newServer(t, &logs, server.Options{})
	do(t, http.MethodGet, ts.URL+"/log?password=hunter2", nil,
		"Authorization", "Bearer tok-secret", "X-Request-Id", "r1")
	do(t, http.MethodGet, ts.URL+"/silent", nil, "X-Request-Id", "r2")

	lines := logs.lines(t, "request")
	require.Len(t, lines, 2)
	first := lines[0]
	require.Equal(t, "GET", first["method"])
	require.Equal(t, "/log", first["path"])
	require.EqualValues(t, http.StatusTeapot, first["status"])
	require.Equal(t, "r1", first["request_id"])
	require.Contains(t, first, "duration_ms")
	require.EqualValues(t, http.StatusOK, lines[1]["status"], "a handler that writes nothing answered 200")
	require.NotContains(t, logs.String(), "hunter2", "the query is never logged")
	require.NotContains(t, logs.String(), "tok-secret", "headers are never logged")
}

func TestPanicAnswers500WithoutDetails(t *testing.T) {
	var logs logBuffer
	ts := newServer(t, &logs, server.Options{})
	res, body := do(t, http.MethodGet, ts.URL+"/panic", nil, "X-Request-Id", "p1")
	require.Equal(t, http.StatusInternalServerError, res.StatusCode)
	require.JSONEq(t, `{"error":"server_error","error_description":"internal error"}`, body)
	require.Equal(t, "p1", res.Header.Get("X-Request-Id"))

	panics := logs.lines(t, "panic in handler")
	require.Len(t, panics, 1)
	require.Equal(t, "boom", panics[0]["panic"])
	require.Equal(t, "p1", panics[0]["request_id"])
	require.Contains(t, panics[0]["stack"], "goroutine")
	access := logs.lines(t, "request")
	require.EqualValues(t, http.StatusInternalServerError, access[0]["status"])
}

// Once the response has begun, a 500 is impossible: the connection is cut,
// so that the client cannot take a truncated answer for a complete one.
func TestPanicAfterWriteCutsTheResponse(t *testing.T) {
	var logs logBuffer
	ts := newServer(t, &logs, server.Options{})
	res, err := http.Get(ts.URL + "/panic-late")
	if err == nil {
		defer res.Body.Close()
		_, err = io.ReadAll(res.Body)
	}
	require.Error(t, err, "the client must not get a clean, truncated response")
	require.Len(t, logs.lines(t, "panic in handler"), 1)
	require.Len(t, logs.lines(t, "request"), 1, "the request is still logged")
}

func TestBodyLimit(t *testing.T) {
	var logs logBuffer
	ts := newServer(t, &logs, server.Options{MaxBodyBytes: 1024})
	res, body := do(t, http.MethodPost, ts.URL+"/echo", strings.NewReader(strings.Repeat("a", 1024)))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Len(t, body, 1024)
	res, _ = do(t, http.MethodPost, ts.URL+"/echo", strings.NewReader(strings.Repeat("a", 1025)))
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
}

func TestUnknownRouteAndMethod(t *testing.T) {
	var logs logBuffer
	ts := newServer(t, &logs, server.Options{})
	res, _ := do(t, http.MethodGet, ts.URL+"/nope", nil)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	res, _ = do(t, http.MethodDelete, ts.URL+"/health/alive", nil)
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}

// serve runs s on a loopback listener until the returned cancel is called;
// the returned channel yields Serve's result.
func serve(t *testing.T, s *server.Server) (addr string, cancel context.CancelFunc, served chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served = make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	t.Cleanup(cancel)
	return l.Addr().String(), cancel, served
}

// On shutdown the server stops accepting, and a request in flight still
// completes.
func TestGracefulShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	s := server.New(server.Options{ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)}, func(r *mux.Router) {
		r.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			if r.Context().Err() != nil {
				http.Error(w, "cancelled", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("done"))
		})
	})
	addr, cancel, served := serve(t, s)

	result := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/slow")
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
	// Shutdown closes the listener first; wait until it has.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "the server keeps accepting")
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the request finished: %v", err)
	default:
	}
	close(release)
	require.Equal(t, "done", <-result, "the in-flight request completes, its context not cancelled")
	require.NoError(t, <-served)
}

// A request that outlives the shutdown timeout is cut off, and Serve says
// so instead of hanging.
func TestShutdownTimeout(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := server.New(server.Options{ShutdownTimeout: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}, func(r *mux.Router) {
		r.HandleFunc("/stuck", func(http.ResponseWriter, *http.Request) {
			close(started)
			<-release // outlives the shutdown timeout
		})
	})
	addr, cancel, served := serve(t, s)
	go func() {
		if res, err := http.Get("http://" + addr + "/stuck"); err == nil {
			res.Body.Close()
		}
	}()
	<-started
	cancel()
	select {
	case err := <-served:
		require.ErrorContains(t, err, "http.shutdown_timeout")
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the shutdown timeout")
	}
}

func TestListenAndServeReportsABadAddress(t *testing.T) {
	s := server.New(server.Options{Addr: "127.0.0.1:not-a-port", Logger: slog.New(slog.DiscardHandler)}, nil)
	require.Error(t, s.ListenAndServe(context.Background()))
}

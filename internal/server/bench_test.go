package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/server"
)

// BenchmarkMiddleware is what every request pays before and after its
// handler: request id, body limit, access log, security headers, panic
// recovery and the router, here for /health/alive. The access log is on
// (JSON at info, the default) and goes to io.Discard: its formatting is
// measured, not the write.
func BenchmarkMiddleware(b *testing.B) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		b.Run("log="+level.String(), func(b *testing.B) {
			h := server.New(server.Options{Logger: server.NewLogger(io.Discard, "json", level)}, nil).Handler()
			req := httptest.NewRequest(http.MethodGet, "/health/alive", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

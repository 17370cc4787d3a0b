package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// benchBaselineBody is what the bare handler answers: a small fixed JSON
// body, about the size of /health/alive's.
var benchBaselineBody = []byte(`{"status":"ok"}` + "\n")

// serveBenchBaseline serves a bare net/http handler (no router, no
// middleware, no storage) on its own loopback listener until ctx ends. It
// exists for the load benchmark only (docs/benchmarks.md): every scenario
// is reported as a fraction of what plain Go HTTP reaches on the machine
// at that moment, in this very process (same binary, GC pace and
// scheduler), so that the figures show what Gatehouse's own work costs.
// /health/alive cannot serve as that baseline: it passes through the
// middleware every request pays.
func serveBenchBaseline(ctx context.Context, addr string, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if a, ok := l.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		l.Close()
		return &net.AddrError{Err: "bench baseline must listen on a loopback address", Addr: l.Addr().String()}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(benchBaselineBody)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	go func() { _ = srv.Serve(l) }()
	log.Info("bench baseline served", "addr", l.Addr().String())
	return nil
}

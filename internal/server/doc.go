// Package server runs Gatehouse's HTTP server: routing with gorilla/mux,
// the middleware every request passes (request id, access log, panic
// recovery, body limit), the health endpoints, structured logging with
// log/slog, and graceful shutdown.
package server

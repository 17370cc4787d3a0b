// Package server runs Gatehouse's HTTP server: routing with gorilla/mux,
// the middleware every request passes (request id, access log with metrics
// and traces, security headers, panic recovery, body limit), the health
// endpoints, structured logging with log/slog, and graceful shutdown.
//
// # Mounting routes
//
// The server owns only /health/alive and /health/ready. Everything else is
// mounted by the caller through the mount function given to New, which
// receives the router before the middleware is wrapped around it:
//
//	srv := server.New(server.Options{Logger: log, Ready: checks, ...},
//		func(r *mux.Router) {
//			r.HandleFunc("/oauth2/token", handleToken).Methods(http.MethodPost)
//			admin.Register(r.PathPrefix("/admin").Subrouter())
//		})
//	err := srv.Serve(ctx, listener) // returns after a graceful shutdown
//
// Every mounted handler gets the middleware for free: its request carries
// an id, its body is limited to Options.MaxBodyBytes (reading past it fails
// with *http.MaxBytesError; answer 413), a panic becomes a logged 500, and
// one access line is logged per request. With Options.Metrics and
// Options.Tracer it is also counted and traced under its route template
// (/admin/users/{id}), never its raw path: each route's handler, wrapped
// once at start, hands its template back to the outer middleware.
//
// # Logging
//
// NewLogger builds the process logger. Its handler adds the request id of
// the context to every record, so a handler only has to log with the
// request's context (log.InfoContext(r.Context(), …), or
// log.LogAttrs(r.Context(), …)) for the line to carry request_id. Never log
// headers, bodies, tokens or secrets.
package server

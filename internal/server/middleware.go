package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// validRequestID accepts incoming ids that are safe to log and echo: no
// spaces, quotes or control characters, and short (^[A-Za-z0-9._:-]{1,64}$,
// checked without a regexp since every request asks).
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestScope takes a sane X-Request-Id from the client or makes one,
// puts it in the context and echoes it, and limits the request body to
// maxBody bytes (as http.MaxBytesHandler does): both in one copy of the
// request, where two middlewares each made their own.
func requestScope(maxBody int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header()["X-Request-Id"] = []string{id}
		r2 := r.WithContext(WithRequestID(r.Context(), id))
		r2.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r2)
	})
}

// recoverPanics answers 500 with a generic body when a handler panics, and
// logs the panic value with its stack, never the request. If the response
// had already begun, a 500 can no longer be sent: the connection is cut
// instead, so that the client does not take a truncated answer for a whole
// one.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(r.Context(), "panic in handler", "panic", v, "stack", string(debug.Stack()))
			if sw, ok := w.(interface{ started() bool }); ok && sw.started() {
				panic(http.ErrAbortHandler)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"server_error","error_description":"internal error"}` + "\n"))
		}()
		next.ServeHTTP(w, r)
	})
}

// Values of the security headers, shared by every response and never
// modified.
var (
	nosniff    = []string{"nosniff"}
	noReferrer = []string{"no-referrer"}
)

// securityHeaders sets headers every API response should carry.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = noReferrer
		next.ServeHTTP(w, r)
	})
}

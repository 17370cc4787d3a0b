package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ory/fosite"

	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// oauthError is an RFC 6749 §5.2 error response. Description is what the
// client sees; cause is logged, never shown.
type oauthError struct {
	Code        string
	Description string
	Status      int
	RetryAfter  int // seconds; sent as Retry-After when non-zero
	cause       error
}

func (e *oauthError) Error() string {
	if e.cause != nil {
		return e.Code + ": " + e.Description + ": " + e.cause.Error()
	}
	return e.Code + ": " + e.Description
}

func (e *oauthError) Unwrap() error { return e.cause }

// withCause returns a copy of e that logs cause.
func (e *oauthError) withCause(cause error) *oauthError {
	c := *e
	c.cause = cause
	return &c
}

func newError(code string, status int, description string) *oauthError {
	return &oauthError{Code: code, Status: status, Description: description}
}

// The errors Gatehouse's OAuth endpoints answer with. Descriptions are
// fixed strings: they never echo secrets, and never reveal which users,
// clients or scopes exist.
var (
	errInvalidClient = newError("invalid_client", http.StatusUnauthorized,
		"Client authentication failed.")
	errInvalidGrant = newError("invalid_grant", http.StatusBadRequest,
		"The provided credentials or refresh token are invalid, expired or revoked.")
	errInvalidScope = newError("invalid_scope", http.StatusBadRequest,
		"The requested scope is invalid or not permitted.")
	errUnauthorizedClient = newError("unauthorized_client", http.StatusBadRequest,
		"The client is not allowed to use this grant type.")
	errUnsupportedGrant = newError("unsupported_grant_type", http.StatusBadRequest,
		"The grant type is not supported.")
	errUnavailable = newError("temporarily_unavailable", http.StatusServiceUnavailable,
		"The server cannot check token state right now; retry shortly.")
	errBusy = &oauthError{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable,
		Description: "Too many logins at once; retry shortly.", RetryAfter: 1}
	errTooManyAttempts = &oauthError{Code: "temporarily_unavailable", Status: http.StatusTooManyRequests,
		Description: "Too many failed login attempts; retry later."}
	errServer            = newError("server_error", http.StatusInternalServerError, "internal error")
	errPasswordNotHashed = newError("invalid_request", http.StatusBadRequest,
		"The password must be hashed on the client (43 characters of base64url); see docs/client-side-hashing.md.")
)

// invalidRequest returns an invalid_request error with a description that
// says what is wrong with the request (never echoing a value).
func invalidRequest(description string) *oauthError {
	return newError("invalid_request", http.StatusBadRequest, description)
}

// toOAuthError maps any error of the OAuth endpoints to the response the
// client gets. This is the one place where internal errors meet RFC 6749.
func toOAuthError(err error) *oauthError {
	var oe *oauthError
	var fe *fosite.RFC6749Error
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, clientauth.ErrInvalidClient):
		return errInvalidClient.withCause(err)
	case errors.Is(err, clientauth.ErrInvalidRequest):
		return invalidRequest("The client authentication is malformed or ambiguous.").withCause(err)
	case errors.Is(err, errScopeNotPermitted):
		return errInvalidScope.withCause(err)
	case errors.Is(err, credential.ErrBusy):
		return errBusy.withCause(err)
	case errors.Is(err, storage.ErrUnavailable):
		return errUnavailable.withCause(err)
	case errors.As(err, &fe):
		// Raised by fosite's own request parsing; its hint is safe to show.
		status := fe.CodeField
		if status == 0 {
			status = http.StatusBadRequest
		}
		return &oauthError{Code: fe.ErrorField, Status: status, Description: fe.GetDescription(), cause: err}
	}
	return errServer.withCause(err)
}

// writeError answers with err as an RFC 6749 error response and logs it:
// server errors with their cause at error level, client errors at debug.
// A request whose client hung up fails on its cancelled context: nothing
// went wrong on our side, so that is debug too.
func (p *Provider) writeError(ctx context.Context, w http.ResponseWriter, err error) *oauthError {
	oe := toOAuthError(err)
	p.opts.Logger.Log(ctx, logLevel(ctx, oe), "oauth error", "error", oe.Code, "cause", errString(oe.cause))

	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if oe.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="gatehouse"`)
	}
	if oe.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(oe.RetryAfter))
	}
	w.WriteHeader(oe.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{oe.Code, oe.Description})
	return oe
}

// logLevel is how loudly an error is logged: server errors at error
// level (an outage at warn), client errors at debug, and so is a request
// whose client hung up, since nothing went wrong on our side.
func logLevel(ctx context.Context, oe *oauthError) slog.Level {
	if oe.Status < 500 || errors.Is(ctx.Err(), context.Canceled) {
		return slog.LevelDebug
	}
	if oe.Status == http.StatusServiceUnavailable {
		return slog.LevelWarn
	}
	return slog.LevelError
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// writeJSON answers 200 with v, marked uncacheable as RFC 6749 §5.1 asks
// of every response that carries tokens.
func writeJSON(w http.ResponseWriter, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(v)
}

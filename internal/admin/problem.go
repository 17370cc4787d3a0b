package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// Problem is an RFC 7807 error. Type is a stable URN clients may switch
// on; Detail is for humans; Field names the offending input field. The
// cause is logged, never sent.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`

	cause      error
	retryAfter int // seconds, for a 429 (RFC 6585 §4): sent as Retry-After
}

func (p *Problem) Error() string {
	s := p.Type + ": " + p.Detail
	if p.cause != nil {
		s += ": " + p.cause.Error()
	}
	return s
}

func (p *Problem) Unwrap() error { return p.cause }

const typePrefix = "urn:gatehouse:problem:"

func problem(status int, kind, title, detail string) *Problem {
	return &Problem{Type: typePrefix + kind, Title: title, Status: status, Detail: detail}
}

// Constructors for the problem kinds of the management API.

func invalidField(field, detail string) *Problem {
	p := problem(http.StatusBadRequest, "invalid-field", "Invalid field", detail)
	p.Field = field
	return p
}

func malformed(detail string) *Problem {
	return problem(http.StatusBadRequest, "malformed-request", "Malformed request", detail)
}

func unauthorized(detail string) *Problem {
	return problem(http.StatusUnauthorized, "unauthorized", "Unauthorized", detail)
}

func forbidden(resource string) *Problem {
	return problem(http.StatusForbidden, "missing-resource", "Forbidden",
		"This operation requires the admin resource "+resource+".")
}

// staleToken refuses, like forbidden, a token without resource whose
// holder could obtain it now: usually granted since the token was issued,
// or left out of the scope the token was requested with.
func staleToken(resource string) *Problem {
	return problem(http.StatusForbidden, "missing-resource", "Forbidden",
		"This operation requires the admin resource "+resource+". Your access token was issued without it, "+
			"but you hold it now: request a new access token (with "+resource+" in its scope, if you name scopes).")
}

func notFound(what string) *Problem {
	return problem(http.StatusNotFound, "not-found", "Not found", what+" does not exist.")
}

func conflict(field, detail string) *Problem {
	p := problem(http.StatusConflict, "conflict", "Conflict", detail)
	p.Field = field
	return p
}

func semantic(kind, field, detail string) *Problem {
	p := problem(http.StatusUnprocessableEntity, kind, "Unprocessable request", detail)
	p.Field = field
	return p
}

func delegationCeiling(resource string) *Problem {
	return semantic("delegation-ceiling", "", "You cannot grant the admin resource "+resource+" because you do not hold it.")
}

// actingCeiling refuses an action on an entity that can exercise more
// than the caller holds. It does not say which resource: that would tell
// a caller without read access what another entity may do.
func actingCeiling() *Problem {
	return semantic("delegation-ceiling", "", "You cannot change this entity: it can exercise admin resources you do not hold.")
}

// invalidUsername answers a username with no canonical form (RFC 8265
// UsernameCaseMapped).
func invalidUsername(cause error) *Problem {
	return withCause(invalidField("username", "The username has no canonical form: see RFC 8265 (PRECIS UsernameCaseMapped)."), cause)
}

// tooManyAttempts refuses a password check while its throttle makes the
// caller wait (docs/operations.md, "Login throttling").
func tooManyAttempts(wait time.Duration) *Problem {
	p := problem(http.StatusTooManyRequests, "too-many-attempts", "Too many attempts",
		"Too many wrong passwords; retry after the number of seconds in Retry-After.")
	p.retryAfter = max(1, int(math.Ceil(wait.Seconds())))
	return p
}

func lastAdministrator() *Problem {
	return problem(http.StatusConflict, "last-administrator", "Conflict",
		"The realm must keep at least one active administrator; this change would leave none.")
}

var (
	errUnavailable = problem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
		"A backing service is unavailable; retry shortly.")
	errInternal = problem(http.StatusInternalServerError, "internal", "Internal error", "internal error")
)

// toProblem maps any error of the management API to the problem the
// client sees. This is the one place where error kinds meet HTTP.
func toProblem(err error) *Problem {
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, storage.ErrNotFound):
		return withCause(notFound("The addressed entity"), err)
	case errors.Is(err, storage.ErrAlreadyExists):
		return withCause(conflict("", "An entity with that name or id already exists."), err)
	case errors.Is(err, storage.ErrMissingReference):
		return withCause(semantic("missing-reference", "", "A referenced user, group, resource or language does not exist."), err)
	case errors.Is(err, storage.ErrInvalidUsername):
		return invalidUsername(err)
	case errors.Is(err, storage.ErrLastAdministrator):
		return withCause(lastAdministrator(), err)
	case errors.Is(err, storage.ErrInUse):
		return withCause(problem(http.StatusConflict, "in-use", "Conflict", "The entity is built in or still in use."), err)
	case errors.Is(err, storage.ErrConflict):
		return withCause(problem(http.StatusConflict, "conflict", "Conflict", "The entity changed meanwhile; read it again and retry."), err)
	case errors.Is(err, storage.ErrInvalidCursor):
		return withCause(invalidField("cursor", "cursor is not a cursor this API returned."), err)
	case errors.Is(err, storage.ErrUnavailable):
		return withCause(errUnavailable, err)
	}
	return withCause(errInternal, err)
}

func withCause(p *Problem, cause error) *Problem {
	c := *p
	c.cause = cause
	return &c
}

// writeProblem answers with err as problem+json and logs it: server-side
// failures at error level with their cause, client errors (and requests
// whose client hung up) at debug.
func (a *API) writeProblem(ctx context.Context, w http.ResponseWriter, err error) {
	p := toProblem(err)
	level := slog.LevelDebug
	if p.Status >= 500 && !errors.Is(ctx.Err(), context.Canceled) {
		level = slog.LevelError
	}
	a.opts.Logger.Log(ctx, level, "admin api error", "type", p.Type, "status", p.Status, "cause", errString(p.cause))
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// asNotFound names what was not found when err is storage.ErrNotFound.
func asNotFound(err error, what string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return withCause(notFound(what), err)
	}
	return err
}

// asConflict names the conflicting field when err is
// storage.ErrAlreadyExists.
func asConflict(err error, field, detail string) error {
	if errors.Is(err, storage.ErrAlreadyExists) {
		return withCause(conflict(field, detail), err)
	}
	return err
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

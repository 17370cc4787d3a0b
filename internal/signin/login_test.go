package signin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

func TestLoginPostSignsIn(t *testing.T) {
	e := newEnv(t)
	w := e.postForm("/login", loginForm("login-1", "csrf-login-1", "alice", wirePassword))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != e.flow.next {
		t.Fatalf("%d to %q, want 303 to %q", w.Code, w.Header().Get("Location"), e.flow.next)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("the redirect may be cached")
	}
	calls, _ := e.flow.calls()
	want := signInCall{"login-1", "csrf-login-1", "alice", wirePassword}
	if len(calls) != 1 || calls[0] != want {
		t.Errorf("SignIn calls %+v, want %+v", calls, want)
	}
}

// TestLoginPostStrict: a form that is not exactly what the page posts is
// refused with 400 before the Flow is asked anything.
func TestLoginPostStrict(t *testing.T) {
	good := loginForm("login-1", "csrf-login-1", "alice", wirePassword).Encode()
	const form = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, ctype, body string
	}{
		{"json", "application/json", `{"auth":"login-1"}`},
		{"multipart", "multipart/form-data; boundary=x", good},
		{"no content type", "", good},
		{"latin-1", form + "; charset=iso-8859-1", good},
		{"duplicate username", form, good + "&username=bob"},
		{"duplicate password", form, good + "&password=" + wirePassword},
		{"unknown field", form, good + "&remember=1"},
		{"long username", form, loginForm("login-1", "csrf-login-1", strings.Repeat("a", 257), wirePassword).Encode()},
		{"long csrf", form, loginForm("login-1", strings.Repeat("c", 257), "alice", wirePassword).Encode()},
		{"body too large", form, good + "&x=" + strings.Repeat("a", 9000)},
		{"bad escape", form, good + "&username=%zz"},
		{"not utf-8", form, loginForm("login-1", "csrf-login-1", "al\xffce", wirePassword).Encode()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(http.MethodPost, "/login", tc.ctype, tc.body)
			if w.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", w.Code)
			}
			if calls, _ := e.flow.calls(); len(calls) != 0 {
				t.Errorf("the Flow was asked: %+v", calls)
			}
		})
	}
}

// TestLoginPostNotHashed: without the script, the hidden field is empty
// (or a client posts the typed text): the page says JavaScript is needed
// and the Flow is not asked, so no attempt is counted or hashed.
func TestLoginPostNotHashed(t *testing.T) {
	for _, pw := range []string{"", "correct horse battery staple", wirePassword[:42], wirePassword[:42] + "+"} {
		e := newEnv(t)
		w := e.postForm("/login", loginForm("login-1", "csrf-login-1", "alice", pw))
		if w.Code != http.StatusBadRequest || !strings.Contains(visibleText(t, w.Body.String()), "needs JavaScript") {
			t.Errorf("password %q: %d, want 400 and the JavaScript message", pw, w.Code)
		}
		if pw != "" && strings.Contains(w.Body.String(), pw) {
			t.Errorf("the page echoes the password %q", pw)
		}
		if calls, _ := e.flow.calls(); len(calls) != 0 {
			t.Errorf("the Flow was asked: %+v", calls)
		}
	}
}

func TestLoginPostErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		form       url.Values
		status     int
		text       string // what the page says
		retryAfter string
		form2      bool // the login form is shown again
		logged     bool
	}{
		{name: "bad credentials", err: oauth.ErrBadCredentials, status: http.StatusOK,
			text: "Wrong username or password.", form2: true},
		{name: "throttled", err: &oauth.RetryError{After: 90 * time.Second}, status: http.StatusTooManyRequests,
			text: "Too many sign-in attempts. Try again in 2 minutes.", retryAfter: "90", form2: true},
		{name: "throttled briefly", err: &oauth.RetryError{After: 1500 * time.Millisecond}, status: http.StatusTooManyRequests,
			text: "Try again in 2 seconds.", retryAfter: "2", form2: true},
		{name: "forged", form: loginForm("login-1", "wrong", "alice", wirePassword), status: http.StatusForbidden,
			text: "This form could not be verified."},
		{name: "gone", form: loginForm("gone", "csrf-login-1", "alice", wirePassword), status: http.StatusBadRequest,
			text: "This sign-in request has expired"},
		{name: "not hashed by flow", err: fmt.Errorf("check: %w", oauth.ErrPasswordNotHashed), status: http.StatusBadRequest,
			text: "needs JavaScript"},
		{name: "internal", err: errors.New("redis: connection refused"), status: http.StatusInternalServerError,
			text: "Internal error", logged: true},
		{name: "timeout", err: fmt.Errorf("token state: %w", context.DeadlineExceeded), status: http.StatusServiceUnavailable,
			text: "Internal error", logged: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.flow.signInErr = tc.err
			form := tc.form
			if form == nil {
				form = loginForm("login-1", "csrf-login-1", "alice", wirePassword)
			}
			w := e.postForm("/login", form)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if got := visibleText(t, body); !strings.Contains(got, tc.text) {
				t.Errorf("page says %q, want %q", got, tc.text)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			d := parseDoc(t, body)
			if got := len(d.all("form")); (got == 1) != tc.form2 {
				t.Errorf("%d forms on the page", got)
			}
			if tc.form2 {
				alert := d.one("", "role", "alert", "autofocus", "*")
				if !strings.Contains(text(alert), tc.text) {
					t.Errorf("the focused alert says %q", text(alert))
				}
				d.one("input", "name", "username", "value", "alice")
				d.one("input", "name", "csrf", "value", "csrf-login-1")
			}
			if strings.Contains(body, wirePassword) {
				t.Error("the page echoes the submitted password")
			}
			logs := e.logs.String()
			if tc.logged != (strings.Count(logs, "level=ERROR") == 1) {
				t.Errorf("logs: %q", logs)
			}
			if tc.logged && !strings.Contains(logs, tc.err.Error()) {
				t.Errorf("the log lacks the cause: %q", logs)
			}
			if strings.Contains(logs, wirePassword) || strings.Contains(logs, "csrf-login-1") {
				t.Errorf("a secret in the logs: %q", logs)
			}
			if tc.logged && strings.Contains(body, tc.err.Error()) {
				t.Error("the page shows the internal cause")
			}
		})
	}
}

// TestLoginPostExpiredMeanwhile: after wrong credentials the form is shown
// again only if the request is still pending; if it expired meanwhile,
// the expired page says so.
func TestLoginPostExpiredMeanwhile(t *testing.T) {
	e := newEnv(t)
	e.flow.signInErr = oauth.ErrBadCredentials
	e.flow.dropOnSignIn = true
	w := e.postForm("/login", loginForm("login-1", "csrf-login-1", "alice", wirePassword))
	if w.Code != http.StatusBadRequest || len(parseDoc(t, w.Body.String()).all("form")) != 0 {
		t.Errorf("status %d, want 400 without a form", w.Code)
	}
	if !strings.Contains(visibleText(t, w.Body.String()), "expired") {
		t.Error("the page does not say the request expired")
	}
}

// A browser that hung up while its sign-in was being checked is no
// internal error: the failure is not logged as one (it would page an
// operator for every closed tab), while the same failure with the browser
// still waiting is.
func TestLoginPostAbandonedIsNotAnError(t *testing.T) {
	for _, hungUp := range []bool{false, true} {
		e := newEnv(t)
		e.flow.signInErr = fmt.Errorf("token state: %w", context.Canceled)
		ctx, cancel := context.WithCancel(context.Background())
		if hungUp {
			cancel()
		}
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/login",
			strings.NewReader(loginForm("login-1", "csrf-login-1", "alice", wirePassword).Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		e.router.ServeHTTP(httptest.NewRecorder(), r)
		cancel()
		if got := strings.Count(e.logs.String(), "level=ERROR"); got != map[bool]int{false: 1, true: 0}[hungUp] {
			t.Errorf("hung up %v: %d error lines: %q", hungUp, got, e.logs.String())
		}
	}
}

package signin_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/signin"
)

// fakeFlow is the OAuth provider's side as the pages see it: pending
// requests in a map, CSRF checked like the provider does, and every call
// recorded. Errors to inject are set per method.
type fakeFlow struct {
	mu        sync.Mutex
	pending   map[string]oauth.Pending
	next      string // what SignIn and Decide answer
	signInErr error
	decideErr error
	// dropOnSignIn makes the request expire during SignIn.
	dropOnSignIn bool
	signIns      []signInCall
	decisions    []decision
}

type signInCall struct{ ID, CSRF, Username, Password string }

type decision struct {
	ID    string
	Allow bool
}

func newFakeFlow() *fakeFlow {
	return &fakeFlow{
		next: "https://client.example/cb?code=abc&state=xyz",
		pending: map[string]oauth.Pending{
			"login-1": {ID: "login-1", Stage: oauth.StageLogin, ClientID: "reports-app", ClientName: "Reports",
				LoginHint: "alice", CSRF: "csrf-login-1"},
			"consent-1": {ID: "consent-1", Stage: oauth.StageConsent, ClientID: "reports-app", ClientName: "Reports",
				Username: "alice", CSRF: "csrf-consent-1", Scopes: []oauth.ScopeInfo{
					{Name: "openid", OIDC: true}, {Name: "profile", OIDC: true}, {Name: "email", OIDC: true},
					{Name: "admin:users:read", Description: "Read users and their groups"},
				}},
		},
	}
}

func (f *fakeFlow) set(p oauth.Pending) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending[p.ID] = p
}

func (f *fakeFlow) PendingAuthorization(_ *http.Request, id string) (oauth.Pending, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pending[id]
	if !ok {
		return oauth.Pending{}, oauth.ErrPendingGone
	}
	return p, nil
}

func (f *fakeFlow) check(id, csrf string) error {
	p, ok := f.pending[id]
	switch {
	case !ok:
		return oauth.ErrPendingGone
	case csrf != p.CSRF:
		return oauth.ErrForgedForm
	}
	return nil
}

func (f *fakeFlow) SignIn(_ http.ResponseWriter, _ *http.Request, id, csrf, username, password string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signIns = append(f.signIns, signInCall{id, csrf, username, password})
	if err := f.check(id, csrf); err != nil {
		return "", err
	}
	if f.dropOnSignIn {
		delete(f.pending, id)
	}
	if f.signInErr != nil {
		return "", f.signInErr
	}
	return f.next, nil
}

func (f *fakeFlow) Decide(_ http.ResponseWriter, _ *http.Request, id, csrf string, allow bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decisions = append(f.decisions, decision{id, allow})
	if err := f.check(id, csrf); err != nil {
		return "", err
	}
	if f.decideErr != nil {
		return "", f.decideErr
	}
	return f.next, nil
}

func (f *fakeFlow) calls() ([]signInCall, []decision) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]signInCall(nil), f.signIns...), append([]decision(nil), f.decisions...)
}

// env is the pages on a router with a fake flow, as the server mounts them.
type env struct {
	t      *testing.T
	flow   *fakeFlow
	pages  *signin.Pages
	router *mux.Router
	logs   *bytes.Buffer
}

func newEnv(t *testing.T, mod ...func(*signin.Options)) *env {
	t.Helper()
	e := &env{t: t, flow: newFakeFlow(), logs: &bytes.Buffer{}}
	opts := signin.Options{Flow: e.flow, Issuer: "http://gatehouse.test", DefaultLanguage: "en",
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	for _, m := range mod {
		m(&opts)
	}
	e.pages = signin.New(opts)
	e.router = mux.NewRouter()
	e.pages.Register(e.router)
	return e
}

// do serves one request and returns the recorded response.
func (e *env) do(method, target, contentType, body string, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, r)
	return w
}

func (e *env) get(target string, header ...string) *httptest.ResponseRecorder {
	return e.do(http.MethodGet, target, "", "", header...)
}

func (e *env) postForm(target string, v url.Values, header ...string) *httptest.ResponseRecorder {
	return e.do(http.MethodPost, target, "application/x-www-form-urlencoded", v.Encode(), header...)
}

// wirePassword is a well-formed b64u(P): 43 characters of base64url.
const wirePassword = "7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY"

func loginForm(id, csrf, username, password string) url.Values {
	return url.Values{"auth": {id}, "csrf": {csrf}, "username": {username}, "password": {password}}
}

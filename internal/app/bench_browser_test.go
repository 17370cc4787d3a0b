package app_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// The browser flow in process, as bench/browser.go drives it over HTTP:
// a first-party public client, a user with a password, cookies carried by
// hand.

const (
	spaRedirect = "http://127.0.0.1/callback"
	benchUser   = "signer"
	// batch is how many single-use items (codes, pending requests) are
	// made at once, with the timer stopped: well within a code's 60 s.
	batch = 256
)

// browserBench is benchApp's Gatehouse with what the browser flow needs.
type browserBench struct {
	b       *testing.B
	h       http.Handler
	wire    string // the user's b64u(P)
	binding *http.Cookie
}

func newBrowserBench(b *testing.B) *browserBench {
	ctx := context.Background()
	a, r := benchServer(b)
	actor := storage.System("bench")
	g, err := a.Store().CreateGroup(ctx, actor, storage.DefaultRealm, storage.Group{Name: "readers", Resources: []string{"users-read"}})
	if err != nil {
		b.Fatal(err)
	}
	const password = "bench password"
	set, _ := clienthash.NewPasswordSetting(password, password, benchIterations)
	p, err := credential.ValidatePasswordSetting(set, benchIterations)
	if err != nil {
		b.Fatal(err)
	}
	phc, err := a.Hasher.Hash(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	salt, _ := clienthash.Decode(set.Salt)
	u, err := a.Store().CreateUser(ctx, actor, storage.DefaultRealm, storage.User{Username: benchUser, Language: "en", Status: storage.StatusActive,
		Password: &storage.PasswordVerifier{KDF: set.KDF, Iterations: set.Iterations, Salt: salt, Hash: phc}}, []string{g.ID})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Store().CreateClient(ctx, actor, storage.DefaultRealm, storage.Client{ClientID: "spa", OwnerID: u.ID, Name: "SPA",
		Scopes: []string{"users-read"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethod: storage.AuthMethodNone, RedirectURIs: []string{spaRedirect}, PostLogoutRedirectURIs: []string{},
		SkipConsent: true, Status: storage.StatusActive}, nil); err != nil {
		b.Fatal(err)
	}
	return &browserBench{b: b, h: r, wire: set.Hash}
}

func (e *browserBench) do(req *http.Request, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(c)
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func cookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// authorize sends the browser's authorization request with a fresh PKCE
// challenge and returns the answer and the verifier.
func (e *browserBench) authorize(cookies ...*http.Cookie) (*httptest.ResponseRecorder, string) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	verifier := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {spaRedirect}, "scope": {"openid users-read"},
		"state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	return e.do(httptest.NewRequest(http.MethodGet, "/oauth2/authorize?"+q.Encode(), nil), cookies...), verifier
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// loginForm starts an authorization request without a session and
// returns the login form's body, filled in as the page's script does.
func (e *browserBench) loginForm() string {
	rec, _ := e.authorize(e.binding)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || err != nil || loc.Path != "/login" {
		e.b.Fatalf("authorize: %d %s", rec.Code, rec.Body)
	}
	if e.binding == nil {
		e.binding = cookie(rec, "gatehouse-auth")
	}
	page := e.do(httptest.NewRequest(http.MethodGet, loc.RequestURI(), nil), e.binding)
	m := csrfField.FindStringSubmatch(page.Body.String())
	if page.Code != http.StatusOK || m == nil {
		e.b.Fatalf("login page: %d %s", page.Code, page.Body)
	}
	return url.Values{"auth": {loc.Query().Get("auth")}, "csrf": {m[1]}, "username": {benchUser}, "password": {e.wire}}.Encode()
}

// login posts a login form and checks that it signed the browser in.
func (e *browserBench) login(form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := e.do(req, e.binding)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), spaRedirect+"?") {
		e.b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return rec
}

// codes signs a new browser session in and returns n token request
// bodies, each with a fresh code of that session and its verifier. A
// session per batch, as real sessions hold a handful of grants each.
func (e *browserBench) codes(n int) []string {
	session := cookie(e.login(e.loginForm()), "gatehouse-session")
	out := make([]string, n)
	for i := range out {
		rec, verifier := e.authorize(session)
		loc, _ := url.Parse(rec.Header().Get("Location"))
		code := loc.Query().Get("code")
		if code == "" {
			e.b.Fatalf("authorize: %d %s", rec.Code, rec.Header().Get("Location"))
		}
		out[i] = url.Values{"grant_type": {"authorization_code"}, "client_id": {"spa"}, "redirect_uri": {spaRedirect},
			"code": {code}, "code_verifier": {verifier}}.Encode()
	}
	return out
}

// BenchmarkCodeExchange is the token request of the authorization code
// flow for a public client with PKCE: the code taken once, its bindings
// checked, the grant tied to the session, a refresh token, an access
// token and an ID token signed. Codes are made beforehand, timer stopped.
func BenchmarkCodeExchange(b *testing.B) {
	e := newBrowserBench(b)
	var bodies []string
	b.ReportAllocs()
	for b.Loop() {
		if len(bodies) == 0 {
			b.StopTimer()
			bodies = e.codes(batch)
			b.StartTimer()
		}
		req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(bodies[0]))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		bodies = bodies[1:]
		rec := e.do(req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"id_token"`) {
			b.Fatal(rec.Body.String())
		}
	}
}

// BenchmarkLoginPost is the login form's POST: the pending request and
// its CSRF token checked, the throttle, argon2id (at benchApp's 1 MiB,
// one pass: the rest of the work shows), a new session, and the code
// for a first-party client. Pending requests are made beforehand.
func BenchmarkLoginPost(b *testing.B) {
	e := newBrowserBench(b)
	var forms []string
	b.ReportAllocs()
	for b.Loop() {
		if len(forms) == 0 {
			b.StopTimer()
			for range batch {
				forms = append(forms, e.loginForm())
			}
			b.StartTimer()
		}
		e.login(forms[0])
		forms = forms[1:]
	}
}

package signin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/signin"
)

const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// pageCases are one request for each kind of page the package renders.
func pageCases(e *env) map[string]func() *httptest.ResponseRecorder {
	return map[string]func() *httptest.ResponseRecorder{
		"login":   func() *httptest.ResponseRecorder { return e.get("/login?auth=login-1") },
		"consent": func() *httptest.ResponseRecorder { return e.get("/consent?auth=consent-1") },
		"expired": func() *httptest.ResponseRecorder { return e.get("/login?auth=nope") },
		"bad credentials": func() *httptest.ResponseRecorder {
			e.flow.signInErr = oauth.ErrBadCredentials
			defer func() { e.flow.signInErr = nil }()
			return e.postForm("/login", loginForm("login-1", "csrf-login-1", "alice", wirePassword))
		},
		"method": func() *httptest.ResponseRecorder { return e.do(http.MethodPut, "/login?auth=login-1", "", "") },
		"error": func() *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			e.pages.Error(w, httptest.NewRequest(http.MethodGet, "/oauth2/authorize", nil), 400, "invalid_request", "redirect_uri is not registered")
			return w
		},
		"signed out": func() *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			e.pages.SignedOut(w, httptest.NewRequest(http.MethodGet, "/oauth2/logout", nil))
			return w
		},
	}
}

func TestPageHeaders(t *testing.T) {
	e := newEnv(t)
	for name, do := range pageCases(e) {
		t.Run(name, func(t *testing.T) {
			w := do()
			want := map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"Cache-Control":           "no-store",
				"Content-Security-Policy": wantCSP,
				"X-Frame-Options":         "DENY",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestNothingCSPBlocks checks that the pages need nothing the policy
// forbids: no inline script, no style attribute or element, no event
// handler attribute, and nothing loaded from another origin.
func TestNothingCSPBlocks(t *testing.T) {
	e := newEnv(t)
	for name, do := range pageCases(e) {
		t.Run(name, func(t *testing.T) {
			d := parseDoc(t, do().Body.String())
			for _, s := range d.all("script") {
				if src, ok := attr(s, "src"); !ok || !strings.HasPrefix(src, "/assets/") || s.FirstChild != nil {
					t.Errorf("script without a same-origin src or with inline code: %v", s.Attr)
				}
			}
			if n := len(d.all("style")); n != 0 {
				t.Errorf("%d <style> elements", n)
			}
			for _, n := range d.all("") {
				for _, a := range n.Attr {
					if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
						t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
					}
					if (a.Key == "src" || a.Key == "href") && strings.Contains(a.Val, "//") {
						t.Errorf("<%s %s=%q> leaves the origin", n.Data, a.Key, a.Val)
					}
				}
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t)
	w := e.get("/login?auth=login-1")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	d := parseDoc(t, w.Body.String())
	form := d.one("form", "method", "post")
	if a, _ := attr(form, "action"); a != "/login" {
		t.Errorf("form action %q", a)
	}
	if p, _ := attr(form, "data-prelogin"); p != "/oauth2/prelogin" {
		t.Errorf("prelogin URL %q", p)
	}
	user := d.one("input", "name", "username", "autocomplete", "username")
	if v, _ := attr(user, "value"); v != "alice" {
		t.Errorf("username prefilled with %q, want the login_hint", v)
	}
	typed := d.one("input", "type", "password")
	if _, named := attr(typed, "name"); named {
		t.Error("the typed password field has a name: the browser would submit it")
	}
	if ac, _ := attr(typed, "autocomplete"); ac != "current-password" {
		t.Errorf("password autocomplete %q", ac)
	}
	if _, focus := attr(typed, "autofocus"); !focus {
		t.Error("with the username filled in, the password field should take focus")
	}
	d.one("input", "type", "hidden", "name", "password", "value", "")
	d.one("input", "type", "hidden", "name", "auth", "value", "login-1")
	d.one("input", "type", "hidden", "name", "csrf", "value", "csrf-login-1")
	d.one("button", "type", "submit")
	for _, in := range d.all("input") {
		if typ, _ := attr(in, "type"); typ == "hidden" {
			continue
		}
		id, _ := attr(in, "id")
		if id == "" || len(d.all("label", "for", id)) != 1 {
			t.Errorf("input %v has no label", in.Attr)
		}
	}
	d.one("", "role", "status", "aria-live", "polite")
	if ns := d.one("noscript"); !strings.Contains(text(ns), "needs JavaScript") {
		t.Errorf("noscript says %q", text(ns))
	}
	if !strings.Contains(text(d.one("body")), "to continue to Reports") {
		t.Error("the page does not name the client")
	}
	if d.lang() != "en" {
		t.Errorf("lang %q", d.lang())
	}
}

func TestPagesRedirectByStage(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ target, want string }{
		{"/login?auth=consent-1", "/consent?auth=consent-1"},
		{"/consent?auth=login-1", "/login?auth=login-1"},
	} {
		w := e.get(tc.target)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tc.want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", tc.target, w.Code, w.Header().Get("Location"), tc.want)
		}
	}
}

func TestPendingIDStrict(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{"/login", "/login?auth=", "/login?auth=login-1&auth=login-1",
		"/login?auth=" + strings.Repeat("a", 300), "/consent?auth=nope"} {
		w := e.get(target)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "expired") {
			t.Errorf("GET %s: %d, want 400 and the expired page", target, w.Code)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{"/login", "/consent"} {
		for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
			w := e.do(m, target+"?auth=login-1", "", "")
			if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD, POST" {
				t.Errorf("%s %s: %d, Allow %q", m, target, w.Code, w.Header().Get("Allow"))
			}
		}
	}
	if w := e.do(http.MethodHead, "/login?auth=login-1", "", ""); w.Code != http.StatusOK {
		t.Errorf("HEAD /login: %d", w.Code)
	}
}

func TestIssuerPathPrefixesLinks(t *testing.T) {
	e := newEnv(t, func(o *signin.Options) { o.Issuer = "https://id.example/realm/" })
	d := parseDoc(t, e.get("/login?auth=login-1").Body.String())
	form := d.one("form")
	if a, _ := attr(form, "action"); a != "/realm/login" {
		t.Errorf("action %q", a)
	}
	if p, _ := attr(form, "data-prelogin"); p != "/realm/oauth2/prelogin" {
		t.Errorf("prelogin %q", p)
	}
	for _, n := range append(d.all("link", "href", "*"), d.all("script")...) {
		for _, a := range n.Attr {
			if (a.Key == "href" || a.Key == "src") && !strings.HasPrefix(a.Val, "/realm/assets/") {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
	}
	w := e.get("/login?auth=consent-1")
	if loc := w.Header().Get("Location"); loc != "/realm/consent?auth=consent-1" {
		t.Errorf("stage redirect to %q", loc)
	}
}

func TestErrorPage(t *testing.T) {
	e := newEnv(t)
	w := httptest.NewRecorder()
	e.pages.Error(w, httptest.NewRequest(http.MethodGet, "/oauth2/authorize?client_id=x", nil),
		http.StatusBadRequest, "invalid_request", "The redirect_uri <b>is not registered</b>.")
	if w.Code != http.StatusBadRequest {
		t.Errorf("status %d", w.Code)
	}
	body := w.Body.String()
	d := parseDoc(t, body)
	if got := text(d.one("h1")); got != "Sign-in failed" {
		t.Errorf("title %q", got)
	}
	page := text(d.one("body"))
	for _, want := range []string{"The application sent an invalid sign-in request.",
		"The redirect_uri <b>is not registered</b>.", "invalid_request"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q: %s", want, page)
		}
	}
	if strings.Contains(body, "<b>") {
		t.Error("the description was not escaped")
	}
}

func TestSignedOutPage(t *testing.T) {
	e := newEnv(t)
	w := httptest.NewRecorder()
	e.pages.SignedOut(w, httptest.NewRequest(http.MethodGet, "/oauth2/logout", nil))
	d := parseDoc(t, w.Body.String())
	if w.Code != http.StatusOK || text(d.one("h1")) != "You are signed out" {
		t.Errorf("%d %q", w.Code, text(d.one("h1")))
	}
}

// visibleText is the page's body text, for assertions on what a user reads.
func visibleText(t *testing.T, body string) string {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return text(n)
}

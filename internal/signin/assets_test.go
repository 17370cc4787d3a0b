package signin_test

import (
	"github.com/gatehouse/gatehouse/clienthash"

	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestClienthashModuleServed: the login page hashes with clienthash's own
// module (docs/client-side-hashing.md is normative, and clienthash/js's
// tests prove that module against the vectors), served as it is.
func TestClienthashModuleServed(t *testing.T) {
	e := newEnv(t)
	res := e.get("/assets/gatehouse-clienthash.mjs")
	if res.Code != 200 || !bytes.Equal(res.Body.Bytes(), clienthash.JSModule) {
		t.Fatalf("the served module is not clienthash.JSModule (status %d)", res.Code)
	}
}

// loginAssets returns the asset URLs the login page references.
func loginAssets(t *testing.T, e *env) []string {
	t.Helper()
	d := parseDoc(t, e.get("/login?auth=login-1").Body.String())
	seen := map[string]bool{}
	var urls []string
	for _, n := range d.all("") {
		for _, a := range n.Attr {
			if (a.Key == "src" || a.Key == "href") && strings.HasPrefix(a.Val, "/assets/") && !seen[a.Val] {
				seen[a.Val] = true
				urls = append(urls, a.Val)
			}
		}
	}
	return urls
}

func TestAssetsCaching(t *testing.T) {
	e := newEnv(t)
	versioned := regexp.MustCompile(`^/assets/[a-z-]+\.[0-9a-f]{12}\.(mjs|css|svg)$`)
	urls := loginAssets(t, e)
	if len(urls) != 5 {
		t.Errorf("login page references %v, want script, its two modules, stylesheet, logo", urls)
	}
	for _, u := range urls {
		if !versioned.MatchString(u) {
			t.Errorf("%s is not a versioned URL", u)
			continue
		}
		w := e.get(u)
		etag := w.Header().Get("ETag")
		if w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("%s: %d", u, w.Code)
		}
		if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
			t.Errorf("%s: ETag %q is not strong", u, etag)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", u, cc)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", u)
		}
		w304 := e.get(u, "If-None-Match", etag)
		if w304.Code != http.StatusNotModified || w304.Body.Len() != 0 {
			t.Errorf("%s with If-None-Match: %d, %d bytes", u, w304.Code, w304.Body.Len())
		}
		if w := e.get(u, "If-None-Match", `"other", `+etag); w.Code != http.StatusNotModified {
			t.Errorf("%s with a list in If-None-Match: %d", u, w.Code)
		}
		if w := e.get(u, "If-None-Match", `"other"`); w.Code != http.StatusOK {
			t.Errorf("%s with another ETag: %d", u, w.Code)
		}
		// The same content under its plain name, revalidated each time.
		plain := regexp.MustCompile(`\.[0-9a-f]{12}\.`).ReplaceAllString(u, ".")
		wp := e.get(plain)
		if wp.Code != http.StatusOK || wp.Header().Get("ETag") != etag || wp.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: %d, ETag %q, Cache-Control %q", plain, wp.Code, wp.Header().Get("ETag"), wp.Header().Get("Cache-Control"))
		}
	}
}

func TestAssetTypes(t *testing.T) {
	e := newEnv(t)
	for name, ctype := range map[string]string{
		"/assets/login.mjs":                "text/javascript; charset=utf-8",
		"/assets/gatehouse-clienthash.mjs": "text/javascript; charset=utf-8",
		"/assets/signin.css":               "text/css; charset=utf-8",
		"/assets/logo.svg":                 "image/svg+xml",
	} {
		if got := e.get(name).Header().Get("Content-Type"); got != ctype {
			t.Errorf("%s: Content-Type %q, want %q", name, got, ctype)
		}
	}
	for _, bad := range []string{"/assets/nope.js", "/assets/login.000000000000.mjs", "/assets/"} {
		if w := e.get(bad); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, w.Code)
		}
	}
	w := e.do(http.MethodPost, "/assets/login.mjs", "text/plain", "x")
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST asset: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestLoginImportsVersionedModule: the script imports the hashing and
// form modules by their versioned names, so a cached script never loads
// a stale module.
func TestLoginImportsVersionedModule(t *testing.T) {
	e := newEnv(t)
	var script string
	var modules []string
	for _, u := range loginAssets(t, e) {
		switch {
		case strings.Contains(u, "/login."):
			script = u
		case strings.Contains(u, "/gatehouse-clienthash."), strings.Contains(u, "/formstate."):
			modules = append(modules, u)
		}
	}
	if len(modules) != 2 {
		t.Fatalf("modules %v", modules)
	}
	body := e.get(script).Body.String()
	for _, module := range modules {
		want := "from './" + strings.TrimPrefix(module, "/assets/") + "'"
		if !strings.Contains(body, want) {
			t.Errorf("%s does not import %s", script, want)
		}
	}
}

// TestLoginPageWeight: the first load of the login page, with everything
// it references, stays well under 50 KB (issue 12), uncompressed.
func TestLoginPageWeight(t *testing.T) {
	e := newEnv(t)
	total := e.get("/login?auth=login-1").Body.Len()
	for _, u := range loginAssets(t, e) {
		total += e.get(u).Body.Len()
	}
	const limit = 25 << 10 // "well under" 50 KB: half of it
	if total > limit {
		t.Errorf("first load is %d bytes, over %d", total, limit)
	}
	t.Logf("first load: %d bytes", total)
}

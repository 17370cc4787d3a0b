package browsertest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse/gatehouse/internal/browsertest"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

// page is a form with a named field, an unnamed secret field (which a
// browser never submits) and a landing page for the post.
const page = `<!doctype html><title>form</title>
<form method="post" action="/done"><input id="name" name="name"><input id="secret" type="password"><button id="go">Go</button></form>`

func newSite(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("POST /done", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>done</title><p id=lang>"+r.Header.Get("Accept-Language"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestTabTypesSubmitsAndLogs: typing and Enter submit the form; the
// network log holds the post body with the named field, and Leaks finds
// what was sent but not the unnamed secret field.
func TestTabTypesSubmitsAndLogs(t *testing.T) {
	srv := newSite(t)
	b := browsertest.New(t)
	b.SetHeaders(map[string]string{"Accept-Language": "de"})
	b.Navigate(srv.URL + "/")
	b.Type("#name", "alice-sent")
	b.Type("#secret", "kept-secret")
	if got := b.Focused(); got != "secret" {
		t.Errorf("focus on %q", got)
	}
	b.Press(kb.Enter)
	if u := b.WaitURL(srv.URL + "/done"); u.Path != "/done" {
		t.Errorf("at %s", u)
	}
	if got := browsertest.Eval[string](b, `document.getElementById("lang").textContent`); got != "de" {
		t.Errorf("Accept-Language %q", got)
	}
	reqs := b.Requests()
	if leaks := browsertest.Leaks("alice-sent", reqs); len(leaks) != 1 || leaks[0].Method != http.MethodPost {
		t.Errorf("the posted name is in %+v, want one POST", leaks)
	}
	browsertest.AssertNeverSent(t, "kept-secret", reqs)
}

// TestTabIsolation: tabs share no cookies.
func TestTabIsolation(t *testing.T) {
	srv := newSite(t)
	a, b := browsertest.New(t), browsertest.New(t)
	a.Navigate(srv.URL + "/")
	a.Do() // no actions: a no-op that must not fail
	browsertest.Eval[string](a, `document.cookie = "k=v"`)
	b.Navigate(srv.URL + "/")
	if got := browsertest.Eval[string](b, `document.cookie`); got != "" {
		t.Errorf("the second tab sees cookies %q", got)
	}
}

// TestScreenshot saves a PNG file.
func TestScreenshot(t *testing.T) {
	srv := newSite(t)
	b := browsertest.New(t)
	b.Navigate(srv.URL + "/")
	b.Click("#name")
	file := b.Screenshot("form")
	png, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("%s is not a PNG", file)
	}
}

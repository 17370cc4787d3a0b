package signin_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The browser tests drive headless Chromium (issue 12: "Real browser")
// against the pages with the fake Flow and a fake prelogin. They skip when
// no Chromium is installed, unless GATEHOUSE_TEST_REQUIRE_SERVICES=1, as
// in CI, where a missing browser is a failure.

// passwordVector is a password row of clienthash/testdata/vectors.json.
type passwordVector struct {
	PasswordHex string `json:"password_utf8_hex"`
	Salt        string `json:"salt"`
	Iterations  int    `json:"iterations"`
	P           string `json:"P"`
}

func firstPasswordVector(t *testing.T) (password string, v passwordVector) {
	t.Helper()
	b, err := os.ReadFile("../../clienthash/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Password []passwordVector `json:"password"`
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	v = all.Password[0]
	pw, err := hex.DecodeString(v.PasswordHex)
	if err != nil {
		t.Fatal(err)
	}
	return string(pw), v
}

// seenRequest is one request as the test server received it.
type seenRequest struct {
	Method, URL string
	Body        []byte
}

// site is an httptest server with the pages, a fake prelogin answering the
// vector's parameters, and a landing page for the client's redirect URI.
type site struct {
	*env
	srv      *httptest.Server
	vector   passwordVector
	password string
	// preloginGate, if not nil, holds prelogin's answer until it is closed.
	preloginGate chan struct{}

	mu        sync.Mutex
	requests  []seenRequest
	prelogins []string // the usernames prelogin was asked about
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{env: newEnv(t)}
	s.password, s.vector = firstPasswordVector(t)
	s.router.HandleFunc("/oauth2/prelogin", s.handlePrelogin)
	s.router.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "signed in: "+r.URL.Query().Get("code"))
	})
	s.router.HandleFunc("/test/error", func(w http.ResponseWriter, r *http.Request) {
		s.pages.Error(w, r, http.StatusBadRequest, "invalid_request",
			"The redirect_uri https://evil.example/cb is not registered for the client reports-app.")
	})
	s.router.HandleFunc("/test/signed-out", s.pages.SignedOut)
	s.srv = httptest.NewServer(http.HandlerFunc(s.record))
	t.Cleanup(s.srv.Close)
	s.flow.next = s.srv.URL + "/cb?code=abc"
	return s
}

// record keeps every request the browser sends, with its body.
func (s *site) record(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests = append(s.requests, seenRequest{r.Method, r.URL.String(), body})
	s.mu.Unlock()
	s.router.ServeHTTP(w, r)
}

// handlePrelogin answers like internal/oauth's prelogin, with the vector's
// salt and iterations, for a JSON body {"username": …}.
func (s *site) handlePrelogin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || dec.Decode(&body) != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.prelogins = append(s.prelogins, body.Username)
	gate := s.preloginGate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"kdf": "pbkdf2-sha256", "iterations": s.vector.Iterations, "salt": s.vector.Salt})
}

func (s *site) preloginNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.prelogins...)
}

func (s *site) seen() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.requests...)
}

// browser starts a headless Chromium for the test, and records the URL
// and body of every request it sends as seen by the DevTools protocol.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	sent []seenRequest
}

// sharedBrowser is one Chromium for all the tests of the package; each
// test gets its own tab, whose emulation, headers and listeners are its
// own. TestMain stops it.
var sharedBrowser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedBrowser.cancel != nil {
		sharedBrowser.cancel()
	}
	os.Exit(code)
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := testenv.Chromium(t)
	sharedBrowser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			// The sandbox needs user namespaces, which containers and
			// root (as in CI) do not have.
			chromedp.NoSandbox,
			chromedp.WindowSize(1280, 800),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(actx)
		sharedBrowser.ctx, sharedBrowser.cancel = ctx, func() { cancel(); cancelAlloc() }
		sharedBrowser.err = chromedp.Do(ctx)
	})
	if sharedBrowser.err != nil {
		t.Fatalf("start Chromium: %v", sharedBrowser.err)
	}
	ctx, cancel := chromedp.NewContext(sharedBrowser.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	b := &browser{ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			var body []byte
			for _, p := range e.Request.PostDataEntries {
				body = append(body, p.Bytes...)
			}
			b.mu.Lock()
			b.sent = append(b.sent, seenRequest{e.Request.Method, e.Request.URL, body})
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) requests() []seenRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]seenRequest(nil), b.sent...)
}

// do runs actions with a deadline, so that a page that never shows what
// the test waits for fails the test instead of hanging it.
func (b *browser) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is true in the page. It
// polls with Evaluate rather than chromedp.Poll, whose in-page waiting
// fails when the page navigates away, as a submitted form does.
func waitFor(t *testing.T, b *browser, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s (last error: %v)", expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func focused(t *testing.T, b *browser) string {
	t.Helper()
	return eval[string](t, b, `document.activeElement ? document.activeElement.id || document.activeElement.tagName : ""`)
}

// assertPasswordNeverSent checks the password in every form it could
// take on the wire against what both the server and the browser saw.
func assertPasswordNeverSent(t *testing.T, password string, reqs []seenRequest) {
	t.Helper()
	forms := []string{password, url.QueryEscape(password), url.PathEscape(password)}
	if j, err := json.Marshal(password); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	for _, r := range reqs {
		for _, f := range forms {
			if strings.Contains(r.URL, f) || bytes.Contains(r.Body, []byte(f)) {
				t.Errorf("the typed password left the browser: %s %s %q", r.Method, r.URL, r.Body)
			}
		}
	}
}

// shot saves a screenshot of the page as name.png in the directory
// GATEHOUSE_SIGNIN_SCREENSHOTS names, if it names one, for people to
// look at.
func shot(t *testing.T, b *browser, name string) {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_SIGNIN_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/"+name+".png", png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// phone and desktop set the viewport.
func phone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)
}

func desktop() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(1280, 800)
}

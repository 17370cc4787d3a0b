package signin_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/browsertest"
)

// The browser tests drive headless Chromium (issue 12: "Real browser")
// through internal/browsertest against the pages with the fake Flow and a
// fake prelogin. They skip when no Chromium is installed, unless
// GATEHOUSE_TEST_REQUIRE_SERVICES=1, as in CI, where a missing browser is a
// failure.

func TestMain(m *testing.M) { browsertest.Main(m) }

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
	requests  []browsertest.Request
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
	s.requests = append(s.requests, browsertest.Request{Method: r.Method, URL: r.URL.String(), Body: body})
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

func (s *site) seen() []browsertest.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]browsertest.Request(nil), s.requests...)
}

// shot saves a screenshot of the page when browsertest.ScreenshotsVar
// names a directory, for people to look at the pages; otherwise it costs
// nothing.
func shot(t *testing.T, b *browsertest.Tab, name string) {
	t.Helper()
	if os.Getenv(browsertest.ScreenshotsVar) != "" {
		b.Screenshot(name)
	}
}

// phone and desktop set the viewport.
func phone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)
}

func desktop() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(1280, 800)
}

// Package browsertest drives headless Chromium from Go tests (issue 12:
// "Real browser"), for the sign-in pages and the end-to-end flows.
//
// One Chromium serves every test of a test binary: it starts with the first
// tab and stops in Main, which the package's TestMain calls. Each test gets
// its own tab in its own browser context, so that tests, parallel or not,
// share no cookies, storage or headers. Every tab keeps a network log of the
// URL and post body of each request it sends, as the DevTools protocol saw
// it, so that a test can prove what never left the browser.
//
// Chromium is found by testenv.Chromium: without one the tests skip, and
// under GATEHOUSE_TEST_REQUIRE_SERVICES=1 they fail.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// ScreenshotsVar names the environment variable that chooses the directory
// screenshots are saved in. Without it they go to the test's artifact
// directory (a temporary one, unless go test runs with -artifacts).
const ScreenshotsVar = "GATEHOUSE_TEST_SCREENSHOTS"

// timeout bounds every step, so that a page that never shows what a test
// waits for fails the test instead of hanging it.
const timeout = 20 * time.Second

// shared is the one Chromium of the test binary.
var shared struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

// Main runs the tests and then stops the shared Chromium. Call it from
// TestMain: func TestMain(m *testing.M) { browsertest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

func start(path string) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// The sandbox needs user namespaces, which containers and root
		// (as in CI) do not have.
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	shared.ctx, shared.cancel = ctx, func() { cancel(); cancelAlloc() }
	shared.err = chromedp.Do(ctx)
}

// Request is one request the browser sent.
type Request struct {
	Method, URL string
	Body        []byte
}

// Tab is one browser tab of a test, with its own cookies.
type Tab struct {
	t   testing.TB
	ctx context.Context

	mu   sync.Mutex
	sent []Request
}

// New opens a tab for t in a fresh browser context; t's cleanup closes it.
// When t fails, a screenshot of the tab is saved first (see Screenshot).
func New(t testing.TB) *Tab {
	t.Helper()
	path := testenv.Chromium(t)
	shared.once.Do(func() { start(path) })
	if shared.err != nil {
		t.Fatalf("start Chromium: %v", shared.err)
	}
	b := &Tab{t: t}
	ctx, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(b.record))
	b.ctx = ctx
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.Screenshot("failed")
		}
	})
	return b
}

// record keeps the URL and body of every request the tab sends: the
// body as the protocol reports it with the request (PostDataEntries),
// which holds every form and JSON body of the pages under test.
func (b *Tab) record(ev any) {
	e, ok := ev.(*network.EventRequestWillBeSent)
	if !ok {
		return
	}
	var body []byte
	for _, p := range e.Request.PostDataEntries {
		body = append(body, p.Bytes...)
	}
	b.mu.Lock()
	b.sent = append(b.sent, Request{e.Request.Method, e.Request.URL, body})
	b.mu.Unlock()
}

// Requests returns the network log: every request the tab sent so far.
func (b *Tab) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Request(nil), b.sent...)
}

// Context returns the tab's chromedp context, for actions the helpers do
// not cover.
func (b *Tab) Context() context.Context { return b.ctx }

// Do runs actions in the tab and fails the test on error.
func (b *Tab) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// Navigate opens rawURL and waits for it to load.
func (b *Tab) Navigate(rawURL string) {
	b.t.Helper()
	b.Do(chromedp.Navigate(rawURL))
}

// Type focuses the element sel (a CSS selector) and types text into it
// key by key, as a person would.
func (b *Tab) Type(sel, text string) {
	b.t.Helper()
	b.Do(chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(text))
}

// Press sends keys (such as kb.Enter) to the focused element.
func (b *Tab) Press(keys string) {
	b.t.Helper()
	b.Do(chromedp.KeyEvent(keys))
}

// Click clicks the first element that matches the CSS selector sel, once
// it is visible.
func (b *Tab) Click(sel string) {
	b.t.Helper()
	b.Do(chromedp.Click(chromedp.CSS(sel)))
}

// SetHeaders sends headers (such as Accept-Language) with every request of
// the tab from now on.
func (b *Tab) SetHeaders(headers map[string]string) {
	b.t.Helper()
	h := network.Headers{}
	for k, v := range headers {
		h[k] = v
	}
	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
		b.t.Fatal(err)
	}
}

// Eval returns the value of a JavaScript expression in b's page.
func Eval[T any](b *Tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// WaitFor waits until a JavaScript expression is true in the page. It
// polls with Evaluate rather than chromedp.Poll, whose in-page waiting
// fails when the page navigates away, as a submitted form does.
func (b *Tab) WaitFor(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %v for %s (last error: %v; at %s)", timeout, expr, err, b.location())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitURL waits until the page's address starts with prefix, and returns
// the address.
func (b *Tab) WaitURL(prefix string) *url.URL {
	b.t.Helper()
	j, _ := json.Marshal(prefix)
	b.WaitFor(`document.readyState !== "loading" && location.href.startsWith(` + string(j) + `)`)
	return b.URL()
}

// URL returns the page's address.
func (b *Tab) URL() *url.URL {
	b.t.Helper()
	u, err := url.Parse(Eval[string](b, `location.href`))
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// location is the page's address for failure messages, or why it is not
// known.
func (b *Tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	if err != nil {
		return err.Error()
	}
	return href
}

// Focused returns the id, or else the tag name, of the focused element.
func (b *Tab) Focused() string {
	b.t.Helper()
	return Eval[string](b, `document.activeElement ? document.activeElement.id || document.activeElement.tagName : ""`)
}

// Screenshot saves the page as name.png in the directory ScreenshotsVar
// names, or else in the test's artifact directory, and returns the file's
// path.
func (b *Tab) Screenshot(name string) string {
	b.t.Helper()
	dir := os.Getenv(ScreenshotsVar)
	if dir == "" {
		dir = artifactDir(b.t)
	}
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()+"-"+name)+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return file
}

// Screenshots saves the whole page, not only what the window shows, as
// name-desktop.png and name-phone.png (390 CSS pixels wide, at twice the
// density, like a current phone), when ScreenshotsVar names a directory:
// for a person to look at the pages, in both sizes.
func (b *Tab) Screenshots(name string) {
	b.t.Helper()
	dir := os.Getenv(ScreenshotsVar)
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	for _, size := range []struct {
		name          string
		width, height int64
		scale         float64
		mobile        bool
	}{{"desktop", 1280, 800, 1, false}, {"phone", 390, 844, 2, true}} {
		ctx, cancel := context.WithTimeout(b.ctx, timeout)
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: size.width, Height: size.height, DeviceScaleFactor: size.scale, Mobile: size.mobile})
		var png []byte
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		if _, cerr := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err == nil {
			err = cerr
		}
		cancel()
		if err != nil {
			b.t.Errorf("screenshot %s: %v", name, err)
			return
		}
		file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()+"-"+name+"-"+size.name)+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

func artifactDir(t testing.TB) string {
	if a, ok := t.(interface{ ArtifactDir() string }); ok {
		return a.ArtifactDir()
	}
	return t.TempDir()
}

// AssertNeverSent fails t if secret left the browser in any request of
// reqs (see Leaks), or if reqs is empty, since then the check proves
// nothing.
func AssertNeverSent(t testing.TB, secret string, reqs []Request) {
	t.Helper()
	if len(reqs) == 0 {
		t.Error("the network log is empty: the check that the secret was never sent proves nothing")
	}
	for _, r := range Leaks(secret, reqs) {
		t.Errorf("the secret left the browser: %s %s %q", r.Method, r.URL, r.Body)
	}
}

// Leaks returns the requests whose URL or body holds secret, as typed or
// in any encoding a URL, a form or a JSON body would give it.
func Leaks(secret string, reqs []Request) []Request {
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	if j, err := json.Marshal(secret); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	var out []Request
	for _, r := range reqs {
		for _, f := range forms {
			if strings.Contains(r.URL, f) || bytes.Contains(r.Body, []byte(f)) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

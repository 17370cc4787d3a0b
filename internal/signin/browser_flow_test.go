package signin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

// TestBrowserSignInWithKeyboard signs in with the keyboard alone: the
// username field has focus, Tab reaches the password, Enter submits. The
// page derives b64u(P) from the first vector of
// clienthash/testdata/vectors.json, and the typed password is in no
// request the browser sends.
func TestBrowserSignInWithKeyboard(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	s.flow.set(oauth.Pending{ID: "kb-1", Stage: oauth.StageLogin, ClientID: "reports-app", ClientName: "Reports", CSRF: "csrf-kb-1"})

	b.Do(chromedp.Navigate(s.srv.URL + "/login?auth=kb-1"))
	if got := b.Focused(); got != "username" {
		t.Fatalf("focus on %q at load, want the username field", got)
	}
	b.Do(chromedp.KeyEvent("alice"), chromedp.KeyEvent(kb.Tab))
	if got := b.Focused(); got != "current-password" {
		t.Fatalf("Tab moved focus to %q, want the password field", got)
	}
	b.Do(chromedp.KeyEvent(s.password), chromedp.KeyEvent(kb.Enter))
	b.WaitFor(`location.pathname === "/cb"`)

	calls, _ := s.flow.calls()
	if len(calls) != 1 {
		t.Fatalf("SignIn called %d times", len(calls))
	}
	want := signInCall{ID: "kb-1", CSRF: "csrf-kb-1", Username: "alice", Password: s.vector.P}
	if calls[0] != want {
		t.Errorf("SignIn got %+v, want %+v", calls[0], want)
	}
	if names := s.preloginNames(); len(names) != 1 || names[0] != "alice" {
		t.Errorf("prelogin asked about %q, want once about alice", names)
	}
	browsertest.AssertNeverSent(t, s.password, s.seen())
	browsertest.AssertNeverSent(t, s.password, b.Requests())
}

// TestBrowserBusyState: while P is derived, the button is disabled and a
// live status says so.
func TestBrowserBusyState(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	gate := make(chan struct{})
	s.preloginGate = gate
	defer func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	}()
	b.Do(chromedp.Navigate(s.srv.URL+"/login?auth=login-1"),
		chromedp.KeyEvent(s.password), chromedp.KeyEvent(kb.Enter))
	b.WaitFor(`document.querySelector("button[type=submit]").disabled`)
	if got := browsertest.Eval[string](b, `document.getElementById("login-status").textContent`); got != "Signing in…" {
		t.Errorf("status %q", got)
	}
	if got := browsertest.Eval[bool](b, `document.getElementById("login-status").offsetHeight > 0`); !got {
		t.Error("the status is not visible")
	}
	shot(t, b, "login-en-busy")
	close(gate)
	b.WaitFor(`location.pathname === "/cb"`)
}

// TestBrowserWrongPassword: the page comes back with one generic message,
// which takes focus.
func TestBrowserWrongPassword(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	s.flow.signInErr = oauth.ErrBadCredentials
	b.Do(chromedp.Navigate(s.srv.URL+"/login?auth=login-1"),
		chromedp.KeyEvent("wrong"), chromedp.KeyEvent(kb.Enter))
	b.WaitFor(`document.getElementById("login-alert") !== null`)
	if got := browsertest.Eval[string](b, `document.getElementById("login-alert").textContent`); got != "Wrong username or password." {
		t.Errorf("alert %q", got)
	}
	if got := b.Focused(); got != "login-alert" {
		t.Errorf("focus on %q, want the alert", got)
	}
	if got := browsertest.Eval[string](b, `document.getElementById("username").value`); got != "alice" {
		t.Errorf("username %q after the error", got)
	}
	shot(t, b, "login-en-wrong-password")
}

// TestBrowserWithoutJavaScript: the page says signing in needs it, and a
// form posted anyway gets the same answer.
func TestBrowserWithoutJavaScript(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	if _, err := chromedp.Call(b.Context(), emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	b.Do(chromedp.Navigate(s.srv.URL + "/login?auth=login-1"))
	body := browsertest.Eval[string](b, `document.body.innerText`)
	if !strings.Contains(body, "Signing in needs JavaScript") {
		t.Errorf("the page without JavaScript says %q", body)
	}
	shot(t, b, "login-en-no-javascript")
	b.Do(chromedp.KeyEvent(s.password), chromedp.KeyEvent(kb.Enter))
	b.WaitFor(`location.pathname === "/login" && document.querySelector("form") === null`)
	if calls, _ := s.flow.calls(); len(calls) != 0 {
		t.Errorf("SignIn was called: %+v", calls)
	}
	browsertest.AssertNeverSent(t, s.password, s.seen())
}

// TestBrowserGerman: a browser that asks for German gets the German page.
func TestBrowserGerman(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	if _, err := chromedp.Call(b.Context(), network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": "de-DE,de;q=0.9"}}); err != nil {
		t.Fatal(err)
	}
	b.Do(chromedp.Navigate(s.srv.URL + "/login?auth=login-1"))
	if got := browsertest.Eval[string](b, `document.documentElement.lang`); got != "de" {
		t.Errorf("lang %q", got)
	}
	if got := browsertest.Eval[string](b, `document.querySelector("button[type=submit]").textContent`); got != "Anmelden" {
		t.Errorf("button %q", got)
	}
	if got := browsertest.Eval[string](b, `document.querySelector("label[for=current-password]").textContent`); got != "Passwort" {
		t.Errorf("password label %q", got)
	}
}

// TestBrowserConsentWithKeyboard: Tab reaches Deny, then Allow; Enter on
// Allow sends the decision.
func TestBrowserConsentWithKeyboard(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	b.Do(chromedp.Navigate(s.srv.URL+"/consent?auth=consent-1"), chromedp.KeyEvent(kb.Tab))
	if got := browsertest.Eval[string](b, `document.activeElement.value`); got != "deny" {
		t.Fatalf("first Tab reaches %q", got)
	}
	b.Do(chromedp.KeyEvent(kb.Tab))
	if got := browsertest.Eval[string](b, `document.activeElement.value`); got != "allow" {
		t.Fatalf("second Tab reaches %q", got)
	}
	b.Do(chromedp.KeyEvent(kb.Enter))
	b.WaitFor(`location.pathname === "/cb"`)
	if _, ds := s.flow.calls(); len(ds) != 1 || !ds[0].Allow {
		t.Errorf("decisions %+v", ds)
	}
}

// TestBrowserScreenshots saves each page, in English and German, on a
// desktop and a phone, when GATEHOUSE_TEST_SCREENSHOTS is set; it also
// checks that no page scrolls sideways on a phone.
func TestBrowserScreenshots(t *testing.T) {
	s := newSite(t)
	b := browsertest.New(t)
	pages := []struct{ name, path string }{
		{"login", "/login?auth=login-1"},
		{"consent", "/consent?auth=consent-1"},
		{"error", "/test/error"},
		{"signed-out", "/test/signed-out"},
	}
	for _, lang := range []string{"en", "de"} {
		if _, err := chromedp.Call(b.Context(), network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": lang}}); err != nil {
			t.Fatal(err)
		}
		for _, view := range []struct {
			name string
			set  chromedp.Action[chromedp.Void]
		}{{"desktop", desktop()}, {"phone", phone()}} {
			for _, p := range pages {
				b.Do(view.set, chromedp.Navigate(s.srv.URL+p.path))
				if wide := browsertest.Eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`); wide {
					t.Errorf("%s (%s, %s) is wider than the viewport", p.name, lang, view.name)
				}
				shot(t, b, p.name+"-"+lang+"-"+view.name)
			}
		}
	}
	// Dark mode (prefers-color-scheme), once per page.
	b.Do(desktop(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
	for _, p := range pages {
		b.Do(chromedp.Navigate(s.srv.URL + p.path))
		if bg := browsertest.Eval[string](b, `getComputedStyle(document.body).backgroundColor`); bg == "rgb(238, 241, 246)" {
			t.Errorf("%s: the dark scheme is not applied", p.name)
		}
		shot(t, b, p.name+"-de-desktop-dark")
	}
}

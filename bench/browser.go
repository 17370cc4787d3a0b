package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/clienthash"
)

// The browser scenarios drive the authorization code flow over HTTP the
// way a browser does, without a script engine: prelogin and b64u(P) as the
// login page's script computes them, the form's hidden fields read from
// the page, cookies carried by hand.

const (
	spaClientID = "bench-spa"
	spaRedirect = "http://127.0.0.1/bench/callback"
	// spaScope is what a browser sign-in typically asks for: an ID token
	// and one admin resource, the one cc-secret's tokens carry. Without
	// openid, the exchange signs no ID token (plain OAuth 2.0).
	spaScope       = "openid users-read"
	spaScopeOAuth2 = "users-read"
	// Cookie names with an http issuer (internal/oauth/loginsession.go;
	// https would add the __Host- prefix).
	sessionCookie = "gatehouse-session"
	bindingCookie = "gatehouse-auth"
	// codeSessions is how many login sessions the codes are spread over.
	// Each exchange adds its grant to the session's record, as it must
	// (a logout ends them); a real session holds a handful, and one
	// session holding every code of a run would measure the growth of
	// its record instead of the exchange.
	codeSessions = 256
	// prepWorkers is how many requests the harness keeps in flight while
	// it prepares codes and pending requests.
	prepWorkers = 16
)

// noFollow is the harness's HTTP client for the browser flows: it never
// follows redirects (the harness reads them) and keeps enough idle
// connections for prepWorkers.
var noFollow = &http.Client{
	Transport:     &http.Transport{MaxIdleConnsPerHost: prepWorkers * 2},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// pageAsset is a static asset the login page links to.
type pageAsset struct {
	path, etag string
}

// browserFixtures are what the browser scenarios share.
type browserFixtures struct {
	binding  string   // a binding cookie value every pending request of the harness is bound to
	sessions []string // login session cookie values, codeSessions of them once signed in
	loginURL string   // path and query of a live login page
	assets   []pageAsset
	// codesPerSecond is how fast the latest batch of codes was made.
	codesPerSecond float64
}

// setupBrowser registers the first-party public client of the browser
// scenarios, opens one login page and checks how its assets are served.
func (f *fixtures) setupBrowser() error {
	_, err := f.admin(http.MethodPost, "/admin/clients", map[string]any{
		"client_id": spaClientID, "name": "Bench SPA", "scopes": []string{"users-read"}, "owner": f.userID,
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none",
		"redirect_uris": []string{spaRedirect}, "skip_consent": true,
	})
	if err != nil {
		return err
	}
	id, _, page, err := f.pending()
	if err != nil {
		return err
	}
	f.browser.loginURL = "/login?" + url.Values{"auth": {id}}.Encode()
	return f.checkAssets(page)
}

// authorizeURL is an authorization request of the bench client with PKCE.
func (f *fixtures) authorizeURL(challenge, scope string) string {
	return f.issuer + "/oauth2/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {spaClientID}, "redirect_uri": {spaRedirect}, "scope": {scope},
		"state": {"bench"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}.Encode()
}

// get sends a GET with cookies and returns the answer with its body read.
func get(rawURL string, cookies ...*http.Cookie) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", err
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := noFollow.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

func cookieOf(res *http.Response, name string) string {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var csrfField = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]+)">`)

// pending starts an authorization request in the harness's browser (no
// session: it goes to the login page) and returns its id, the login
// form's CSRF token and the page. The first call makes the binding cookie.
func (f *fixtures) pending() (id, csrf, page string, err error) {
	var cookies []*http.Cookie
	if f.browser.binding != "" {
		cookies = append(cookies, &http.Cookie{Name: bindingCookie, Value: f.browser.binding})
	}
	res, body, err := get(f.authorizeURL(challengeOf(newVerifier()), spaScope), cookies...)
	if err != nil {
		return "", "", "", err
	}
	loc, err := res.Location()
	if res.StatusCode != http.StatusSeeOther || err != nil || loc.Path != "/login" {
		return "", "", "", fmt.Errorf("authorize: %s, not the login page: %s", res.Status, body)
	}
	if f.browser.binding == "" {
		if f.browser.binding = cookieOf(res, bindingCookie); f.browser.binding == "" {
			return "", "", "", fmt.Errorf("authorize: no %s cookie", bindingCookie)
		}
	}
	res, page, err = get(loc.String(), &http.Cookie{Name: bindingCookie, Value: f.browser.binding})
	if err != nil {
		return "", "", "", err
	}
	m := csrfField.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		return "", "", "", fmt.Errorf("login page: %s, no CSRF field: %s", res.Status, page)
	}
	return loc.Query().Get("auth"), m[1], page, nil
}

// loginForm is the body the login page's script posts for pending
// request id.
func (f *fixtures) loginForm(id, csrf string) string {
	return url.Values{"auth": {id}, "csrf": {csrf}, "username": {f.username}, "password": {f.passwordWire}}.Encode()
}

var errRetry = errors.New("login: 429, try again")

// signIn posts the login form as the page's script does (prelogin, then
// b64u(P)) and returns the new login session's cookie value.
func (f *fixtures) signIn() (string, error) {
	id, csrf, _, err := f.pending()
	if err != nil {
		return "", err
	}
	pre, err := post(f.issuer, "/oauth2/prelogin", "", url.Values{"username": {f.username}})
	if err != nil {
		return "", err
	}
	var params clienthash.LoginParams
	raw, _ := json.Marshal(pre)
	if err := json.Unmarshal(raw, &params); err != nil {
		return "", err
	}
	wire, err := clienthash.LoginPassword(f.password, params)
	if err != nil {
		return "", err
	}
	if wire != f.passwordWire {
		return "", fmt.Errorf("prelogin: the page's derivation differs from the harness's")
	}
	req, _ := http.NewRequest(http.MethodPost, f.issuer+"/login", strings.NewReader(f.loginForm(id, csrf)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: bindingCookie, Value: f.browser.binding})
	res, err := noFollow.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	session := cookieOf(res, sessionCookie)
	if res.StatusCode == http.StatusTooManyRequests {
		return "", errRetry
	}
	if res.StatusCode != http.StatusSeeOther || session == "" {
		return "", fmt.Errorf("login: %s, no session: %s", res.Status, body)
	}
	return session, nil
}

// signInSessions signs the harness in codeSessions times, once.
func (f *fixtures) signInSessions() error {
	if len(f.browser.sessions) > 0 {
		return nil
	}
	// As many at once as the server hashes at once (two cores: 4); more
	// would only wait in its queue, and a loaded machine can make them
	// wait past password.queue_wait (429, Retry-After: 1).
	sessions, err := parallelOn(4, codeSessions, func(int) (string, error) {
		for range 5 {
			s, err := f.signIn()
			if !errors.Is(err, errRetry) {
				return s, err
			}
			time.Sleep(time.Second)
		}
		return "", fmt.Errorf("login: still refused after 5 tries")
	})
	f.browser.sessions = sessions
	return err
}

func newVerifier() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// code runs the authorization request of a signed-in browser (session i)
// for scope with a fresh PKCE verifier, and returns the token request's
// code and verifier as a form fragment.
func (f *fixtures) code(i int, scope string) (string, error) {
	verifier := newVerifier()
	session := f.browser.sessions[i%len(f.browser.sessions)]
	res, body, err := get(f.authorizeURL(challengeOf(verifier), scope), &http.Cookie{Name: sessionCookie, Value: session})
	if err != nil {
		return "", err
	}
	loc, err := res.Location()
	if err != nil || res.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("authorize: %s, no redirect: %s", res.Status, body)
	}
	code := loc.Query().Get("code")
	if code == "" || !strings.HasPrefix(loc.String(), spaRedirect+"?") {
		return "", fmt.Errorf("authorize: no code in %s", loc)
	}
	return url.Values{"code": {code}, "code_verifier": {verifier}}.Encode(), nil
}

// codeBody is the fixed part of the code exchange's body: a public
// client, so client_id and no authentication (RFC 6749 §4.1.3).
func codeBody() string {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {spaClientID}, "redirect_uri": {spaRedirect}}.Encode() + "&"
}

// prepareCodes returns the prepare of a code exchange scenario: it writes
// to file enough fresh codes for scope for a run of d at up to rate
// exchanges per second. Codes live 60 s (internal/oauth/code.go): they
// are made just before the run, oldest first in every thread's share, and
// the harness refuses a batch that could not all be spent in time.
func (f *fixtures) prepareCodes(scope, file string) func(d time.Duration, rate float64) error {
	return func(d time.Duration, rate float64) error { return f.makeCodes(scope, file, d, rate) }
}

func (f *fixtures) makeCodes(scope, file string, d time.Duration, rate float64) error {
	if err := f.signInSessions(); err != nil {
		return err
	}
	// No exchange is much faster than cc-secret's token request, measured
	// before; a warm-up can be slower than the run it warms up.
	rate = max(rate, f.rates["cc-secret"])
	n := batchSize(d, rate, 10_000)
	// Codes must outlive their making and the run: at the rate the
	// previous batch was made, leave 5 s of the 60 to spare.
	if r := f.browser.codesPerSecond; r > 0 {
		if limit := int(r * (55*time.Second - wrkSeconds(d)).Seconds()); n > limit {
			fmt.Fprintf(os.Stderr, "bench: %d codes would take too long to make; making %d: a run that spends them all reports the rest as errors\n", n, limit)
			n = max(limit, 256)
		}
	}
	start := time.Now()
	lines, err := parallel(n, func(i int) (string, error) {
		code, err := f.code(i, scope)
		return "\t" + codeBody() + code, err // requests.lua: no path, a body
	})
	if err != nil {
		return err
	}
	made := time.Since(start)
	if made+wrkSeconds(d) > 55*time.Second {
		return fmt.Errorf("%d codes took %s to make: a run of %s would outlive the first ones; shorten -duration", n, made.Round(time.Second), d)
	}
	f.browser.codesPerSecond = float64(n) / made.Seconds()
	fmt.Fprintf(os.Stderr, "bench: %d codes for %q made in %s (%.0f/s) through GET /oauth2/authorize\n", n, scope, made.Round(time.Millisecond), f.browser.codesPerSecond)
	return f.writeLines(file, lines)
}

// preparePendings writes enough pending requests for a run of d at up to
// rate logins per second: each login consumes its pending request.
func (f *fixtures) preparePendings(d time.Duration, rate float64) error {
	n := batchSize(d, rate, 150)
	lines, err := parallel(n, func(int) (string, error) {
		id, csrf, _, err := f.pending()
		if err != nil {
			return "", err
		}
		return "\t" + f.loginForm(id, csrf) + "\tCookie: " + bindingCookie + "=" + f.browser.binding, nil
	})
	if err != nil {
		return err
	}
	return f.writeLines("pendings", lines)
}

// batchSize is how many single-use items a run of d needs at rate per
// second (guess when the rate is not known yet), with a margin.
func batchSize(d time.Duration, rate, guess float64) int {
	if rate <= 0 {
		rate = guess
	}
	return int(rate*1.5*wrkSeconds(d).Seconds()) + 256
}

// wrkSeconds is how long wrk runs for d (whole seconds, see runWrk).
func wrkSeconds(d time.Duration) time.Duration {
	return time.Duration(max(1, int((d+time.Second-1)/time.Second))) * time.Second
}

// parallel calls item(0) … item(n-1) on prepWorkers goroutines and
// returns the results in order.
func parallel(n int, item func(int) (string, error)) ([]string, error) {
	return parallelOn(prepWorkers, n, item)
}

func parallelOn(workers, n int, item func(int) (string, error)) ([]string, error) {
	out := make([]string, n)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				s, err := item(i)
				if err != nil {
					errs <- err
					return
				}
				out[i] = s
			}
		}()
	}
	wg.Wait()
	close(errs)
	return out, <-errs
}

var assetLink = regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"`)

// checkAssets finds the assets the login page links to and checks that
// each is served with a strong ETag, and answered 304 without a body when
// the browser already holds it (RFC 9110 §13.1.2). They are served from
// memory (internal/signin/assets.go); the profile of the scenarios shows
// no file access.
func (f *fixtures) checkAssets(page string) error {
	seen := map[string]bool{}
	for _, m := range assetLink.FindAllStringSubmatch(page, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		res, body, err := get(f.issuer + m[1])
		if err != nil {
			return err
		}
		etag := res.Header.Get("ETag")
		if res.StatusCode != http.StatusOK || len(body) == 0 || !strings.HasPrefix(etag, `"`) {
			return fmt.Errorf("asset %s: %s, ETag %q, %d bytes", m[1], res.Status, etag, len(body))
		}
		req, _ := http.NewRequest(http.MethodGet, f.issuer+m[1], nil)
		req.Header.Set("If-None-Match", etag)
		res, err = noFollow.Do(req)
		if err != nil {
			return err
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified || n != 0 {
			return fmt.Errorf("asset %s with If-None-Match: %s, %d bytes; want 304 without a body", m[1], res.Status, n)
		}
		f.browser.assets = append(f.browser.assets, pageAsset{path: m[1], etag: etag})
	}
	if len(f.browser.assets) == 0 {
		return fmt.Errorf("the login page links to no asset")
	}
	return nil
}

// assetLines are the requests of a page load's assets, for requests.lua;
// with revalidate, each carries the ETag the browser holds.
func (f *fixtures) assetLines(revalidate bool) []string {
	var lines []string
	// Every wrk thread takes its share of the lines: enough copies that
	// none is left without.
	for range f.threads {
		for _, a := range f.browser.assets {
			line := a.path + "\t"
			if revalidate {
				line += "\tIf-None-Match: " + a.etag
			}
			lines = append(lines, line)
		}
	}
	return lines
}

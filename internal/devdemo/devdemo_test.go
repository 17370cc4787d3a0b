package devdemo_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/bootstrap"
	"github.com/gatehouse/gatehouse/storage"
)

const password = "correct horse battery staple"

// start runs a server with the demo pages and the demo client, owned by
// an administrator "root" as serve --dev does it.
func start(t *testing.T) *apptest.Server {
	t.Helper()
	s := apptest.Start(t, apptest.Memory, func(o *app.Options) { o.DevDemoClientID = bootstrap.DemoClientID })
	ctx := context.Background()
	admins, err := s.Store.GetGroupByName(ctx, storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	root := s.User("root", password, admins.ID)
	_, err = bootstrap.EnsureDemoClient(ctx, s.Store, "", s.URL, root.ID)
	require.NoError(t, err)
	return s
}

// noFollow is a client with a cookie jar that stops at every redirect.
func noFollow(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	res, err := c.Get(u)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func requirePageHeaders(t *testing.T, h http.Header) {
	t.Helper()
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
}

// /dev/start sends the browser to the authorization endpoint with PKCE
// S256, a fresh state and nonce, and keeps them in an HttpOnly cookie.
func TestStartRedirectsWithPKCEStateAndNonce(t *testing.T) {
	s := start(t)
	seen := map[string]bool{}
	for range 2 {
		res := get(t, noFollow(t), s.URL+"/dev/start")
		require.Equal(t, http.StatusFound, res.StatusCode)
		requirePageHeaders(t, res.Header)
		loc, err := url.Parse(res.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, s.URL+"/oauth2/authorize", loc.Scheme+"://"+loc.Host+loc.Path)
		q := loc.Query()
		require.Equal(t, "code", q.Get("response_type"))
		require.Equal(t, "demo", q.Get("client_id"))
		require.Equal(t, s.URL+"/dev/callback", q.Get("redirect_uri"))
		require.Equal(t, "openid profile email users-read", q.Get("scope"))
		require.Equal(t, "S256", q.Get("code_challenge_method"))
		require.Len(t, q.Get("code_challenge"), 43, "b64u(SHA-256(verifier))")
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			v := q.Get(k)
			require.GreaterOrEqual(t, len(v), 43, k)
			require.False(t, seen[v], "%s repeats", k)
			seen[v] = true
		}
		var flow *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == "gatehouse-demo" {
				flow = c
			}
		}
		require.NotNil(t, flow, "flow cookie")
		require.True(t, flow.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, flow.SameSite)
		require.Equal(t, "/dev/", flow.Path)
		require.NotContains(t, flow.Value, q.Get("code_challenge"))
	}
}

// The callback believes nothing before the state matches the flow cookie
// of this browser: not a code, not an error.
func TestCallbackRefusesAForeignState(t *testing.T) {
	s := start(t)
	c := noFollow(t)
	res := get(t, c, s.URL+"/dev/start")
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	state := loc.Query().Get("state")

	// A tampered cookie is no cookie.
	u, _ := url.Parse(s.URL + "/dev/")
	cookies := c.Jar.Cookies(u)
	require.Len(t, cookies, 1)
	good := cookies[0].Value
	tampered := []byte(good)
	tampered[len(tampered)-3] ^= 1
	c.Jar.SetCookies(u, []*http.Cookie{{Name: cookies[0].Name, Value: string(tampered), Path: "/dev/"}})
	res = get(t, c, s.URL+"/dev/callback?"+url.Values{"code": {"x"}, "state": {state}}.Encode())
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, readBody(t, res), "not started here")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: cookies[0].Name, Value: good, Path: "/dev/"}})

	// In order: the last case spends the flow.
	for _, tc := range []struct {
		name   string
		client *http.Client
		query  url.Values
		want   string
	}{
		{"wrong state", c, url.Values{"code": {"x"}, "state": {"not-" + state}}, "The state does not match"},
		{"no state", c, url.Values{"code": {"x"}}, "The state does not match"},
		{"forged error", c, url.Values{"error": {"access_denied"}, "state": {"other"}}, "The state does not match"},
		{"no flow cookie", noFollow(t), url.Values{"code": {"x"}, "state": {state}}, "not started here"},
		{"another issuer", c, url.Values{"code": {"x"}, "state": {state}, "iss": {"https://evil.example"}}, "another issuer"},
		{"a forged code", c, url.Values{"code": {"forged"}, "state": {state}}, "refused the code"},
		{"the flow is spent", c, url.Values{"code": {"forged"}, "state": {state}}, "not started here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, tc.client, s.URL+"/dev/callback?"+tc.query.Encode())
			require.GreaterOrEqual(t, res.StatusCode, 400)
			requirePageHeaders(t, res.Header)
			body := readBody(t, res)
			require.Contains(t, body, tc.want)
			require.NotContains(t, body, "ID token claims")
		})
	}
}

// The whole newcomer path over HTTP: /dev/start, the login page, the
// consent page, and the callback page with the verified claims.
func TestSignInThroughTheDemo(t *testing.T) {
	s := start(t)
	b := s.Browser()
	login := b.Visit(s.URL + "/dev/start")
	require.Equal(t, http.StatusOK, login.Status, login.Body)
	require.Equal(t, "/login", login.URL.Path)
	consent := b.SignIn(login, "root", password)
	require.Equal(t, "/consent", consent.URL.Path, "the demo is a third-party client: %s", consent.Body)
	require.Contains(t, consent.Body, "users-read")
	done := b.Consent(consent, "allow")
	require.Equal(t, http.StatusOK, done.Status, done.Body)
	require.Equal(t, "/dev/callback", done.URL.Path)
	requirePageHeaders(t, done.Header)
	require.Contains(t, done.Body, "Signed in")
	root, err := s.Store.GetUserByUsername(context.Background(), storage.DefaultRealm, "root")
	require.NoError(t, err)
	for _, want := range []string{
		"<code>sub</code><small>" + root.ID + "</small>",
		"<code>preferred_username</code><small>root</small>",
		"<code>aud</code><small>demo</small>",
		"<code>iss</code><small>" + s.URL + "</small>",
		"<code>nonce</code>",
		`<code id="scope">`,
		"users-read",
		"received (not shown)",
	} {
		require.Contains(t, done.Body, want)
	}
	// No raw token on the page: JWTs start with a base64url "{".
	require.NotContains(t, done.Body, "eyJ")
	// The flow is spent: the same callback URL again is refused.
	again := b.Visit(done.URL.String())
	require.Equal(t, http.StatusBadRequest, again.Status)
	require.NotContains(t, again.Body, "ID token claims")

	// Signed in and consented: a second start goes straight through.
	second := b.Visit(s.URL + "/dev/start")
	require.Equal(t, http.StatusOK, second.Status, second.Body)
	require.Equal(t, "/dev/callback", second.URL.Path)
	require.Contains(t, second.Body, "ID token claims")
}

// A refused consent comes back as access_denied and the page says so.
func TestDeniedConsentShowsTheError(t *testing.T) {
	s := start(t)
	b := s.Browser()
	consent := b.SignIn(b.Visit(s.URL+"/dev/start"), "root", password)
	p := b.Consent(consent, "deny")
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Equal(t, "/dev/callback", p.URL.Path)
	requirePageHeaders(t, p.Header)
	require.Contains(t, p.Body, "Access was denied")
	require.Contains(t, p.Body, `<code id="error-code">access_denied</code>`)
	require.NotContains(t, p.Body, "ID token claims")
}

func TestPagesAnswerGETOnly(t *testing.T) {
	s := start(t)
	for _, path := range []string{"/dev/start", "/dev/callback"} {
		res, err := http.Post(s.URL+path, "application/x-www-form-urlencoded", strings.NewReader("a=b"))
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, path)
		require.Equal(t, "GET, HEAD", res.Header.Get("Allow"))
	}
}

// Without the option the pages do not exist.
func TestNotMountedWithoutTheOption(t *testing.T) {
	s := apptest.Start(t, apptest.Memory)
	res, err := http.Get(s.URL + "/dev/start")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// What the answer carries is shown as text: an error description or an
// issuer with markup (the authorization server may echo what a client
// sent) stays inert on the issuer's origin.
func TestCallbackPagesEscapeTheAnswer(t *testing.T) {
	s := start(t)
	const markup = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	for _, q := range []url.Values{
		{"iss": {"https://evil.example/" + markup}},
		{"error": {"access_denied" + markup}, "error_description": {markup}},
	} {
		c := noFollow(t)
		loc, err := url.Parse(get(t, c, s.URL+"/dev/start").Header.Get("Location"))
		require.NoError(t, err)
		q.Set("state", loc.Query().Get("state"))
		res := get(t, c, s.URL+"/dev/callback?"+q.Encode())
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		requirePageHeaders(t, res.Header)
		body := readBody(t, res)
		require.NotContains(t, body, "<script>")
		require.NotContains(t, body, "<img src=x")
		require.Contains(t, body, "&lt;script&gt;", "shown as text")
	}
}

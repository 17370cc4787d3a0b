package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/bootstrap"
	"github.com/gatehouse/gatehouse/storage"
)

const rootPassword = "correct horse battery staple"

// authorizeRun is `gatehouse authorize` running in the background.
type authorizeRun struct {
	stdout, stderr *apptest.SyncBuffer
	done           chan error
}

// startAuthorize runs the authorize command with args in the background.
func startAuthorize(t *testing.T, args ...string) *authorizeRun {
	t.Helper()
	r := &authorizeRun{stdout: &apptest.SyncBuffer{}, stderr: &apptest.SyncBuffer{}, done: make(chan error, 1)}
	root := newRootCmd()
	root.SetOut(r.stdout)
	root.SetErr(r.stderr)
	root.SetArgs(append([]string{"authorize", "--no-open"}, args...))
	go func() { r.done <- root.ExecuteContext(context.Background()) }()
	return r
}

var authURLLine = regexp.MustCompile(`(?m)^  (http://\S+/oauth2/authorize\?\S+)$`)

// authURL waits until the command has printed the authorization URL.
func (r *authorizeRun) authURL(t *testing.T) string {
	t.Helper()
	var u string
	require.Eventually(t, func() bool {
		m := authURLLine.FindStringSubmatch(r.stderr.String())
		if m != nil {
			u = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, "no URL printed: %s", r.stderr.String())
	return u
}

// wait returns the command's error once it ends.
func (r *authorizeRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("authorize did not end")
		return nil
	}
}

// authorizeFixture is a server with an administrator "root" and the demo
// client that serve --dev registers.
func authorizeFixture(t *testing.T, b apptest.Backend) (*apptest.Server, storage.User) {
	s := apptest.Start(t, b)
	admins, err := s.Store.GetGroupByName(context.Background(), storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	root := s.User("root", rootPassword, admins.ID)
	_, err = bootstrap.EnsureDemoClient(context.Background(), s.Store, "", s.URL, root.ID)
	require.NoError(t, err)
	return s, root
}

// followToLoopback opens the redirect to the command's listener, as the
// browser would, and returns its page.
func followToLoopback(t *testing.T, loc *url.URL) (int, string) {
	t.Helper()
	require.NotNil(t, loc, "no redirect to the loopback listener")
	require.Equal(t, "127.0.0.1", loc.Hostname())
	require.Equal(t, "/callback", loc.Path)
	res, err := http.Get(loc.String())
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

// The whole flow: the printed URL, the login and consent pages, the
// loopback callback, the tokens on stdout with the verified claims.
func TestAuthorize(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			s, root := authorizeFixture(t, b)
			run := startAuthorize(t, "--issuer", s.URL, "--client-id", "demo", "--scope", "openid profile email users-read")
			authURL := run.authURL(t)
			q := mustQuery(t, authURL)
			require.Equal(t, "S256", q.Get("code_challenge_method"))
			require.NotEmpty(t, q.Get("nonce"))
			require.Regexp(t, `^http://127\.0\.0\.1:\d+/callback$`, q.Get("redirect_uri"))

			// Something else on this machine answers first, with another
			// state: refused, and the command keeps waiting.
			cb, _ := url.Parse(q.Get("redirect_uri"))
			cb.RawQuery = url.Values{"code": {"stolen"}, "state": {"guess"}}.Encode()
			status, page := followToLoopback(t, cb)
			require.Equal(t, http.StatusBadRequest, status)
			require.Contains(t, page, "does not belong")

			br := s.Browser()
			consent := br.SignIn(br.Visit(authURL), "root", rootPassword)
			require.Equal(t, "/consent", consent.URL.Path, consent.Body)
			status, page = followToLoopback(t, br.Consent(consent, "allow").Location)
			require.Equal(t, http.StatusOK, status, page)
			require.Contains(t, page, "You may close this window")
			require.NoError(t, run.wait(t), run.stderr.String())

			var out map[string]any
			require.NoError(t, json.Unmarshal([]byte(run.stdout.String()), &out), run.stdout.String())
			s.Remember(out["access_token"].(string), out["refresh_token"].(string))
			require.Equal(t, "bearer", strings.ToLower(out["token_type"].(string)))
			require.Equal(t, "email openid profile users-read", out["scope"])
			for _, k := range []string{"access_token", "refresh_token", "id_token", "expiry"} {
				require.NotEmpty(t, out[k], k)
			}
			claims := out["id_token_claims"].(map[string]any)
			require.Equal(t, root.ID, claims["sub"])
			require.Equal(t, "demo", claims["aud"])
			require.Equal(t, q.Get("nonce"), claims["nonce"])
			require.Equal(t, "root", claims["preferred_username"])
			// The access token works.
			r := s.Bearer(http.MethodGet, "/userinfo", out["access_token"].(string), "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, root.ID, r.Str("sub"))
		})
	}
}

// A refusal at the authorization server ends the command with its error
// (main exits 1), and the browser is told to look at the terminal.
func TestAuthorizeDenied(t *testing.T) {
	s, _ := authorizeFixture(t, apptest.Memory)
	run := startAuthorize(t, "--issuer", s.URL, "--client-id", "demo")
	br := s.Browser()
	consent := br.SignIn(br.Visit(run.authURL(t)), "root", rootPassword)
	status, page := followToLoopback(t, br.Consent(consent, "deny").Location)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, page, "access_denied")
	err := run.wait(t)
	require.Error(t, err)
	require.Contains(t, err.Error(), "the authorization server refused: access_denied")
	require.Empty(t, run.stdout.String(), "no tokens printed")
}

// Nobody comes back: the command ends with a hint at the registration.
func TestAuthorizeTimeout(t *testing.T) {
	s, _ := authorizeFixture(t, apptest.Memory)
	run := startAuthorize(t, "--issuer", s.URL, "--client-id", "demo", "--timeout", "300ms")
	err := run.wait(t)
	require.Error(t, err)
	require.Contains(t, err.Error(), "no answer from the browser within 300ms")
	require.Contains(t, err.Error(), "http://127.0.0.1/callback")
}

func TestAuthorizeMisuse(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"authorize"}, "--client-id"},
		{[]string{"authorize", "--client-id", "demo", "--port", "70000"}, "port"},
		{[]string{"authorize", "--client-id", "demo", "--client-secret", "short"}, "client-secret"},
		{[]string{"authorize", "--client-id", "demo", "--timeout", "0s"}, "timeout"},
		{[]string{"authorize", "extra"}, "unknown command"},
	} {
		_, err := runCLI(t, tc.args...)
		require.Error(t, err, tc.args)
		require.Contains(t, err.Error(), tc.want)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Query()
}

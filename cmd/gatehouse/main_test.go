package main_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
)

// build compiles the gatehouse binary once per test run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// startServer runs the binary with args and env until the test ends, and
// waits until issuer answers ready. It returns the process and its output.
func startServer(t *testing.T, bin string, env []string, issuer string, args ...string) (cmd *exec.Cmd, stdout, stderr *apptest.SyncBuffer) {
	t.Helper()
	cmd = exec.Command(bin, args...)
	cmd.Env = env
	stdout, stderr = &apptest.SyncBuffer{}, &apptest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	require.Eventually(t, func() bool {
		res, err := http.Get(issuer + "/health/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "server did not become ready: %s", stderr)
	return cmd, stdout, stderr
}

// The first README command: serve --dev prints a working administrator,
// and real client libraries get and verify a token from it.
func TestServeDev(t *testing.T) {
	bin := build(t)
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "bootstrap.json")
	debugAddr := freeAddr(t)
	issuer := "http://" + addr
	cmd, stdout, stderr := startServer(t, bin, append(cleanEnv(), "GATEHOUSE_DEBUG_ADDR="+debugAddr), issuer,
		"serve", "--dev", "--addr", addr, "--bootstrap-out", out)

	// Profiles only on the debug listener, never on the public one.
	for base, want := range map[string]int{"http://" + debugAddr: http.StatusOK, issuer: http.StatusNotFound} {
		res, err := http.Get(base + "/debug/pprof/")
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, want, res.StatusCode, base)
	}

	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	info, err := os.Stat(out)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	var boot map[string]string
	require.NoError(t, json.Unmarshal(raw, &boot))
	for _, k := range []string{"issuer", "admin_user_id", "admin_username", "admin_client_id", "admin_client_secret", "admin_password"} {
		require.NotEmpty(t, boot[k], k)
	}
	require.Equal(t, issuer, boot["issuer"])
	require.Contains(t, stdout.String(), boot["admin_client_id"])

	w, err := clienthash.WireSecret(boot["admin_client_secret"], boot["admin_client_id"])
	require.NoError(t, err)
	ctx := context.Background()
	tok, err := (&clientcredentials.Config{ClientID: boot["admin_client_id"], ClientSecret: w, TokenURL: issuer + "/oauth2/token"}).Token(ctx)
	require.NoError(t, err)
	require.Contains(t, tok.Extra("scope"), "users-write")
	provider, err := oidc.NewProvider(ctx, issuer)
	require.NoError(t, err)
	_, err = provider.Verifier(&oidc.Config{ClientID: issuer}).Verify(ctx, tok.AccessToken)
	require.NoError(t, err)

	// The newcomer's browser sign-in: the demo client and its pages.
	checkDemo(t, bin, issuer, stdout.String(), boot)

	// The admin CLI drives the management API as a client would, with the
	// variables the banner exports and nothing else.
	bannerEnv := exportedByBanner(t, stdout.String())
	require.Equal(t, []string{"GATEHOUSE_CLI_ISSUER=" + issuer, "GATEHOUSE_CLI_CLIENT_ID=" + boot["admin_client_id"],
		"GATEHOUSE_CLI_CLIENT_SECRET=" + boot["admin_client_secret"]}, bannerEnv)
	cli := func(env []string, args ...string) string {
		t.Helper()
		c := exec.Command(bin, args...)
		c.Env = append(cleanEnv(), append(bannerEnv, env...)...)
		out, err := c.CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
		return string(out)
	}
	var created map[string]any
	require.NoError(t, json.Unmarshal([]byte(cli(nil, "clients", "create", "--name", "CI", "--client-id", "ci-app", "--scope", "users-read")), &created))
	require.Equal(t, "ci-app", created["client_id"])
	ciSecret := created["client_secret"].(string)
	require.Contains(t, cli(nil, "clients", "list"), "ci-app")
	var rotated map[string]any
	require.NoError(t, json.Unmarshal([]byte(cli(nil, "clients", "rotate-secret", "--client-id", "ci-app")), &rotated))
	require.Contains(t, cli(nil, "token"), `"scope": "`, "token reads the banner's variables")
	require.Contains(t, cli(nil, "groups", "list"), "administrators")
	for _, s := range []string{ciSecret, rotated["client_secret"].(string)} {
		out := cli(nil, "token", "--issuer", issuer, "--client-id", "ci-app", "--client-secret", s)
		require.Contains(t, out, `"scope": "users-read"`, "both secret versions work")
	}
	var user map[string]any
	require.NoError(t, json.Unmarshal([]byte(cli([]string{"GATEHOUSE_CLI_PASSWORD=first-password-1"}, "users", "create", "--username", "dana", "--with-password")), &user))
	require.Contains(t, cli(nil, "users", "list"), "dana")
	cli([]string{"GATEHOUSE_CLI_PASSWORD=second-password-2"}, "users", "set-password", "--id", user["id"].(string))
	tokOut := cli([]string{"GATEHOUSE_CLI_PASSWORD=second-password-2"}, "token", "--issuer", issuer,
		"--client-id", boot["admin_client_id"], "--client-secret", boot["admin_client_secret"], "--username", "dana")
	require.Contains(t, tokOut, "refresh_token")
	cli(nil, "clients", "delete", "--client-id", "ci-app")
	require.NotContains(t, cli(nil, "clients", "list"), "ci-app")

	// Graceful stop on SIGTERM.
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	for _, secret := range []string{boot["admin_client_secret"], w, boot["admin_password"], tok.AccessToken} {
		require.NotContains(t, stderr.String(), secret, "secrets never reach the log")
	}
}

// Bad configuration stops the server with one line naming the setting.
func TestStartupErrors(t *testing.T) {
	bin := build(t)
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"GATEHOUSE_FOO=1"}, []string{"serve", "--dev"}, "GATEHOUSE_FOO"},
		{[]string{"GATEHOUSE_TOKEN_SIGNING_ALG=HS256"}, []string{"serve", "--dev"}, "token.signing_alg (GATEHOUSE_TOKEN_SIGNING_ALG)"},
		{nil, []string{"serve"}, "database_url (GATEHOUSE_DATABASE_URL)"},
		{[]string{"GATEHOUSE_DATABASE_URL=postgres://u:topsecret@127.0.0.1:1/x"}, []string{"migrate", "up"}, "database_url (GATEHOUSE_DATABASE_URL): cannot connect to 127.0.0.1:1/x"},
		{[]string{"GATEHOUSE_DATABASE_URL=postgres://u:topsecret@127.0.0.1:1/x"}, []string{"migrate", "status"}, "database_url (GATEHOUSE_DATABASE_URL): cannot connect"},
		{[]string{"GATEHOUSE_DATABASE_URL=postgres://u:topsecret@127.0.0.1:1/x", "GATEHOUSE_REDIS_URL=redis://127.0.0.1:1/0",
			"GATEHOUSE_KEYS_ENCRYPTION_SECRET=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
			"GATEHOUSE_PASSWORD_PRELOGIN_SECRET=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}, []string{"serve"}, "database_url (GATEHOUSE_DATABASE_URL): cannot connect"},
		{[]string{"GATEHOUSE_TOKEN_ACCESS_TTL=soon"}, []string{"serve", "--dev"}, "token.access_ttl (GATEHOUSE_TOKEN_ACCESS_TTL): must be a duration"},
		{[]string{"GATEHOUSE_KEYS_ROTATION_INTERVAL=1m"}, []string{"serve", "--dev"}, "keys.rotation_interval (GATEHOUSE_KEYS_ROTATION_INTERVAL)"},
		{nil, []string{"serve", "--dev", "--addr", "nonsense"}, "addr (GATEHOUSE_ADDR): must be host:port"},
		{nil, []string{"serve", "--dev", "--issuer", "ftp://x"}, "issuer (GATEHOUSE_ISSUER)"},
		{nil, []string{"serve", "--dev", "--nope"}, "unknown flag: --nope"},
		// Misuse of the client commands exits non-zero too (issue 12).
		{nil, []string{"clients", "lst"}, `unknown command "lst" for "gatehouse clients"; did you mean "list"?`},
		{nil, []string{"groups"}, "gatehouse groups needs a subcommand"},
		{nil, []string{"resources", "get"}, "accepts 1 arg(s), received 0"},
		{nil, []string{"secret", "wire", "--client-id", "c", "--secret", ""}, "secret: is empty"},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append(cleanEnv(), tc.env...)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, string(out))
		line := strings.TrimSpace(string(out))
		require.Contains(t, line, tc.want)
		require.Equal(t, 1, strings.Count(line, "\n")+1, "one line: %q", line)
		require.NotContains(t, line, "topsecret")
		require.NotContains(t, line, "goroutine")
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err)
	require.Contains(t, string(out), "gatehouse")
	for _, sub := range []string{"serve", "migrate", "bootstrap", "keys", "version", "token", "clients", "users", "groups", "resources", "secret", "authorize", "consents"} {
		out, err := exec.Command(bin, sub, "--help").CombinedOutput()
		require.NoError(t, err, sub)
		require.Contains(t, string(out), "Usage:", sub)
	}
}

// checkDemo follows the banner's browser instructions: /dev/start leads to
// the login page of the client "demo", and `gatehouse authorize --client-id
// demo` (the binary) signs the administrator in through a browser and
// prints the tokens; an error answer makes it exit 1.
func checkDemo(t *testing.T, bin, issuer, banner string, boot map[string]string) {
	t.Helper()
	require.Contains(t, banner, "open "+issuer+"/dev/start")
	require.Contains(t, banner, "sign in as "+boot["admin_username"])
	require.Contains(t, banner, "go run ./cmd/gatehouse authorize --issuer "+issuer+" --client-id demo")

	browser := (&apptest.Server{T: t, URL: issuer}).Browser()
	login := browser.Visit(issuer + "/dev/start")
	require.Equal(t, http.StatusOK, login.Status, login.Body)
	require.Equal(t, "/login", login.URL.Path)
	require.Contains(t, login.Body, "Gatehouse demo application", "the login page names the demo client")

	authorize := func(args ...string) (*exec.Cmd, *apptest.SyncBuffer, *apptest.SyncBuffer, string) {
		c := exec.Command(bin, append([]string{"authorize", "--issuer", issuer, "--client-id", "demo", "--no-open"}, args...)...)
		c.Env = cleanEnv()
		var out, errOut apptest.SyncBuffer
		c.Stdout, c.Stderr = &out, &errOut
		require.NoError(t, c.Start())
		t.Cleanup(func() { _ = c.Process.Kill() })
		var u string
		require.Eventually(t, func() bool {
			for _, line := range strings.Split(errOut.String(), "\n") {
				if l := strings.TrimSpace(line); strings.HasPrefix(l, issuer+"/oauth2/authorize?") {
					u = l
				}
			}
			return u != ""
		}, 20*time.Second, 20*time.Millisecond, "no URL printed: %s", errOut.String())
		return c, &out, &errOut, u
	}
	loopback := func(loc *url.URL) {
		require.NotNil(t, loc)
		res, err := http.Get(loc.String())
		require.NoError(t, err)
		res.Body.Close()
	}

	c, out, errOut, u := authorize()
	consent := browser.SignIn(browser.Visit(u), boot["admin_username"], boot["admin_password"])
	require.Equal(t, "/consent", consent.URL.Path, consent.Body)
	loopback(browser.Consent(consent, "allow").Location)
	require.NoError(t, c.Wait(), errOut.String())
	var tok map[string]any
	require.NoError(t, json.Unmarshal([]byte(out.String()), &tok), out.String())
	require.Equal(t, boot["admin_user_id"], tok["id_token_claims"].(map[string]any)["sub"])
	require.NotEmpty(t, tok["refresh_token"])

	// A scope the demo may not have: the server answers with an error,
	// the command prints it and exits 1.
	c, out, errOut, u = authorize("--scope", "openid clients-write")
	loopback(browser.Visit(u).Location)
	err := c.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, errOut.String())
	require.Equal(t, 1, exit.ExitCode())
	require.Contains(t, errOut.String(), "invalid_scope")
	require.Empty(t, out.String())
}

// exportedByBanner returns the NAME=value pairs of the banner's export line.
func exportedByBanner(t *testing.T, banner string) []string {
	t.Helper()
	for _, line := range strings.Split(banner, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "export "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("no export line in the banner:\n%s", banner)
	return nil
}

// cleanEnv is the environment without GATEHOUSE_ settings of the caller.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return env
}

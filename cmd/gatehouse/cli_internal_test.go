package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

// These tests run the client commands in-process against a real server
// (apptest), on every backend, and check what a user reads.

// runCLI runs the gatehouse command with args and returns what it printed
// and its error, which main turns into exit status 1.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// mustCLI runs args and requires success.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLI(t, args...)
	require.NoError(t, err, "%v: %s", args, out)
	return out
}

// cliFixture is a server with an administrator and an all-scopes admin
// client, and the flags that make the admin commands use them.
type cliFixture struct {
	*apptest.Server
	client apptest.Client // the all-scopes admin client
	flags  []string       // --issuer, --admin-client-id, --admin-client-secret
}

func newCLIFixture(t *testing.T, s *apptest.Server) *cliFixture {
	admins, err := s.Store.GetGroupByName(context.Background(), storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(t, err)
	root := s.User("root", "", admins.ID)
	c := s.Client("admin-cli", root.ID, nil, func(c *storage.Client) { c.AllScopes = true })
	return &cliFixture{Server: s, client: c,
		flags: []string{"--issuer", s.URL, "--admin-client-id", c.ID, "--admin-client-secret", c.Secret}}
}

// admin runs an admin command (its words first, then the fixture's flags).
func (f *cliFixture) admin(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCLI(t, append(args, f.flags...)...)
}

func (f *cliFixture) mustAdmin(t *testing.T, args ...string) string {
	t.Helper()
	out, err := f.admin(t, args...)
	require.NoError(t, err, "%v: %s", args, out)
	return out
}

// A wrong password, a refused scope, a wrong client secret and a rate
// limit each print the server's own error, not one invalid_client for all
// (issue 12: x/oauth2 guessed the auth style and retried).
func TestTokenPrintsTheServersError(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			f := newCLIFixture(t, apptest.Start(t, b, func(o *app.Options) {
				o.LoginThrottle = oauth.LoginThrottle{FreePerUserClient: 2, BaseDelay: time.Minute}
			}))
			readers := f.Group("readers", "users-read")
			owner := f.User("erin", "erin-password-1", readers.ID)
			c := f.Client("reports", owner.ID, []string{"users-read"})
			base := []string{"token", "--issuer", f.URL, "--client-id", c.ID, "--client-secret", c.Secret}
			token := func(extra ...string) (string, error) { return runCLI(t, append(base, extra...)...) }

			out := mustCLI(t, append(base, "--username", "erin", "--password", "erin-password-1")...)
			require.Contains(t, out, `"scope": "users-read"`)
			f.Remember(out)

			_, err := token("--scope", "clients-write")
			require.ErrorContains(t, err, "HTTP 400, invalid_scope")

			other, _, err := newSecretFor(c.ID)
			require.NoError(t, err)
			_, err = runCLI(t, "token", "--issuer", f.URL, "--client-id", c.ID, "--client-secret", other)
			require.ErrorContains(t, err, "HTTP 401, invalid_client")

			_, err = runCLI(t, "groups", "list", "--issuer", f.URL, "--admin-client-id", c.ID, "--admin-client-secret", other)
			require.ErrorContains(t, err, "admin client: token request refused (HTTP 401, invalid_client)")

			_, err = token("--auth-method", "client_secret_post")
			require.ErrorContains(t, err, "invalid_client", "the style is not switched behind the user's back")

			_, err = token("--username", "erin", "--password", "wrong-password")
			require.ErrorContains(t, err, "HTTP 400, invalid_grant")
			require.NotContains(t, err.Error(), "invalid_client")

			// Failures beyond the free ones make the next attempt wait.
			var limited error
			for i := 0; i < 4 && limited == nil; i++ {
				if _, err = token("--username", "erin", "--password", "wrong-password"); !strings.Contains(err.Error(), "invalid_grant") {
					limited = err
				}
			}
			require.Error(t, limited)
			require.Contains(t, limited.Error(), "HTTP 429, temporarily_unavailable")
			require.Regexp(t, `Retry in \d+(m\d+)?s\.$`, limited.Error())
		})
	}
}

// Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{"Tue, 01 Dec 2026 10:01:30 GMT", 90 * time.Second, true},
		{"Tue, 01 Dec 2026 09:00:00 GMT", 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
	} {
		d, ok := retryAfter(tc.in, now)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, d, tc.in)
	}
}

// token, like the admin commands, reads the names the dev banner exports.
func TestTokenReadsTheCLIEnvironment(t *testing.T) {
	s := apptest.Start(t, apptest.Memory)
	owner := s.User("owner", "")
	c := s.Client("env-app", owner.ID, nil)
	t.Setenv(envIssuer, s.URL)
	t.Setenv(envClientID, c.ID)
	t.Setenv(envClientSecret, c.Secret)
	out := mustCLI(t, "token")
	require.Contains(t, out, `"access_token": "ey`)
	s.Remember(out)
	require.Equal(t, c.Wire(t)+"\n", mustCLI(t, "secret", "wire"))
}

// Misuse exits non-zero and says what is wrong.
func TestMisuseIsAnError(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"clients", "lst"}, `unknown command "lst" for "gatehouse clients"; did you mean "list"?`},
		{[]string{"groups"}, "gatehouse groups needs a subcommand: create, delete, get, list, members, resources, update"},
		{[]string{"groups", "members", "ad", "g", "u"}, `did you mean "add"?`},
		{[]string{"resources", "nope"}, `unknown command "nope"`},
		{[]string{"keys", "rotat"}, `did you mean "rotate"?`},
		{[]string{"users", "create", "--username", "x", "extra"}, `unknown command "extra"`},
		{[]string{"groups", "get"}, "accepts 1 arg(s), received 0"},
		{[]string{"groups", "update", "g", "--admin-client-id", "a", "--admin-client-secret", strings.Repeat("A", 43)}, errNoChange.Error()},
		{[]string{"clients", "delete"}, "give the admin client"},
		{[]string{"secret", "wire", "--client-id", "c", "--secret", ""}, "secret: is empty"},
		{[]string{"secret", "wire", "--client-id", "c", "--secret", "c2hvcnQ"}, "holds 5 bytes (7 characters), but S holds 32 bytes"},
		{[]string{"secret", "wire", "--client-id", "c", "--secret", "not base64!"}, "is not base64url"},
		{[]string{"token"}, "give the client with --client-id (or GATEHOUSE_CLI_CLIENT_ID)"},
		{[]string{"token", "--client-id", "c", "--client-secret", strings.Repeat("A", 43), "--auth-method", "basic"}, `auth-method: "basic"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			for _, v := range []string{envIssuer, envClientID, envClientSecret} {
				t.Setenv(v, "")
			}
			_, err := runCLI(t, tc.args...)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// groups and resources round trip through the management API, naming
// groups and users by name or id, and users create --group takes names.
func TestGroupsAndResources(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := newCLIFixture(t, s)
		res := decodeJSON(t, f.mustAdmin(t, "resources", "create", "--name", "reports-read", "--description", "Read reports"))
		require.Equal(t, "Read reports", res["description"])
		f.mustAdmin(t, "resources", "create", "--name", "reports-write")
		res = decodeJSON(t, f.mustAdmin(t, "resources", "update", "reports-read", "--description", "Read every report"))
		require.Equal(t, "Read every report", res["description"])
		require.Equal(t, "Read every report", decodeJSON(t, f.mustAdmin(t, "resources", "get", "reports-read"))["description"])
		require.Contains(t, f.mustAdmin(t, "resources", "list"), "reports-write")

		g := decodeJSON(t, f.mustAdmin(t, "groups", "create", "--name", "analysts", "--resource", "reports-read"))
		id := g["id"].(string)
		require.Equal(t, id, decodeJSON(t, f.mustAdmin(t, "groups", "get", "analysts"))["id"], "by name")
		require.Equal(t, "analysts", decodeJSON(t, f.mustAdmin(t, "groups", "get", id))["name"], "by id")
		g = decodeJSON(t, f.mustAdmin(t, "groups", "update", "analysts", "--description", "Reads reports"))
		require.Equal(t, "Reads reports", g["description"])
		f.mustAdmin(t, "groups", "resources", "grant", "analysts", "reports-write", "users-read")
		require.ElementsMatch(t, []any{"reports-read", "reports-write", "users-read"},
			decodeJSON(t, f.mustAdmin(t, "groups", "get", "analysts"))["resources"])
		f.mustAdmin(t, "groups", "resources", "revoke", id, "reports-write")
		require.ElementsMatch(t, []any{"reports-read", "users-read"},
			decodeJSON(t, f.mustAdmin(t, "groups", "get", "analysts"))["resources"])
		require.Regexp(t, `(?m)^`+id+`\s+analysts\s+false\s+reports-read,users-read`, f.mustAdmin(t, "groups", "list"))

		// users create --group by name; members by username or id.
		f.mustAdmin(t, "groups", "create", "--name", "auditors")
		u := decodeJSON(t, f.mustAdmin(t, "users", "create", "--username", "fay", "--group", "analysts,auditors"))
		bob := decodeJSON(t, f.mustAdmin(t, "users", "create", "--username", "bob"))
		require.Equal(t, u["id"], decodeJSON(t, f.mustAdmin(t, "users", "get", "fay"))["id"])
		f.mustAdmin(t, "groups", "members", "add", "analysts", "bob", "fay") // fay again: idempotent
		members := f.mustAdmin(t, "groups", "members", "list", "analysts")
		require.Contains(t, members, "fay")
		require.Contains(t, members, "bob")
		require.Contains(t, f.mustAdmin(t, "groups", "members", "list", "auditors"), "fay")
		f.mustAdmin(t, "groups", "members", "remove", "analysts", bob["id"].(string))
		require.NotContains(t, f.mustAdmin(t, "groups", "members", "list", "analysts"), "bob")

		// Names that do not exist, and refusals of the server, are errors.
		_, err := f.admin(t, "users", "create", "--username", "gil", "--group", "nobody")
		require.ErrorContains(t, err, `group: no group named "nobody"`)
		_, err = f.admin(t, "groups", "members", "add", "analysts", "nobody")
		require.ErrorContains(t, err, `no user named "nobody"`)
		_, err = f.admin(t, "groups", "create", "--name", "analysts")
		require.ErrorContains(t, err, "409")
		_, err = f.admin(t, "groups", "resources", "grant", "analysts", "no-such-resource")
		require.ErrorContains(t, err, "404")

		f.mustAdmin(t, "groups", "delete", "analysts")
		_, err = f.admin(t, "groups", "get", "analysts")
		require.ErrorContains(t, err, `no group named "analysts"`)
		f.mustAdmin(t, "resources", "delete", "reports-write")
		_, err = f.admin(t, "resources", "get", "reports-write")
		require.ErrorContains(t, err, "404")
	})
}

// clients create and update send the browser-flow fields of the
// management API (CONTRACT §6) and read them back.
func TestClientBrowserFields(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := newCLIFixture(t, s)
		// Without the new flags nothing new is sent: the server's defaults apply.
		plain := decodeJSON(t, f.mustAdmin(t, "clients", "create", "--name", "Plain", "--client-id", "plain"))
		require.NotEmpty(t, plain["client_secret"])

		out, err := f.admin(t, "clients", "create", "--name", "Web", "--client-id", "web",
			"--grant-type", "authorization_code,refresh_token",
			"--redirect-uri", "https://app.example/cb", "--redirect-uri", "http://127.0.0.1:9000/cb",
			"--post-logout-redirect-uri", "https://app.example/bye", "--require-pkce=false", "--skip-consent")
		require.NoError(t, err, out)
		web := decodeJSON(t, out)
		// The server keeps redirect URIs sorted.
		require.Equal(t, []any{"http://127.0.0.1:9000/cb", "https://app.example/cb"}, web["redirect_uris"])
		require.Equal(t, []any{"https://app.example/bye"}, web["post_logout_redirect_uris"])
		require.Equal(t, false, web["require_pkce"])
		require.Equal(t, true, web["skip_consent"])
		require.ElementsMatch(t, []any{"authorization_code", "refresh_token"}, web["grant_types"])

		web = decodeJSON(t, f.mustAdmin(t, "clients", "update", "web", "--require-pkce", "--redirect-uri", "https://app.example/cb2"))
		require.Equal(t, true, web["require_pkce"])
		require.Equal(t, []any{"https://app.example/cb2"}, web["redirect_uris"])
		require.Equal(t, true, web["skip_consent"], "fields not given are kept")
		require.Equal(t, true, decodeJSON(t, f.mustAdmin(t, "clients", "get", "plain"))["require_pkce"], "default true")
	})
}

// decodeJSON decodes a command's JSON output.
func decodeJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	return m
}

// contexts round trip through the management API: the tree, memberships
// in a context by group and user names, group inclusion, and the
// explanation of what a user holds there.
func TestContexts(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := newCLIFixture(t, s)
		c := decodeJSON(t, f.mustAdmin(t, "contexts", "create", "--id", "acct", "--name", "Account", "--kind", "account"))
		require.Equal(t, "account", c["kind"])
		f.mustAdmin(t, "contexts", "create", "--id", "acct.s1", "--name", "Space one", "--kind", "space", "--parent", "acct")
		f.mustAdmin(t, "contexts", "create", "--id", "other", "--name", "Other")
		require.Regexp(t, `(?m)^acct\.s1\s+Space one\s+space\s+acct`, f.mustAdmin(t, "contexts", "list", "--parent", "acct"))
		top := f.mustAdmin(t, "contexts", "list")
		require.Regexp(t, `(?m)^acct\s.*\s-$`, top, "a context at the top has no parent, shown as -")
		require.NotContains(t, top, "<nil>")
		c = decodeJSON(t, f.mustAdmin(t, "contexts", "update", "acct.s1", "--name", "Space 1"))
		require.Equal(t, "Space 1", c["name"])

		f.mustAdmin(t, "groups", "create", "--name", "viewer", "--resource", "users-read", "--managed-by", "groups-write")
		g := decodeJSON(t, f.mustAdmin(t, "groups", "create", "--name", "editor", "--resource", "users-write", "--include", "viewer"))
		require.Len(t, g["includes"], 1)
		require.Equal(t, "groups-write", decodeJSON(t, f.mustAdmin(t, "groups", "get", "viewer"))["managed_by"])
		f.mustAdmin(t, "users", "create", "--username", "ann")
		f.mustAdmin(t, "contexts", "join", "acct", "editor", "ann")

		members := f.mustAdmin(t, "contexts", "members", "acct.s1")
		require.Contains(t, members, `"username": "ann"`)
		explained := decodeJSON(t, f.mustAdmin(t, "contexts", "explain", "acct.s1", "ann"))
		items := explained["items"].([]any)
		require.Len(t, items, 2)
		read := items[0].(map[string]any)
		require.Equal(t, "users-read", read["name"])
		chain := read["paths"].([]any)[0].(map[string]any)["groups"].([]any)
		require.Equal(t, "viewer", chain[1].(map[string]any)["name"], "through editor, which includes viewer")

		_, err := f.admin(t, "contexts", "delete", "acct")
		require.ErrorContains(t, err, "409")
		f.mustAdmin(t, "contexts", "leave", "acct", "editor", "ann")
		require.NotContains(t, f.mustAdmin(t, "contexts", "members", "acct"), "ann")
		f.mustAdmin(t, "contexts", "delete", "acct.s1")
		f.mustAdmin(t, "contexts", "delete", "acct")
		_, err = f.admin(t, "contexts", "get", "acct")
		require.ErrorContains(t, err, "404")
	})
}

// A secret given in the environment is never printed: not as a flag's
// default in --help, nor in a usage error.
func TestSecretsNotInHelp(t *testing.T) {
	const secret = "s3cr3t-from-the-environment"
	t.Setenv(envClientSecret, secret)
	for _, args := range [][]string{
		{"users", "list", "--help"}, {"contexts", "create", "--help"}, {"token", "--help"},
		{"secret", "wire", "--help"}, {"users", "list", "--no-such-flag"},
	} {
		out, _ := runCLI(t, args...)
		require.NotContains(t, out, secret, "%v", args)
		if args[len(args)-1] == "--help" {
			require.Contains(t, out, "$"+envClientSecret, "%v: the help names where the secret comes from", args)
		}
	}
}

package admin_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// Malformed query parameters and path variables answer 400 naming the
// field, or 404, on every backend: never 500. NUL bytes and invalid UTF-8
// matter most, because PostgreSQL text rejects them.
func TestMalformedQueryAndPath(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	q := func(path, name, value string) string { return path + "?" + name + "=" + url.QueryEscape(value) }
	long := strings.Repeat("a", 5000)
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		admins, err := s.Store.GetGroupByName(context.Background(), storage.DefaultRealm, storage.AdministratorsGroup)
		require.NoError(t, err)
		g := admins.ID
		// Self-service needs a token with some admin resource to reach
		// the client routes at all (a token with none is refused first).
		_, userToken := f.tokenFor("plain", "users-read")
		type tc struct {
			method, path string
			status       int
			field        string // for 400
		}
		var cases []tc
		for _, list := range []string{"/admin/users", "/admin/groups", "/admin/clients", "/admin/resources", "/admin/languages", "/admin/audit", "/admin/groups/" + g + "/members"} {
			for _, c := range []string{"!!!", "a=b", "%", b64("\x00"), b64("a\x00b"), b64("\xff\xfe"), "\x00", long} {
				cases = append(cases, tc{http.MethodGet, q(list, "cursor", c), 400, "cursor"})
			}
			for _, l := range []string{"0", "-1", "501", "x", "99999999999999999999999", "\x00"} {
				cases = append(cases, tc{http.MethodGet, q(list, "limit", l), 400, "limit"})
			}
		}
		for _, c := range []string{b64("x"), b64("-5"), b64("0"), b64("99999999999999999999999"), b64("1\x00")} {
			cases = append(cases, tc{http.MethodGet, q("/admin/audit", "cursor", c), 400, "cursor"})
		}
		for _, bad := range []string{"\x00", "a\x00b", "\xff\xfe", "a\nb", long} {
			for _, p := range []struct{ path, name string }{
				{"/admin/users", "username"}, {"/admin/users", "email"}, {"/admin/audit", "actor"}, {"/admin/audit", "target"},
			} {
				cases = append(cases, tc{http.MethodGet, q(p.path, p.name, bad), 400, p.name})
			}
			for _, p := range []struct{ path, name string }{
				{"/admin/users", "group"}, {"/admin/users", "status"}, {"/admin/clients", "owner"},
				{"/admin/audit", "since"}, {"/admin/audit", "until"},
			} {
				cases = append(cases, tc{http.MethodGet, q(p.path, p.name, bad), 400, p.name})
			}
		}
		for _, id := range []string{"%00", "a%00b", "%FF%FE", long, "00000000-0000-0000-0000-00000000000%00"} {
			for _, p := range []string{
				"/admin/users/%s", "/admin/users/%s/resources", "/admin/users/%s/groups", "/admin/groups/%s",
				"/admin/groups/%s/members", "/admin/clients/%s", "/admin/clients/%s/secrets",
				"/admin/resources/%s", "/admin/languages/%s", "/admin/me/clients/%s", "/admin/me/clients/%s/secrets",
			} {
				for _, m := range []string{http.MethodGet, http.MethodDelete} {
					cases = append(cases, tc{m, strings.Replace(p, "%s", id, 1), 404, ""})
				}
			}
			cases = append(cases,
				tc{http.MethodPut, "/admin/groups/" + g + "/resources/" + id, 404, ""},
				tc{http.MethodPut, "/admin/groups/" + g + "/members/" + id, 404, ""},
				tc{http.MethodDelete, "/admin/clients/admin-cli/secrets/" + id, 404, ""},
			)
		}
		for _, c := range cases {
			tok := f.adminToken
			if strings.HasPrefix(c.path, "/admin/me/") {
				tok = userToken
			}
			r := f.call(c.method, c.path, tok, nil)
			if c.status == 400 {
				require.Equal(t, 400, r.Status, "%s %q: %s", c.method, c.path, r.Raw)
				requireProblem(t, r, 400, "invalid-field")
				require.Equal(t, c.field, r.Str("field"), "%s %q: %s", c.method, c.path, r.Raw)
				continue
			}
			require.Equal(t, c.status, r.Status, "%s %q: %s", c.method, c.path, r.Raw)
			require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), r.Raw)
		}
	})
}

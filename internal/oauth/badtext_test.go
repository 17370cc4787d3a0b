package oauth_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

// Client ids, usernames and tokens holding NUL bytes or invalid UTF-8,
// which PostgreSQL text rejects, are unknown ones on every backend: the
// RFC 6749 error of an unknown client or user, or prelogin's made-up
// answer, never a 500.
func TestTokenEndpointsBadText(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "owner-password-1", e.Group("g", "users-read").ID)
		c := e.Client("app", owner.ID, []string{"users-read"})
		w := c.Wire(t)
		basic := func(id, secret string) string {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
		}
		good := basic("app", w)
		anyW := strings.Repeat("A", 43)
		for _, bad := range []string{"\x00", "app\x00", "\xff\xfe", "a\x00\xff", strings.Repeat("x", 4000)} {
			v := url.QueryEscape(bad)
			cases := []struct {
				name, path, auth, body string
				status                 int
				oauthError             string
			}{
				{"basic client_id", oauth.PathToken, basic(bad, w), "grant_type=client_credentials", 401, "invalid_client"},
				{"basic secret", oauth.PathToken, basic("app", bad), "grant_type=client_credentials", 401, "invalid_client"},
				{"post client_id", oauth.PathToken, "", "grant_type=client_credentials&client_id=" + v + "&client_secret=" + w, 401, "invalid_client"},
				{"username", oauth.PathToken, good, "grant_type=password&username=" + v + "&password=" + anyW, 400, "invalid_grant"},
				{"refresh token", oauth.PathToken, good, "grant_type=refresh_token&refresh_token=" + v, 400, "invalid_grant"},
				{"introspect", oauth.PathIntrospect, good, "token=" + v, 200, ""},
				{"revoke", oauth.PathRevoke, good, "token=" + v, 200, ""},
				{"prelogin", oauth.PathPrelogin, "", "username=" + v, 200, ""},
			}
			for _, tc := range cases {
				if tc.name == "prelogin" && len(bad) > 256 {
					tc.status, tc.oauthError = 400, "invalid_request"
				}
				req, err := http.NewRequest(http.MethodPost, e.URL+tc.path, strings.NewReader(tc.body))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tc.auth != "" {
					req.Header.Set("Authorization", tc.auth)
				}
				r := e.Do(req)
				require.Equal(t, tc.status, r.Status, "%s %q: %s", tc.name, bad, r.Raw)
				require.Equal(t, tc.oauthError, r.Str("error"), "%s %q: %s", tc.name, bad, r.Raw)
			}
		}
	})
}

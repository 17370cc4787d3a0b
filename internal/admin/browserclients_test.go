package admin_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
)

// stringsOf returns a JSON array member of a response as strings.
func stringsOf(t *testing.T, r apptest.Response, key string) []string {
	t.Helper()
	raw, ok := r.Body[key].([]any)
	require.True(t, ok, "%s is an array: %s", key, r.Raw)
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i] = v.(string)
	}
	return out
}

// The registration fields of the authorization code flow: defaults that
// are the safe kind, round trips sorted, and changes through PATCH.
func TestClientBrowserFields(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		tok := f.adminToken

		r := f.call(http.MethodPost, "/admin/clients", tok, map[string]any{"name": "Service", "client_id": "svc"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, true, r.Body["require_pkce"], "PKCE is required unless said otherwise")
		require.Equal(t, false, r.Body["skip_consent"], "third-party unless said otherwise")
		require.Empty(t, stringsOf(t, r, "redirect_uris"))
		require.Empty(t, stringsOf(t, r, "post_logout_redirect_uris"))

		r = f.call(http.MethodPost, "/admin/clients", tok, map[string]any{
			"name": "Web", "client_id": "web", "grant_types": []string{"authorization_code", "refresh_token"},
			"redirect_uris":             []string{"https://app.example/cb", "com.example.app:/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost/cb?x=1"},
			"post_logout_redirect_uris": []string{"https://app.example/bye"},
			"require_pkce":              false, "skip_consent": true,
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		want := []string{"com.example.app:/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost/cb?x=1", "https://app.example/cb"}
		require.Equal(t, want, stringsOf(t, r, "redirect_uris"), "sorted")
		require.Equal(t, []string{"https://app.example/bye"}, stringsOf(t, r, "post_logout_redirect_uris"))
		require.Equal(t, false, r.Body["require_pkce"])
		require.Equal(t, true, r.Body["skip_consent"])
		require.Equal(t, []string{"authorization_code", "refresh_token"}, stringsOf(t, r, "grant_types"))

		r = f.call(http.MethodGet, "/admin/clients/web", tok, nil)
		require.Equal(t, want, stringsOf(t, r, "redirect_uris"))
		r = f.call(http.MethodPatch, "/admin/clients/web", tok, map[string]any{
			"redirect_uris": []string{"https://new.example/cb"}, "post_logout_redirect_uris": []string{}, "require_pkce": true, "skip_consent": false,
		})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, []string{"https://new.example/cb"}, stringsOf(t, r, "redirect_uris"))
		require.Empty(t, stringsOf(t, r, "post_logout_redirect_uris"))
		require.Equal(t, true, r.Body["require_pkce"])
		require.Equal(t, false, r.Body["skip_consent"])
		r = f.call(http.MethodPatch, "/admin/clients/web", tok, map[string]any{"name": "Web 2"})
		require.Equal(t, []string{"https://new.example/cb"}, stringsOf(t, r, "redirect_uris"), "fields not given do not change")
	})
}

func TestClientRedirectURIValidation(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		many := make([]string, 21)
		for i := range many {
			many[i] = "https://app.example/cb" + strconv.Itoa(i)
		}
		bad := []struct {
			name string
			uris []string
		}{
			{"relative", []string{"/callback"}},
			{"no scheme", []string{"app.example/cb"}},
			{"empty", []string{""}},
			{"fragment", []string{"https://app.example/cb#frag"}},
			{"empty fragment", []string{"https://app.example/cb#"}},
			{"userinfo", []string{"https://user@app.example/cb"}},
			{"userinfo with password", []string{"https://trusted.example:pw@evil.example/cb"}},
			{"http to a public host", []string{"http://app.example/cb"}},
			{"http to a private address", []string{"http://10.0.0.1/cb"}},
			{"http to a loopback look-alike", []string{"http://localhost.evil.example/cb"}},
			{"https without host", []string{"https:///cb"}},
			{"javascript", []string{"javascript:alert(1)"}},
			{"javascript upper case", []string{"JavaScript:alert(1)"}},
			{"data", []string{"data:text/html,<script>alert(1)</script>"}},
			{"file", []string{"file:///etc/passwd"}},
			{"vbscript", []string{"vbscript:msgbox"}},
			{"custom scheme without period", []string{"myapp:/cb"}},
			{"space", []string{"https://app.example/c b"}},
			{"control character", []string{"https://app.example/cb\n"}},
			{"non-ASCII", []string{"https://app.example/ç"}},
			{"too long", []string{"https://app.example/" + strings.Repeat("a", 2000)}},
			{"duplicate", []string{"https://app.example/cb", "https://app.example/cb"}},
			{"too many", many},
		}
		for _, field := range []string{"redirect_uris", "post_logout_redirect_uris"} {
			for i, tc := range bad {
				body := map[string]any{"name": "x", "client_id": "bad-" + strconv.Itoa(i), field: tc.uris}
				r := f.call(http.MethodPost, "/admin/clients", f.adminToken, body)
				requireProblem(t, r, http.StatusBadRequest, "invalid-field")
				require.Equal(t, field, r.Str("field"), tc.name)
				if len(tc.uris) == 1 && tc.uris[0] != "" {
					require.NotContains(t, r.Raw, tc.uris[0], "the detail does not echo the URI: %s", tc.name)
				}
			}
		}
		r := f.call(http.MethodPost, "/admin/clients", f.adminToken, map[string]any{"name": "x", "redirect_uris": "https://a.example/cb"})
		requireProblem(t, r, http.StatusBadRequest, "invalid-field")
		r = f.call(http.MethodPost, "/admin/clients", f.adminToken, map[string]any{"name": "x", "require_pkce": "yes"})
		requireProblem(t, r, http.StatusBadRequest, "invalid-field")
		r = f.call(http.MethodPost, "/admin/clients", f.adminToken, map[string]any{"name": "x", "grant_types": []string{"implicit"}})
		requireProblem(t, r, http.StatusBadRequest, "invalid-field")
		require.Equal(t, "grant_types", r.Str("field"))
	})
}

// Rules over the client as a whole: the authorization code flow needs a
// redirect URI, and a public client needs PKCE but may use the code flow
// and refresh tokens.
func TestClientBrowserRules(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		tok := f.adminToken
		cb := []string{"https://app.example/cb"}
		tests := []struct {
			name   string
			body   map[string]any
			status int
			field  string
		}{
			{"code flow without redirect URI", map[string]any{"grant_types": []string{"authorization_code"}}, 422, "redirect_uris"},
			{"code flow with empty redirect URIs", map[string]any{"grant_types": []string{"authorization_code"}, "redirect_uris": []string{}}, 422, "redirect_uris"},
			{"public code flow and refresh", map[string]any{"token_endpoint_auth_method": "none",
				"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": cb}, 201, ""},
			{"public without PKCE", map[string]any{"token_endpoint_auth_method": "none",
				"grant_types": []string{"authorization_code"}, "redirect_uris": cb, "require_pkce": false}, 422, "require_pkce"},
			{"public client credentials", map[string]any{"token_endpoint_auth_method": "none", "grant_types": []string{"client_credentials"}}, 422, "grant_types"},
			{"confidential without PKCE", map[string]any{"grant_types": []string{"authorization_code"}, "redirect_uris": cb, "require_pkce": false}, 201, ""},
			{"redirect URIs without the code flow", map[string]any{"redirect_uris": cb}, 201, ""},
		}
		for i, tc := range tests {
			tc.body["name"], tc.body["client_id"] = tc.name, "rule-"+strconv.Itoa(i)
			r := f.call(http.MethodPost, "/admin/clients", tok, tc.body)
			if tc.status != 201 {
				requireProblem(t, r, tc.status, "invalid-client")
				require.Equal(t, tc.field, r.Str("field"), tc.name)
				continue
			}
			require.Equal(t, tc.status, r.Status, "%s: %s", tc.name, r.Raw)
		}

		// The same rules hold for a change, against the client it makes.
		r := f.call(http.MethodPost, "/admin/clients", tok, map[string]any{"name": "legacy", "client_id": "legacy",
			"grant_types": []string{"authorization_code"}, "redirect_uris": cb, "require_pkce": false})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		r = f.call(http.MethodPatch, "/admin/clients/legacy", tok, map[string]any{"token_endpoint_auth_method": "none"})
		requireProblem(t, r, 422, "invalid-client")
		require.Equal(t, "require_pkce", r.Str("field"))
		r = f.call(http.MethodPatch, "/admin/clients/legacy", tok, map[string]any{"redirect_uris": []string{}})
		requireProblem(t, r, 422, "invalid-client")
		require.Equal(t, "redirect_uris", r.Str("field"))
		r = f.call(http.MethodPatch, "/admin/clients/legacy", tok, map[string]any{"token_endpoint_auth_method": "none", "require_pkce": true})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
	})
}

// Marking a client first-party is an administrator's decision: in
// self-service it would let any user register an application that takes
// the resources of whoever signs in through it, unasked.
func TestSelfServiceCannotSkipConsent(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		_, tok := f.tokenFor("maker", "users-read")
		body := map[string]any{"name": "mine", "client_id": "mine", "grant_types": []string{"authorization_code"},
			"redirect_uris": []string{"https://mine.example/cb"}, "skip_consent": true}
		r := f.call(http.MethodPost, "/admin/me/clients", tok, body)
		requireProblem(t, r, http.StatusForbidden, "first-party-admin-only")
		require.Equal(t, "skip_consent", r.Str("field"))
		body["skip_consent"] = false
		r = f.call(http.MethodPost, "/admin/me/clients", tok, body)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		requireProblem(t, f.call(http.MethodPatch, "/admin/me/clients/mine", tok, map[string]any{"skip_consent": true}),
			http.StatusForbidden, "first-party-admin-only")
		require.Equal(t, http.StatusOK, f.call(http.MethodPatch, "/admin/me/clients/mine", tok, map[string]any{"skip_consent": false}).Status)
		r = f.call(http.MethodPatch, "/admin/clients/mine", f.adminToken, map[string]any{"skip_consent": true})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, true, r.Body["skip_consent"])
	})
}

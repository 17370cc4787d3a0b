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

// Every malformed request gets the right RFC 6749 error, never a 500.
func TestTokenEndpointBadInput(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "", e.Group("g", "users-read").ID)
		c := e.Client("app", owner.ID, []string{"users-read"})
		w := c.Wire(t)
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("app:"+w))

		cases := []struct {
			name       string
			method     string
			query      string
			ctype      string
			auth       string
			body       string
			wantStatus int
			wantError  string
		}{
			{"GET", http.MethodGet, "", "", basic, "", http.StatusMethodNotAllowed, "invalid_request"},
			{"no grant_type", "", "", "", basic, "scope=users-read", 400, "invalid_request"},
			{"unknown grant", "", "", "", basic, "grant_type=urn:x", 400, "unsupported_grant_type"},
			{"authorization_code, client not registered for it", "", "", "", basic, "grant_type=authorization_code&code=x", 400, "unauthorized_client"},
			{"duplicated grant_type", "", "", "", basic, "grant_type=client_credentials&grant_type=client_credentials", 400, "invalid_request"},
			{"duplicated scope", "", "", "", basic, "grant_type=client_credentials&scope=a&scope=b", 400, "invalid_request"},
			{"params in query", "", "grant_type=client_credentials", "", basic, "grant_type=client_credentials", 400, "invalid_request"},
			{"JSON body", "", "", "application/json", basic, `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
			{"no client auth", "", "", "", "", "grant_type=client_credentials", 401, "invalid_client"},
			{"malformed basic", "", "", "", "Basic !!!", "grant_type=client_credentials", 401, "invalid_client"},
			{"basic without colon", "", "", "", "Basic " + base64.StdEncoding.EncodeToString([]byte("app")), "grant_type=client_credentials", 401, "invalid_client"},
			{"wrong secret", "", "", "", "Basic " + base64.StdEncoding.EncodeToString([]byte("app:"+strings.Repeat("A", 43))), "grant_type=client_credentials", 401, "invalid_client"},
			{"raw secret instead of W", "", "", "", "Basic " + base64.StdEncoding.EncodeToString([]byte("app:"+c.Secret)), "grant_type=client_credentials", 401, "invalid_client"},
			{"basic and post at once", "", "", "", basic, "grant_type=client_credentials&client_id=app&client_secret=" + w, 400, "invalid_request"},
			{"basic id differs from form", "", "", "", basic, "grant_type=client_credentials&client_id=other", 400, "invalid_request"},
			{"access token as refresh token", "", "", "", basic, "grant_type=refresh_token&refresh_token=eyJhbGciOiJFUzI1NiJ9.e30.sig", 400, "invalid_grant"},
			{"missing refresh token", "", "", "", basic, "grant_type=refresh_token", 400, "invalid_request"},
			{"oversized body", "", "", "", basic, "grant_type=client_credentials&scope=" + strings.Repeat("a", 70<<10), 413, "invalid_request"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				method := tc.method
				if method == "" {
					method = http.MethodPost
				}
				u := e.URL + oauth.PathToken
				if tc.query != "" {
					u += "?" + tc.query
				}
				req, err := http.NewRequest(method, u, strings.NewReader(tc.body))
				require.NoError(t, err)
				ctype := tc.ctype
				if ctype == "" {
					ctype = "application/x-www-form-urlencoded"
				}
				req.Header.Set("Content-Type", ctype)
				if tc.auth != "" {
					req.Header.Set("Authorization", tc.auth)
				}
				r := e.Do(req)
				require.Equal(t, tc.wantStatus, r.Status, r.Raw)
				require.Equal(t, tc.wantError, r.Str("error"), r.Raw)
				require.NotEmpty(t, r.Str("error_description"))
				require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
				require.NotContains(t, r.Raw, w)
			})
		}

		// A client_id that needs form-encoding in Basic, as RFC 6749 §2.3.1
		// and real client libraries do it.
		odd := e.Client("svc:reports/v2", owner.ID, []string{"users-read"})
		e.Token(&odd, url.Values{"grant_type": {"client_credentials"}})
		req, err := http.NewRequest(http.MethodPost, e.URL+oauth.PathToken, strings.NewReader("grant_type=client_credentials"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(odd.ID), strings.ReplaceAll(url.QueryEscape(odd.Wire(t)), "-", "%2D"))
		require.Equal(t, http.StatusOK, e.Do(req).Status)
	})
}

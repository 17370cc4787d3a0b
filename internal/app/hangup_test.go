package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
)

// A client that hangs up mid-request makes its storage calls fail on the
// cancelled context. That is not a server failure: it must not be logged
// as an error (a load balancer's health of alerts depends on it).
func TestClientHangUpIsNotAnError(t *testing.T) {
	e := apptest.Start(t, apptest.Real)
	owner := e.User("owner", "", e.Group("g", "users-read").ID)
	c := e.Client("app", owner.ID, []string{"users-read"})
	token := e.Token(&c, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")
	r := mux.NewRouter()
	e.App.Register(r)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range []string{"/oauth2/token", "/admin/users"} {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, e.URL+path,
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ID, c.Wire(t))
		if path != "/oauth2/token" {
			req = httptest.NewRequestWithContext(ctx, http.MethodGet, e.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		require.GreaterOrEqual(t, rec.Code, 400, path)
	}
	require.Contains(t, e.Logs.String(), "context canceled", "the requests did fail on their context")
	require.NotContains(t, e.Logs.String(), `"level":"ERROR"`)
	require.NotContains(t, e.Logs.String(), `"level":"WARN"`)
}

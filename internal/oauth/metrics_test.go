package oauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/telemetry"
)

// Every answer of the token endpoint is counted once, by grant and
// outcome; what the client made up never becomes a label value.
func TestTokenAnswersAreCounted(t *testing.T) {
	m := telemetry.NewMetrics()
	e := apptest.Start(t, apptest.Memory, func(o *app.Options) { o.Metrics = m })
	owner := e.User("owner", "", e.Group("readers", "users-read").ID)
	c := e.Client("svc:metrics", owner.ID, []string{"users-read"})
	tokenURL := e.URL + oauth.PathToken

	_, err := (&clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Wire(t), TokenURL: tokenURL,
		AuthStyle: oauth2.AuthStyleInHeader}).Token(context.Background())
	require.NoError(t, err)
	_, err = (&clientcredentials.Config{ClientID: c.ID, ClientSecret: strings.Repeat("A", 43), TokenURL: tokenURL,
		AuthStyle: oauth2.AuthStyleInHeader}).Token(context.Background())
	require.ErrorContains(t, err, "invalid_client")
	for _, grant := range []string{"urn:evil:alice", ""} {
		res, err := http.PostForm(tokenURL, url.Values{"grant_type": {grant}})
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
	}
	res, err := http.Get(tokenURL)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	counted := map[string]string{}
	for _, l := range regexp.MustCompile(`(?m)^gatehouse_tokens_issued_total(\{.*\}) (\S+)$`).FindAllStringSubmatch(string(body), -1) {
		if l[2] != "0" {
			counted[l[1]] = l[2]
		}
	}
	require.Equal(t, map[string]string{
		`{grant="client_credentials",outcome="issued"}`:         "1",
		`{grant="client_credentials",outcome="invalid_client"}`: "1",
		`{grant="other",outcome="unsupported_grant_type"}`:      "1",
		`{grant="other",outcome="invalid_request"}`:             "2",
	}, counted)
	require.NotContains(t, string(body), "evil")
}

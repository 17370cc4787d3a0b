package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
)

// Bad input at the browser endpoints: every request gets a clear answer —
// a page when the client or redirect URI cannot be trusted, an error
// redirect otherwise, RFC 6749 errors at the token endpoint — never a 5xx,
// never a redirect to anything but the registered URI.
func TestBrowserEndpointsBadInput(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		c := newCertEnv(t, e)
		ctx := context.Background()
		base := func() url.Values {
			u, _ := url.Parse(c.authURL("st"))
			return u.Query()
		}
		with := func(k, v string) string {
			q := base()
			q.Set(k, v)
			return e.URL + "/oauth2/authorize?" + q.Encode()
		}

		t.Run("authorize", func(t *testing.T) {
			for _, tc := range []struct {
				name, url string
				page      int    // expected page status, 0 for an error redirect
				code      string // expected redirect error
			}{
				{"malformed query", e.URL + "/oauth2/authorize?client_id=%zz", http.StatusBadRequest, ""},
				{"oversized parameter", with("login_hint", strings.Repeat("a", 5000)), http.StatusBadRequest, ""},
				{"oversized id_token_hint", with("id_token_hint", strings.Repeat("a", 9000)), http.StatusBadRequest, ""},
				{"redirect_uri with a fragment", with("redirect_uri", rpRedirect+"#x"), http.StatusBadRequest, ""},
				{"redirect_uri differing in case", with("redirect_uri", strings.ToUpper(rpRedirect)), http.StatusBadRequest, ""},
				{"redirect_uri with extra query", with("redirect_uri", rpRedirect+"?next=https://evil.example"), http.StatusBadRequest, ""},
				{"negative max_age", with("max_age", "-1"), 0, "invalid_request"},
				{"max_age not a number", with("max_age", "soon"), 0, "invalid_request"},
				{"unknown prompt", with("prompt", "maybe"), 0, "invalid_request"},
				{"prompt none with login", with("prompt", "none login"), 0, "invalid_request"},
				{"short code_challenge", with("code_challenge", "abc"), 0, "invalid_request"},
				{"code_challenge not base64url", with("code_challenge", strings.Repeat("+", 43)), 0, "invalid_request"},
				{"oversized nonce", with("nonce", strings.Repeat("n", 600)), 0, "invalid_request"},
				{"response_mode fragment", with("response_mode", "fragment"), 0, "invalid_request"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					p := c.b.Visit(tc.url)
					if tc.page != 0 {
						errorPage(t, p, tc.page)
						return
					}
					redirectError(t, e, p, tc.code, "st")
				})
			}
			req, _ := http.NewRequest(http.MethodPut, c.authURL("st"), nil)
			res := e.Do(req)
			require.Equal(t, http.StatusMethodNotAllowed, res.Status)
		})

		t.Run("oversized state is not echoed", func(t *testing.T) {
			p := c.b.Visit(with("state", strings.Repeat("s", 3000)))
			require.NotNil(t, p.Location)
			require.Equal(t, "invalid_request", p.Location.Query().Get("error"))
			require.False(t, p.Location.Query().Has("state"))
		})

		t.Run("token endpoint", func(t *testing.T) {
			code := codeFrom(t, e, c.b.Visit(c.authURL("st")), "st")
			post := func(form url.Values) apptest.Response {
				form.Set("grant_type", "authorization_code")
				form.Set("client_id", c.client.ID)
				form.Set("redirect_uri", rpRedirect)
				return e.Post("/oauth2/token", nil, form)
			}
			for _, tc := range []struct {
				name string
				form url.Values
				code string
			}{
				{"no code", url.Values{"code_verifier": {c.verifier}}, "invalid_request"},
				{"not a code", url.Values{"code": {"abc"}, "code_verifier": {c.verifier}}, "invalid_grant"},
				{"tampered code", url.Values{"code": {code[:len(code)-2] + "AA"}, "code_verifier": {c.verifier}}, "invalid_grant"},
				{"verifier too short", url.Values{"code": {code}, "code_verifier": {"short"}}, "invalid_request"},
				{"verifier with bad characters", url.Values{"code": {code}, "code_verifier": {strings.Repeat("é", 30)}}, "invalid_request"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := post(tc.form)
					require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
					require.Equal(t, tc.code, r.Str("error"), r.Raw)
				})
			}
			// None of that spent the code.
			tok, err := c.rp.config.Exchange(ctx, code, oauth2.VerifierOption(c.verifier))
			require.NoError(t, err)
			e.Remember(tok.AccessToken, tok.RefreshToken)
		})

		t.Run("tampered cookies", func(t *testing.T) {
			b := e.Browser()
			login := b.Visit(c.authURL("st"))
			require.Equal(t, "/login", login.URL.Path)
			// Another browser with the page URL but not the binding cookie.
			stranger := e.Browser().Visit(login.URL.String())
			require.Equal(t, http.StatusBadRequest, stranger.Status)
			// A forged session cookie is no session.
			req, _ := http.NewRequest(http.MethodGet, c.authURL("st", "prompt", "none"), nil)
			req.AddCookie(&http.Cookie{Name: "gatehouse-session", Value: strings.Repeat("A", 43)})
			res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			require.NoError(t, err)
			res.Body.Close()
			loc, err := url.Parse(res.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, "login_required", loc.Query().Get("error"))
		})

		t.Run("replayed consent form", func(t *testing.T) {
			other, _ := newRP(t, e, c.alice.ID, []string{"users-read"})
			q := base()
			q.Set("client_id", other.config.ClientID)
			consent := c.b.Visit(e.URL + "/oauth2/authorize?" + q.Encode())
			require.Equal(t, "/consent", consent.URL.Path)
			codeFrom(t, e, c.b.Consent(consent, "allow"), "st")
			again := c.b.Consent(consent, "allow")
			require.Equal(t, http.StatusBadRequest, again.Status, "a consent form is answered once")
			require.Nil(t, again.Location)
		})

		t.Run("logout", func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				query url.Values
			}{
				{"garbage id_token_hint", url.Values{"id_token_hint": {"garbage"}}},
				{"unregistered post_logout_redirect_uri", url.Values{"client_id": {c.client.ID}, "post_logout_redirect_uri": {"https://evil.example/"}}},
				{"post_logout_redirect_uri without a client", url.Values{"post_logout_redirect_uri": {"https://rp.example/bye"}}},
				{"hint of another client", url.Values{"id_token_hint": {c.idToken}, "client_id": {"someone-else"}}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					errorPage(t, c.b.Visit(e.URL+"/oauth2/logout?"+tc.query.Encode()), http.StatusBadRequest)
				})
			}
			req, _ := http.NewRequest(http.MethodDelete, e.URL+"/oauth2/logout", nil)
			require.Equal(t, http.StatusMethodNotAllowed, e.Do(req).Status)
		})
	})
}

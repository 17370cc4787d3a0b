package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// The example protects /reports with real Gatehouse tokens, on every
// backend: the scope lets a token in, its absence is 403, and a token that
// is tampered with, expired, of another issuer or not an access token is 401.
func TestResourceServer(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		_, err := s.Store.CreateResource(ctx, apptest.System, storage.DefaultRealm,
			storage.Resource{Name: "reports-read", Description: "Read reports"})
		require.NoError(t, err)
		g := s.Group("analysts", "reports-read", "users-read")
		owner := s.User("owner", "", g.ID)
		c := s.Client("reports-app", owner.ID, []string{"reports-read", "users-read"})
		token := func(scope string) string {
			return s.Token(&c, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}).Str("access_token")
		}
		withScope, withoutScope := token("reports-read users-read"), token("users-read")

		// A second Gatehouse: its tokens are well formed but not ours.
		other := apptest.Start(t, apptest.Memory)
		otherOwner := other.User("owner", "")
		oc := other.Client("reports-app", otherOwner.ID, nil)
		foreign := other.Token(&oc, url.Values{"grant_type": {"client_credentials"}}).Str("access_token")

		// Tokens signed by the issuer's own key but otherwise wrong: typed
		// as an ID token, or naming another issuer or audience.
		keep := func(map[string]any) {}
		idTyped := resign(t, s, withScope, "JWT", keep)
		otherIss := resign(t, s, withScope, "at+jwt", func(c map[string]any) { c["iss"] = "https://evil.example" })
		otherAud := resign(t, s, withScope, "at+jwt", func(c map[string]any) { c["aud"] = "https://other-api.example" })
		resigned := resign(t, s, withScope, "application/at+jwt", keep)

		// The clock the resource server reads: the server's, moved on to
		// test expiry without waiting.
		later := time.Duration(0)
		v, err := NewVerifier(ctx, s.URL, s.URL, func() time.Time { return s.Clock.Now().Add(later) })
		require.NoError(t, err)
		h := Protect(v, "reports-read", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("reports for " + Subject(r.Context())))
		}))
		get := func(auth string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, "/reports", nil)
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		invalid := `Bearer realm="reports", error="invalid_token"`

		for _, tc := range []struct {
			name, auth string
			status     int
			challenge  string
		}{
			{"with the scope", "Bearer " + withScope, http.StatusOK, ""},
			{"without the scope", "Bearer " + withoutScope, http.StatusForbidden,
				`Bearer realm="reports", error="insufficient_scope", scope="reports-read"`},
			{"no token", "", http.StatusUnauthorized, `Bearer realm="reports"`},
			{"not bearer", "Basic " + withScope, http.StatusUnauthorized, `Bearer realm="reports"`},
			{"tampered payload", "Bearer " + tamper(t, withoutScope, withScope), http.StatusUnauthorized, invalid},
			{"tampered signature", "Bearer " + withScope[:len(withScope)-4] + "AAAA", http.StatusUnauthorized, invalid},
			{"re-signed as issued, typ application/at+jwt", "Bearer " + resigned, http.StatusOK, ""},
			{"another Gatehouse", "Bearer " + foreign, http.StatusUnauthorized, invalid},
			{"another iss", "Bearer " + otherIss, http.StatusUnauthorized, invalid},
			{"another aud", "Bearer " + otherAud, http.StatusUnauthorized, invalid},
			{"typ JWT", "Bearer " + idTyped, http.StatusUnauthorized, invalid},
			{"garbage", "Bearer not.a.token", http.StatusUnauthorized, invalid},
		} {
			w := get(tc.auth)
			require.Equal(t, tc.status, w.Code, "%s: %s", tc.name, w.Body)
			require.Equal(t, tc.challenge, w.Header().Get("WWW-Authenticate"), tc.name)
			if tc.status == http.StatusOK {
				require.Equal(t, "reports for reports-app", w.Body.String())
			}
		}

		later = time.Hour // access tokens live 15 minutes by default
		w := get("Bearer " + withScope)
		require.Equal(t, http.StatusUnauthorized, w.Code, "expired")
		require.Equal(t, invalid, w.Header().Get("WWW-Authenticate"))
	})
}

// resign returns the claims of token, changed by mutate, signed with the
// server's active key and the given typ header.
func resign(t *testing.T, s *apptest.Server, token, typ string, mutate func(map[string]any)) string {
	t.Helper()
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	mutate(claims)
	payload, err = json.Marshal(claims)
	require.NoError(t, err)
	signed, err := s.App.Keys.Sign(payload, typ)
	require.NoError(t, err)
	return signed
}

// tamper returns token with the payload of donor: a token whose claims
// were changed after signing (here, given the scope it lacks).
func tamper(t *testing.T, token, donor string) string {
	t.Helper()
	parts, donorParts := strings.Split(token, "."), strings.Split(donor, ".")
	require.Len(t, parts, 3)
	parts[1] = donorParts[1]
	return strings.Join(parts, ".")
}

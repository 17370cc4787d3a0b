package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
)

// Text PostgreSQL cannot store answers 400 naming the field on every
// backend, never a 500 (or a 404 from a failed write).
func TestUnstorableTextInBodies(t *testing.T) {
	const key = `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"KID"}`
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		for _, kid := range []string{`\u0000`, `a\u0000b`, `\ud800`, `\udfff`, `\udc00\ud800`, "\xff", "a\xc3"} {
			jwks := `{"keys":[` + strings.Replace(key, "KID", kid, 1) + `]}`
			body := `{"name":"n","token_endpoint_auth_method":"private_key_jwt","jwks":` + jwks + `}`
			r := f.call(http.MethodPost, "/admin/clients", f.adminToken, body)
			requireProblem(t, r, http.StatusBadRequest, "invalid-field")
			require.Equal(t, "jwks", r.Str("field"), "kid %q: %s", kid, r.Raw)
			r = f.call(http.MethodPatch, "/admin/clients/admin-cli", f.adminToken, `{"jwks":`+jwks+`}`)
			requireProblem(t, r, http.StatusBadRequest, "invalid-field")
		}
		for _, field := range []string{"display_name", "email", "language"} {
			r := f.call(http.MethodPost, "/admin/users", f.adminToken, `{"username":"u1","`+field+`":"a\u0000"}`)
			requireProblem(t, r, http.StatusBadRequest, "invalid-field")
			require.Equal(t, field, r.Str("field"), r.Raw)
		}
		// A surrogate pair is one character, which PostgreSQL stores.
		jwks := `{"keys":[` + strings.Replace(key, "KID", `\ud83d\udd11`, 1) + `]}`
		r := f.call(http.MethodPost, "/admin/clients", f.adminToken, `{"name":"n","token_endpoint_auth_method":"private_key_jwt","jwks":`+jwks+`}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	})
}

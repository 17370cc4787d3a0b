package clientauth_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/storage"
)

var (
	invalidClient  = outcome{err: clientauth.ErrInvalidClient}
	invalidRequest = outcome{err: clientauth.ErrInvalidRequest}
)

func form(kv ...string) url.Values {
	f := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f
}

// secretFixture registers the clients of the secret tests.
type secretFixture struct {
	reports, svc vector // from the normative vectors
	reportsID    string // reports-app's secret version
	svcID        string
	postW        string // post-app (client_secret_post)
	postID       string
	disabledW    string
	jwtW         string // a valid W for a private_key_jwt client
}

func newSecretFixture(e *env) secretFixture {
	t := e.t
	vs := vectors(t)
	f := secretFixture{reports: vs["reports-app"], svc: vs["svc:reports/v2"]}
	for _, v := range []vector{f.reports, f.svc} {
		// The vectors are consistent with the implementation we rely on.
		w := clienthash.ClientSecretWire(decode(t, v.S), v.ClientID)
		require.Equal(t, v.W, clienthash.Encode(w))
		require.Equal(t, v.V, clienthash.Encode(clienthash.ClientSecretVerifier(w)))
		e.client(v.ClientID, storage.AuthMethodSecretBasic, [][]byte{decode(t, v.V)})
		e.secrets = append(e.secrets, v.S, v.W)
	}
	f.reportsID, f.svcID = e.secretIDs("reports-app")[0], e.secretIDs("svc:reports/v2")[0]

	var v []byte
	f.postW, v = e.newWire("post-app")
	e.client("post-app", storage.AuthMethodSecretPost, [][]byte{v})
	f.postID = e.secretIDs("post-app")[0]
	f.disabledW, v = e.newWire("disabled-app")
	e.client("disabled-app", storage.AuthMethodSecretBasic, [][]byte{v}, func(c *storage.Client) { c.Status = storage.StatusDisabled })
	f.jwtW, v = e.newWire("jwt-app")
	e.client("jwt-app", storage.AuthMethodPrivateKeyJWT, [][]byte{v})
	e.client("public-app", storage.AuthMethodNone, nil)
	e.client("no-secret-app", storage.AuthMethodSecretBasic, nil)
	return f
}

func TestAuthenticateSecret(t *testing.T) {
	e := newEnv(t)
	f := newSecretFixture(e)
	reportsOK := outcome{clientID: "reports-app", method: storage.AuthMethodSecretBasic, secretID: f.reportsID}
	svcOK := outcome{clientID: "svc:reports/v2", method: storage.AuthMethodSecretBasic, secretID: f.svcID}
	postOK := outcome{clientID: "post-app", method: storage.AuthMethodSecretPost, secretID: f.postID}
	// A well-formed W that belongs to no client.
	strangerW, _ := e.newWire("reports-app")
	encodedID := "svc%3Areports%2Fv2"
	require.Equal(t, encodedID, url.QueryEscape("svc:reports/v2"))
	require.Contains(t, f.svc.W, "-")
	dashEncodedW := strings.ReplaceAll(f.svc.W, "-", "%2D")
	stdW := strings.NewReplacer("-", "+", "_", "/").Replace(f.svc.W)
	require.NotEqual(t, f.svc.W, stdW)

	tests := []struct {
		name string
		req  request
		want outcome
	}{
		{"basic with the vector secret", request{authz: []string{basic("reports-app", f.reports.W)}}, reportsOK},
		{"basic with an encoded client_id and %2D", request{authz: []string{rawBasic(encodedID + ":" + dashEncodedW)}}, svcOK},
		{"basic scheme is case-insensitive", request{authz: []string{"bAsIc" + strings.TrimPrefix(basic("reports-app", f.reports.W), "Basic")}}, reportsOK},
		{"basic with the same client_id in the form", request{authz: []string{basic("svc:reports/v2", f.svc.W)}, form: form("client_id", "svc:reports/v2")}, svcOK},
		{"basic with an empty client_secret field", request{authz: []string{basic("reports-app", f.reports.W)}, form: form("client_secret", "")}, reportsOK},
		{"post", request{form: form("client_id", "post-app", "client_secret", f.postW)}, postOK},

		{"basic and post at once", request{authz: []string{basic("post-app", f.postW)}, form: form("client_id", "post-app", "client_secret", f.postW)}, invalidRequest},
		{"basic client_id differs from the form's", request{authz: []string{basic("reports-app", f.reports.W)}, form: form("client_id", "post-app")}, invalidRequest},
		{"basic and an assertion at once", request{authz: []string{basic("reports-app", f.reports.W)}, form: form("client_assertion_type", clientauth.AssertionType, "client_assertion", "x.y.z")}, invalidRequest},
		{"post and an assertion at once", request{form: form("client_id", "post-app", "client_secret", f.postW, "client_assertion", "x.y.z")}, invalidRequest},
		{"client_id repeated", request{form: form("client_id", "post-app", "client_id", "post-app", "client_secret", f.postW)}, invalidRequest},
		{"client_secret repeated", request{form: form("client_id", "post-app", "client_secret", f.postW, "client_secret", f.postW)}, invalidRequest},
		{"client_assertion repeated", request{form: form("client_assertion", "a", "client_assertion", "b")}, invalidRequest},
		{"Authorization repeated", request{authz: []string{basic("reports-app", f.reports.W), basic("reports-app", f.reports.W)}}, invalidRequest},

		{"wrong secret", request{authz: []string{basic("reports-app", strangerW)}}, invalidClient},
		{"the raw secret S instead of W", request{authz: []string{basic("reports-app", f.reports.S)}}, invalidClient},
		{"another client's secret", request{authz: []string{basic("reports-app", f.svc.W)}}, invalidClient},
		{"unknown client", request{authz: []string{basic("nobody", f.reports.W)}}, invalidClient},
		{"unknown client by post", request{form: form("client_id", "nobody", "client_secret", f.postW)}, invalidClient},
		{"disabled client with its right secret", request{authz: []string{basic("disabled-app", f.disabledW)}}, invalidClient},
		{"client without active secret", request{authz: []string{basic("no-secret-app", f.reports.W)}}, invalidClient},
		{"basic client using post", request{form: form("client_id", "reports-app", "client_secret", f.reports.W)}, invalidClient},
		{"post client using basic", request{authz: []string{basic("post-app", f.postW)}}, invalidClient},
		{"private_key_jwt client using a secret", request{authz: []string{basic("jwt-app", f.jwtW)}}, invalidClient},
		{"public client using a secret", request{form: form("client_id", "public-app", "client_secret", f.postW)}, invalidClient},
		{"post without client_id", request{form: form("client_secret", f.postW)}, invalidClient},

		{"basic not base64", request{authz: []string{"Basic !!!notbase64"}}, invalidClient},
		{"basic base64 without padding", request{authz: []string{strings.TrimRight(basic("reports-app", f.reports.W), "=")}}, invalidClient},
		{"basic without colon", request{authz: []string{rawBasic("reports-app" + f.reports.W)}}, invalidClient},
		{"basic with a bad percent escape in the id", request{authz: []string{rawBasic("reports%zzapp:" + f.reports.W)}}, invalidClient},
		{"basic with a bad percent escape in the secret", request{authz: []string{rawBasic("reports-app:" + f.reports.W[:41] + "%G")}}, invalidClient},
		{"basic with an empty client_id", request{authz: []string{rawBasic(":" + f.reports.W)}}, invalidClient},
		{"basic with an empty secret", request{authz: []string{rawBasic("reports-app:")}}, invalidClient},
		{"basic scheme only", request{authz: []string{"Basic"}}, invalidClient},
		{"bearer instead of basic", request{authz: []string{"Bearer " + f.reports.W}}, invalidClient},
		{"empty Authorization header", request{authz: []string{""}}, invalidClient},
		{"W of 42 characters", request{authz: []string{basic("reports-app", f.reports.W[:42])}}, invalidClient},
		{"W of 44 characters", request{authz: []string{basic("reports-app", f.reports.W+"A")}}, invalidClient},
		{"W padded", request{authz: []string{basic("svc:reports/v2", f.svc.W+"=")}}, invalidClient},
		// The same bytes in the standard alphabet: refused for its form.
		{"W in the standard alphabet", request{authz: []string{basic("svc:reports/v2", stdW)}}, invalidClient},
		{"W with a space decoded from +", request{authz: []string{rawBasic("reports-app:" + strings.Replace(f.reports.W, "-", "+", 1))}}, invalidClient},

		{"no credentials at all", request{}, invalidClient},
		{"confidential client with only client_id", request{form: form("client_id", "reports-app")}, invalidClient},
	}
	a := e.authenticator(true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.check(t, a, tt.req, tt.want) })
	}
}

// A client may hold several active secret versions during rotation; any
// of them authenticates, a deactivated one does not.
func TestAuthenticateSecretRotation(t *testing.T) {
	e := newEnv(t)
	w1, v1 := e.newWire("rotating")
	e.client("rotating", storage.AuthMethodSecretPost, [][]byte{v1})
	w2, v2 := e.newWire("rotating")
	w3, v3 := e.newWire("rotating")
	ctx := t.Context()
	s2, err := e.store.AddClientSecret(ctx, system, storage.DefaultRealm, "rotating", v2)
	require.NoError(t, err)
	s3, err := e.store.AddClientSecret(ctx, system, storage.DefaultRealm, "rotating", v3)
	require.NoError(t, err)
	require.NoError(t, e.store.DeactivateClientSecret(ctx, system, storage.DefaultRealm, "rotating", s3.ID))
	s1 := e.secretIDs("rotating")[0]

	a := e.authenticator(false)
	post := func(w string) request { return request{form: form("client_id", "rotating", "client_secret", w)} }
	ok := func(id string) outcome {
		return outcome{clientID: "rotating", method: storage.AuthMethodSecretPost, secretID: id}
	}
	e.check(t, a, post(w1), ok(s1))
	e.check(t, a, post(w2), ok(s2.ID))
	e.check(t, a, post(w3), invalidClient)

	// Deactivating the old version completes the rotation.
	require.NoError(t, e.store.DeactivateClientSecret(ctx, system, storage.DefaultRealm, "rotating", s1))
	e.check(t, a, post(w1), invalidClient)
	e.check(t, a, post(w2), ok(s2.ID))
}

// A public client authenticates by client_id alone, and only when public
// clients are allowed and it registered the method none.
func TestAuthenticatePublic(t *testing.T) {
	e := newEnv(t)
	f := newSecretFixture(e)
	ok := outcome{clientID: "public-app", method: storage.AuthMethodNone}
	tests := []struct {
		name        string
		allowPublic bool
		req         request
		want        outcome
	}{
		{"public client", true, request{form: form("client_id", "public-app")}, ok},
		{"public client with an empty client_secret", true, request{form: form("client_id", "public-app", "client_secret", "")}, ok},
		{"public clients not allowed", false, request{form: form("client_id", "public-app")}, invalidClient},
		{"confidential client", true, request{form: form("client_id", "reports-app")}, invalidClient},
		{"private_key_jwt client", true, request{form: form("client_id", "jwt-app")}, invalidClient},
		{"unknown client", true, request{form: form("client_id", "nobody")}, invalidClient},
		{"empty client_id", true, request{form: form("client_id", "")}, invalidClient},
		{"secret clients unaffected by allowPublic", false, request{authz: []string{basic("reports-app", f.reports.W)}},
			outcome{clientID: "reports-app", method: storage.AuthMethodSecretBasic, secretID: f.reportsID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.check(t, e.authenticator(tt.allowPublic), tt.req, tt.want) })
	}

	t.Run("disabled public client", func(t *testing.T) {
		e.client("public-off", storage.AuthMethodNone, nil, func(c *storage.Client) { c.Status = storage.StatusDisabled })
		e.check(t, e.authenticator(true), request{form: form("client_id", "public-off")}, invalidClient)
	})
}

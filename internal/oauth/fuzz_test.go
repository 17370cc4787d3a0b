package oauth_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

// The fuzz targets of the OAuth endpoints run on one memory-backed server
// per target (apptest.NewFuzz). Their seeds run with every go test; see
// docs/testing.md for fuzzing them.

const formType = "application/x-www-form-urlencoded"

// oauthErrors are the error codes of RFC 6749 §5.2 and RFC 7009 §2.2.1
// that Gatehouse answers with.
var oauthErrors = map[string]bool{
	"invalid_request": true, "invalid_client": true, "invalid_grant": true, "unauthorized_client": true,
	"unsupported_grant_type": true, "invalid_scope": true, "unsupported_token_type": true,
	"temporarily_unavailable": true,
}

// fuzzFixture is a Fuzz server with a user "alice" in a group granting
// users-read and a client "app" allowed users-read, and credentials of
// both that work at the start of the run.
type fuzzFixture struct {
	z        *apptest.Fuzz
	basic    string // client_secret_basic header of app
	wire     string // W of app
	password string // b64u(P) of alice
	user     string // an access token of alice through app
	refresh  string // its refresh token
}

func newFuzzFixture(f *testing.F) *fuzzFixture {
	z := apptest.NewFuzz(f)
	g, err := z.Store.CreateGroup(f.Context(), apptest.System, storage.DefaultRealm, storage.Group{Name: "readers", Resources: []string{"users-read"}})
	if err != nil {
		f.Fatal(err)
	}
	z.User(f, "alice", "alice-password-1", g.ID)
	c := z.Client(f, storage.Client{ClientID: "app", OwnerID: z.Admin.ID, Scopes: []string{"users-read"}})
	x := &fuzzFixture{z: z, wire: c.Wire(f)}
	x.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.ID)+":"+url.QueryEscape(x.wire)))

	pre := z.Serve(formRequest(oauth.PathPrelogin, "", "username=alice"))
	var params clienthash.LoginParams
	if err := json.Unmarshal(pre.Body.Bytes(), &params); err != nil {
		f.Fatal(err)
	}
	if x.password, err = clienthash.LoginPassword("alice-password-1", params); err != nil {
		f.Fatal(err)
	}
	rec := z.Serve(formRequest(oauth.PathToken, x.basic, "grant_type=password&username=alice&password="+x.password))
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		f.Fatalf("password grant: %d %s", rec.Code, rec.Body)
	}
	x.user, x.refresh = tok.AccessToken, tok.RefreshToken
	return x
}

func formRequest(path, authz, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, apptest.FuzzIssuer+path, strings.NewReader(body))
	req.Header.Set("Content-Type", formType)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	return req
}

// checkOAuthAnswer requires a JSON answer that is a success or an RFC
// 6749 error, never a 500.
func checkOAuthAnswer(t *testing.T, z *apptest.Fuzz, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s\nserver log: %s", rec.Code, rec.Body, z.Errors())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("status %d with Content-Type %q: %s", rec.Code, ct, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d, body is not a JSON object: %v: %s", rec.Code, err, rec.Body)
	}
	if rec.Code != http.StatusOK {
		if code, _ := body["error"].(string); !oauthErrors[code] {
			t.Fatalf("status %d with error %q: %s", rec.Code, code, rec.Body)
		}
	}
	return body
}

// FuzzTokenEndpoint sends any Authorization header, Content-Type and body
// to /oauth2/token: the answer is 200 with a token or an RFC 6749 JSON
// error, never a 500 or a panic.
func FuzzTokenEndpoint(f *testing.F) {
	x := newFuzzFixture(f)
	assertion := "&client_assertion_type=" + url.QueryEscape(clientauth.AssertionType) + "&client_assertion="
	for _, s := range []struct{ authz, ctype, body string }{
		{x.basic, formType, "grant_type=client_credentials"},
		{x.basic, formType, "grant_type=client_credentials&scope=users-read"},
		{x.basic, formType, "grant_type=client_credentials&scope=users-write"},
		{x.basic, formType + "; charset=utf-8", "grant_type=password&username=alice&password=" + x.password + "&scope=users-read"},
		{x.basic, formType, "grant_type=password&username=ALICE&password=" + x.password},
		{x.basic, formType, "grant_type=refresh_token&refresh_token=" + x.refresh},
		{x.basic, formType, "grant_type=refresh_token&refresh_token=" + x.refresh + "&scope=users-read"},
		{"", formType, "grant_type=client_credentials&client_id=app&client_secret=" + x.wire},
		{"", formType, "grant_type=client_credentials" + assertion + "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJhcHAifQ.c2ln"},
		{"", formType, "grant_type=client_credentials&client_id=app"},
		{x.basic, "application/json", `{"grant_type":"client_credentials"}`},
		{x.basic, formType, "grant_type=client_credentials&grant_type=password"},
		{"Bearer " + x.user, formType, "grant_type=client_credentials"},
		{x.basic, "", ""},
	} {
		f.Add(s.authz, s.ctype, s.body)
	}
	f.Fuzz(func(t *testing.T, authz, ctype, body string) {
		req := formRequest(oauth.PathToken, authz, body)
		req.Header.Set("Content-Type", ctype)
		rec := x.z.Serve(req)
		out := checkOAuthAnswer(t, x.z, rec)
		if rec.Code == http.StatusOK && (out["access_token"] == "" || !strings.EqualFold(fmt.Sprint(out["token_type"]), "Bearer")) {
			t.Fatalf("200 without a bearer token: %s", rec.Body)
		}
	})
}

// FuzzFormEndpoints sends any Authorization header and form body to
// introspection, revocation and prelogin: a JSON answer (revocation's 200
// may be empty), never a 500 or a panic.
func FuzzFormEndpoints(f *testing.F) {
	x := newFuzzFixture(f)
	for _, s := range []struct {
		endpoint    uint8
		authz, body string
	}{
		{0, x.basic, "token=" + x.user},
		{0, x.basic, "token=" + x.refresh + "&token_type_hint=refresh_token"},
		{0, x.basic, "token=" + x.user + "&token_type_hint=refresh_token"},
		{0, "Bearer " + x.user, "token=" + x.user},
		{1, x.basic, "token=" + x.refresh},
		{1, x.basic, "token=" + x.user + "&token_type_hint=access_token"},
		{1, "", "client_id=app&token=" + x.refresh},
		{2, "", "username=alice"},
		{2, "", "username=%C3%A4lice"},
		{2, x.basic, "username=" + strings.Repeat("a", 300)},
	} {
		f.Add(s.endpoint, s.authz, s.body)
	}
	paths := []string{oauth.PathIntrospect, oauth.PathRevoke, oauth.PathPrelogin}
	f.Fuzz(func(t *testing.T, endpoint uint8, authz, body string) {
		path := paths[int(endpoint)%len(paths)]
		rec := x.z.Serve(formRequest(path, authz, body))
		if path == oauth.PathRevoke && rec.Code == http.StatusOK && rec.Body.Len() == 0 {
			return // RFC 7009 §2.2
		}
		checkOAuthAnswer(t, x.z, rec)
	})
}

// bearerPaths are where an access token is presented: the OIDC userinfo
// endpoint and the management API (a user and an admin route).
var bearerPaths = []string{oauth.PathUserinfo, "/admin/me", "/admin/users"}

// FuzzAccessToken presents any string as a bearer token: anything but a
// token the server issued answers 401, never a 500 or a panic.
func FuzzAccessToken(f *testing.F) {
	x := newFuzzFixture(f)
	issued := map[string]bool{x.user: true, x.z.AdminToken: true}
	for _, tok := range []string{x.user, x.z.AdminToken, x.refresh, "", "a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.",
		x.user + ".x", strings.TrimSuffix(x.user, x.user[strings.LastIndexByte(x.user, '.'):]) + ".",
		strings.ToUpper(x.user), x.user + " ", "\t" + x.user} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		for _, path := range bearerPaths {
			req := httptest.NewRequest(http.MethodGet, apptest.FuzzIssuer+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := x.z.Serve(req)
			checkBearerAnswer(t, x.z, path, token, rec, issued[strings.TrimSpace(token)])
		}
	})
}

// FuzzAccessTokenMutation changes one byte of a valid token (the user's or
// the admin client's): the result never verifies.
func FuzzAccessTokenMutation(f *testing.F) {
	x := newFuzzFixture(f)
	tokens := []string{x.user, x.z.AdminToken}
	for _, s := range []struct {
		which bool
		pos   uint16
		xor   byte
	}{
		{false, 0, 1}, {true, 10, 0x20}, {false, uint16(len(x.user) - 1), 1}, {true, uint16(len(x.z.AdminToken) - 1), 3},
		{false, uint16(strings.IndexByte(x.user, '.')), 0x40}, {true, uint16(strings.LastIndexByte(x.z.AdminToken, '.') + 1), 0x10},
	} {
		f.Add(s.which, s.pos, s.xor)
	}
	f.Fuzz(func(t *testing.T, which bool, pos uint16, xor byte) {
		tok := tokens[0]
		if which {
			tok = tokens[1]
		}
		b := []byte(tok)
		b[int(pos)%len(b)] ^= xor
		mutated := string(b)
		if mutated == tok {
			return
		}
		for _, path := range bearerPaths {
			req := httptest.NewRequest(http.MethodGet, apptest.FuzzIssuer+path, nil)
			req.Header.Set("Authorization", "Bearer "+mutated)
			rec := x.z.Serve(req)
			checkBearerAnswer(t, x.z, path, mutated, rec, false)
		}
	})
}

// checkBearerAnswer requires 401 for a token the server did not issue,
// and never a 500.
func checkBearerAnswer(t *testing.T, z *apptest.Fuzz, path, token string, rec *httptest.ResponseRecorder, issued bool) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: status %d: %s\nserver log: %s", path, rec.Code, rec.Body, z.Errors())
	}
	if !issued && rec.Code != http.StatusUnauthorized {
		t.Fatalf("%s: token %q was not issued but answers %d: %s", path, token, rec.Code, rec.Body)
	}
	if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") && rec.Code == http.StatusUnauthorized {
		t.Fatalf("%s: 401 without a Bearer challenge", path)
	}
}

package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// Fuzz targets of the management API. Each runs on one server with an
// admin token, memory-backed (apptest.NewFuzz) or, for the ...Postgres
// twins, on PostgreSQL and Redis (apptest.NewFuzzReal); the seeds run
// with every go test (docs/testing.md).

// fuzzTargets are entities the body fuzzer may change: never the
// administrator, the admin client or the administrators group, whose
// changes would end the run's authority.
type fuzzTargets struct {
	z                         *apptest.Fuzz
	user, group, client, lang string
}

func newFuzzTargets(f *testing.F, z *apptest.Fuzz) *fuzzTargets {
	x := &fuzzTargets{z: z, client: "fuzz-app", lang: "de"}
	ctx := f.Context()
	g, err := z.Store.CreateGroup(ctx, apptest.System, storage.DefaultRealm, storage.Group{Name: "fuzzers", Resources: []string{"users-read"}})
	if err != nil {
		f.Fatal(err)
	}
	x.group = g.ID
	x.user = z.User(f, "victim", "victim-password-1", g.ID).ID
	z.Client(f, storage.Client{ClientID: x.client, OwnerID: x.user, Scopes: []string{"users-read"}})
	if _, err := z.Store.CreateResource(ctx, apptest.System, storage.DefaultRealm, storage.Resource{Name: "reports-read"}); err != nil {
		f.Fatal(err)
	}
	if _, err := z.Store.CreateLanguage(ctx, apptest.System, storage.DefaultRealm, storage.Language{Code: x.lang, Name: "Deutsch"}); err != nil {
		f.Fatal(err)
	}
	return x
}

// serve sends an admin request and requires a 2xx or a 4xx problem, never
// a 500 or a panic.
func (x *fuzzTargets) serve(t *testing.T, method, target, body string) {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil || strings.ContainsFunc(target, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return // net/http answers 400 before any handler
	}
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL, req.RequestURI = u, target
	req.Header.Set("Authorization", "Bearer "+x.z.AdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := x.z.Serve(req)
	ct := rec.Header().Get("Content-Type")
	switch {
	case rec.Code >= 500:
		t.Fatalf("%s %s → %d: %s\nserver log: %s", method, target, rec.Code, rec.Body, x.z.Errors())
	case rec.Code < 200 || rec.Code == http.StatusUnauthorized:
		t.Fatalf("%s %s → %d: %s", method, target, rec.Code, rec.Body)
	case rec.Code >= 400:
		var p struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Status int    `json:"status"`
		}
		if ct != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil ||
			p.Status != rec.Code || !strings.HasPrefix(p.Type, "urn:gatehouse:problem:") || p.Title == "" {
			t.Fatalf("%s %s → %d is not a problem+json: %s %s", method, target, rec.Code, ct, rec.Body)
		}
	case rec.Body.Len() > 0 && ct != "application/json":
		t.Fatalf("%s %s → %d with Content-Type %q", method, target, rec.Code, ct)
	}
}

// FuzzAdminBody sends any body to the management API's create and update
// endpoints with an admin token: 2xx or a 4xx problem+json, never a 500.
func FuzzAdminBody(f *testing.F) { fuzzAdminBody(f, newFuzzTargets(f, apptest.NewFuzz(f))) }

// FuzzAdminBodyPostgres is FuzzAdminBody on PostgreSQL and Redis, which
// refuse text the memory backend stores.
func FuzzAdminBodyPostgres(f *testing.F) { fuzzAdminBody(f, newFuzzTargets(f, apptest.NewFuzzReal(f))) }

func fuzzAdminBody(f *testing.F, x *fuzzTargets) {
	set, err := clienthash.NewPasswordSetting("pw-pw-pw-1", "pw-pw-pw-1", apptest.Iterations)
	if err != nil {
		f.Fatal(err)
	}
	pw, _ := json.Marshal(set)
	endpoints := []struct{ method, path string }{
		{http.MethodPost, "/admin/users"},
		{http.MethodPatch, "/admin/users/" + x.user},
		{http.MethodPut, "/admin/users/" + x.user + "/password"},
		{http.MethodPost, "/admin/groups"},
		{http.MethodPatch, "/admin/groups/" + x.group},
		{http.MethodPost, "/admin/clients"},
		{http.MethodPatch, "/admin/clients/" + x.client},
		{http.MethodPost, "/admin/clients/" + x.client + "/secrets"},
		{http.MethodPost, "/admin/resources"},
		{http.MethodPatch, "/admin/resources/reports-read"},
		{http.MethodPost, "/admin/languages"},
		{http.MethodPatch, "/admin/languages/" + x.lang},
	}
	seeds := [][]string{
		{`{"username":"bob","email":"bob@example.com","display_name":"Bob","language":"en","groups":["` + x.group + `"],"password":` + string(pw) + `}`, `{"username":"Bob"}`, `{"username":"","groups":[]}`},
		{`{"email":"v@example.com","status":"disabled"}`, `{"display_name":"V\u0000"}`, `{"language":"DE"}`, `{"password":` + string(pw) + `}`},
		{string(pw), `{"kdf":"x","iterations":-1}`, `{}`},
		{`{"name":"g2","description":"d","resources":["users-read","reports-read"]}`, `{"name":"g3","resources":["nope"]}`},
		{`{"resources":[]}`, `{"name":"administrators"}`},
		{`{"client_id":"c2","name":"C2","owner":"` + x.user + `","scopes":["users-read"],"grant_types":["client_credentials","password"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[]}}`,
			`{"name":"C3","token_endpoint_auth_method":"none","grant_types":["password"],"access_token_ttl":59}`,
			`{"name":"C4","secret_verifier":"AAAA","refresh_token_ttl":1e99}`},
		{`{"status":"disabled","scopes":["audit-read"]}`, `{"jwks":null}`, `{"access_token_ttl":3600}`},
		{`{"secret_verifier":"` + strings.Repeat("A", 43) + `"}`, `{}`},
		{`{"name":"x-read","description":"X"}`, `{"name":"a\"b"}`},
		{`{"description":"Reports"}`},
		{`{"code":"fr-ca","name":"Français"}`, `{"code":"i-klingon","name":"x"}`, `{"code":"` + strings.Repeat("a-", 20) + `","name":"x"}`},
		{`{"name":"Deutsch!"}`},
	}
	for i, ss := range seeds {
		for _, s := range ss {
			f.Add(uint8(i), s)
		}
	}
	for _, s := range []string{``, `null`, `[]`, `"x"`, `{"username":1}`, `{"a":1}`, `{} {}`, `{"name":"` + strings.Repeat("n", 70<<10) + `"}`} {
		f.Add(uint8(len(s)), s)
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body string) {
		e := endpoints[int(endpoint)%len(endpoints)]
		x.serve(t, e.method, e.path, body)
	})
}

// FuzzAdminQuery sends any query string to the list endpoints: 200 or a
// 400 problem+json naming the field, never a 500.
func FuzzAdminQuery(f *testing.F) { fuzzAdminQuery(f, newFuzzTargets(f, apptest.NewFuzz(f))) }

// FuzzAdminQueryPostgres is FuzzAdminQuery on PostgreSQL and Redis.
func FuzzAdminQueryPostgres(f *testing.F) {
	fuzzAdminQuery(f, newFuzzTargets(f, apptest.NewFuzzReal(f)))
}

func fuzzAdminQuery(f *testing.F, x *fuzzTargets) {
	lists := []string{"/admin/users", "/admin/groups", "/admin/clients", "/admin/resources", "/admin/languages",
		"/admin/audit", "/admin/groups/" + x.group + "/members", "/admin/clients/" + x.client + "/secrets"}
	for i, q := range []string{
		"limit=1", "limit=1&cursor=dmljdGlt", "username=victim&email=&group=" + x.group + "&status=active", "limit=500&cursor=",
		"owner=" + x.user, "limit=2&cursor=YWRtaW4tbG9naW4", "actor=" + x.user + "&since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00%2B01:00",
		"limit=1&cursor=MQ", "cursor=%00", "cursor=%FF", "username=%00", "limit=0x10", "limit=%2B5", "cursor=AA&cursor=AB",
	} {
		f.Add(uint8(i), q)
	}
	f.Fuzz(func(t *testing.T, list uint8, query string) {
		x.serve(t, http.MethodGet, lists[int(list)%len(lists)]+"?"+query, "")
	})
}

// FuzzAdminPath puts any string, escaped, where the management API takes
// an id, name or code: 200, 404 or another 4xx problem, never a 500.
func FuzzAdminPath(f *testing.F) { fuzzAdminPath(f, newFuzzTargets(f, apptest.NewFuzz(f))) }

// FuzzAdminPathPostgres is FuzzAdminPath on PostgreSQL and Redis.
func FuzzAdminPathPostgres(f *testing.F) { fuzzAdminPath(f, newFuzzTargets(f, apptest.NewFuzzReal(f))) }

func fuzzAdminPath(f *testing.F, x *fuzzTargets) {
	paths := []string{"/admin/users/%s", "/admin/users/%s/resources", "/admin/users/%s/groups", "/admin/groups/%s",
		"/admin/groups/%s/members", "/admin/clients/%s", "/admin/clients/%s/secrets", "/admin/resources/%s", "/admin/languages/%s",
		"/admin/groups/" + "%s" + "/members/" + "%[1]s"}
	for i, id := range []string{x.user, x.group, x.client, "reports-read", x.lang, "\x00", "\xff", "a/b", "..", "%", strings.Repeat("z", 3000), x.user + "\x00"} {
		f.Add(uint8(i), id)
	}
	f.Fuzz(func(t *testing.T, path uint8, id string) {
		x.serve(t, http.MethodGet, fmt.Sprintf(paths[int(path)%len(paths)], url.PathEscape(id)), "")
	})
}

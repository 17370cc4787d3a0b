package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/credential"
)

// fixtures are the users, clients and tokens the scenarios use, created
// through the management API.
type fixtures struct {
	issuer       string
	adminToken   string
	userID       string
	username     string
	password     string // as typed
	passwordWire string // b64u(P) of the bench user, derived once
	secretBasic  string // "Basic …" of the secret client
	introspector string // "Basic …" of a client holding tokens-introspect
	jwtClient    string
	jwtSigner    jose.Signer
	pbkdf2       time.Duration // one client-side derivation of the user's password
	dir          string        // data files for the Lua scripts
	threads      int           // wrk threads: each takes every threads-th line
	browser      browserFixtures
	rates        map[string]float64 // req/s of the scenarios measured so far
}

// scenario is one row of the table: the URL wrk drives and the Lua that
// shapes its requests (see bench/wrk).
type scenario struct {
	name string
	// group, when set, selects the scenario with -only too (the rows of
	// one feature).
	group string
	path  string
	// prepare, when set, writes the data files of a wrk run of d, before
	// it and outside what is measured (server CPU, profile): single-use
	// items such as codes and client assertions. rate is the throughput
	// the run is expected to reach (the warm-up's, for the measured run),
	// or 0 when nothing is known yet.
	prepare func(d time.Duration, rate float64) error
	// script returns the Lua for one wrk run.
	script func() (string, error)
	// bare sends the requests to the bare handler's listener rather than
	// to Gatehouse's.
	bare bool
}

// The two baselines, measured first in every run: a bare net/http handler
// in the server process (gatehouse serve --bench-baseline-addr: no router,
// no middleware), and /health/alive, the cheapest Gatehouse endpoint,
// which passes through the router and the middleware.
const (
	scenarioBare   = "bare"
	scenarioHealth = "health"
)

func basic(id, s string) string {
	w, _ := clienthash.WireSecret(s, id)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(w)))
}

func post(issuer, path, auth string, body url.Values) (map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, issuer+path, bytes.NewBufferString(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return do(req)
}

func do(req *http.Request) (map[string]any, error) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if res.StatusCode >= 300 {
		return out, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, res.Status, raw)
	}
	return out, nil
}

func (f *fixtures) admin(method, path string, body any) (map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, f.issuer+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+f.adminToken)
	req.Header.Set("Content-Type", "application/json")
	return do(req)
}

// newClient registers a client through the management API and returns S.
func (f *fixtures) newClient(id string, scopes []string, extra map[string]any) (string, error) {
	s, _ := clienthash.NewClientSecret()
	v, _ := clienthash.VerifierFor(clienthash.Encode(s), id)
	body := map[string]any{"client_id": id, "name": id, "scopes": scopes, "owner": f.userID,
		"grant_types": []string{"client_credentials", "password", "refresh_token"}, "secret_verifier": v}
	for k, val := range extra {
		body[k] = val
	}
	if _, err := f.admin(http.MethodPost, "/admin/clients", body); err != nil {
		return "", err
	}
	return clienthash.Encode(s), nil
}

func setup(srv *server) (*fixtures, error) {
	f := &fixtures{issuer: srv.issuer, username: "bench-user", dir: srv.dir, threads: runtime.NumCPU()}
	tok, err := post(f.issuer, "/oauth2/token", basic(srv.boot["admin_client_id"], srv.boot["admin_client_secret"]), url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		return nil, err
	}
	f.adminToken = tok["access_token"].(string)
	g, err := f.admin(http.MethodPost, "/admin/groups", map[string]any{"name": "bench", "resources": []string{"users-read", "tokens-introspect"}})
	if err != nil {
		return nil, err
	}
	// The server accepts exactly its configured iterations; discovery says
	// which.
	req, _ := http.NewRequest(http.MethodGet, f.issuer+"/.well-known/openid-configuration", nil)
	disc, err := do(req)
	if err != nil {
		return nil, err
	}
	iterations, _ := disc["password_iterations"].(float64)
	f.password = "bench password, typed once"
	set, _ := clienthash.NewPasswordSetting(f.password, f.password, int(iterations))
	u, err := f.admin(http.MethodPost, "/admin/users", map[string]any{"username": f.username, "password": set, "groups": []string{g["id"].(string)}})
	if err != nil {
		return nil, err
	}
	f.userID = u["id"].(string)
	salt, _ := clienthash.Decode(set.Salt)
	start := time.Now()
	p, _ := clienthash.DerivePassword(f.password, salt, set.Iterations)
	f.pbkdf2 = time.Since(start)
	f.passwordWire = clienthash.Encode(p)

	s, err := f.newClient("bench-secret", []string{"users-read"}, nil)
	if err != nil {
		return nil, err
	}
	f.secretBasic = basic("bench-secret", s)
	s, err = f.newClient("bench-introspector", []string{"tokens-introspect"}, nil)
	if err != nil {
		return nil, err
	}
	f.introspector = basic("bench-introspector", s)
	if err := f.contexts(g["id"].(string)); err != nil {
		return nil, err
	}

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.jwtClient = "bench-jwt"
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}}
	if _, err := f.newClient(f.jwtClient, []string{"users-read"}, map[string]any{"token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}); err != nil {
		return nil, err
	}
	f.jwtSigner, _ = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)

	var tokens []string
	for range 2000 {
		t, err := post(f.issuer, "/oauth2/token", f.secretBasic, url.Values{"grant_type": {"client_credentials"}})
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, t["access_token"].(string))
	}
	if err := f.writeLines("access-tokens", tokens); err != nil {
		return nil, err
	}
	// Refresh chains: each request consumes one token and its answer feeds
	// the next, so these logins keep every connection busy (see chain.lua).
	tokens = tokens[:0]
	for range 128 {
		t, err := post(f.issuer, "/oauth2/token", f.secretBasic, url.Values{"grant_type": {"password"}, "username": {f.username}, "password": {f.passwordWire}})
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, t["refresh_token"].(string))
	}
	if err := f.writeLines("refresh-tokens", tokens); err != nil {
		return nil, err
	}
	if err := f.setupBrowser(); err != nil {
		return nil, fmt.Errorf("browser flow: %w", err)
	}
	return f, nil
}

func (f *fixtures) writeLines(name string, lines []string) error {
	return os.WriteFile(filepath.Join(f.dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

//go:embed wrk/lines.lua
var linesLua string

//go:embed wrk/cycle.lua
var cycleLua string

//go:embed wrk/chain.lua
var chainLua string

//go:embed wrk/requests.lua
var requestsLua string

//go:embed wrk/report.lua
var reportLua string

// lua quotes s as a Lua string literal. Everything the harness puts in a
// script (URLs, Basic credentials, form bodies) is printable ASCII.
func lua(s string) string {
	if strings.ContainsAny(s, "\"\\\n\r") {
		panic("bench: unexpected character in Lua string " + s)
	}
	return `"` + s + `"`
}

// request is the fixed part of a scenario's requests.
type request struct {
	method, auth, body string
	headers            map[string]string
}

func (r request) lua() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk.method = %s\n", lua(r.method))
	if r.auth != "" {
		fmt.Fprintf(&b, "wrk.headers[\"Authorization\"] = %s\n", lua(r.auth))
	}
	for k, v := range r.headers {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", lua(k), lua(v))
	}
	if r.method == http.MethodPost {
		b.WriteString("wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n")
		fmt.Fprintf(&b, "wrk.body = %s\n", lua(r.body))
	}
	return b.String()
}

// static sends the same request every time: wrk's fastest mode.
func static(r request) func() (string, error) {
	return func() (string, error) { return r.lua() + reportLua, nil }
}

// perLine sends body+line for the lines of a data file (cycle.lua), or
// chains refresh tokens through one (chain.lua).
func (f *fixtures) perLine(r request, file, body, script string) func() (string, error) {
	return func() (string, error) {
		return fmt.Sprintf("%sdata_file = %s\nnthreads = %d\nbody_prefix = %s\n%s\n%s\n%s",
			r.lua(), lua(filepath.Join(f.dir, file)), f.threads, lua(body), linesLua, script, reportLua), nil
	}
}

// requests sends the requests of a data file written by prepare (see
// requests.lua); expect, when not 0, is the only status that counts as a
// success.
func (f *fixtures) requests(r request, file string, expect int) func() (string, error) {
	return func() (string, error) {
		want := "nil"
		if expect != 0 {
			want = fmt.Sprint(expect)
		}
		return fmt.Sprintf("%sdata_file = %s\nnthreads = %d\nexpect_status = %s\n%s\n%s\n%s",
			r.lua(), lua(filepath.Join(f.dir, file)), f.threads, want, linesLua, requestsLua, reportLua), nil
	}
}

func scenarios(f *fixtures) []scenario {
	post := func(auth string) request { return request{method: http.MethodPost, auth: auth} }
	cc := post(f.secretBasic)
	cc.body = "grant_type=client_credentials"
	ccContext := post(f.secretBasic)
	ccContext.body = url.Values{"grant_type": {"client_credentials"}, "scope": {"context:" + benchContext + " users-read"}}.Encode()
	password := post(f.secretBasic)
	password.body = url.Values{"grant_type": {"password"}, "username": {f.username}, "password": {f.passwordWire}}.Encode()
	return []scenario{
		{name: scenarioBare, path: "/", bare: true, script: static(request{method: http.MethodGet})},
		{name: scenarioHealth, path: "/health/alive", script: static(request{method: http.MethodGet})},
		{name: "jwks", path: "/.well-known/jwks.json", script: static(request{method: http.MethodGet})},
		{name: "cc-secret", path: "/oauth2/token", script: static(cc)},
		// The same client selecting a context deep in a tree, its owner a
		// member there through a group that includes another: the goal is
		// within 10 % of cc-secret (docs/contexts.md).
		{name: "cc-context", group: "cc-secret", path: "/oauth2/token", script: static(ccContext)},
		// Each code is single-use and lives 60 s: a batch is made through
		// the browser flow just before each run (browser.go).
		// Formatted once per run (requests.lua), so that the generator
		// costs about what wrk's static mode costs for cc-secret.
		{name: "code-exchange", path: "/oauth2/token", prepare: f.prepareCodes(spaScope, "codes"),
			script: f.requests(post(""), "codes", 0)},
		// The same without openid: no ID token to sign.
		{name: "code-exchange-no-idtoken", group: "code-exchange", path: "/oauth2/token", prepare: f.prepareCodes(spaScopeOAuth2, "codes-oauth2"),
			script: f.requests(post(""), "codes-oauth2", 0)},
		{name: "cc-private-key-jwt", path: "/oauth2/token", prepare: func(time.Duration, float64) error {
			// Assertions are single-use: sign more than the run can spend,
			// just before it, on every core.
			return f.writeLines("assertions", f.assertions(200_000))
		}, script: f.perLine(post(""), "assertions", "grant_type=client_credentials&client_assertion_type="+
			url.QueryEscape("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")+"&client_assertion=", cycleLua)},
		{name: "refresh", path: "/oauth2/token", script: f.perLine(post(f.secretBasic), "refresh-tokens", "grant_type=refresh_token&refresh_token=", chainLua)},
		{name: "introspect", path: "/oauth2/introspect", script: f.perLine(post(f.introspector), "access-tokens", "token=", cycleLua)},
		{name: "revoke", path: "/oauth2/revoke", script: f.perLine(post(f.secretBasic), "access-tokens", "token=", cycleLua)},
		{name: "admin-read", path: "/admin/users/" + f.userID, script: static(request{method: http.MethodGet, auth: "Bearer " + f.adminToken})},
		// The login page of one pending request, again and again (GET
		// does not spend it); then the assets it links to, as a first
		// visit loads them and as a later one revalidates them.
		{name: "login-page", path: f.browser.loginURL,
			script: static(request{method: http.MethodGet, headers: map[string]string{"Cookie": bindingCookie + "=" + f.browser.binding}})},
		{name: "login-page assets", group: "login-page", path: "/", prepare: func(time.Duration, float64) error {
			return f.writeLines("assets", f.assetLines(false))
		}, script: f.requests(request{method: http.MethodGet}, "assets", 0)},
		{name: "login-page 304", group: "login-page", path: "/", prepare: func(time.Duration, float64) error {
			return f.writeLines("assets-304", f.assetLines(true))
		}, script: f.requests(request{method: http.MethodGet}, "assets-304", http.StatusNotModified)},
		// Last, the two that hash: argon2id's blocks leave the heap large
		// for a while, which would show in the next scenario's peak RSS.
		// Each login consumes a pending request, made before the run.
		{name: "login-post", path: "/login", prepare: f.preparePendings,
			script: f.requests(request{method: http.MethodPost}, "pendings", http.StatusSeeOther)},
		{name: "password", path: "/oauth2/token", script: static(password)},
	}
}

// assertions signs n fresh private_key_jwt client assertions, valid for
// a few minutes.
func (f *fixtures) assertions(n int) []string {
	out := make([]string, n)
	var wg sync.WaitGroup
	workers := runtime.NumCPU()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				out[i] = f.assertion()
			}
		}()
	}
	wg.Wait()
	return out
}

// assertion signs a fresh private_key_jwt client assertion.
func (f *fixtures) assertion() string {
	now := time.Now()
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	s, _ := jwt.Signed(f.jwtSigner).Claims(jwt.Claims{Issuer: f.jwtClient, Subject: f.jwtClient, Audience: jwt.Audience{f.issuer},
		ID: base64.RawURLEncoding.EncodeToString(b), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(4 * time.Minute))}).Serialize()
	return s
}

// argon2Run adds up measurements of the server-side hash by itself.
type argon2Run struct {
	hashes  uint64
	elapsed time.Duration
}

func (a *argon2Run) add(b argon2Run) {
	a.hashes += b.hashes
	a.elapsed += b.elapsed
}

func (a argon2Run) row() row {
	return row{Scenario: "argon2id alone (in process)", Requests: a.hashes, RPS: float64(a.hashes) / a.elapsed.Seconds()}
}

// argon2Alone measures the server-side password hash by itself, at the
// default parameters, on every core: the ceiling of the password grant.
func argon2Alone(cfg config) argon2Run {
	h := credential.NewPasswordHasher(credential.DefaultArgon2Params, runtime.NumCPU(), 1, time.Second)
	p := bytes.Repeat([]byte{1}, 32)
	var count atomic.Uint64
	ctx, cancel := context.WithTimeout(context.Background(), min(cfg.duration, 5*time.Second))
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := h.Hash(context.Background(), p); err == nil {
					count.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return argon2Run{hashes: count.Load(), elapsed: time.Since(start)}
}

// benchContext is the context cc-context's tokens are for: the leaf of a
// path of 8 contexts.
const benchContext = "bench-7"

// contexts builds what cc-context selects: a path of 8 contexts with 3
// siblings at each level, and the bench user a member, at the top, of a
// group that includes the bench group.
func (f *fixtures) contexts(benchGroup string) error {
	parent := ""
	for depth := range 8 {
		for sib := range 3 {
			id := fmt.Sprintf("bench-%d", depth)
			if sib > 0 {
				id = fmt.Sprintf("bench-%d-sibling-%d", depth, sib)
			}
			if _, err := f.admin(http.MethodPost, "/admin/contexts", map[string]any{"id": id, "name": id, "parent": parent}); err != nil {
				return err
			}
		}
		parent = fmt.Sprintf("bench-%d", depth)
	}
	g, err := f.admin(http.MethodPost, "/admin/groups", map[string]any{"name": "bench-org", "includes": []string{benchGroup}})
	if err != nil {
		return err
	}
	_, err = f.admin(http.MethodPut, "/admin/contexts/bench-0/groups/"+g["id"].(string)+"/members/"+f.userID, nil)
	return err
}

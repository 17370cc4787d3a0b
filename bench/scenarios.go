package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	vegeta "github.com/tsenart/vegeta/v12/lib"

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
	passwordWire string // b64u(P) of the bench user, derived once
	secretBasic  string // "Basic …" of the secret client
	introspector string // "Basic …" of a client holding tokens-introspect
	jwtClient    string
	jwtSigner    jose.Signer
	accessTokens []string // tokens of the secret client
	refresh      chan string
}

type scenario struct {
	name   string
	target vegeta.Targeter
	result func(*vegeta.Result)
}

func basic(id, s string) string {
	w, _ := clienthash.WireSecret(s, id)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(w)))
}

var form = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

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
	f := &fixtures{issuer: srv.issuer, username: "bench-user", refresh: make(chan string, 100_000)}
	tok, err := post(f.issuer, "/oauth2/token", basic(srv.boot["admin_client_id"], srv.boot["admin_client_secret"]), url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		return nil, err
	}
	f.adminToken = tok["access_token"].(string)
	g, err := f.admin(http.MethodPost, "/admin/groups", map[string]any{"name": "bench", "resources": []string{"users-read", "tokens-introspect"}})
	if err != nil {
		return nil, err
	}
	const password = "bench password, typed once"
	set, _ := clienthash.NewPasswordSetting(password, password, 0)
	u, err := f.admin(http.MethodPost, "/admin/users", map[string]any{"username": f.username, "password": set, "groups": []string{g["id"].(string)}})
	if err != nil {
		return nil, err
	}
	f.userID = u["id"].(string)
	salt, _ := clienthash.Decode(set.Salt)
	p, _ := clienthash.DerivePassword(password, salt, set.Iterations)
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

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.jwtClient = "bench-jwt"
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}}
	if _, err := f.newClient(f.jwtClient, []string{"users-read"}, map[string]any{"token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}); err != nil {
		return nil, err
	}
	f.jwtSigner, _ = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)

	for range 2000 {
		t, err := post(f.issuer, "/oauth2/token", f.secretBasic, url.Values{"grant_type": {"client_credentials"}})
		if err != nil {
			return nil, err
		}
		f.accessTokens = append(f.accessTokens, t["access_token"].(string))
	}
	// Refresh chains: each scenario request consumes one and its answer
	// feeds the next, so a handful of logins keeps every connection busy.
	for range 64 {
		t, err := post(f.issuer, "/oauth2/token", f.secretBasic, url.Values{"grant_type": {"password"}, "username": {f.username}, "password": {f.passwordWire}})
		if err != nil {
			return nil, err
		}
		f.refresh <- t["refresh_token"].(string)
	}
	return f, nil
}

func scenarios(f *fixtures) []scenario {
	var n atomic.Uint64
	nextToken := func() string { return f.accessTokens[n.Add(1)%uint64(len(f.accessTokens))] }
	get := func(path string, hdr http.Header) vegeta.Targeter {
		return func(t *vegeta.Target) error {
			t.Method, t.URL, t.Header = http.MethodGet, f.issuer+path, hdr
			return nil
		}
	}
	postForm := func(path, auth string, body func() url.Values) vegeta.Targeter {
		return func(t *vegeta.Target) error {
			t.Method, t.URL = http.MethodPost, f.issuer+path
			t.Header = http.Header{"Content-Type": form["Content-Type"]}
			if auth != "" {
				t.Header.Set("Authorization", auth)
			}
			t.Body = []byte(body().Encode())
			return nil
		}
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	return []scenario{
		{name: "health", target: get("/health/alive", nil)},
		{name: "jwks", target: get("/.well-known/jwks.json", nil)},
		{name: "cc-secret", target: postForm("/oauth2/token", f.secretBasic, func() url.Values { return cc })},
		{name: "cc-private-key-jwt", target: postForm("/oauth2/token", "", func() url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion": {f.assertion()}}
		})},
		{name: "password", target: postForm("/oauth2/token", f.secretBasic, func() url.Values {
			return url.Values{"grant_type": {"password"}, "username": {f.username}, "password": {f.passwordWire}}
		})},
		{name: "refresh", target: postForm("/oauth2/token", f.secretBasic, func() url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {<-f.refresh}}
		}), result: func(r *vegeta.Result) {
			var body struct {
				RefreshToken string `json:"refresh_token"`
			}
			if json.Unmarshal(r.Body, &body) == nil && body.RefreshToken != "" {
				f.refresh <- body.RefreshToken
			}
		}},
		{name: "introspect", target: postForm("/oauth2/introspect", f.introspector, func() url.Values { return url.Values{"token": {nextToken()}} })},
		{name: "revoke", target: postForm("/oauth2/revoke", f.secretBasic, func() url.Values { return url.Values{"token": {nextToken()}} })},
		{name: "admin-read", target: get("/admin/users/"+f.userID, http.Header{"Authorization": {"Bearer " + f.adminToken}})},
	}
}

// assertion signs a fresh private_key_jwt client assertion.
func (f *fixtures) assertion() string {
	now := time.Now()
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	s, _ := jwt.Signed(f.jwtSigner).Claims(jwt.Claims{Issuer: f.jwtClient, Subject: f.jwtClient, Audience: jwt.Audience{f.issuer},
		ID: base64.RawURLEncoding.EncodeToString(b), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}).Serialize()
	return s
}

// argon2Alone measures the server-side password hash by itself, at the
// default parameters, on every core: the ceiling of the password grant.
func argon2Alone(cfg config) row {
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
	return row{Scenario: "argon2id alone (in process)", Requests: count.Load(), RPS: float64(count.Load()) / time.Since(start).Seconds()}
}

package clientauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

const (
	issuer        = "https://auth.example.com"
	tokenEndpoint = issuer + "/oauth2/token"
)

var system = storage.System("test")

// clock is an injected, movable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a seeded memory store and token state with one client owner.
type env struct {
	t       testing.TB
	store   *memory.Store
	state   *memory.TokenState
	clock   *clock
	ownerID string
	// secrets collects every S and W the test used, to prove that no
	// error message carries one.
	secrets []string
}

func newEnv(t testing.TB) *env {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	e := &env{t: t, store: memory.NewWithClock(c.Now), state: memory.NewTokenState(c.Now), clock: c}
	u, err := e.store.CreateUser(context.Background(), system, storage.DefaultRealm,
		storage.User{Username: "owner", Language: "en", Status: storage.StatusActive}, nil)
	require.NoError(t, err)
	e.ownerID = u.ID
	return e
}

func (e *env) authenticator(allowPublic bool) *clientauth.Authenticator {
	return e.authenticatorWith(e.store, e.state, allowPublic)
}

func (e *env) authenticatorWith(clients clientauth.Clients, replay clientauth.Replay, allowPublic bool) *clientauth.Authenticator {
	return clientauth.New(clients, replay, clientauth.Config{
		Realm: storage.DefaultRealm, Issuer: issuer, TokenEndpoint: tokenEndpoint,
		Now: e.clock.Now, AllowPublic: allowPublic,
	})
}

// client registers a client with the given method; mutate adjusts it.
func (e *env) client(id, method string, verifiers [][]byte, mutate ...func(*storage.Client)) storage.Client {
	e.t.Helper()
	c := storage.Client{
		ClientID: id, OwnerID: e.ownerID, Name: id, GrantTypes: []string{"client_credentials"},
		TokenEndpointAuthMethod: method, Status: storage.StatusActive,
	}
	for _, m := range mutate {
		m(&c)
	}
	c, err := e.store.CreateClient(context.Background(), system, storage.DefaultRealm, c, verifiers)
	require.NoError(e.t, err)
	return c
}

// newWire returns a fresh b64u(W) for clientID with its verifier V.
func (e *env) newWire(clientID string) (string, []byte) {
	e.t.Helper()
	s, err := clienthash.NewClientSecret()
	require.NoError(e.t, err)
	w := clienthash.ClientSecretWire(s, clientID)
	e.secrets = append(e.secrets, clienthash.Encode(s), clienthash.Encode(w))
	return clienthash.Encode(w), clienthash.ClientSecretVerifier(w)
}

// secretIDs returns the ids of the client's secret versions, oldest first.
func (e *env) secretIDs(clientID string) []string {
	e.t.Helper()
	all, err := e.store.ListClientSecrets(context.Background(), storage.DefaultRealm, clientID)
	require.NoError(e.t, err)
	ids := make([]string, len(all))
	for i, s := range all {
		ids[i] = s.ID
	}
	return ids
}

// vector is one client_secret entry of the normative test vectors.
type vector struct {
	ClientID string `json:"client_id"`
	S, W, V  string
}

// vectors reads the repository's copy of the normative client-side
// hashing vectors (docs/client-side-hashing.md).
func vectors(t testing.TB) map[string]vector {
	t.Helper()
	raw, err := os.ReadFile("../../clienthash/testdata/vectors.json")
	require.NoError(t, err)
	var doc struct {
		ClientSecret []vector `json:"client_secret"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	out := map[string]vector{}
	for _, v := range doc.ClientSecret {
		out[v.ClientID] = v
	}
	return out
}

// decode decodes b64u test data.
func decode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := clienthash.Decode(s)
	require.NoError(t, err)
	return b
}

// basic builds a client_secret_basic header value the way RFC 6749
// §2.3.1 says: both parts form-urlencoded, then Basic-encoded.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// rawBasic Basic-encodes s as it is.
func rawBasic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

// request is a token request: Authorization header values and a form.
type request struct {
	authz []string
	form  url.Values
}

func (r request) http() (*http.Request, url.Values) {
	form := r.form
	if form == nil {
		form = url.Values{}
	}
	hr := httptest.NewRequest(http.MethodPost, tokenEndpoint, strings.NewReader(form.Encode()))
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, a := range r.authz {
		hr.Header.Add("Authorization", a)
	}
	return hr, form
}

// outcome is what a case expects: an error kind, or a client and method.
type outcome struct {
	err      error // nil, clientauth.ErrInvalidClient or clientauth.ErrInvalidRequest
	clientID string
	method   string
	secretID string
}

// check runs req and compares the result with want. A failure must be of
// exactly one kind and must not quote any secret or the assertion.
func (e *env) check(t *testing.T, a *clientauth.Authenticator, req request, want outcome) clientauth.Result {
	t.Helper()
	hr, form := req.http()
	res, err := a.Authenticate(context.Background(), hr, form)
	if want.err != nil {
		require.ErrorIs(t, err, want.err)
		other := clientauth.ErrInvalidRequest
		if want.err == clientauth.ErrInvalidRequest {
			other = clientauth.ErrInvalidClient
		}
		require.NotErrorIs(t, err, other)
		require.Equal(t, clientauth.Result{}, res)
		leaked := append(append([]string{}, e.secrets...), req.authz...)
		leaked = append(leaked, form.Get("client_secret"))
		leaked = append(leaked, strings.Split(form.Get("client_assertion"), ".")...)
		for _, s := range leaked {
			if len(s) >= 16 {
				require.NotContains(t, err.Error(), s, "the error quotes a credential")
			}
		}
		return res
	}
	require.NoError(t, err)
	require.Equal(t, want.clientID, res.Client.ClientID)
	require.Equal(t, want.method, res.Method)
	require.Equal(t, want.secretID, res.SecretID)
	return res
}

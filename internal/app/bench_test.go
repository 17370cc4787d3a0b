package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

// benchIterations is the client-side PBKDF2 count of the benchmarks'
// passwords: their clients derive nothing while measured.
const benchIterations = 1000

// benchServer is a Gatehouse on memory storage, with argon2id at 1 MiB
// and one pass: the benchmarks that hash show the rest of their work.
func benchServer(b *testing.B) (*app.App, *mux.Router) {
	store, state := memory.New(), memory.NewTokenState(nil)
	a, err := app.New(context.Background(), app.Options{
		Issuer: "http://gatehouse.test", SigningAlgorithm: "ES256", KeyEncryptionSecret: bytes.Repeat([]byte{7}, 32),
		Argon2: credential.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}, PasswordIterations: benchIterations,
		PreloginSecret: bytes.Repeat([]byte{9}, 32), Store: store, State: state,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	r := mux.NewRouter()
	a.Register(r)
	return a, r
}

// benchApp is a Gatehouse on memory storage with one client allowed
// users-read, owned by a user who holds it.
func benchApp(b *testing.B) (http.Handler, string, string) {
	ctx := context.Background()
	a, r := benchServer(b)
	actor := storage.System("bench")
	g, _ := a.Store().CreateGroup(ctx, actor, storage.DefaultRealm, storage.Group{Name: "g", Resources: []string{"users-read"}})
	u, _ := a.Store().CreateUser(ctx, actor, storage.DefaultRealm, storage.User{Username: "owner", Language: "en", Status: storage.StatusActive}, []string{g.ID})
	s, _ := clienthash.NewClientSecret()
	w := clienthash.ClientSecretWire(s, "bench")
	if _, err := a.Store().CreateClient(ctx, actor, storage.DefaultRealm, storage.Client{ClientID: "bench", OwnerID: u.ID, Name: "bench",
		Scopes: []string{"users-read"}, GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: storage.AuthMethodSecretBasic,
		Status: storage.StatusActive}, [][]byte{clienthash.ClientSecretVerifier(w)}); err != nil {
		b.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("bench:"+clienthash.Encode(w)))
	tok := httptest.NewRecorder()
	r.ServeHTTP(tok, tokenRequest(basic))
	return r, basic, tok.Body.String()
}

func tokenRequest(basic string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic)
	return req
}

// BenchmarkClientCredentials is the whole token endpoint for a cached
// client, without the network: authentication, scopes, signing, response.
func BenchmarkClientCredentials(b *testing.B) {
	h, basic, _ := benchApp(b)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, tokenRequest(basic))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Body.String())
		}
	}
}

// BenchmarkIntrospect is an introspection of the caller's own token.
func BenchmarkIntrospect(b *testing.B) {
	h, basic, body := benchApp(b)
	at := body[strings.Index(body, `"access_token":"`)+16:]
	at = at[:strings.IndexByte(at, '"')]
	form := url.Values{"token": {at}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/oauth2/introspect", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", basic)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"active":true`) {
			b.Fatal(rec.Body.String())
		}
	}
}

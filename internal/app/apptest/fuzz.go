package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
	"github.com/gatehouse/gatehouse/storage/redis"
)

// FuzzIssuer is the issuer of a Fuzz server; it listens nowhere.
const FuzzIssuer = "http://gatehouse.test"

// Fuzz is a Gatehouse for fuzz targets, memory-backed unless built by
// NewFuzzReal. A target builds it once, before f.Fuzz, and every input is
// one in-process handler call through the full middleware chain, without
// a listener. Its fixtures are
// an administrator "root" with the password "root-password-1" and an admin
// client "admin-cli" (every scope, client_secret_basic) with an access
// token. The clock stands still, so the token stays valid.
type Fuzz struct {
	Handler     http.Handler
	App         *app.App
	Store       storage.Store
	Clock       *Clock
	Admin       storage.User
	AdminClient Client
	AdminToken  string

	errs *lastErrors
}

// NewFuzz builds a Fuzz server on the in-memory backends. tb is the
// *testing.F of the target.
func NewFuzz(tb testing.TB) *Fuzz {
	tb.Helper()
	clk := &Clock{now: time.Now().Truncate(time.Second)}
	return newFuzz(tb, clk, memory.NewWithClock(clk.Now), memory.NewTokenState(clk.Now))
}

// NewFuzzReal builds a Fuzz server on PostgreSQL (a fresh scratch database)
// and Redis (a fresh key prefix): slower per input, but it finds what only
// they refuse. Like Real, it skips, or under make test fails, without them.
func NewFuzzReal(tb testing.TB) *Fuzz {
	tb.Helper()
	store := pgtest.NewStore(tb)
	state, err := redis.Open(context.Background(), testenv.RedisURL(tb), redis.WithKeyPrefix("ghf:"+RandomString(tb)+":"))
	require.NoError(tb, err)
	tb.Cleanup(state.Close)
	return newFuzz(tb, &Clock{now: time.Now().Truncate(time.Second)}, store, state)
}

func newFuzz(tb testing.TB, clk *Clock, store storage.Store, state storage.TokenState) *Fuzz {
	tb.Helper()
	ctx := context.Background()
	z := &Fuzz{Clock: clk, errs: &lastErrors{}}
	logger := slog.New(slog.NewJSONHandler(z.errs, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(ctx, app.Options{
		Issuer: FuzzIssuer, SigningAlgorithm: "ES256", KeyEncryptionSecret: bytes.Repeat([]byte{7}, 32),
		Argon2: Argon2, HashQueueWait: time.Second, PasswordIterations: Iterations,
		PreloginSecret: bytes.Repeat([]byte{9}, 32), Store: store, State: state,
		Logger: logger, Now: clk.Now,
	})
	require.NoError(tb, err)
	z.App, z.Store = a, a.Store()
	z.Handler = server.New(server.Options{Logger: logger, MaxBodyBytes: 64 << 10}, a.Register).Handler()

	admins, err := z.Store.GetGroupByName(ctx, storage.DefaultRealm, storage.AdministratorsGroup)
	require.NoError(tb, err)
	z.Admin = z.User(tb, "root", "root-password-1", admins.ID)
	z.AdminClient = z.Client(tb, storage.Client{ClientID: "admin-cli", OwnerID: z.Admin.ID, AllScopes: true})
	z.AdminToken = z.Token(tb, z.AdminClient, url.Values{"grant_type": {"client_credentials"}})
	return z
}

// Serve runs req through the server.
func (z *Fuzz) Serve(req *http.Request) *httptest.ResponseRecorder {
	z.errs.reset()
	rec := httptest.NewRecorder()
	z.Handler.ServeHTTP(rec, req)
	return rec
}

// Errors returns what the server logged at error level during the last
// Serve: the cause of a 500, or a recovered panic with its stack.
func (z *Fuzz) Errors() string { return z.errs.String() }

// User creates an active user in groups, with a password hashed on the
// client side as a real client does.
func (z *Fuzz) User(tb testing.TB, username, password string, groups ...string) storage.User {
	tb.Helper()
	u, _ := createUser(tb, z.App.Hasher, z.Store, username, password, groups)
	return u
}

// Client registers c, an active confidential client with all three grant
// types and client_secret_basic unless c says otherwise, and returns it
// with its secret.
func (z *Fuzz) Client(tb testing.TB, c storage.Client) Client {
	tb.Helper()
	if c.Name == "" {
		c.Name = c.ClientID
	}
	if c.GrantTypes == nil {
		c.GrantTypes = []string{"client_credentials", "password", "refresh_token"}
	}
	if c.TokenEndpointAuthMethod == "" {
		c.TokenEndpointAuthMethod = storage.AuthMethodSecretBasic
	}
	if c.Status == "" {
		c.Status = storage.StatusActive
	}
	secret, err := clienthash.NewClientSecret()
	require.NoError(tb, err)
	w := clienthash.ClientSecretWire(secret, c.ClientID)
	_, err = z.Store.CreateClient(context.Background(), System, storage.DefaultRealm, c, [][]byte{clienthash.ClientSecretVerifier(w)})
	require.NoError(tb, err)
	return Client{ID: c.ClientID, Secret: clienthash.Encode(secret)}
}

// Token runs a token request for c, which must succeed, and returns the
// access token.
func (z *Fuzz) Token(tb testing.TB, c Client, form url.Values) string {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, FuzzIssuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Wire(tb)))
	rec := z.Serve(req)
	require.Equal(tb, http.StatusOK, rec.Code, rec.Body.String())
	var out struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &out))
	return out.AccessToken
}

// lastErrors keeps the log lines of the request being served.
type lastErrors struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lastErrors) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 64<<10 {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *lastErrors) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

func (l *lastErrors) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

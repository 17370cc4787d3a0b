// Package apptest runs a complete Gatehouse over HTTP for end-to-end tests,
// on the in-memory backends or on the real PostgreSQL and Redis, with
// helpers to create fixtures and to make requests as real clients would.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
	"github.com/gatehouse/gatehouse/storage/redis"
	"github.com/gatehouse/gatehouse/storage/redis/redistest"
)

// Iterations is the client-side PBKDF2 count tests use: cheap, so that the
// suite spends its time on behaviour. The server is configured to accept it.
const Iterations = 1000

// Argon2 are cheap server-side hashing parameters for tests.
var Argon2 = credential.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Backend builds the store and token state a test server runs on.
type Backend struct {
	Name string
	New  func(t *testing.T, now func() time.Time) (storage.Store, storage.TokenState)
}

// Memory is the in-memory backend of --dev.
var Memory = Backend{"memory", func(t *testing.T, now func() time.Time) (storage.Store, storage.TokenState) {
	return memory.New(), memory.NewTokenState(now)
}}

// Real is PostgreSQL (a fresh scratch database) and Redis (a fresh key
// prefix). It skips, or under make test fails, when they are not
// configured.
var Real = realBackend("postgres+redis", testenv.RedisURL, nil)

// RealCluster is Real with its token state on a Redis Cluster (a fresh
// key prefix), whose keys spread over several Redis nodes.
var RealCluster = realBackend("postgres+redis-cluster", testenv.RedisClusterURL, nil)

// RealSentinel is Real with its token state on the Sentinel setup of
// scripts/test-env.sh, whose writes that must survive a failover wait for
// a replica (redis_wait_replicas: 1). Tests that fail it over take it
// exclusively first (redistest.LockSentinel); others share it.
var RealSentinel = realBackend("postgres+redis-sentinel", testenv.RedisSentinelURL,
	func(t *testing.T) { redistest.LockSentinel(t, false) }, redis.WithWaitReplicas(1))

// realBackend is a scratch PostgreSQL database and token state on the
// Redis at redisURL under a fresh key prefix; before runs first.
func realBackend(name string, redisURL func(testing.TB) string, before func(*testing.T), opts ...redis.Option) Backend {
	return Backend{name, func(t *testing.T, now func() time.Time) (storage.Store, storage.TokenState) {
		if before != nil {
			before(t)
		}
		store := pgtest.NewStore(t)
		state, err := redis.Open(context.Background(), redisURL(t),
			append([]redis.Option{redis.WithKeyPrefix("ght:" + RandomString(t) + ":")}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(state.Close)
		return store, state
	}}
}

// Backends are all backends; behaviour must not differ between them.
var Backends = []Backend{Memory, Real}

// MultiNodeBackends are the backends of the tests of several nodes
// sharing state: every backend, and a Redis Cluster.
var MultiNodeBackends = []Backend{Memory, Real, RealCluster}

// ForEachBackend runs fn as a parallel subtest against a fresh server on
// every backend.
func ForEachBackend(t *testing.T, fn func(t *testing.T, s *Server)) {
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, Start(t, b))
		})
	}
}

// Clock is a settable clock shared by every part of the server.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Server is a running Gatehouse.
type Server struct {
	T     *testing.T
	URL   string // the issuer
	App   *app.App
	Store storage.Store
	State storage.TokenState
	Clock *Clock
	Logs  *SyncBuffer

	mu      sync.Mutex
	secrets []string
}

// Start starts a server on b. mutate may adjust the options before the app
// is built.
func Start(t *testing.T, b Backend, mutate ...func(*app.Options)) *Server {
	t.Helper()
	clk := &Clock{now: time.Now().Truncate(time.Second)}
	store, state := b.New(t, clk.Now)
	s := &Server{T: t, Store: store, State: state, Clock: clk, Logs: &SyncBuffer{}}
	hs := httptest.NewUnstartedServer(nil)
	s.URL = "http://" + hs.Listener.Addr().String()

	opts := app.Options{
		Issuer: s.URL, SigningAlgorithm: "ES256", KeyEncryptionSecret: bytes.Repeat([]byte{7}, 32),
		Argon2: Argon2, HashQueueWait: time.Second, PasswordIterations: Iterations,
		PreloginSecret: bytes.Repeat([]byte{9}, 32), Store: store, State: state,
		Logger: slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    clk.Now,
	}
	for _, m := range mutate {
		m(&opts)
	}
	a, err := app.New(context.Background(), opts)
	require.NoError(t, err)
	s.App = a
	// Fixtures go through the app's store, like every change in
	// production, so that they reach its caches.
	s.Store = a.Store()
	srv := server.New(server.Options{Logger: opts.Logger, MaxBodyBytes: 64 << 10,
		Ready: []server.Check{{Name: "store", Ping: store.Ping}, {Name: "token_state", Ping: state.Ping}}}, a.Register)
	hs.Config.Handler = validateResponses(t, srv.Handler())
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		s.assertNoSecretsLogged()
	})
	return s
}

// Remember records secrets (passwords, hashes, client secrets, tokens)
// that must never appear in the server's logs; Start's cleanup checks.
func (s *Server) Remember(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if v != "" {
			s.secrets = append(s.secrets, v)
		}
	}
}

func (s *Server) assertNoSecretsLogged() {
	logs := s.Logs.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.secrets {
		if strings.Contains(logs, v) {
			s.T.Errorf("secret %.6s… appears in the server log", v)
		}
	}
}

// RandomString returns a short random identifier.
func RandomString(t testing.TB) string {
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return clienthash.Encode(b[:])
}

// SyncBuffer is a bytes.Buffer safe for concurrent logging.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/storecache"
	"github.com/gatehouse/gatehouse/internal/telemetry"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

func scrape(t *testing.T, m *telemetry.Metrics) string {
	t.Helper()
	res := httptest.NewRecorder()
	m.Handler().ServeHTTP(res, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, res.Code)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func TestHTTPRequests(t *testing.T) {
	m := telemetry.NewMetrics()
	m.ObserveRequest("/oauth2/token", http.MethodPost, 200, 3*time.Millisecond)
	m.ObserveRequest("/oauth2/token", http.MethodPost, 201, time.Millisecond)
	m.ObserveRequest("/oauth2/token", "BREW", 400, time.Millisecond)
	m.ObserveRequest("unmatched", http.MethodGet, 999, time.Millisecond)
	out := scrape(t, m)
	for _, line := range []string{
		`gatehouse_http_requests_total{code_class="2xx",method="POST",route="/oauth2/token"} 2`,
		`gatehouse_http_requests_total{code_class="4xx",method="other",route="/oauth2/token"} 1`,
		`gatehouse_http_requests_total{code_class="other",method="GET",route="unmatched"} 1`,
		`gatehouse_http_request_duration_seconds_bucket{code_class="2xx",method="POST",route="/oauth2/token",le="0.001"} 1`,
		`gatehouse_http_request_duration_seconds_count{code_class="2xx",method="POST",route="/oauth2/token"} 2`,
	} {
		require.Contains(t, out, line+"\n")
	}
	require.NotContains(t, out, "BREW")
	require.Contains(t, out, "go_goroutines ")
	require.Contains(t, out, "process_cpu_seconds_total ")

	res := httptest.NewRecorder()
	m.Handler().ServeHTTP(res, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusNotFound, res.Code, "the listener serves /metrics only")
}

// However many routes are reported, the label stays bounded.
func TestRoutesAreBounded(t *testing.T) {
	m := telemetry.NewMetrics()
	for i := range 600 {
		m.ObserveRequest("/r/"+strconv.Itoa(i), http.MethodGet, 200, time.Millisecond)
	}
	out := scrape(t, m)
	require.Equal(t, 500+1, strings.Count(out, "gatehouse_http_requests_total{"))
	require.Contains(t, out, `gatehouse_http_requests_total{code_class="2xx",method="GET",route="other"} 100`)
}

// The request path records without allocating once a series is bound.
func TestRecordingDoesNotAllocate(t *testing.T) {
	m := telemetry.NewMetrics()
	m.ObserveRequest("/oauth2/token", http.MethodPost, 200, time.Millisecond)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		m.ObserveRequest("/oauth2/token", http.MethodPost, 200, time.Millisecond)
	}))
	require.Zero(t, testing.AllocsPerRun(100, func() { m.TokenRequest("client_credentials", "issued") }))
}

func TestTokens(t *testing.T) {
	m := telemetry.NewMetrics()
	m.TokenRequest("client_credentials", "issued")
	m.TokenRequest("password", "invalid_grant")
	m.TokenRequest("urn:evil:alice", "invalid_client")
	m.TokenRequest("", "made_up")
	out := scrape(t, m)
	for _, line := range []string{
		`gatehouse_tokens_issued_total{grant="client_credentials",outcome="issued"} 1`,
		`gatehouse_tokens_issued_total{grant="password",outcome="invalid_grant"} 1`,
		`gatehouse_tokens_issued_total{grant="other",outcome="invalid_client"} 1`,
		`gatehouse_tokens_issued_total{grant="other",outcome="other"} 1`,
		`gatehouse_tokens_issued_total{grant="refresh_token",outcome="server_error"} 0`,
	} {
		require.Contains(t, out, line+"\n")
	}
	require.NotContains(t, out, "evil")
}

type fakePool storage.PoolStats

func (p fakePool) PoolStats() storage.PoolStats { return storage.PoolStats(p) }

type fakeKeys struct {
	age time.Duration
	ok  bool
}

func (k fakeKeys) ActiveKeyAge() (time.Duration, bool) { return k.age, k.ok }

// State is read at scrape time from its owners.
func TestScrapedState(t *testing.T) {
	m := telemetry.NewMetrics()
	m.WatchPool(telemetry.PoolPostgres, fakePool{MaxConns: 8, TotalConns: 5, IdleConns: 2, Acquires: 40, Waits: 3,
		WaitTime: 1500 * time.Millisecond, Timeouts: 1})
	m.WatchPool(telemetry.PoolRedis, fakePool{MaxConns: 20, TotalConns: 1, IdleConns: 1})
	m.WatchSigningKey(fakeKeys{age: 90 * time.Minute, ok: true})
	h := credential.NewPasswordHasher(credential.Argon2Params{MemoryKiB: 1024, Time: 1}, 3, 7, time.Second)
	m.WatchHasher(h)
	_, err := h.Hash(context.Background(), make([]byte, 32))
	require.NoError(t, err)
	c := storecache.New(memory.New(), memory.NewTokenState(nil))
	m.WatchCaches(c)
	ctx, err := c.Begin(context.Background())
	require.NoError(t, err)
	_, err = c.GetClient(ctx, storage.DefaultRealm, "nobody")
	require.ErrorIs(t, err, storage.ErrNotFound)

	out := scrape(t, m)
	for _, line := range []string{
		`gatehouse_pool_connections{pool="postgres",state="idle"} 2`,
		`gatehouse_pool_connections{pool="postgres",state="in_use"} 3`,
		`gatehouse_pool_max_connections{pool="postgres"} 8`,
		`gatehouse_pool_acquires_total{pool="postgres"} 40`,
		`gatehouse_pool_waits_total{pool="postgres"} 3`,
		`gatehouse_pool_wait_seconds_total{pool="postgres"} 1.5`,
		`gatehouse_pool_timeouts_total{pool="postgres"} 1`,
		`gatehouse_pool_max_connections{pool="redis"} 20`,
		`gatehouse_signing_key_age_seconds 5400`,
		`gatehouse_password_hash_slots 3`,
		`gatehouse_password_hash_slots_in_use 0`,
		`gatehouse_password_hash_queue_capacity 7`,
		`gatehouse_password_hash_queue_length 0`,
		`gatehouse_password_hash_refusals_total 0`,
		`gatehouse_password_hash_wait_seconds_count 1`,
		`gatehouse_cache_misses_total{cache="client"} 1`,
		`gatehouse_cache_hits_total{cache="client"} 0`,
		`gatehouse_change_stamp_requests_total 1`,
		`gatehouse_change_stamp_reads_total 1`,
	} {
		require.Contains(t, out, line+"\n")
	}

	// Before a key is active, the age is absent rather than zero.
	m2 := telemetry.NewMetrics()
	m2.WatchSigningKey(fakeKeys{})
	require.NotContains(t, scrape(t, m2), "gatehouse_signing_key_age_seconds ")
}

// Every metric follows Prometheus's naming and help conventions.
func TestLint(t *testing.T) {
	m := telemetry.NewMetrics()
	m.WatchPool(telemetry.PoolPostgres, fakePool{})
	m.WatchSigningKey(fakeKeys{age: time.Second, ok: true})
	m.WatchHasher(credential.NewPasswordHasher(credential.Argon2Params{}, 1, 1, time.Second))
	m.WatchCaches(storecache.New(memory.New(), memory.NewTokenState(nil)))
	problems, err := testutil.GatherAndLint(m.Registry())
	require.NoError(t, err)
	var gatehouse []string
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "gatehouse_") {
			gatehouse = append(gatehouse, p.Metric+": "+p.Text)
		}
	}
	require.Empty(t, gatehouse)
}

// docs/operations.md documents every metric Gatehouse exports.
func TestEveryMetricIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	require.NoError(t, err)
	m := telemetry.NewMetrics()
	m.WatchPool(telemetry.PoolPostgres, fakePool{})
	m.WatchSigningKey(fakeKeys{age: time.Second, ok: true})
	m.WatchHasher(credential.NewPasswordHasher(credential.Argon2Params{}, 1, 1, time.Second))
	m.WatchCaches(storecache.New(memory.New(), memory.NewTokenState(nil)))
	m.WatchOutbox(memory.New().OutboxStats)
	m.ObserveRequest("/", http.MethodGet, 200, time.Millisecond)
	families, err := m.Registry().Gather()
	require.NoError(t, err)
	n := 0
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "gatehouse_") {
			n++
			require.Contains(t, string(doc), "| `"+f.GetName()+"` | "+strings.ToLower(f.GetType().String())+" |",
				"docs/operations.md lacks the row of %s", f.GetName())
		}
	}
	require.Equal(t, 24, n)
}

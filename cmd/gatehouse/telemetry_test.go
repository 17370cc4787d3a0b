package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/telemetry/telemetrytest"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
)

// The operator's view of a production server (docs/operations.md#metrics-and-traces):
// serve on PostgreSQL and Redis with metrics_addr and tracing.otlp_endpoint
// set; after a token issued, a token refused and a management request,
// the metrics listener shows every family with plausible values and
// labels from fixed sets only, the public port has no /metrics, and the
// collector has received the HTTP, PostgreSQL and Redis spans, none
// carrying a secret.
func TestMetricsAndTraces(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	redisURL := testenv.RedisURL(t)
	bin := build(t)
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	issuer := "http://" + addr
	collector := telemetrytest.NewReceiver(t)
	env := append(cleanEnv(),
		"GATEHOUSE_DATABASE_URL="+dsn, "GATEHOUSE_REDIS_URL="+redisURL,
		"GATEHOUSE_KEYS_ENCRYPTION_SECRET="+randomSecret(), "GATEHOUSE_PASSWORD_PRELOGIN_SECRET="+randomSecret(),
		"GATEHOUSE_ADDR="+addr, "GATEHOUSE_ISSUER="+issuer,
		"GATEHOUSE_METRICS_ADDR="+metricsAddr, "GATEHOUSE_TRACING_OTLP_ENDPOINT="+collector.URL,
		"GATEHOUSE_PASSWORD_ARGON2_MEMORY_KIB=1024", "GATEHOUSE_PASSWORD_ARGON2_TIME=1")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
		return string(out)
	}
	run("migrate", "up")
	var boot map[string]string
	require.NoError(t, json.Unmarshal([]byte(run("bootstrap", "--json", "--username", "metrics-admin")), &boot))

	serve, _, logs := startServer(t, bin, env, issuer, "serve")

	ctx := context.Background()
	clientID := boot["admin_client_id"]
	wire, err := clienthash.WireSecret(boot["admin_client_secret"], clientID)
	require.NoError(t, err)
	tok, err := (&clientcredentials.Config{ClientID: clientID, ClientSecret: wire, TokenURL: issuer + "/oauth2/token",
		AuthStyle: oauth2.AuthStyleInHeader}).Token(ctx)
	require.NoError(t, err)
	wrongWire := strings.Repeat("A", len(wire)) // well-formed, wrong
	_, err = (&clientcredentials.Config{ClientID: clientID, ClientSecret: wrongWire, TokenURL: issuer + "/oauth2/token",
		AuthStyle: oauth2.AuthStyleInHeader}).Token(ctx)
	require.ErrorContains(t, err, "invalid_client")
	req, err := http.NewRequest(http.MethodGet, issuer+"/admin/users/"+url.PathEscape(boot["admin_user_id"]), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	res, err = http.Get(issuer + "/metrics")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode, "never on the public port")

	res, err = http.Get("http://" + metricsAddr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	metrics := string(body)

	value := func(series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(metrics)
		require.NotNil(t, m, "no series %s in:\n%s", series, metrics)
		v, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		return v
	}
	require.Equal(t, 1.0, value(`gatehouse_http_requests_total{code_class="2xx",method="POST",route="/oauth2/token"}`))
	require.Equal(t, 1.0, value(`gatehouse_http_requests_total{code_class="4xx",method="POST",route="/oauth2/token"}`))
	require.Equal(t, 1.0, value(`gatehouse_http_requests_total{code_class="2xx",method="GET",route="/admin/users/{id}"}`))
	require.Equal(t, 1.0, value(`gatehouse_http_requests_total{code_class="4xx",method="GET",route="unmatched"}`))
	require.Equal(t, 1.0, value(`gatehouse_http_request_duration_seconds_count{code_class="2xx",method="POST",route="/oauth2/token"}`))
	require.Positive(t, value(`gatehouse_http_request_duration_seconds_sum{code_class="2xx",method="POST",route="/oauth2/token"}`))
	require.Equal(t, 1.0, value(`gatehouse_tokens_issued_total{grant="client_credentials",outcome="issued"}`))
	require.Equal(t, 1.0, value(`gatehouse_tokens_issued_total{grant="client_credentials",outcome="invalid_client"}`))
	require.Zero(t, value(`gatehouse_tokens_issued_total{grant="password",outcome="issued"}`))
	age := value(`gatehouse_signing_key_age_seconds`)
	require.True(t, age >= 0 && age < 3600, "a key activated by this test: %v", age)
	require.Positive(t, value(`gatehouse_password_hash_slots`))
	require.Zero(t, value(`gatehouse_password_hash_slots_in_use`))
	require.Zero(t, value(`gatehouse_password_hash_queue_length`))
	require.Equal(t, 64.0, value(`gatehouse_password_hash_queue_capacity`))
	require.GreaterOrEqual(t, value(`gatehouse_cache_misses_total{cache="client"}`), 1.0)
	require.GreaterOrEqual(t, value(`gatehouse_cache_hits_total{cache="client"}`), 0.0)
	require.GreaterOrEqual(t, value(`gatehouse_change_stamp_reads_total`), 1.0)
	require.GreaterOrEqual(t, value(`gatehouse_change_stamp_requests_total`), value(`gatehouse_change_stamp_reads_total`))
	for _, pool := range []string{"postgres", "redis"} {
		require.Positive(t, value(`gatehouse_pool_max_connections{pool="`+pool+`"}`), pool)
		require.Positive(t, value(`gatehouse_pool_connections{pool="`+pool+`",state="idle"}`)+
			value(`gatehouse_pool_connections{pool="`+pool+`",state="in_use"}`), pool)
		require.Positive(t, value(`gatehouse_pool_acquires_total{pool="`+pool+`"}`), pool)
		require.Zero(t, value(`gatehouse_pool_timeouts_total{pool="`+pool+`"}`), pool)
		value(`gatehouse_pool_waits_total{pool="` + pool + `"}`)
		value(`gatehouse_pool_wait_seconds_total{pool="` + pool + `"}`)
	}
	require.Positive(t, value(`go_goroutines`))
	require.Positive(t, value(`process_resident_memory_bytes`))

	secrets := []string{clientID, boot["admin_username"], boot["admin_user_id"], boot["admin_client_secret"],
		boot["admin_password"], wire, wrongWire, tok.AccessToken}
	labelValue := regexp.MustCompile(`[a-z_]+="((?:[^"\\]|\\.)*)"`)
	for _, m := range labelValue.FindAllStringSubmatch(metrics, -1) {
		for _, s := range secrets {
			require.NotContains(t, m[1], s, "a label value names a user, client or token")
		}
	}

	// Stopping flushes the spans still buffered.
	require.NoError(t, serve.Process.Signal(os.Interrupt))
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGINT")
	}

	spans := collector.Spans()
	var tokenSpan *telemetrytest.Span
	systems := map[string]int{}
	for i, sp := range spans {
		if sp.Name == "POST /oauth2/token" && tokenSpan == nil {
			tokenSpan = &spans[i]
		}
		systems[sp.Attributes["db.system"]]++
		for k, v := range sp.Attributes {
			for _, s := range secrets[3:] {
				require.NotContains(t, v, s, "span %s attribute %s holds a secret", sp.Name, k)
			}
			require.NotContains(t, v, clientID, "span %s attribute %s names the client", sp.Name, k)
		}
		require.NotContains(t, sp.Name, clientID)
		require.Equal(t, "gatehouse", sp.Attributes["resource.service.name"])
	}
	require.NotNil(t, tokenSpan, "no token request span among %d", len(spans))
	require.Equal(t, "SPAN_KIND_SERVER", tokenSpan.Kind)
	require.Equal(t, "/oauth2/token", tokenSpan.Attributes["http.route"])
	require.Positive(t, systems["postgresql"], "PostgreSQL spans")
	require.Positive(t, systems["redis"], "Redis spans")
	var pgInToken bool
	for _, sp := range spans {
		if sp.TraceID == tokenSpan.TraceID && sp.Attributes["db.system"] == "postgresql" {
			pgInToken = true
			require.Equal(t, "SPAN_KIND_CLIENT", sp.Kind)
			require.Contains(t, []string{"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK"}, sp.Name)
		}
	}
	require.True(t, pgInToken, "the token request's client lookup is a PostgreSQL span in its trace")
	require.True(t, strings.Contains(logs.String(), `"msg":"metrics served"`))
}

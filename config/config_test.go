package config_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/config"
)

const goodSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// prod is a complete production environment.
func prod(extra ...string) []string {
	return append([]string{
		"GATEHOUSE_DATABASE_URL=postgres://gh:pw@db:5432/gatehouse",
		"GATEHOUSE_REDIS_URL=redis://:redispw@redis:6379/0",
		"GATEHOUSE_KEYS_ENCRYPTION_SECRET=" + goodSecret,
		"GATEHOUSE_PASSWORD_PRELOGIN_SECRET=" + goodSecret,
		"GATEHOUSE_ISSUER=https://auth.example.com",
	}, extra...)
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestDefaults(t *testing.T) {
	c, err := config.Load("", []string{"GATEHOUSE_DEV=true"}, nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate(), "the defaults validate in dev")
	d := config.Default()
	d.Dev = true
	require.Equal(t, d, c)
	require.Equal(t, 15*time.Minute, c.Token.AccessTTL)
	require.Equal(t, 720*time.Hour, c.Token.RefreshTTL)
	require.Equal(t, int64(64<<10), c.HTTP.MaxBodyBytes)
	require.Equal(t, "127.0.0.1:8080", c.Addr)
	require.Equal(t, "ES256", c.Token.SigningAlg)
	require.Zero(t, c.Keys.RotationInterval)

	c, err = config.Load("", []string{}, nil)
	require.NoError(t, err)
	require.EqualError(t, c.Validate(), "database_url (GATEHOUSE_DATABASE_URL): is required (or run with --dev)")

	c, err = config.Load("", prod(), nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate(), "a complete production environment validates")
}

// Each invalid value is reported with its key, its environment variable
// and what is wrong, on one line.
func TestInvalidValuesNameTheirSetting(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		{"addr", "nonsense", "must be host:port"},
		{"issuer", "http://auth.example.com", "must use https"},
		{"issuer", "auth.example.com", "must be an absolute URL"},
		{"issuer", "https://auth.example.com/", "trailing slash"},
		{"issuer", "https://user:pw@auth.example.com", "user info"},
		{"database_url", "", "is required"},
		{"database_url", "mysql://db/x", "must be a postgres:// URL"},
		{"redis_url", "", "is required"},
		{"redis_url", "http://redis", "must be a redis://, rediss://, redis+sentinel://"},
		{"redis_url", "redis+sentinel://h1:26379,h2:26379", "must name the primary"},
		{"redis_url", "redis+cluster://h1,h2:7000", "must be a redis://"},
		{"redis_wait_replicas", "-1", "must be between 0 and 16"},
		{"log.level", "loud", "must be one of debug, info, warn, error"},
		{"log.format", "xml", "must be one of json, text"},
		{"http.read_timeout", "0s", "must be positive"},
		{"http.write_timeout", "-1s", "must be positive"},
		{"http.idle_timeout", "0s", "must be positive"},
		{"http.shutdown_timeout", "0s", "must be positive"},
		{"http.max_body_bytes", "10", "must be between 1024 and 16777216"},
		{"token.access_ttl", "1s", "must be between 60 and 86400"},
		{"token.refresh_ttl", "9000h", "must be between"},
		{"token.audience", " x", "surrounding spaces"},
		{"token.signing_alg", "HS256", "must be one of ES256, RS256, EdDSA"},
		{"token.assertion_max_lifetime", "2h", "must be between 10 and 3600"},
		{"keys.encryption_secret", "", "is required"},
		{"keys.encryption_secret", "c2hvcnQ=", "at least 32 bytes"},
		{"keys.encryption_secret", "not base64!", "must be base64"},
		{"keys.refresh_interval", "2h", "must be between 1 and 3600"},
		{"keys.rotation_interval", "5m", "must be 0 (rotate by hand) or between 1h"},
		{"keys.publish_lead", "5m", "must be between 11m0s (twice the JWKS cache lifetime plus keys.refresh_interval)"},
		{"keys.publish_lead", "200h", "and 168h"},
		{"keys.previous_encryption_secrets", "c2hvcnQ=", "at least 32 bytes"},
		{"keys.previous_encryption_secrets", "not base64!", "must be base64"},
		{"password.iterations", "10", "must be between 1000"},
		{"password.throttle.free_per_user_client", "0", "must be between 1"},
		{"password.throttle.free_per_source", "0", "must be between 1"},
		{"password.throttle.free_per_address", "0", "must be between 1"},
		{"password.throttle.free_per_user", "0", "must be between 1"},
		{"password.throttle.base_delay", "0s", "must be between 1"},
		{"password.throttle.max_delay", "500ms", "must be between password.throttle.base_delay and 24h"},
		{"password.throttle.forget_after", "1m", "must be between password.throttle.max_delay"},
		{"password.throttle.known_source_ttl", "10m", "must be between 1"},
		{"password.argon2.memory_kib", "1", "must be between 1024"},
		{"password.argon2.time", "0", "must be between 1 and 100"},
		{"password.argon2.threads", "0", "must be between 1 and 64"},
		{"password.max_concurrent_hashes", "5000", "must be between 0 and 1024"},
		{"password.max_queue", "0", "must be between 1 and 100000"},
		{"password.queue_wait", "0s", "must be positive"},
		{"password.prelogin_secret", "", "is required"},
		{"debug_addr", "0.0.0.0:6060", "must be a loopback host:port"},
		{"debug_addr", "6060", "must be a loopback host:port"},
		{"metrics_addr", "9090", "must be host:port"},
		{"metrics_addr", "127.0.0.1:8080", "must differ from addr"},
		{"metrics_addr", "0.0.0.0:8080", "must differ from addr"},
		{"tracing.otlp_endpoint", "collector:4318", "must be an http:// or https:// base URL"},
		{"tracing.otlp_endpoint", "grpc://collector:4317", "must be an http:// or https:// base URL"},
		{"tracing.sample_ratio", "1.5", "must be between 0 and 1"},
		{"tracing.sample_ratio", "-0.1", "must be between 0 and 1"},
		{"tracing.service_name", "", "must be a name"},
		{"password.prelogin_secret", "c2hvcnQ=", "at least 32 bytes"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			env := append(prod(), config.EnvName(tc.key)+"="+tc.value)
			c, err := config.Load("", env, nil)
			require.NoError(t, err)
			err = c.Validate()
			var cerr *config.Error
			require.ErrorAs(t, err, &cerr)
			require.Equal(t, tc.key, cerr.Key)
			require.Contains(t, err.Error(), fmt.Sprintf("%s (%s): ", tc.key, config.EnvName(tc.key)))
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "\n")
			if tc.value != "" && strings.Contains(tc.key, "secret") {
				require.NotContains(t, err.Error(), tc.value, "a secret is never echoed")
			}
		})
	}
}

// Metrics and tracing are off by default; set, they load from the
// environment and from YAML (where the ratio is a number).
func TestTelemetrySettings(t *testing.T) {
	c, err := config.Load("", prod(), nil)
	require.NoError(t, err)
	require.Empty(t, c.MetricsAddr)
	require.Empty(t, c.Tracing.OTLPEndpoint)
	require.Equal(t, 1.0, c.Tracing.SampleRatio)

	c, err = config.Load("", prod("GATEHOUSE_METRICS_ADDR=0.0.0.0:9090", "GATEHOUSE_TRACING_OTLP_ENDPOINT=http://otel:4318",
		"GATEHOUSE_TRACING_SAMPLE_RATIO=0.25"), nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Equal(t, "0.0.0.0:9090", c.MetricsAddr)
	require.Equal(t, "http://otel:4318", c.Tracing.OTLPEndpoint)
	require.Equal(t, 0.25, c.Tracing.SampleRatio)

	c, err = config.Load(writeFile(t, "tracing:\n  sample_ratio: 0.5\n  service_name: auth-eu\n"), prod(), nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Equal(t, 0.5, c.Tracing.SampleRatio)
	require.Equal(t, "auth-eu", c.Tracing.ServiceName)
	c, err = config.Load(writeFile(t, "tracing:\n  sample_ratio: 1\n"), prod(), nil)
	require.NoError(t, err)
	require.Equal(t, 1.0, c.Tracing.SampleRatio)

	_, err = config.Load(writeFile(t, "tracing:\n  sample_ratio: half\n"), prod(), nil)
	require.ErrorContains(t, err, "tracing.sample_ratio (GATEHOUSE_TRACING_SAMPLE_RATIO): must be a number")
	_, err = config.Load("", prod("GATEHOUSE_TRACING_SAMPLE_RATIO=half"), nil)
	require.ErrorContains(t, err, "must be a number")
}

// dev relaxes exactly what it provides itself: storage, secrets, http.
func TestDevRelaxes(t *testing.T) {
	c, err := config.Load("", []string{"GATEHOUSE_DEV=1", "GATEHOUSE_ISSUER=http://gatehouse.test:8080"}, nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate())

	c, err = config.Load("", []string{"GATEHOUSE_DEV=1", "GATEHOUSE_KEYS_ENCRYPTION_SECRET=c2hvcnQ="}, nil)
	require.NoError(t, err)
	require.ErrorContains(t, c.Validate(), "keys.encryption_secret", "a secret given in dev must still be valid")

	for _, host := range []string{"localhost", "127.0.0.1", "[::1]"} {
		c, err := config.Load("", prod("GATEHOUSE_ISSUER=http://"+host+":8080"), nil)
		require.NoError(t, err)
		require.NoError(t, c.Validate(), "http on loopback %s", host)
	}
}

// Values of the wrong type fail at load, naming the setting.
func TestMalformedValuesNameTheirSetting(t *testing.T) {
	for _, tc := range []struct {
		env, want string
	}{
		{"GATEHOUSE_TOKEN_ACCESS_TTL=soon", "token.access_ttl (GATEHOUSE_TOKEN_ACCESS_TTL): must be a duration"},
		{"GATEHOUSE_TOKEN_ACCESS_TTL=900", "token.access_ttl (GATEHOUSE_TOKEN_ACCESS_TTL): must be a duration"},
		{"GATEHOUSE_DEV=maybe", "dev (GATEHOUSE_DEV): must be true or false"},
		{"GATEHOUSE_HTTP_MAX_BODY_BYTES=lots", "http.max_body_bytes (GATEHOUSE_HTTP_MAX_BODY_BYTES): must be a whole number"},
		{"GATEHOUSE_PASSWORD_ARGON2_THREADS=300", "password.argon2.threads (GATEHOUSE_PASSWORD_ARGON2_THREADS): must be a whole number from 0 to 255"},
		{"GATEHOUSE_PASSWORD_ARGON2_TIME=-1", "password.argon2.time (GATEHOUSE_PASSWORD_ARGON2_TIME): must be a whole number, not negative"},
	} {
		_, err := config.Load("", prod(tc.env), nil)
		require.ErrorContains(t, err, tc.want, tc.env)
		require.True(t, strings.HasPrefix(err.Error(), tc.want), err.Error())
	}

	for _, tc := range []struct {
		yaml, want string
	}{
		{"token:\n  access_ttl: 300\n", "token.access_ttl (GATEHOUSE_TOKEN_ACCESS_TTL): must be a duration"},
		{"addr: [1, 2]\n", "addr (GATEHOUSE_ADDR): must be a string"},
		{"http:\n  max_body_bytes: 1.5\n", "http.max_body_bytes (GATEHOUSE_HTTP_MAX_BODY_BYTES): must be a whole number"},
		{"token: 5\n", "token (GATEHOUSE_TOKEN): is a section: give its settings below it, such as token.access_ttl"},
		{"issuer:\n", "issuer (GATEHOUSE_ISSUER): has no value"},
		{"addr: [\n", "yaml"},
	} {
		path := writeFile(t, tc.yaml)
		_, err := config.Load(path, prod(), nil)
		require.ErrorContains(t, err, "config file "+path+": ", tc.yaml)
		require.ErrorContains(t, err, tc.want, tc.yaml)
	}

	path := writeFile(t, "keys:\n  rotation_interval: 0\ntoken:\n")
	c, err := config.Load(path, prod(), nil)
	require.NoError(t, err, "0 is a duration, and an empty section is no error")
	require.Zero(t, c.Keys.RotationInterval)
}

func TestUnknownSettingsAreErrors(t *testing.T) {
	_, err := config.Load("", prod("GATEHOUSE_DATABSE_URL=x"), nil)
	require.EqualError(t, err, "unknown environment variable GATEHOUSE_DATABSE_URL: no such setting (did you mean GATEHOUSE_DATABASE_URL?); see docs/configuration.md")
	_, err = config.Load("", prod("GATEHOUSE_NOTHING_LIKE_IT=x"), nil)
	require.EqualError(t, err, "unknown environment variable GATEHOUSE_NOTHING_LIKE_IT: no such setting; see docs/configuration.md")

	path := writeFile(t, "token:\n  acess_ttl: 5m\n")
	_, err = config.Load(path, prod(), nil)
	require.ErrorContains(t, err, `unknown setting "token.acess_ttl" (did you mean token.access_ttl?)`)

	// Settings of earlier versions say what replaced them.
	_, err = config.Load("", prod("GATEHOUSE_PASSWORD_ATTEMPTS_PER_MINUTE=10"), nil)
	require.EqualError(t, err, "unknown environment variable GATEHOUSE_PASSWORD_ATTEMPTS_PER_MINUTE: no such setting (replaced by the password.throttle settings); see docs/configuration.md")
	path = writeFile(t, "password:\n  min_iterations: 600000\n")
	_, err = config.Load(path, prod(), nil)
	require.ErrorContains(t, err, `unknown setting "password.min_iterations" (replaced by password.iterations (now the exact count))`)

	path = writeFile(t, "Addr: 127.0.0.1:1\n")
	_, err = config.Load(path, prod(), nil)
	require.ErrorContains(t, err, `unknown setting "Addr"`, "keys are case-sensitive")
}

// The CLI's and the test suite's variables share the prefix but are not
// settings: a shell set up for them can still run the server.
func TestReservedVariablesAreIgnored(t *testing.T) {
	c, err := config.Load("", prod("GATEHOUSE_CLI_CLIENT_ID=x", "GATEHOUSE_CLI_ISSUER=y", "GATEHOUSE_TEST_DATABASE_URL=z"), nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
}

func TestPrecedence(t *testing.T) {
	path := writeFile(t, "addr: 0.0.0.0:9000\ndev: false\ntoken:\n  access_ttl: 5m\n  refresh_ttl: 48h\n")
	c, err := config.Load(path, prod("GATEHOUSE_TOKEN_ACCESS_TTL=10m"), nil)
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9000", c.Addr, "file over default")
	require.Equal(t, 10*time.Minute, c.Token.AccessTTL, "env over file")
	require.Equal(t, 48*time.Hour, c.Token.RefreshTTL, "file over default")

	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("addr", "", "")
	fs.String("issuer", "", "")
	fs.Bool("dev", false, "")
	fs.String("bootstrap-out", "", "not a setting")
	require.NoError(t, fs.Parse([]string{"--addr", "127.0.0.1:7000", "--dev", "--bootstrap-out", "x.json"}))
	c, err = config.Load(path, prod("GATEHOUSE_ADDR=127.0.0.1:6000"), fs)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7000", c.Addr, "flag over env and file")
	require.True(t, c.Dev, "flag over file")
	require.Equal(t, "https://auth.example.com", c.Issuer, "an unset flag changes nothing")
}

func TestRedaction(t *testing.T) {
	c, err := config.Load("", prod(), nil)
	require.NoError(t, err)
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("start", "config", c)
	for name, s := range map[string]string{
		"String": c.String(), "%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c),
		"%#v": fmt.Sprintf("%#v", c), "slog": logs.String(),
	} {
		require.NotContains(t, s, goodSecret, name)
		require.NotContains(t, s, "pw@", name)
		require.NotContains(t, s, "redispw", name)
		require.Contains(t, s, "db:5432", name)
	}
	require.Equal(t, goodSecret, c.Keys.EncryptionSecret, "redaction does not change the original")

	for dsn, hidden := range map[string]string{
		"postgres://u:s3cret@db/x?sslmode=require":       "s3cret",
		"postgres://db/x?password=s3cret":                "s3cret",
		"postgres://u@db/x?sslpassword=s3cret":           "s3cret",
		"host=db user=u password=s3cret":                 "s3cret",
		"postgres://u:s3cret@db:bad port/x\x7f":          "s3cret",
		"rediss://default:s3cret@redis.example.com:6380": "s3cret",
	} {
		r := config.Config{DatabaseURL: dsn}.Redacted()
		require.NotContains(t, r.DatabaseURL, hidden, dsn)
		require.NotEmpty(t, r.DatabaseURL, dsn)
	}
}

// docs/configuration.md documents every key with its environment name.
func TestEveryKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	require.NoError(t, err)
	for _, key := range config.KeyNames() {
		row := fmt.Sprintf("| `%s` | `%s` |", key, config.EnvName(key))
		require.Contains(t, string(doc), row, "docs/configuration.md lacks the row of %s", key)
	}
}

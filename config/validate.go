package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// Error names the setting at fault: its YAML key and environment variable.
type Error struct {
	Key    string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%s): %s", e.Key, EnvName(e.Key), e.Reason) }

// check is one validation rule.
type check struct {
	key string
	ok  func(c Config) error
}

func reason(s string) error { return errors.New(s) }

// checks is the table of validation rules, in the order they are reported.
var checks = []check{
	{"addr", func(c Config) error {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return reason("must be host:port, such as 127.0.0.1:8080")
		}
		return nil
	}},
	{"debug_addr", func(c Config) error {
		if c.DebugAddr == "" {
			return nil
		}
		host, _, err := net.SplitHostPort(c.DebugAddr)
		if err != nil || !isLoopback(host) {
			return reason("must be a loopback host:port, such as 127.0.0.1:6060 (profiles expose process memory)")
		}
		return nil
	}},
	{"metrics_addr", func(c Config) error {
		if c.MetricsAddr == "" {
			return nil
		}
		host, port, err := net.SplitHostPort(c.MetricsAddr)
		if err != nil {
			return reason("must be host:port, such as 127.0.0.1:9090")
		}
		// The metrics describe the server's internals: never on the
		// public listener (docs/operations.md#metrics-and-traces).
		if _, addrPort, _ := net.SplitHostPort(c.Addr); c.MetricsAddr == c.Addr || (port == addrPort && port != "0" && (host == "" || host == "0.0.0.0" || host == "::")) {
			return reason("must differ from addr: metrics are never served on the public listener")
		}
		return nil
	}},
	{"tracing.otlp_endpoint", func(c Config) error {
		if c.Tracing.OTLPEndpoint == "" {
			return nil
		}
		u, err := url.Parse(c.Tracing.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return reason("must be an http:// or https:// base URL such as http://otel-collector:4318")
		}
		return nil
	}},
	{"tracing.sample_ratio", func(c Config) error {
		if r := c.Tracing.SampleRatio; !(r >= 0 && r <= 1) {
			return reason("must be between 0 and 1")
		}
		return nil
	}},
	{"tracing.service_name", func(c Config) error {
		if s := c.Tracing.ServiceName; s == "" || len(s) > 100 || strings.TrimSpace(s) != s {
			return reason("must be a name of 1 to 100 characters without surrounding spaces")
		}
		return nil
	}},
	{"issuer", func(c Config) error {
		u, err := url.Parse(c.Issuer)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "":
			return reason("must be an absolute URL such as https://auth.example.com")
		case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(c.Issuer, "/"):
			return reason("must have no user info, query, fragment or trailing slash")
		case u.Scheme != "https" && !(u.Scheme == "http" && (c.Dev || isLoopback(u.Hostname()))):
			return reason("must use https (http only on a loopback host or with --dev)")
		}
		return nil
	}},
	{"database_url", func(c Config) error {
		if c.Dev {
			return nil
		}
		if c.DatabaseURL == "" {
			return reason("is required (or run with --dev)")
		}
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return reason("must be a postgres:// URL")
		}
		return nil
	}},
	{"redis_url", func(c Config) error {
		if c.Dev {
			return nil
		}
		if c.RedisURL == "" {
			return reason("is required (or run with --dev)")
		}
		return redisURL(c.RedisURL)
	}},
	{"redis_wait_replicas", between(func(c Config) int64 { return int64(c.RedisWaitReplicas) }, 0, 16)},
	{"log.level", oneOf(func(c Config) string { return c.Log.Level }, "debug", "info", "warn", "error")},
	{"log.format", oneOf(func(c Config) string { return c.Log.Format }, "json", "text")},
	{"http.read_timeout", positive(func(c Config) int64 { return int64(c.HTTP.ReadTimeout) })},
	{"http.write_timeout", positive(func(c Config) int64 { return int64(c.HTTP.WriteTimeout) })},
	{"http.idle_timeout", positive(func(c Config) int64 { return int64(c.HTTP.IdleTimeout) })},
	{"http.shutdown_timeout", positive(func(c Config) int64 { return int64(c.HTTP.ShutdownTimeout) })},
	{"http.max_body_bytes", between(func(c Config) int64 { return c.HTTP.MaxBodyBytes }, 1<<10, 16<<20)},
	{"token.access_ttl", between(func(c Config) int64 { return int64(c.Token.AccessTTL.Seconds()) }, 60, int64(storage.MaxAccessTokenTTL.Seconds()))},
	{"token.refresh_ttl", between(func(c Config) int64 { return int64(c.Token.RefreshTTL.Seconds()) }, 60, int64(storage.MaxRefreshTokenTTL.Seconds()))},
	{"token.signing_alg", oneOf(func(c Config) string { return c.Token.SigningAlg }, "ES256", "RS256", "EdDSA")},
	{"token.audience", func(c Config) error {
		if c.Token.Audience != "" && strings.TrimSpace(c.Token.Audience) != c.Token.Audience {
			return reason("must not have surrounding spaces")
		}
		return nil
	}},
	{"token.assertion_max_lifetime", between(func(c Config) int64 { return int64(c.Token.AssertionMaxLifetime.Seconds()) }, 10, 3600)},
	{"keys.encryption_secret", secret(func(c Config) string { return c.Keys.EncryptionSecret })},
	{"keys.refresh_interval", between(func(c Config) int64 { return int64(c.Keys.RefreshInterval.Seconds()) }, 1, 3600)},
	{"keys.previous_encryption_secrets", func(c Config) error {
		_, err := PreviousSecrets(c.Keys.PreviousEncryptionSecrets)
		return err
	}},
	{"keys.publish_lead", func(c Config) error {
		// Twice the JWKS max-age (5 min) at least: every resource
		// server's cached copy holds a new key before it signs. Plus the
		// refresh interval, in which other nodes start publishing it.
		if least := 10*time.Minute + c.Keys.RefreshInterval; c.Keys.PublishLead < least || c.Keys.PublishLead > 7*24*time.Hour {
			return reason("must be between " + least.String() + " (twice the JWKS cache lifetime plus keys.refresh_interval) and 168h")
		}
		return nil
	}},
	{"keys.rotation_interval", func(c Config) error {
		// Shorter than an hour would retire keys faster than JWKS caches
		// (and the resource servers behind them) pick up new ones.
		if d := c.Keys.RotationInterval; d != 0 && (d < time.Hour || d > 5*366*24*time.Hour) {
			return reason("must be 0 (rotate by hand) or between 1h and 43920h (5 years)")
		}
		if d := c.Keys.RotationInterval; d != 0 && d <= c.Keys.PublishLead {
			return reason("must be longer than keys.publish_lead")
		}
		return nil
	}},
	{"password.throttle.free_per_user_client", between(func(c Config) int64 { return int64(c.Password.Throttle.FreePerUserClient) }, 1, 1_000_000)},
	{"password.throttle.free_per_source", between(func(c Config) int64 { return int64(c.Password.Throttle.FreePerSource) }, 1, 1_000_000)},
	{"password.throttle.free_per_user", between(func(c Config) int64 { return int64(c.Password.Throttle.FreePerUser) }, 1, 1_000_000)},
	{"password.throttle.free_per_address", between(func(c Config) int64 { return int64(c.Password.Throttle.FreePerAddress) }, 1, 1_000_000)},
	{"password.throttle.base_delay", between(func(c Config) int64 { return c.Password.Throttle.BaseDelay.Milliseconds() }, 1, 3_600_000)},
	{"password.throttle.max_delay", func(c Config) error {
		if t := c.Password.Throttle; t.MaxDelay < t.BaseDelay || t.MaxDelay > 24*time.Hour {
			return reason("must be between password.throttle.base_delay and 24h")
		}
		return nil
	}},
	{"session.idle_ttl", between(func(c Config) int64 { return int64(c.Session.IdleTTL / time.Second) }, 60, 30*24*3600)},
	{"session.max_ttl", func(c Config) error {
		if c.Session.MaxTTL < c.Session.IdleTTL || c.Session.MaxTTL > 366*24*time.Hour {
			return reason("must be between session.idle_ttl and 366 days")
		}
		return nil
	}},
	{"password.throttle.forget_after", func(c Config) error {
		// A bucket must outlive the wait it imposes.
		if t := c.Password.Throttle; t.ForgetAfter < t.MaxDelay || t.ForgetAfter > 31*24*time.Hour {
			return reason("must be between password.throttle.max_delay and 744h")
		}
		return nil
	}},
	{"password.throttle.known_source_ttl", between(func(c Config) int64 { return int64(c.Password.Throttle.KnownSourceTTL.Hours()) }, 1, 366*24)},
	{"password.iterations", between(func(c Config) int64 { return int64(c.Password.Iterations) }, 1000, 10_000_000)},
	{"password.argon2.memory_kib", between(func(c Config) int64 { return int64(c.Password.Argon2.MemoryKiB) }, 1024, 4<<20)},
	{"password.argon2.time", between(func(c Config) int64 { return int64(c.Password.Argon2.Time) }, 1, 100)},
	{"password.argon2.threads", between(func(c Config) int64 { return int64(c.Password.Argon2.Threads) }, 1, 64)},
	{"password.max_concurrent_hashes", between(func(c Config) int64 { return int64(c.Password.MaxConcurrentHashes) }, 0, 1024)},
	{"password.max_queue", between(func(c Config) int64 { return int64(c.Password.MaxQueue) }, 1, 100_000)},
	{"password.queue_wait", positive(func(c Config) int64 { return int64(c.Password.QueueWait) })},
	{"password.prelogin_secret", secret(func(c Config) string { return c.Password.PreloginSecret })},
	{"smtp.url", func(c Config) error {
		if c.SMTP.URL == "" {
			return nil
		}
		// Checked in full where mail is set up (internal/mail.ParseURL);
		// here only what names the setting. The reason never repeats the
		// URL, which may hold a password.
		u, err := url.Parse(c.SMTP.URL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			return reason("must be smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]")
		}
		return nil
	}},
	{"smtp.from", func(c Config) error {
		if c.SMTP.URL == "" && c.SMTP.From == "" {
			return nil
		}
		if a, err := mail.ParseAddress(c.SMTP.From); err != nil || a.Address == "" {
			return reason("must be an address such as gatehouse@example.com or \"Gatehouse <gatehouse@example.com>\" (required with smtp.url)")
		}
		return nil
	}},
	{"smtp.timeout", between(func(c Config) int64 { return int64(c.SMTP.Timeout / time.Second) }, 1, 600)},
	{"smtp.max_attempts", between(func(c Config) int64 { return int64(c.SMTP.MaxAttempts) }, 1, 100)},
	{"accounts.activation_ttl", between(func(c Config) int64 { return int64(c.Accounts.ActivationTTL / time.Minute) }, 5, 90*24*60)},
	{"accounts.reset_ttl", between(func(c Config) int64 { return int64(c.Accounts.ResetTTL / time.Minute) }, 5, 24*60)},
}

// Validate reports the first setting that is wrong.
func (c Config) Validate() error {
	for _, ch := range checks {
		if err := ch.ok(c); err != nil {
			return &Error{Key: ch.key, Reason: err.Error()}
		}
	}
	return nil
}

func oneOf(get func(Config) string, allowed ...string) func(Config) error {
	return func(c Config) error {
		for _, a := range allowed {
			if get(c) == a {
				return nil
			}
		}
		return reason("must be one of " + strings.Join(allowed, ", "))
	}
}

func positive(get func(Config) int64) func(Config) error {
	return func(c Config) error {
		if get(c) <= 0 {
			return reason("must be positive")
		}
		return nil
	}
}

func between(get func(Config) int64, lo, hi int64) func(Config) error {
	return func(c Config) error {
		if v := get(c); v < lo || v > hi {
			return fmt.Errorf("must be between %d and %d", lo, hi)
		}
		return nil
	}
}

// secret requires a secret outside dev mode, where an ephemeral one is
// generated.
func secret(get func(Config) string) func(Config) error {
	return func(c Config) error {
		if get(c) == "" {
			if c.Dev {
				return nil
			}
			return reason("is required (or run with --dev); generate one with: openssl rand -base64 32")
		}
		_, err := Secret(get(c))
		return err
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redisURL checks the form of a redis_url (docs/configuration.md); the
// Redis backend parses it in full when it connects.
func redisURL(raw string) error {
	const forms = "must be a redis://, rediss://, redis+sentinel://host:port[,host:port...]/primary-name[/db] or redis+cluster://host:port[,host:port...] URL"
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return reason(forms)
	}
	switch scheme {
	case "redis", "rediss":
		if u, err := url.Parse(raw); err != nil || u.Host == "" {
			return reason(forms)
		}
		return nil
	case "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster":
	default:
		return reason(forms)
	}
	authority, path, _ := strings.Cut(rest, "/")
	path, _, _ = strings.Cut(path, "?")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = authority[i+1:]
	}
	authority, _, _ = strings.Cut(authority, "?")
	for _, h := range strings.Split(authority, ",") {
		if host, port, err := net.SplitHostPort(h); err != nil || host == "" || port == "" {
			return reason(forms)
		}
	}
	if strings.HasSuffix(scheme, "+sentinel") && strings.Trim(path, "/") == "" {
		return reason("redis+sentinel:// must name the primary: redis+sentinel://host:port[,host:port...]/primary-name[/db]")
	}
	return nil
}

package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable Gatehouse reads.
const EnvPrefix = "GATEHOUSE_"

// Config is Gatehouse's configuration. Durations are Go duration strings
// ("15m") in YAML and the environment.
type Config struct {
	Addr        string `koanf:"addr"`
	Issuer      string `koanf:"issuer"`
	DatabaseURL string `koanf:"database_url"`
	RedisURL    string `koanf:"redis_url"`
	// RedisWaitReplicas is how many replicas must hold a revocation (and
	// every other write whose loss would revive something) before it is
	// acknowledged: Redis's WAIT, see docs/operations.md. 0 waits for none.
	RedisWaitReplicas int  `koanf:"redis_wait_replicas"`
	Dev               bool `koanf:"dev"`
	// DebugAddr serves Go's pprof profiles on a listener of its own; empty
	// (the default) serves nothing. Loopback only: profiles reveal memory.
	DebugAddr string `koanf:"debug_addr"`
	// MetricsAddr serves Prometheus metrics at /metrics on a listener of
	// its own; empty (the default) serves none. Never the public addr.
	MetricsAddr string   `koanf:"metrics_addr"`
	Tracing     Tracing  `koanf:"tracing"`
	Log         Log      `koanf:"log"`
	HTTP        HTTP     `koanf:"http"`
	Token       Token    `koanf:"token"`
	Keys        Keys     `koanf:"keys"`
	Password    Password `koanf:"password"`
	Session     Session  `koanf:"session"`
	SMTP        SMTP     `koanf:"smtp"`
	Accounts    Accounts `koanf:"accounts"`
}

// SMTP configures mail delivery (docs/operations.md, mail delivery).
// Without a URL, serve --dev prints mails to the log and a production
// server sends none: activation, password reset and invitations are off.
type SMTP struct {
	// URL is smtp://user:pass@host:587 (STARTTLS, mandatory unless
	// ?starttls=opportunistic or ?starttls=none) or
	// smtps://user:pass@host:465 (implicit TLS).
	URL  string `koanf:"url"`
	From string `koanf:"from"` // the From address, required with a URL
	// Timeout bounds each step of a delivery (connect, each command).
	Timeout time.Duration `koanf:"timeout"`
	// MaxAttempts is how often a mail is tried before it is given up.
	MaxAttempts int `koanf:"max_attempts"`
}

// Accounts configures accounts by e-mail (docs/accounts.md).
type Accounts struct {
	ActivationTTL time.Duration `koanf:"activation_ttl"` // lifetime of activation links
	ResetTTL      time.Duration `koanf:"reset_ttl"`      // lifetime of password reset links
}

// Tracing configures OpenTelemetry traces, exported with OTLP over HTTP.
type Tracing struct {
	// OTLPEndpoint is the collector's base URL (http://collector:4318);
	// spans go to its /v1/traces. Empty (the default) records no spans.
	OTLPEndpoint string `koanf:"otlp_endpoint"`
	// SampleRatio is the share of new traces recorded, 0 to 1; a request
	// that arrives with a sampled parent follows its parent's decision.
	SampleRatio float64 `koanf:"sample_ratio"`
	ServiceName string  `koanf:"service_name"`
}

// Session configures browser login sessions at the hosted login page.
type Session struct {
	// IdleTTL ends a session unused for that long; MaxTTL ends it that
	// long after sign-in, however much it is used.
	IdleTTL time.Duration `koanf:"idle_ttl"`
	MaxTTL  time.Duration `koanf:"max_ttl"`
	// DefaultLanguage is the pages' language when neither the request
	// (ui_locales) nor the browser (Accept-Language) names one they have;
	// empty means the realm's default language.
	DefaultLanguage string `koanf:"default_language"`
}

// Log configures logging.
type Log struct {
	Level  string `koanf:"level"`  // debug, info, warn, error
	Format string `koanf:"format"` // json or text
}

// HTTP configures the HTTP server.
type HTTP struct {
	ReadTimeout     time.Duration `koanf:"read_timeout"`
	WriteTimeout    time.Duration `koanf:"write_timeout"`
	IdleTimeout     time.Duration `koanf:"idle_timeout"`
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	MaxBodyBytes    int64         `koanf:"max_body_bytes"`
}

// Token configures tokens.
type Token struct {
	AccessTTL                time.Duration `koanf:"access_ttl"`
	RefreshTTL               time.Duration `koanf:"refresh_ttl"`
	Audience                 string        `koanf:"audience"`
	SigningAlg               string        `koanf:"signing_alg"`
	AllowPublicPasswordGrant bool          `koanf:"allow_public_password_grant"`
	AssertionMaxLifetime     time.Duration `koanf:"assertion_max_lifetime"`
}

// Keys configures signing keys.
type Keys struct {
	EncryptionSecret string `koanf:"encryption_secret"`
	// PreviousEncryptionSecrets, comma-separated, still decrypt keys
	// stored under them while encryption_secret is being replaced (see
	// gatehouse keys reencrypt).
	PreviousEncryptionSecrets string        `koanf:"previous_encryption_secrets"`
	RefreshInterval           time.Duration `koanf:"refresh_interval"`
	// RotationInterval is the age at which the active signing key is
	// replaced; 0 rotates only by hand (gatehouse keys rotate) or when
	// token.signing_alg changes.
	RotationInterval time.Duration `koanf:"rotation_interval"`
	// PublishLead is how long a new signing key is in the JWKS before it
	// signs, so that resource servers' cached copies hold it by then.
	PublishLead time.Duration `koanf:"publish_lead"`
}

// Password configures password hashing.
type Password struct {
	// Iterations is the client-side PBKDF2 count every password is set
	// with: exactly this one, since prelogin shows it for unknown names.
	Iterations          int           `koanf:"iterations"`
	Argon2              Argon2        `koanf:"argon2"`
	MaxConcurrentHashes int           `koanf:"max_concurrent_hashes"`
	MaxQueue            int           `koanf:"max_queue"`
	QueueWait           time.Duration `koanf:"queue_wait"`
	PreloginSecret      string        `koanf:"prelogin_secret"`
	// Throttle slows down password guessing without locking anyone out.
	Throttle Throttle `koanf:"throttle"`
}

// Throttle configures the password grant's login throttle: failures only
// are counted; each bucket lets some through freely, then each further
// failure delays the next attempt, doubling from BaseDelay up to MaxDelay
// (docs/operations.md).
type Throttle struct {
	FreePerUserClient int           `koanf:"free_per_user_client"`
	FreePerSource     int           `koanf:"free_per_source"`
	FreePerUser       int           `koanf:"free_per_user"`
	FreePerAddress    int           `koanf:"free_per_address"`
	BaseDelay         time.Duration `koanf:"base_delay"`
	MaxDelay          time.Duration `koanf:"max_delay"`
	ForgetAfter       time.Duration `koanf:"forget_after"`
	KnownSourceTTL    time.Duration `koanf:"known_source_ttl"`
}

// Argon2 are the server-side argon2id parameters.
type Argon2 struct {
	MemoryKiB uint32 `koanf:"memory_kib"`
	Time      uint32 `koanf:"time"`
	Threads   uint8  `koanf:"threads"`
}

// Default returns the defaults of every setting.
func Default() Config {
	return Config{
		Addr:   "127.0.0.1:8080",
		Issuer: "http://127.0.0.1:8080",
		Log:    Log{Level: "info", Format: "json"},
		HTTP: HTTP{ReadTimeout: 10 * time.Second, WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second,
			ShutdownTimeout: 15 * time.Second, MaxBodyBytes: 64 << 10},
		Token: Token{AccessTTL: 15 * time.Minute, RefreshTTL: 720 * time.Hour, SigningAlg: "ES256",
			AssertionMaxLifetime: 5 * time.Minute},
		Keys: Keys{RefreshInterval: time.Minute, PublishLead: 15 * time.Minute},
		Password: Password{Iterations: 600000, Argon2: Argon2{MemoryKiB: 19456, Time: 2, Threads: 1},
			MaxQueue: 64, QueueWait: 2 * time.Second,
			Throttle: Throttle{FreePerUserClient: 10, FreePerSource: 25, FreePerUser: 50, FreePerAddress: 100,
				BaseDelay: time.Second, MaxDelay: 15 * time.Minute, ForgetAfter: 24 * time.Hour, KnownSourceTTL: 720 * time.Hour}},
		Session:  Session{IdleTTL: time.Hour, MaxTTL: 12 * time.Hour},
		SMTP:     SMTP{Timeout: 30 * time.Second, MaxAttempts: 10},
		Accounts: Accounts{ActivationTTL: 72 * time.Hour, ResetTTL: 30 * time.Minute},
		Tracing:  Tracing{SampleRatio: 1, ServiceName: "gatehouse"},
	}
}

// reservedEnvPrefixes start environment variables that share the
// GATEHOUSE_ prefix but are not server settings: those of the client
// commands (GATEHOUSE_CLI_ISSUER, …) and of the test suite. Load ignores
// them, so that a shell set up for the CLI or for tests can still run serve.
var reservedEnvPrefixes = []string{EnvPrefix + "CLI_", EnvPrefix + "TEST_"}

// EnvName returns the environment variable of a key: GATEHOUSE_ and the
// key upper-cased with dots as underscores.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Secret decodes a configured secret: base64 (standard or URL alphabet,
// padded or not) of at least 32 bytes.
func Secret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) < 32 {
				return nil, errors.New("must be at least 32 bytes (base64); generate one with: openssl rand -base64 32")
			}
			return b, nil
		}
	}
	return nil, errors.New("must be base64; generate one with: openssl rand -base64 32")
}

// PreviousSecrets decodes a comma-separated list of secrets (base64 has
// no commas), each as Secret does.
func PreviousSecrets(s string) ([][]byte, error) {
	var out [][]byte
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		b, err := Secret(part)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Redacted returns a copy safe to log: secrets and URL passwords masked.
func (c Config) Redacted() Config {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "[redacted]"
	}
	c.Keys.EncryptionSecret = mask(c.Keys.EncryptionSecret)
	c.Keys.PreviousEncryptionSecrets = mask(c.Keys.PreviousEncryptionSecrets)
	c.Password.PreloginSecret = mask(c.Password.PreloginSecret)
	c.DatabaseURL = redactURL(c.DatabaseURL)
	c.RedisURL = redactURL(c.RedisURL)
	c.Tracing.OTLPEndpoint = redactURL(c.Tracing.OTLPEndpoint)
	c.SMTP.URL = redactURL(c.SMTP.URL)
	return c
}

// LogValue makes slog log the redacted configuration, durations as
// strings ("15m0s") rather than nanoseconds.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(
		slog.String("addr", r.Addr), slog.String("issuer", r.Issuer), slog.Bool("dev", r.Dev),
		slog.String("debug_addr", r.DebugAddr), slog.String("metrics_addr", r.MetricsAddr),
		slog.String("tracing_otlp_endpoint", r.Tracing.OTLPEndpoint),
		slog.String("database_url", r.DatabaseURL), slog.String("redis_url", r.RedisURL),
		slog.String("smtp_url", r.SMTP.URL), slog.String("smtp_from", r.SMTP.From),
		slog.Int("redis_wait_replicas", r.RedisWaitReplicas),
		slog.String("log_level", r.Log.Level),
		slog.String("signing_alg", r.Token.SigningAlg), slog.String("audience", r.Token.Audience),
		slog.String("access_ttl", r.Token.AccessTTL.String()), slog.String("refresh_ttl", r.Token.RefreshTTL.String()),
		slog.String("key_rotation_interval", r.Keys.RotationInterval.String()),
		slog.Int64("max_body_bytes", r.HTTP.MaxBodyBytes))
}

// String returns the redacted configuration.
func (c Config) String() string {
	type plain Config // without methods, so that %+v does not recurse
	return fmt.Sprintf("%+v", plain(c.Redacted()))
}

// GoString keeps %#v from printing the secrets.
func (c Config) GoString() string {
	type plain Config
	return fmt.Sprintf("%#v", plain(c.Redacted()))
}

// redactURL masks the password of a URL, and any query parameter whose name
// mentions a password or secret (libpq's sslpassword, say). What does not
// parse as a URL with a host (a keyword/value DSN) is masked entirely.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "[redacted]"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	q := u.Query()
	masked := false
	for name := range q {
		if n := strings.ToLower(name); strings.Contains(n, "password") || strings.Contains(n, "secret") {
			q.Set(name, "redacted")
			masked = true
		}
	}
	if masked {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

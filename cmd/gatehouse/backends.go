package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/telemetry"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/postgres"
	"github.com/gatehouse/gatehouse/storage/redis"
)

// openBackends opens the stores the configuration names: in memory for
// --dev, PostgreSQL and Redis otherwise. This is the only place that picks
// concrete backends. With tp their queries and commands are traced; with
// metrics their connection pools are watched.
func openBackends(ctx context.Context, c config.Config, tp trace.TracerProvider, metrics *telemetry.Metrics) (storage.Store, storage.TokenState, error) {
	if c.Dev {
		return memory.New(), memory.NewTokenState(nil), nil
	}
	var pgOpts []postgres.Option
	var redisOpts []redis.Option
	if tp != nil {
		pgOpts = append(pgOpts, postgres.WithTracerProvider(tp))
		redisOpts = append(redisOpts, redis.WithTracerProvider(tp))
	}
	store, err := postgres.Open(ctx, c.DatabaseURL, pgOpts...)
	if err != nil {
		return nil, nil, &config.Error{Key: "database_url", Reason: err.Error()}
	}
	if err := schemaCurrent(ctx, c.DatabaseURL); err != nil {
		store.Close()
		return nil, nil, err
	}
	state, err := redis.Open(ctx, c.RedisURL, append(redisOpts, redis.WithWaitReplicas(c.RedisWaitReplicas))...)
	if err != nil {
		store.Close()
		return nil, nil, &config.Error{Key: "redis_url", Reason: err.Error()}
	}
	if metrics != nil {
		metrics.WatchPool(telemetry.PoolPostgres, store)
		metrics.WatchPool(telemetry.PoolRedis, state)
	}
	return store, state, nil
}

// schemaCurrent refuses to serve on a database whose schema is behind:
// serve never migrates on its own, so that schema changes stay deliberate.
func schemaCurrent(ctx context.Context, dsn string) error {
	status, err := postgres.Migrations(ctx, dsn)
	if err != nil {
		return &config.Error{Key: "database_url", Reason: err.Error()}
	}
	for _, m := range status {
		if !m.Applied {
			return fmt.Errorf("the database schema is behind (migration %d not applied): run `gatehouse migrate up` first", m.Version)
		}
	}
	return nil
}

// secret returns a configured secret, or in dev mode a random one.
func secret(c config.Config, value string) ([]byte, error) {
	if value == "" && c.Dev {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	}
	return config.Secret(value)
}

// appOptions turns the configuration into the app's options.
func appOptions(c config.Config, store storage.Store, state storage.TokenState) (app.Options, error) {
	keySecret, err := secret(c, c.Keys.EncryptionSecret)
	if err != nil {
		return app.Options{}, &config.Error{Key: "keys.encryption_secret", Reason: err.Error()}
	}
	previous, err := config.PreviousSecrets(c.Keys.PreviousEncryptionSecrets)
	if err != nil {
		return app.Options{}, &config.Error{Key: "keys.previous_encryption_secrets", Reason: err.Error()}
	}
	preloginSecret, err := secret(c, c.Password.PreloginSecret)
	if err != nil {
		return app.Options{}, &config.Error{Key: "password.prelogin_secret", Reason: err.Error()}
	}
	t := c.Password.Throttle
	return app.Options{
		Issuer: c.Issuer, Audience: c.Token.Audience,
		AccessTokenTTL: c.Token.AccessTTL, RefreshTokenTTL: c.Token.RefreshTTL,
		AllowPublicPasswordGrant: c.Token.AllowPublicPasswordGrant, MaxAssertionLifetime: c.Token.AssertionMaxLifetime,
		SigningAlgorithm: c.Token.SigningAlg, KeyEncryptionSecret: keySecret, KeyRefreshInterval: c.Keys.RefreshInterval,
		PreviousKeyEncryptionSecrets: previous, KeyPublishLead: c.Keys.PublishLead, KeyRotationInterval: c.Keys.RotationInterval,
		Argon2: credential.Argon2Params{MemoryKiB: c.Password.Argon2.MemoryKiB, Time: c.Password.Argon2.Time,
			Threads: c.Password.Argon2.Threads, SaltLen: 16, KeyLen: 32},
		MaxConcurrentHashes: c.Password.MaxConcurrentHashes, MaxHashQueue: c.Password.MaxQueue,
		HashQueueWait: c.Password.QueueWait, PasswordIterations: c.Password.Iterations,
		LoginThrottle: oauth.LoginThrottle{
			FreePerUserClient: t.FreePerUserClient, FreePerSource: t.FreePerSource, FreePerUser: t.FreePerUser,
			FreePerAddress: t.FreePerAddress, BaseDelay: t.BaseDelay, MaxDelay: t.MaxDelay, ForgetAfter: t.ForgetAfter, KnownSourceTTL: t.KnownSourceTTL,
		},
		SessionIdleTTL: c.Session.IdleTTL, SessionMaxTTL: c.Session.MaxTTL, PagesLanguage: c.Session.DefaultLanguage,
		PreloginSecret: preloginSecret, Store: store, State: state, Now: time.Now,
		ActivationTTL: c.Accounts.ActivationTTL, ResetTTL: c.Accounts.ResetTTL,
		Mail: mail.WorkerOptions{MaxAttempts: c.SMTP.MaxAttempts, SendTimeout: 3 * c.SMTP.Timeout},
	}, nil
}

// mailSetup turns on accounts by e-mail (docs/accounts.md) when mail can
// be sent: through smtp.url, or with --dev and no URL to the log. Both
// backends keep the outbox.
func mailSetup(c config.Config, store storage.Store, log *slog.Logger, opts *app.Options) error {
	outbox, ok := store.(storage.AccountStore)
	if !ok {
		return nil
	}
	switch {
	case c.SMTP.URL != "":
		cfg, err := mail.ParseURL(c.SMTP.URL)
		if err != nil {
			return &config.Error{Key: "smtp.url", Reason: err.Error()}
		}
		opts.MailSender = mail.NewSMTP(cfg, c.SMTP.From, c.SMTP.Timeout, nil)
	case c.Dev:
		opts.MailSender = mail.Log{Logger: log}
	default:
		log.Info("mail: smtp.url is not set; activation, password reset and invitations are off")
		return nil
	}
	opts.Accounts = outbox
	return nil
}

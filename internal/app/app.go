// Package app assembles Gatehouse from its parts: signing keys, password
// hashing, the OAuth 2.0 provider and the management API, on whatever
// storage the caller hands it. cmd/gatehouse chooses the backends (memory
// for --dev, PostgreSQL and Redis in production) and tests choose theirs;
// both get the same server from here.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/devdemo"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/signin"
	"github.com/gatehouse/gatehouse/internal/storecache"
	"github.com/gatehouse/gatehouse/internal/telemetry"
	"github.com/gatehouse/gatehouse/storage"
)

// Options configures an App. Zero durations and counts take the documented
// defaults of the packages they go to.
type Options struct {
	Realm    string // default storage.DefaultRealm
	Issuer   string
	Audience string // default Issuer

	AccessTokenTTL           time.Duration
	RefreshTokenTTL          time.Duration
	AllowPublicPasswordGrant bool
	MaxAssertionLifetime     time.Duration

	SigningAlgorithm    string // ES256, RS256 or EdDSA
	KeyEncryptionSecret []byte // at least 32 bytes
	KeyRefreshInterval  time.Duration
	// PreviousKeyEncryptionSecrets still decrypt keys stored under them.
	PreviousKeyEncryptionSecrets [][]byte
	// KeyPublishLead and KeyRotationInterval drive the signing-key
	// lifecycle (keys.Options); zero takes the defaults: keys published
	// keys.DefaultPublishLead ahead, rotated by hand only.
	KeyPublishLead      time.Duration
	KeyRotationInterval time.Duration

	Argon2              credential.Argon2Params
	MaxConcurrentHashes int
	MaxHashQueue        int
	HashQueueWait       time.Duration
	// PasswordIterations is the client-side PBKDF2 iteration count every
	// password is set with (default clienthash.DefaultIterations).
	PasswordIterations int
	// RefusalAuditsPerMinute bounds the refused management requests
	// written to the audit log per actor and minute (default 60).
	RefusalAuditsPerMinute int
	// LoginThrottle slows down password guessing; zero fields take their
	// defaults.
	LoginThrottle  oauth.LoginThrottle
	PreloginSecret []byte // at least 32 bytes
	// SessionIdleTTL and SessionMaxTTL bound browser login sessions
	// (defaults in oauth.Options).
	SessionIdleTTL time.Duration
	SessionMaxTTL  time.Duration
	// PagesLanguage is the hosted pages' fallback language; empty means
	// the realm's default language.
	PagesLanguage string
	// DevDemoClientID, when set, mounts the demo relying party's pages
	// (/dev/start, /dev/callback; internal/devdemo) for that client.
	// Only `serve --dev` sets it, after registering the client.
	DevDemoClientID string

	Store storage.Store
	State storage.TokenState

	// Metrics, when set, watches the hasher, the cache and the signing
	// key, and counts token answers.
	Metrics *telemetry.Metrics

	Logger *slog.Logger
	Now    func() time.Time
}

// App is an assembled Gatehouse.
type App struct {
	Keys   *keys.Manager
	Hasher *credential.PasswordHasher
	OAuth  *oauth.Provider
	Pages  *signin.Pages
	Admin  *admin.API

	keyRefresh time.Duration
	store      storage.Store
	demo       *devdemo.Demo // nil unless Options.DevDemoClientID
}

// New assembles an App and loads (or, at first start, creates) its signing
// key.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Realm == "" {
		o.Realm = storage.DefaultRealm
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefreshTokenTTL <= 0 {
		o.RefreshTokenTTL = 720 * time.Hour
	}
	if o.PasswordIterations <= 0 {
		o.PasswordIterations = clienthash.DefaultIterations
	}
	if o.KeyRefreshInterval <= 0 {
		o.KeyRefreshInterval = time.Minute
	}
	// The longest a token can live: how long retired keys stay published
	// and how long "revoke everything" marks are kept.
	maxLifetime := max(o.RefreshTokenTTL, o.AccessTokenTTL, 24*time.Hour)

	// Every part works on the caching store: the token endpoint's reads
	// come from memory while nothing changed, and every change made here
	// tells the other nodes.
	cache := storecache.New(o.Store, o.State)
	o.Store = cache
	km, err := keys.NewManager(o.Store, o.Realm, keys.Options{
		Algorithm: o.SigningAlgorithm, EncryptionSecret: o.KeyEncryptionSecret,
		PreviousEncryptionSecrets: o.PreviousKeyEncryptionSecrets,
		PublishLead:               o.KeyPublishLead, RotationInterval: o.KeyRotationInterval,
		MaxTokenLifetime: maxLifetime, Now: o.Now, Logger: o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	if err := km.Init(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	hasher := credential.NewPasswordHasher(o.Argon2, o.MaxConcurrentHashes, o.MaxHashQueue, o.HashQueueWait)
	var tokenMetrics oauth.TokenMetrics // a nil *telemetry.Metrics must stay a nil interface
	if o.Metrics != nil {
		o.Metrics.WatchHasher(hasher)
		o.Metrics.WatchCaches(cache)
		o.Metrics.WatchSigningKey(km)
		tokenMetrics = o.Metrics
	}
	provider := oauth.New(oauth.Options{
		Realm: o.Realm, Issuer: o.Issuer, Audience: o.Audience,
		AccessTokenTTL: o.AccessTokenTTL, RefreshTokenTTL: o.RefreshTokenTTL,
		AllowPublicPasswordGrant: o.AllowPublicPasswordGrant, PasswordIterations: o.PasswordIterations,
		Throttle:       o.LoginThrottle,
		SessionIdleTTL: o.SessionIdleTTL, SessionMaxTTL: o.SessionMaxTTL,
		MaxAssertionLifetime: o.MaxAssertionLifetime,
		Store:                o.Store, State: o.State, Keys: km, Hasher: hasher,
		Salter: credential.NewPreloginSalter(o.PreloginSecret),
		Views:  cache, Metrics: tokenMetrics,
		Logger: o.Logger, Now: o.Now,
	})
	lang := o.PagesLanguage
	if lang == "" {
		realm, err := o.Store.GetRealm(ctx, o.Realm)
		if err != nil {
			return nil, fmt.Errorf("realm: %w", err)
		}
		lang = realm.DefaultLanguage
	}
	pages := signin.New(signin.Options{Flow: provider, Account: provider, Issuer: o.Issuer,
		DefaultLanguage: lang, Logger: o.Logger})
	provider.UsePages(pages)
	api := admin.New(admin.Options{
		Realm: o.Realm, Store: o.Store, State: o.State, Tokens: provider, Hasher: hasher,
		// A client's own refresh lifetime may exceed the default: marks
		// must outlast every refresh record they cover, or the grants of
		// a revoked user would come back when the mark expired.
		Passwords: provider, PasswordIterations: o.PasswordIterations, MaxTokenLifetime: max(maxLifetime, storage.MaxRefreshTokenTTL),
		RefusalAuditsPerMinute: o.RefusalAuditsPerMinute,
		Logger:                 o.Logger, Now: o.Now,
	})
	a := &App{Keys: km, Hasher: hasher, OAuth: provider, Pages: pages, Admin: api, keyRefresh: o.KeyRefreshInterval, store: o.Store}
	if o.DevDemoClientID != "" {
		if a.demo, err = devdemo.New(devdemo.Options{Issuer: o.Issuer, ClientID: o.DevDemoClientID,
			AssetURL: pages.AssetURL, SetPageHeaders: signin.SetPageHeaders, Logger: o.Logger, Now: o.Now}); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Register mounts every Gatehouse endpoint on r, and the dev demo's pages
// when configured.
func (a *App) Register(r *mux.Router) {
	a.OAuth.Register(r)
	a.Pages.Register(r)
	a.Admin.Register(r)
	if a.demo != nil {
		a.demo.Register(r)
	}
}

// Run does the App's background work until ctx is done: it moves the
// signing-key lifecycle along and picks up keys rotated by other nodes.
func (a *App) Run(ctx context.Context) {
	a.Keys.Run(ctx, a.keyRefresh)
}

// Store returns the store the App runs on.
func (a *App) Store() storage.Store { return a.store }

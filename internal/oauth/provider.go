package oauth

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/ory/fosite"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
)

// Endpoint paths, relative to the issuer.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/.well-known/jwks.json"
	PathToken      = "/oauth2/token"
	PathIntrospect = "/oauth2/introspect"
	PathRevoke     = "/oauth2/revoke"
	PathPrelogin   = "/oauth2/prelogin"
	PathUserinfo   = "/userinfo"
)

// Options configures a Provider. Every field without a documented default
// is required.
type Options struct {
	Realm    string // default storage.DefaultRealm
	Issuer   string // the public issuer URL, without a trailing slash
	Audience string // access-token aud; default Issuer

	AccessTokenTTL  time.Duration // default 15m
	RefreshTokenTTL time.Duration // default 720h

	// AllowPublicPasswordGrant lets clients registered with
	// token_endpoint_auth_method "none" use the password grant.
	AllowPublicPasswordGrant bool
	// PasswordIterations is the client-side PBKDF2 iteration count every
	// password is set with, and that prelogin's made-up answers show
	// (default clienthash.DefaultIterations).
	PasswordIterations int
	// Throttle slows down password guessing (see LoginThrottle); zero
	// fields take their defaults.
	Throttle LoginThrottle
	// SessionIdleTTL and SessionMaxTTL bound a browser's login session:
	// it ends after SessionIdleTTL without use, and SessionMaxTTL after
	// the user signed in, whatever happens (defaults 1h and 12h).
	SessionIdleTTL time.Duration
	SessionMaxTTL  time.Duration
	// Pages renders the pages the browser flows answer with; without it
	// they answer in plain text.
	Pages Pages
	// MaxAssertionLifetime bounds how far ahead a private_key_jwt
	// assertion's exp may be (default 5m).
	MaxAssertionLifetime time.Duration

	Store  storage.Store
	State  storage.TokenState
	Keys   *keys.Manager
	Hasher *credential.PasswordHasher
	Salter *credential.PreloginSalter
	// Views, when set, starts each request's consistent view of cached
	// storage (storecache.Store); without it every read goes to Store.
	Views Views
	// Metrics counts token requests; default none.
	Metrics TokenMetrics

	Logger *slog.Logger
	Now    func() time.Time // default time.Now
}

func (o *Options) setDefaults() {
	if o.Realm == "" {
		o.Realm = storage.DefaultRealm
	}
	if o.Audience == "" {
		o.Audience = o.Issuer
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = 15 * time.Minute
	}
	if o.RefreshTokenTTL <= 0 {
		o.RefreshTokenTTL = 720 * time.Hour
	}
	if o.PasswordIterations <= 0 {
		o.PasswordIterations = clienthash.DefaultIterations
	}
	o.Throttle.setDefaults()
	if o.SessionIdleTTL <= 0 {
		o.SessionIdleTTL = time.Hour
	}
	if o.SessionMaxTTL <= 0 {
		o.SessionMaxTTL = 12 * time.Hour
	}
	if o.MaxAssertionLifetime <= 0 {
		o.MaxAssertionLifetime = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Views == nil {
		o.Views = uncached{}
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
}

// Views starts a request's consistent view of cached storage.
type Views interface {
	// Begin reads the change stamp; it fails (storage.ErrUnavailable) when
	// token state is unreachable.
	Begin(ctx context.Context) (context.Context, error)
	// At starts the view at a stamp read along with a revocation check.
	At(ctx context.Context, stamp int64) context.Context
}

// TokenMetrics counts the token endpoint's answers.
type TokenMetrics interface {
	// TokenRequest counts one answer: grant is the request's grant_type
	// as sent (possibly empty or unknown), outcome OutcomeIssued or the
	// RFC 6749 §5.2 error code. The implementation must map values
	// outside the sets it knows to one bucket: grant_type is the client's.
	TokenRequest(grant, outcome string)
}

// OutcomeIssued is the outcome of a token request that got tokens.
const OutcomeIssued = "issued"

type noMetrics struct{}

func (noMetrics) TokenRequest(string, string) {}

type uncached struct{}

func (uncached) Begin(ctx context.Context) (context.Context, error) { return ctx, nil }
func (uncached) At(ctx context.Context, _ int64) context.Context    { return ctx }

// Provider serves the OAuth 2.0 endpoints. It is safe for concurrent use.
type Provider struct {
	opts      Options
	oauth2    *fosite.Fosite
	auth      *clientauth.Authenticator
	discovery *discoveryDoc
	touched   *secretToucher
}

// New builds a Provider from opts.
func New(opts Options) *Provider {
	opts.setDefaults()
	p := &Provider{opts: opts}
	p.auth = clientauth.New(opts.Store, opts.State, clientauth.Config{
		Realm:                opts.Realm,
		Issuer:               opts.Issuer,
		TokenEndpoint:        opts.Issuer + PathToken,
		MaxAssertionLifetime: opts.MaxAssertionLifetime,
		Now:                  opts.Now,
		// Which grants a public client may use is each grant's decision
		// (grantBase.start); which other endpoints, theirs.
		AllowPublic: true,
	})
	cfg := &fosite.Config{
		AccessTokenLifespan:      opts.AccessTokenTTL,
		RefreshTokenLifespan:     opts.RefreshTokenTTL,
		ScopeStrategy:            fosite.ExactScopeStrategy,
		AudienceMatchingStrategy: fosite.ExactAudienceMatchingStrategy,
		TokenURL:                 opts.Issuer + PathToken,
		// Fosite's own form parsing accepts up to 1 MiB; the server's body
		// limit cuts requests down long before that.
		ClientAuthenticationStrategy: p.authenticateClient,
	}
	cfg.TokenEndpointHandlers = fosite.TokenEndpointHandlers{
		&clientCredentialsGrant{grantBase{p, grantClientCredentials}},
		&passwordGrant{grantBase{p, grantPassword}},
		&refreshGrant{grantBase{p, grantRefreshToken}},
		&codeGrant{grantBase{p, grantAuthorizationCode}},
	}
	p.oauth2 = &fosite.Fosite{Config: cfg}
	p.discovery = newDiscoveryDoc(p)
	p.touched = &secretToucher{p: p, last: map[secretVersion]time.Time{}}
	return p
}

// Register mounts the OAuth 2.0 endpoints on r.
func (p *Provider) Register(r *mux.Router) {
	r.Handle(PathDiscovery, http.HandlerFunc(p.handleDiscovery)).Methods(http.MethodGet, http.MethodHead)
	r.Handle(PathJWKS, p.opts.Keys.JWKSHandler())
	r.Handle(PathToken, http.HandlerFunc(p.handleToken))
	r.Handle(PathIntrospect, http.HandlerFunc(p.handleIntrospect))
	r.Handle(PathRevoke, http.HandlerFunc(p.handleRevoke))
	r.Handle(PathPrelogin, http.HandlerFunc(p.handlePrelogin))
	r.Handle(PathUserinfo, http.HandlerFunc(p.handleUserinfo))
	r.Handle(PathAuthorize, http.HandlerFunc(p.handleAuthorize))
	r.Handle(PathLogout, http.HandlerFunc(p.handleLogout))
}

// UsePages sets the pages the browser flows answer with, for a caller
// that builds them after the provider (they call back into it).
func (p *Provider) UsePages(pages Pages) { p.opts.Pages = pages }

func (p *Provider) now() time.Time { return p.opts.Now() }

package clientauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

var (
	// ErrInvalidClient is every client authentication failure: unknown
	// client, wrong secret, disabled client, method other than the
	// registered one, bad or replayed assertion, malformed credentials.
	// The caller answers 401 invalid_client with one fixed description.
	ErrInvalidClient = errors.New("invalid client")
	// ErrInvalidRequest is a request whose client authentication is
	// malformed or ambiguous rather than wrong: several methods at once,
	// a duplicated parameter, or client_ids that contradict each other.
	ErrInvalidRequest = errors.New("invalid client authentication request")
)

// Clients is what authentication reads. storage.Store satisfies it; a
// cache may wrap it.
type Clients interface {
	// GetClient returns an error wrapping storage.ErrNotFound for an
	// unknown client.
	GetClient(ctx context.Context, realm, clientID string) (storage.Client, error)
	ActiveClientSecrets(ctx context.Context, realm, clientID string) ([]storage.ClientSecret, error)
}

// Replay records assertion ids. storage.TokenState satisfies it.
type Replay interface {
	// MarkOnce records key until exp and reports whether this was the
	// first time.
	MarkOnce(ctx context.Context, key string, exp time.Time) (bool, error)
}

var (
	_ Clients = storage.Store(nil)
	_ Replay  = storage.TokenState(nil)
)

// DefaultMaxAssertionLifetime bounds how far ahead of now an assertion's
// exp may be: a short exp bounds how long a jti must be remembered
// (token.assertion_max_lifetime, docs/configuration.md).
const DefaultMaxAssertionLifetime = 5 * time.Minute

// Config configures an Authenticator.
type Config struct {
	Realm string
	// Issuer and TokenEndpoint are the only accepted assertion audiences,
	// matched as exact strings.
	Issuer        string
	TokenEndpoint string
	// MaxAssertionLifetime bounds exp - now; zero means
	// DefaultMaxAssertionLifetime.
	MaxAssertionLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AllowPublic lets clients registered with method none authenticate
	// by client_id alone. Which grants they may then use is the caller's
	// decision.
	AllowPublic bool
}

// Result is an authenticated client.
type Result struct {
	Client storage.Client
	// Method is the method actually used: client_secret_basic,
	// client_secret_post, private_key_jwt or none.
	Method string
	// SecretID is the secret version that matched (for last_used_at);
	// empty for the other methods.
	SecretID string
}

// Authenticator authenticates clients. It is safe for concurrent use.
type Authenticator struct {
	clients Clients
	replay  Replay
	cfg     Config
	// dummy is a verifier no W matches; unknown clients are checked
	// against it so that they cost what known ones cost.
	dummy [][]byte
}

// New returns an Authenticator reading clients and recording assertion ids
// in replay.
func New(clients Clients, replay Replay, cfg Config) *Authenticator {
	if cfg.Realm == "" {
		cfg.Realm = storage.DefaultRealm
	}
	if cfg.MaxAssertionLifetime <= 0 {
		cfg.MaxAssertionLifetime = DefaultMaxAssertionLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// crypto/rand.Read never returns an error (Go 1.24+); it aborts the
	// program itself if the system cannot supply randomness.
	dummy := make([]byte, 32)
	_, _ = rand.Read(dummy)
	return &Authenticator{clients: clients, replay: replay, cfg: cfg, dummy: [][]byte{dummy}}
}

// Authenticate authenticates the client of a token, introspection or
// revocation request from its Authorization header and its already-parsed
// form. It returns an error wrapping ErrInvalidClient for every failure to
// authenticate, ErrInvalidRequest for malformed or ambiguous client
// authentication, and storage errors (storage.ErrUnavailable above all)
// wrapped as they are.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, form url.Values) (Result, error) {
	cr, err := extract(r.Header, form)
	if err != nil {
		return Result{}, err
	}
	switch cr.method {
	case storage.AuthMethodSecretBasic, storage.AuthMethodSecretPost:
		return a.authenticateSecret(ctx, cr)
	case storage.AuthMethodPrivateKeyJWT:
		return a.authenticateAssertion(ctx, cr)
	default:
		return a.authenticatePublic(ctx, cr)
	}
}

// authenticatePublic authenticates a client that sent only its client_id.
func (a *Authenticator) authenticatePublic(ctx context.Context, cr credentials) (Result, error) {
	if !a.cfg.AllowPublic {
		return Result{}, invalidClient("no client credentials (public clients are not allowed)")
	}
	c, err := a.loadClient(ctx, cr.clientID)
	if err != nil {
		return Result{}, err
	}
	if err := checkClient(c, storage.AuthMethodNone); err != nil {
		return Result{}, err
	}
	return Result{Client: c, Method: storage.AuthMethodNone}, nil
}

// loadClient reads a client; an unknown one is ErrInvalidClient, any other
// failure is returned wrapped as is.
func (a *Authenticator) loadClient(ctx context.Context, clientID string) (storage.Client, error) {
	c, err := a.clients.GetClient(ctx, a.cfg.Realm, clientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.Client{}, invalidClient("unknown client")
	case err != nil:
		return storage.Client{}, fmt.Errorf("clientauth: load client: %w", err)
	}
	return c, nil
}

// checkClient refuses disabled clients and clients registered for another
// method than the one used.
func checkClient(c storage.Client, method string) error {
	if c.Status != storage.StatusActive {
		return invalidClient("client is not active")
	}
	if c.TokenEndpointAuthMethod != method {
		return invalidClient(fmt.Sprintf("client is registered for %q but used %s", c.TokenEndpointAuthMethod, method))
	}
	return nil
}

// invalidClient wraps ErrInvalidClient with a cause for the logs. Causes
// are fixed texts or registered method names: never a value the request
// carried.
func invalidClient(cause string) error { return fmt.Errorf("%w: %s", ErrInvalidClient, cause) }

func invalidRequest(cause string) error { return fmt.Errorf("%w: %s", ErrInvalidRequest, cause) }

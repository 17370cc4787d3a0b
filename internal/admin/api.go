package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// TokenVerifier checks bearer tokens and says what they may do now; the
// OAuth provider satisfies it.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (context.Context, authz.Principal, error)
}

// PasswordChecker checks a user's own password, b64u(P), under the login
// throttle: ok is false for a wrong one; wait, when positive, says that
// attempts are throttled and for how long (nothing was checked).
type PasswordChecker interface {
	CheckOwnPassword(ctx context.Context, userID, source string, pw []byte) (ok bool, wait time.Duration, err error)
}

// Options configures the API. Every field without a documented default is
// required.
type Options struct {
	Realm  string // default storage.DefaultRealm
	Store  storage.Store
	State  storage.TokenState
	Tokens TokenVerifier
	Hasher *credential.PasswordHasher
	// Passwords checks a user's own password under the login throttle
	// (the OAuth provider does), for PUT /admin/me/password.
	Passwords PasswordChecker
	// PasswordIterations is the client-side PBKDF2 iteration count a
	// password must be set with: exactly this one (see
	// credential.ValidatePasswordSetting).
	PasswordIterations int
	// MaxTokenLifetime is how long "revoke every token" marks are kept: the
	// longest lifetime any token can have.
	MaxTokenLifetime time.Duration
	// Accounts and AccountStore, when set, mount the invitation routes
	// and the activation resend, and mail users created with an address
	// and no password an activation link (docs/accounts.md).
	Accounts     Accounts
	AccountStore storage.AccountStore
	// RefusalAuditsPerMinute bounds the refused requests written to the
	// audit log per actor and minute (default 60); past it they are
	// logged only, so that no token holder can flood the audit log.
	RefusalAuditsPerMinute int
	Logger                 *slog.Logger
	Now                    func() time.Time // default time.Now
}

// API serves the management REST API.
type API struct {
	opts   Options
	powers authz.Powers
}

// New builds the API.
func New(opts Options) *API {
	if opts.Realm == "" {
		opts.Realm = storage.DefaultRealm
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefusalAuditsPerMinute <= 0 {
		opts.RefusalAuditsPerMinute = 60
	}
	return &API{opts: opts, powers: authz.Powers{Store: opts.Store, Realm: opts.Realm}}
}

// handler is a management API handler: it returns an error instead of
// writing one, so that every error goes through writeProblem.
type handler func(w http.ResponseWriter, r *http.Request, p authz.Principal) error

// route registers h for method and path (below /admin), guarded by the
// admin resource need ("" for routes any signed-in caller may use).
func (a *API) route(r *mux.Router, method, path, need string, h handler) {
	r.Handle(path, a.guard(method+" /admin"+path, need, h)).Methods(method)
}

// guard authenticates the bearer token and checks the admin resource
// before calling h. Every refusal for want of power — a missing resource
// (403), the delegation ceiling (422), the last administrator (409) — is
// written to the audit log: refused attempts are what an auditor looks
// for first.
//
// where, when not nil, names the context the request acts in ("" for
// the realm): the caller's power is then what it holds there
// (principalIn). On a realm route, a token for a context holds nothing.
func (a *API) guard(route, need string, h handler) http.Handler {
	return a.guardIn(route, need, nil, h)
}

func (a *API) guardIn(route, need string, where func(*http.Request) string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, p, err := a.authenticate(r)
		authenticated := err == nil
		contextID := ""
		if err == nil && where != nil {
			contextID = where(r)
		}
		scoped := p
		if err == nil {
			ctx = withCaller(ctx, p)
			scoped, err = a.principalIn(ctx, p, contextID)
			if errors.Is(err, storage.ErrNotFound) {
				err = a.unknownContext(p, need, err)
			}
		}
		if err == nil && need != "" && !scoped.Has(need) {
			if contextID == "" && p.Context == "" {
				err = a.missingResource(ctx, p, need)
			} else {
				err = forbidden(need)
			}
		}
		if err == nil {
			err = h(w, r.WithContext(ctx), scoped)
		}
		if err != nil {
			if authenticated {
				a.auditRefusal(ctx, r, route, p, err)
			}
			a.writeProblem(ctx, w, err)
		}
	})
}

// Register mounts the management API under /admin on r.
func (a *API) Register(r *mux.Router) {
	// Client ids may hold "/" (percent-encoded in paths), so the admin
	// routes match on the escaped path and pathVar unescapes.
	sub := r.PathPrefix("/admin").Subrouter()
	sub.UseEncodedPath()
	a.registerResourceRoutes(sub)
	a.registerLanguageRoutes(sub)
	a.registerGroupRoutes(sub)
	a.registerContextRoutes(sub)
	a.registerUserRoutes(sub)
	a.registerClientRoutes(sub)
	a.registerMeRoutes(sub)
	a.registerConsentRoutes(sub)
	a.registerAuditRoutes(sub)
	a.registerInviteRoutes(sub)
}

// pathVars returns the route variables, unescaped.
func pathVars(r *http.Request) map[string]string {
	vars := mux.Vars(r)
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		out[k] = v
	}
	return out
}

package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// Flow is the OAuth provider's side of browser sign-in: the pages show
// and submit forms, the provider decides. Its errors are those declared
// in internal/oauth/browser.go (ErrPendingGone, ErrForgedForm,
// ErrBadCredentials, ErrPasswordNotHashed, *RetryError); any other error
// is an internal one.
type Flow interface {
	// PendingAuthorization returns the pending request id if it is live
	// and was started in this browser.
	PendingAuthorization(r *http.Request, id string) (oauth.Pending, error)
	// SignIn checks username and the wire password b64u(P) for pending
	// request id (its form's CSRF token csrf), starts a login session
	// (setting its cookie on w) and returns the URL the browser goes to
	// next (consent page or the client).
	SignIn(w http.ResponseWriter, r *http.Request, id, csrf, username, password string) (next string, err error)
	// Decide records the consent decision for pending request id and
	// returns the URL to send the browser to (the client's redirect URI
	// with a code or an access_denied error).
	Decide(w http.ResponseWriter, r *http.Request, id, csrf string, allow bool) (next string, err error)
}

// Options configures the pages.
type Options struct {
	Flow Flow
	// Issuer is the issuer URL. Its path prefixes every URL the pages
	// link to (assets, forms, prelogin), as it prefixes the endpoints in
	// discovery: behind a proxy that strips it, the links still work.
	Issuer string
	// DefaultLanguage is the realm's default language (a BCP 47 tag),
	// used when neither the client nor the browser names a supported one.
	DefaultLanguage string
	// Links, when set, mounts the pages of mailed links (activation,
	// password reset, invitations; links.go, invite.go, docs/accounts.md)
	// and links the login page to the password reset.
	Links LinkFlows
	// Passwords checks an existing account's password on the invitation
	// page; the OAuth provider implements it. Required with Links.
	Passwords PasswordVerifier
	// Logger receives internal errors, once each; nil means slog.Default.
	Logger *slog.Logger
	// Account, unless nil, serves the account page (oauth.PathAccount).
	Account AccountFlow
}

// Pages serves the hosted sign-in pages. It implements oauth.Pages.
type Pages struct {
	opts   Options
	base   string // the issuer's path, without a trailing slash
	assets *assetSet
	tmpl   *templates
	langs  *languages
}

var _ oauth.Pages = (*Pages)(nil)

// New builds the pages. It panics if the embedded templates, catalogues
// or assets are broken, which the package's tests rule out.
func New(opts Options) *Pages {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Pages{opts: opts}
	if u, err := url.Parse(opts.Issuer); err == nil {
		p.base = strings.TrimSuffix(u.Path, "/")
	}
	var err error
	if p.assets, err = loadAssets(); err != nil {
		panic(err)
	}
	cats, err := loadCatalogues()
	if err != nil {
		panic(err)
	}
	p.langs = newLanguages(cats, opts.DefaultLanguage)
	if p.tmpl, err = parseTemplates(p); err != nil {
		panic(err)
	}
	return p
}

// Register mounts the pages on r: the login and consent pages (GET shows,
// POST submits) and the static assets.
func (p *Pages) Register(r *mux.Router) {
	// No Methods() matcher: the handlers answer other methods themselves
	// with 405 and Allow (RFC 9110 §15.5.6), which mux's default 405
	// lacks.
	r.Handle(oauth.PathLogin, p.methods(p.handleLoginPage, p.handleLoginPost))
	r.Handle(oauth.PathConsent, p.methods(p.handleConsentPage, p.handleConsentPost))
	r.HandleFunc(assetsPath+"{name}", p.handleAsset)
	if p.opts.Account != nil {
		p.registerAccount(r)
	}
	if p.opts.Links != nil {
		p.registerLinkPages(r)
	}
}

// methods dispatches GET and HEAD to show, POST to submit, and answers
// anything else with 405.
func (p *Pages) methods(show, submit http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			show(w, r)
		case http.MethodPost:
			submit(w, r)
		default:
			p.methodNotAllowed(w, r, "GET, HEAD, POST")
		}
	})
}

// methodNotAllowed answers a method a page does not take: 405 with Allow
// (RFC 9110 §15.5.6) and the message page.
func (p *Pages) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	c := p.langs.pick(r, nil, "")
	p.render(w, http.StatusMethodNotAllowed, "message", &view{cat: c,
		Title: c.must("method.title"), Message: c.must("method.text")})
}

// contentSecurityPolicy allows only the pages' own script, stylesheet and
// images, and no framing (issue 12; RFC 6749 §10.13 clickjacking).
// It deliberately has no form-action directive: Chrome applies form-action
// to the redirects that follow a form POST, and the login and consent
// forms end in a 303 to the client's redirect URI, which is on another
// origin and cannot be listed here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// SetPageHeaders sets the headers of every page and redirect. Pages show
// per-request state (CSRF tokens, the signed-in user), so nothing may
// store them (RFC 9111 §5.2.2.5).
func SetPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the page URL holds the request id
}

// redirect sends the browser to next with 303, so that it follows with a
// GET whatever the form's method was (RFC 9110 §15.4.4).
func redirect(w http.ResponseWriter, next string) {
	h := w.Header()
	SetPageHeaders(h)
	h.Del("Content-Type")
	h.Set("Location", next)
	w.WriteHeader(http.StatusSeeOther)
}

// pageURL returns the URL of one of the pages for pending request id.
func (p *Pages) pageURL(page, id string) string {
	return p.base + page + "?" + url.Values{"auth": {id}}.Encode()
}

// logInternal logs the cause of a 500 or 503 once. It names the path and
// the error only: never form values, which hold credentials and CSRF
// tokens.
func (p *Pages) logInternal(r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		// The browser hung up: nothing went wrong on our side, and the
		// answer reaches nobody.
		p.opts.Logger.DebugContext(r.Context(), "signin: request abandoned by the client", slog.String("path", r.URL.Path))
		return
	}
	p.opts.Logger.ErrorContext(r.Context(), "signin: internal error",
		slog.String("path", r.URL.Path), slog.String("err", fmt.Sprint(err)))
}

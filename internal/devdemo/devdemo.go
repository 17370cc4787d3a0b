package devdemo

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/mux"
	"golang.org/x/oauth2"
)

// Paths of the demo pages, under the issuer.
const (
	PathStart    = "/dev/start"
	PathCallback = "/dev/callback"
)

// Scopes are what the demo asks for: the OpenID Connect claims and one
// admin resource, so that the consent page has something to list.
var Scopes = []string{oidc.ScopeOpenID, "profile", "email", "users-read"}

// flowTTL bounds how long a sign-in started at /dev/start may take.
const flowTTL = 10 * time.Minute

// Options configures the demo pages.
type Options struct {
	Issuer   string
	ClientID string // a public client with redirect URI Issuer + PathCallback
	// AssetURL returns the URL of one of the hosted pages' assets
	// (internal/signin), so that the demo looks like them.
	AssetURL func(name string) (string, error)
	// SetPageHeaders sets the hosted pages' security headers (CSP,
	// no-store, no framing, no referrer).
	SetPageHeaders func(http.Header)
	Logger         *slog.Logger
	Now            func() time.Time
}

// Demo serves the demo relying party's pages.
type Demo struct {
	opts   Options
	issuer *url.URL
	base   string       // the issuer's path, without a trailing slash
	client *http.Client // set by Register
	seal   sealer
	pages  *pages
}

// New builds the demo pages. It fails only if the process has no
// randomness or the embedded template is broken.
func New(o Options) (*Demo, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	iss, err := url.Parse(o.Issuer)
	if err != nil {
		return nil, fmt.Errorf("devdemo: issuer: %w", err)
	}
	s, err := newSealer()
	if err != nil {
		return nil, err
	}
	pg, err := parsePages(o.AssetURL)
	if err != nil {
		return nil, err
	}
	return &Demo{opts: o, issuer: iss, base: strings.TrimSuffix(iss.Path, "/"), seal: s, pages: pg}, nil
}

// Register mounts /dev/start and /dev/callback on r. r must serve the
// issuer's routes too: the demo calls discovery, JWKS and the token
// endpoint through it, in memory (see handlerTransport).
func (d *Demo) Register(r *mux.Router) {
	d.client = &http.Client{Transport: handlerTransport{issuer: d.issuer, h: r}, Timeout: 30 * time.Second}
	r.Handle(PathStart, d.getOnly(d.handleStart))
	r.Handle(PathCallback, d.getOnly(d.handleCallback))
}

// getOnly answers GET and HEAD with h, anything else with 405 and Allow
// (RFC 9110 §15.5.6).
func (d *Demo) getOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			d.fail(w, r, http.StatusMethodNotAllowed, "Method not allowed", "These pages answer GET only.", nil)
			return
		}
		h(w, r)
	})
}

// cookieName is the flow cookie; with an https issuer it gets the
// __Host- prefix, as the login session's cookie does.
func (d *Demo) cookieName() string {
	if d.secure() {
		return "__Host-gatehouse-demo"
	}
	return "gatehouse-demo"
}

func (d *Demo) secure() bool { return strings.HasPrefix(d.opts.Issuer, "https://") }

// relyingParty discovers the issuer (in memory) and returns the OAuth
// configuration and ID token verifier of the demo client, as any go-oidc
// relying party builds them. ctx carries the in-memory client for later
// calls (JWKS, token).
func (d *Demo) relyingParty(ctx context.Context) (context.Context, *oauth2.Config, *oidc.IDTokenVerifier, error) {
	ctx = oidc.ClientContext(ctx, d.client)
	p, err := oidc.NewProvider(ctx, d.opts.Issuer)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("discovery: %w", err)
	}
	ep := p.Endpoint()
	// A public client sends client_id in the body (RFC 6749 §2.3.1); set,
	// not guessed, so that a refusal is reported as the server wrote it.
	ep.AuthStyle = oauth2.AuthStyleInParams
	cfg := &oauth2.Config{ClientID: d.opts.ClientID, Endpoint: ep, RedirectURL: d.opts.Issuer + PathCallback, Scopes: Scopes}
	return ctx, cfg, p.Verifier(&oidc.Config{ClientID: d.opts.ClientID, Now: d.opts.Now}), nil
}

// handleStart begins a sign-in: fresh state, nonce and PKCE verifier in
// the signed flow cookie, then the authorization request.
func (d *Demo) handleStart(w http.ResponseWriter, r *http.Request) {
	_, cfg, _, err := d.relyingParty(r.Context())
	if err != nil {
		d.internal(w, r, err)
		return
	}
	f := flowState{Verifier: oauth2.GenerateVerifier(), Expires: d.opts.Now().Add(flowTTL).Unix()}
	if f.State, err = randomValue(); err == nil {
		f.Nonce, err = randomValue()
	}
	var sealed string
	if err == nil {
		sealed, err = d.seal.seal(f)
	}
	if err != nil {
		d.internal(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: d.cookieName(), Value: sealed, Path: d.base + "/dev/", MaxAge: int(flowTTL.Seconds()),
		HttpOnly: true, Secure: d.secure(),
		// Lax: the browser comes back to the callback with a top-level
		// GET from the issuer's own pages.
		SameSite: http.SameSiteLaxMode,
	})
	target := cfg.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce))
	d.opts.SetPageHeaders(w.Header())
	w.Header().Del("Content-Type")
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// handleCallback finishes a sign-in: the state must be the one this
// browser's flow cookie holds (RFC 6749 §10.12) before anything else in
// the response is believed, including an error; then the code is
// redeemed with the PKCE verifier and the ID token verified, nonce
// included (OpenID Connect Core §3.1.3.7).
func (d *Demo) handleCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f flowState
	c, err := r.Cookie(d.cookieName())
	if err == nil {
		f, err = d.seal.open(c.Value, d.opts.Now())
	}
	if err != nil {
		d.fail(w, r, http.StatusBadRequest, "This sign-in was not started here",
			"The demo found no sign-in in progress in this browser, or it expired. Start again.", nil)
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		d.fail(w, r, http.StatusBadRequest, "The state does not match",
			"The answer does not belong to the sign-in this browser started (RFC 6749 §10.12), so it is ignored. Start again.", nil)
		return
	}
	// RFC 9207: the answer names its issuer; one that names another is
	// a mix-up attack.
	if iss := q.Get("iss"); iss != "" && iss != d.opts.Issuer {
		d.fail(w, r, http.StatusBadRequest, "The answer names another issuer", "iss is "+iss+" (RFC 9207).", nil)
		return
	}
	d.clearCookie(w)
	if code := q.Get("error"); code != "" {
		title := "Sign-in failed"
		if code == "access_denied" {
			title = "Access was denied"
		}
		d.fail(w, r, http.StatusBadRequest, title, "The authorization server answered with an error.",
			&oauthError{Code: code, Description: q.Get("error_description")})
		return
	}
	code := q.Get("code")
	if code == "" {
		d.fail(w, r, http.StatusBadRequest, "No code", "The answer carries neither a code nor an error.", nil)
		return
	}
	ctx, cfg, verifier, err := d.relyingParty(r.Context())
	if err != nil {
		d.internal(w, r, err)
		return
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			d.fail(w, r, http.StatusBadGateway, "The token endpoint refused the code", "Start again.",
				&oauthError{Code: re.ErrorCode, Description: re.ErrorDescription})
			return
		}
		d.internal(w, r, err)
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		d.fail(w, r, http.StatusBadGateway, "No ID token", "The token response has no id_token although openid was requested.", nil)
		return
	}
	id, err := verifier.Verify(ctx, rawID)
	if err == nil && subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(f.Nonce)) != 1 {
		err = errors.New("nonce differs")
	}
	if err == nil {
		err = id.VerifyAccessToken(tok.AccessToken) // at_hash
	}
	if err != nil {
		d.opts.Logger.WarnContext(r.Context(), "devdemo: ID token refused", slog.String("err", err.Error()))
		d.fail(w, r, http.StatusBadGateway, "The ID token did not verify", err.Error(), nil)
		return
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		d.internal(w, r, err)
		return
	}
	scope, _ := tok.Extra("scope").(string)
	d.pages.render(w, d.opts.SetPageHeaders, http.StatusOK, &view{
		Title: "Signed in", Tone: "ok",
		Lead:    "The demo application received and verified these tokens.",
		Claims:  claimList(claims),
		Scope:   scope,
		Expires: tok.Expiry.UTC().Format(time.RFC3339),
		Refresh: tok.RefreshToken != "",
		Again:   d.base + PathStart,
	})
}

func (d *Demo) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: d.cookieName(), Value: "", Path: d.base + "/dev/", MaxAge: -1,
		HttpOnly: true, Secure: d.secure(), SameSite: http.SameSiteLaxMode})
}

// fail shows an error page with a link to start again.
func (d *Demo) fail(w http.ResponseWriter, _ *http.Request, status int, title, lead string, e *oauthError) {
	d.pages.render(w, d.opts.SetPageHeaders, status, &view{Title: title, Tone: "error", Lead: lead, Error: e, Again: d.base + PathStart})
}

// internal logs err once and shows a page that says only that it failed.
func (d *Demo) internal(w http.ResponseWriter, r *http.Request, err error) {
	d.opts.Logger.ErrorContext(r.Context(), "devdemo: internal error", slog.String("path", r.URL.Path), slog.String("err", err.Error()))
	d.fail(w, r, http.StatusInternalServerError, "Internal error", "The demo could not complete the request; the server log says why.", nil)
}

package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/storage"
)

// Bounds on authorization request parameters: generous for real clients,
// small enough that a pending request stays a small Redis entry.
const (
	maxStateLen     = 2048
	maxNonceLen     = 512
	maxHintLen      = 256
	maxParamLen     = 4096 // any other parameter
	maxIDTokenHint  = 8192
	challengeLength = 43 // b64u of a SHA-256 digest (RFC 7636 §4.2)
)

// OIDC scopes (OIDC Core 1.0 §5.4, §11). They travel with the admin
// resources in a token's scope but are not resources: nobody "holds"
// them, the client may ask for them and the user consents. address and
// phone select claims Gatehouse does not keep; they are accepted and
// yield nothing, as OIDC Core §5.4 lets a provider do.
const (
	scopeOpenID        = "openid"
	scopeProfile       = "profile"
	scopeEmail         = "email"
	scopeAddress       = "address"
	scopePhone         = "phone"
	scopeOfflineAccess = "offline_access"
)

var oidcScopes = []string{scopeOpenID, scopeProfile, scopeEmail, scopeAddress, scopePhone, scopeOfflineAccess}

func isOIDCScope(s string) bool { return slices.Contains(oidcScopes, s) }

// splitScopes separates OIDC scopes from admin resources.
func splitScopes(scopes []string) (oidc, admin []string) {
	for _, s := range scopes {
		if isOIDCScope(s) {
			oidc = append(oidc, s)
		} else {
			admin = append(admin, s)
		}
	}
	return oidc, admin
}

// authRequest is a validated authorization request (RFC 6749 §4.1.1,
// OIDC Core 1.0 §3.1.2.1). It is what a pending request keeps on the
// server while the user signs in and consents.
type authRequest struct {
	ClientID    string   `json:"c"`
	RedirectURI string   `json:"r"`
	State       string   `json:"s,omitempty"`
	Nonce       string   `json:"n,omitempty"`
	Scopes      []string `json:"sc,omitempty"` // requested, deduplicated, in request order
	ScopeGiven  bool     `json:"sg,omitempty"` // a scope parameter was sent
	Challenge   string   `json:"pk,omitempty"` // S256 code challenge
	Prompt      []string `json:"p,omitempty"`
	MaxAge      int      `json:"ma"` // seconds; -1 when absent
	LoginHint   string   `json:"lh,omitempty"`
	UILocales   []string `json:"ul,omitempty"`
	// HintSubject is the sub of a valid id_token_hint: the user the client
	// expects to be signed in.
	HintSubject string `json:"hs,omitempty"`
}

func (a *authRequest) prompts(p string) bool { return slices.Contains(a.Prompt, p) }

// authError is an authorization error sent back to the client's
// redirect URI (RFC 6749 §4.1.2.1).
type authError struct {
	code, description string
	cause             error
}

func (e *authError) Error() string { return e.code + ": " + e.description }
func (e *authError) Unwrap() error { return e.cause }

func newAuthError(code, description string) *authError {
	return &authError{code: code, description: description}
}

// pageError is an authorization error that must not be redirected: the
// client or its redirect URI cannot be trusted (RFC 6749 §4.1.2.1,
// RFC 9700 §4.1.1: never an open redirector).
type pageError struct {
	status            int
	code, description string
}

func (e *pageError) Error() string { return e.code + ": " + e.description }

func badPage(description string) *pageError {
	return &pageError{status: http.StatusBadRequest, code: "invalid_request", description: description}
}

// handleAuthorize serves the authorization endpoint.
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx, params, ok := p.browserRequest(w, r, "authorization")
	if !ok {
		return
	}
	c, redirectURI, perr := p.authClient(ctx, params)
	if perr != nil {
		p.pageError(w, r, perr)
		return
	}
	state := params.Get("state")
	if len(state) > maxStateLen {
		state = "" // not echoed: a redirect must not carry an unbounded value
	}
	req, err := p.parseAuthRequest(ctx, c, redirectURI, params)
	if err != nil {
		p.redirectError(ctx, w, r, redirectURI, state, err)
		return
	}
	next, err := p.authorize(ctx, w, r, c, req)
	if err != nil {
		p.redirectError(ctx, w, r, redirectURI, state, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// browserRequest starts a request of a browser endpoint (authorization,
// logout): GET or POST, its parameters, and the request's view of cached
// storage. When ok is false it has answered with an error page.
func (p *Provider) browserRequest(w http.ResponseWriter, r *http.Request, endpoint string) (context.Context, url.Values, bool) {
	ctx := r.Context()
	noStore(w)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		p.pageError(w, r, &pageError{status: http.StatusMethodNotAllowed, code: "invalid_request",
			description: "The " + endpoint + " endpoint accepts GET and POST only."})
		return ctx, nil, false
	}
	params, perr := authParams(r)
	if perr != nil {
		p.pageError(w, r, perr)
		return ctx, nil, false
	}
	ctx, err := p.opts.Views.Begin(ctx)
	if err != nil {
		p.pageError(w, r, p.unavailablePage(ctx, err))
		return ctx, nil, false
	}
	return ctx, params, true
}

// authParams reads the request's parameters: the query of a GET, the form
// body of a POST (OIDC Core 1.0 §3.1.2.1). A parameter sent twice is an
// error (RFC 6749 §3.1), answered on a page: the redirect URI itself may
// be the one repeated.
func authParams(r *http.Request) (url.Values, *pageError) {
	var params url.Values
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, badPage("The request's query string is malformed.")
		}
		params = q
	} else {
		form, err := parseForm(r)
		if err != nil {
			return nil, badPage(toOAuthError(err).Description)
		}
		params = form
	}
	for name, values := range params {
		if len(values) > 1 {
			return nil, badPage("The parameter " + strconvQuote(name) + " is repeated.")
		}
		limit := maxParamLen
		if name == "id_token_hint" {
			limit = maxIDTokenHint
		}
		if len(values[0]) > limit {
			return nil, badPage("The parameter " + strconvQuote(name) + " is too long.")
		}
	}
	return params, nil
}

// authClient finds the client and checks the redirect URI. Whatever fails
// here is shown on a page, never redirected.
func (p *Provider) authClient(ctx context.Context, params url.Values) (storage.Client, string, *pageError) {
	clientID := params.Get("client_id")
	if clientID == "" {
		return storage.Client{}, "", badPage("The client_id parameter is missing.")
	}
	c, err := p.opts.Store.GetClient(ctx, p.opts.Realm, clientID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && c.Status != storage.StatusActive) {
		return storage.Client{}, "", &pageError{status: http.StatusBadRequest, code: "invalid_client",
			description: "The client is unknown or disabled."}
	} else if err != nil {
		return storage.Client{}, "", p.unavailablePage(ctx, err)
	}
	redirectURI := params.Get("redirect_uri")
	if redirectURI == "" {
		return storage.Client{}, "", badPage("The redirect_uri parameter is missing.")
	}
	if !redirectURIRegistered(c.RedirectURIs, redirectURI) {
		return storage.Client{}, "", badPage("The redirect_uri is not registered for this client.")
	}
	return c, redirectURI, nil
}

// parseAuthRequest validates everything but the client and redirect URI;
// its errors go back to the client.
func (p *Provider) parseAuthRequest(ctx context.Context, c storage.Client, redirectURI string, params url.Values) (*authRequest, error) {
	switch {
	case params.Has("request"):
		return nil, newAuthError("request_not_supported", "Request objects are not supported.")
	case params.Has("request_uri"):
		return nil, newAuthError("request_uri_not_supported", "Request objects are not supported.")
	}
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		return nil, newAuthError("invalid_request", "The response_type parameter is missing.")
	default:
		return nil, newAuthError("unsupported_response_type", "Only response_type code is supported.")
	}
	if m := params.Get("response_mode"); m != "" && m != "query" {
		return nil, newAuthError("invalid_request", "Only response_mode query is supported.")
	}
	if !slices.Contains(c.GrantTypes, grantAuthorizationCode) {
		return nil, newAuthError("unauthorized_client", "The client is not allowed to use the authorization code flow.")
	}
	if err := p.ownerActive(ctx, c); errors.Is(err, errOwnerInactive) {
		return nil, newAuthError("unauthorized_client", "The client is not allowed to use the authorization code flow.")
	} else if err != nil {
		return nil, err
	}
	req := &authRequest{ClientID: c.ClientID, RedirectURI: redirectURI, State: params.Get("state"), MaxAge: -1}
	if len(req.State) > maxStateLen {
		return nil, newAuthError("invalid_request", "The state parameter is too long.")
	}
	if err := p.parseAuthScopes(ctx, c, params, req); err != nil {
		return nil, err
	}
	if err := parsePKCE(c, params, req); err != nil {
		return nil, err
	}
	if err := parseOIDCParams(params, req); err != nil {
		return nil, err
	}
	if hint := params.Get("id_token_hint"); hint != "" {
		sub, err := p.idTokenHintSubject(hint, c.ClientID)
		if err != nil {
			return nil, newAuthError("invalid_request", "The id_token_hint is not an ID token this server issued to the client.")
		}
		req.HintSubject = sub
	}
	return req, nil
}

// parseAuthScopes checks the requested scopes: OIDC scopes, and admin
// resources the client may request at all. Whether the user holds them is
// decided once the user is known, and what they lack is left out
// (RFC 6749 §3.3), as for the password grant.
func (p *Provider) parseAuthScopes(ctx context.Context, c storage.Client, params url.Values, req *authRequest) error {
	raw, given := params["scope"]
	req.ScopeGiven = given
	if !given {
		return nil
	}
	var allowed []string
	for _, s := range strings.Split(raw[0], " ") {
		if s == "" || slices.Contains(req.Scopes, s) {
			continue
		}
		if !isOIDCScope(s) {
			if allowed == nil {
				var err error
				if allowed, err = p.registeredScopes(ctx, c); err != nil {
					return err
				}
			}
			if !slices.Contains(allowed, s) {
				return newAuthError("invalid_scope", errInvalidScope.Description)
			}
		}
		req.Scopes = append(req.Scopes, s)
	}
	return nil
}

// registeredScopes is what the client may ever request: its scopes, or
// every resource of the realm for an all-scopes client.
func (p *Provider) registeredScopes(ctx context.Context, c storage.Client) ([]string, error) {
	if c.AllScopes {
		return storage.ResourceNames(ctx, p.opts.Store, p.opts.Realm)
	}
	return c.Scopes, nil
}

// parsePKCE reads the code challenge (RFC 7636 §4.3). Only S256 is
// accepted (RFC 9700 §2.1.1); PKCE is required of public clients and of
// confidential ones unless registered otherwise.
func parsePKCE(c storage.Client, params url.Values, req *authRequest) error {
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	if challenge == "" {
		if method != "" {
			return newAuthError("invalid_request", "The code_challenge parameter is missing.")
		}
		if c.TokenEndpointAuthMethod == storage.AuthMethodNone || !c.PKCEOptional {
			return newAuthError("invalid_request", "PKCE is required: send code_challenge with code_challenge_method S256.")
		}
		return nil
	}
	if method != "S256" {
		return newAuthError("invalid_request", "The code_challenge_method must be S256.")
	}
	if len(challenge) != challengeLength || !isB64URL(challenge) {
		return newAuthError("invalid_request", "The code_challenge must be the base64url SHA-256 of the code verifier.")
	}
	req.Challenge = challenge
	return nil
}

// parseOIDCParams reads nonce, prompt, max_age, login_hint and ui_locales
// (OIDC Core 1.0 §3.1.2.1). claims_locales and acr_values are accepted
// and have nothing to choose from.
func parseOIDCParams(params url.Values, req *authRequest) error {
	req.Nonce = params.Get("nonce")
	if len(req.Nonce) > maxNonceLen {
		return newAuthError("invalid_request", "The nonce parameter is too long.")
	}
	for _, v := range strings.Fields(params.Get("prompt")) {
		switch v {
		case "none", "login", "consent", "select_account":
		default:
			return newAuthError("invalid_request", "The prompt parameter has an unknown value.")
		}
		if !slices.Contains(req.Prompt, v) {
			req.Prompt = append(req.Prompt, v)
		}
	}
	if req.prompts("none") && len(req.Prompt) > 1 {
		return newAuthError("invalid_request", "prompt=none cannot be combined with other values.")
	}
	if v := params.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return newAuthError("invalid_request", "The max_age parameter must be a non-negative integer.")
		}
		req.MaxAge = n
	}
	req.LoginHint = params.Get("login_hint")
	if len(req.LoginHint) > maxHintLen {
		return newAuthError("invalid_request", "The login_hint parameter is too long.")
	}
	req.UILocales = parseUILocales(params.Get("ui_locales"))
	return nil
}

// parseUILocales reads ui_locales, keeping its first 8 tags of at most 35
// bytes (a BCP 47 tag's practical length): a pending request is stored
// for half an hour, and whoever starts one need not be anyone.
func parseUILocales(v string) []string {
	var out []string
	for _, tag := range strings.Fields(v) {
		if len(out) < 8 && len(tag) <= 35 {
			out = append(out, tag)
		}
	}
	return out
}

func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// redirectError answers an authorization error by redirecting to the
// client (RFC 6749 §4.1.2.1) with iss (RFC 9207). Server-side failures go
// back as server_error or temporarily_unavailable, logged with their cause.
func (p *Provider) redirectError(ctx context.Context, w http.ResponseWriter, r *http.Request, redirectURI, state string, err error) {
	var ae *authError
	if !errors.As(err, &ae) {
		oe := toOAuthError(err)
		code := "server_error"
		if oe.Status == http.StatusServiceUnavailable || oe.Status == http.StatusTooManyRequests {
			code = "temporarily_unavailable"
		}
		p.opts.Logger.ErrorContext(ctx, "authorization failed", "error", code, "cause", errString(err))
		ae = newAuthError(code, oe.Description)
	} else {
		p.opts.Logger.DebugContext(ctx, "authorization refused", "error", ae.code, "cause", errString(ae.cause))
	}
	v := url.Values{"error": {ae.code}, "error_description": {ae.description}, "iss": {p.opts.Issuer}}
	if state != "" {
		v.Set("state", state)
	}
	noStore(w)
	http.Redirect(w, r, withQuery(redirectURI, v), http.StatusSeeOther)
}

// pageError shows an error that cannot be redirected.
func (p *Provider) pageError(w http.ResponseWriter, r *http.Request, e *pageError) {
	noStore(w)
	if p.opts.Pages == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.status)
		_, _ = w.Write([]byte(e.code + ": " + e.description + "\n"))
		return
	}
	p.opts.Pages.Error(w, r, e.status, e.code, e.description)
}

func (p *Provider) unavailablePage(ctx context.Context, err error) *pageError {
	oe := toOAuthError(err)
	p.opts.Logger.Log(ctx, logLevel(ctx, oe), "authorization failed", "error", oe.Code, "cause", errString(err))
	status := oe.Status
	if status < 500 {
		status = http.StatusInternalServerError
	}
	return &pageError{status: status, code: oe.Code, description: oe.Description}
}

// withQuery appends v to uri's query, keeping what the registered URI
// already has (RFC 6749 §3.1.2).
func withQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + v.Encode()
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

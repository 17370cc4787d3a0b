package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Paths of the browser flows (authorization code, OIDC Core 1.0 §3.1;
// RP-initiated logout 1.0). The login and consent pages are served by
// internal/signin; the provider sends browsers there.
const (
	PathAuthorize = "/oauth2/authorize"
	PathLogout    = "/oauth2/logout"
	PathLogin     = "/login"
	PathConsent   = "/consent"
)

// Pages renders the HTML the OAuth endpoints answer browsers with, in the
// browser's language. internal/signin implements it.
type Pages interface {
	// Error renders a page for a request that cannot be answered by a
	// redirect: an unknown client, a redirect_uri that is not registered
	// (RFC 6749 §4.1.2.1), a logout with a post_logout_redirect_uri that is
	// not registered. code is the RFC 6749 error code; description says
	// what is wrong, in English, for the page to show below its own text.
	Error(w http.ResponseWriter, r *http.Request, status int, code, description string)
	// SignedOut renders the page shown after a logout that has nowhere to
	// send the browser back to.
	SignedOut(w http.ResponseWriter, r *http.Request)
	// ConfirmLogout renders a page that asks the user whether to sign
	// out, with one form that POSTs the hidden fields to PathLogout and a
	// submit button. It is shown when a logout request does not prove that
	// it comes from a relying party of the session (RP-Initiated Logout
	// 1.0 §2), so that another site cannot sign the user out.
	ConfirmLogout(w http.ResponseWriter, r *http.Request, hidden url.Values)
}

// Stage is where a pending authorization request stands.
type Stage string

// Stages of a pending authorization request.
const (
	StageLogin   Stage = "login"   // the user must sign in
	StageConsent Stage = "consent" // the user is signed in and must consent
)

// Pending is what the hosted pages show of a pending authorization
// request. The request itself stays on the server; the browser holds only
// its ID (in the page URL) and a cookie binding it to that browser.
type Pending struct {
	ID         string
	Stage      Stage
	ClientID   string
	ClientName string
	// Scopes are what the client asks the user to consent to: OIDC scopes
	// (openid, profile, email) first, then admin resources with their
	// descriptions.
	Scopes    []ScopeInfo
	LoginHint string   // OIDC login_hint, to prefill the username
	UILocales []string // OIDC ui_locales, most preferred first
	// Username and UserLanguage are the signed-in user's, at StageConsent.
	Username     string
	UserLanguage string
	// CSRF is the token every form of the pages must send back.
	CSRF string
	// Account is set for a sign-in to the account page: there is no
	// client.
	Account bool
}

// ScopeInfo is one scope a consent page lists.
type ScopeInfo struct {
	Name        string
	Description string // an admin resource's description; empty for OIDC scopes, which the pages describe
	OIDC        bool
}

// Errors of the browser flows that the pages turn into messages.
var (
	// ErrPendingGone: the pending request is unknown, expired, already
	// answered, or was started in another browser.
	ErrPendingGone = errors.New("the sign-in request is unknown, expired or started elsewhere")
	// ErrForgedForm: the form's CSRF token is missing or wrong.
	ErrForgedForm = errors.New("the form's CSRF token does not match")
	// ErrBadCredentials: wrong username or password, or the user may not
	// sign in; deliberately one error for all.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrPasswordNotHashed: the password field does not hold b64u(P),
	// which only the page's script derives.
	ErrPasswordNotHashed = errors.New("the password was not hashed in the browser")
)

// RetryError says that sign-in attempts are throttled (or the server is
// busy) and when to try again.
type RetryError struct {
	After time.Duration
}

func (e *RetryError) Error() string { return fmt.Sprintf("retry in %s", e.After) }

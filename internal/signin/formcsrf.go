package signin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// formCookie carries the CSRF token of the account pages' forms
// (activation, password reset, invitations), which belong to no pending
// authorization request: a double-submit cookie (OWASP CSRF Prevention
// Cheat Sheet), SameSite=Strict and HttpOnly, with the __Host- prefix
// under an https issuer so that no other host can plant one. Their links'
// tokens, secret and single use, already keep another site from
// submitting them for a victim; the cookie covers the password-reset
// request, which has none, and keeps every form's protection the same.
const formCookie = "gatehouse-form"

func (p *Pages) formCookieName() string {
	if strings.HasPrefix(p.opts.Issuer, "https://") {
		return "__Host-" + formCookie
	}
	return formCookie
}

// formCSRF returns the browser's form token, setting a new cookie when it
// has none (or a malformed one).
func (p *Pages) formCSRF(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(p.formCookieName()); err == nil && validFormToken(ck.Value) {
		return ck.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: p.formCookieName(), Value: v, Path: "/", HttpOnly: true,
		Secure: strings.HasPrefix(p.opts.Issuer, "https://"), SameSite: http.SameSiteStrictMode})
	return v
}

func validFormToken(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

// checkFormCSRF reports whether a submitted form's token matches the
// browser's cookie, compared in constant time.
func (p *Pages) checkFormCSRF(r *http.Request, submitted string) bool {
	ck, err := r.Cookie(p.formCookieName())
	if err != nil || !validFormToken(ck.Value) || len(submitted) != len(ck.Value) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(ck.Value), []byte(submitted)) == 1
}

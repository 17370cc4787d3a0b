// Command resource-server is a minimal API protected by Gatehouse access
// tokens. It verifies each token offline, with the signing keys of the
// JWKS that the issuer's discovery document names, and lets a request
// through only when the token's scope holds a required admin resource.
// README.md says how to run it against `gatehouse serve --dev`.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

func main() {
	issuer := env("ISSUER", "http://127.0.0.1:8080")
	v, err := NewVerifier(context.Background(), issuer, env("AUDIENCE", issuer), time.Now)
	if err != nil {
		log.Fatal(err)
	}
	scope := env("SCOPE", "reports-read")
	http.Handle("/reports", Protect(v, scope, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "reports for %s\n", Subject(r.Context()))
	})))
	addr := env("ADDR", "127.0.0.1:9090")
	log.Printf("GET http://%s/reports needs a token of %s with scope %s", addr, issuer, scope)
	log.Fatal(http.ListenAndServe(addr, nil))
}

// Verifier checks Gatehouse access tokens.
type Verifier struct{ oidc *oidc.IDTokenVerifier }

// NewVerifier reads the issuer's discovery document once; go-oidc then
// fetches its jwks_uri and fetches it again when a token names a key it
// does not know (a rotation). The access-token aud is the issuer unless
// Gatehouse is configured with token.audience (docs/configuration.md).
func NewVerifier(ctx context.Context, issuer, audience string, now func() time.Time) (*Verifier, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	// The algorithms allowed are those discovery lists as in use, never none or HMAC.
	return &Verifier{p.Verifier(&oidc.Config{ClientID: audience, Now: now})}, nil
}

// Claims are the access-token claims this server uses (RFC 9068 §2.2).
type Claims struct {
	Subject string `json:"sub"`
	Scope   string `json:"scope"`
}

// Errors of Verify: the answer is 401 invalid_token, or 403
// insufficient_scope (RFC 6750 §3.1).
var (
	ErrInvalidToken      = errors.New("invalid_token")
	ErrInsufficientScope = errors.New("insufficient_scope")
)

// Verify checks the signature against the issuer's keys, iss, aud and exp
// (go-oidc), that the token is an access token by its typ header, and that
// its space-separated scope holds scope.
func (v *Verifier) Verify(ctx context.Context, raw, scope string) (Claims, error) {
	// RFC 9068 §4: typ is at+jwt, so an ID token (typ JWT) signed by the
	// same keys is not taken for an access token (RFC 8725 §3.11). The
	// header is covered by the signature checked below.
	head, _, _ := strings.Cut(raw, ".")
	b, _ := base64.RawURLEncoding.DecodeString(head)
	var h struct{ Typ string }
	_ = json.Unmarshal(b, &h) // a malformed header leaves typ empty: refused
	if typ := strings.ToLower(h.Typ); typ != "at+jwt" && typ != "application/at+jwt" {
		return Claims{}, fmt.Errorf("%w: not an access token (typ %q)", ErrInvalidToken, h.Typ)
	}
	tok, err := v.oidc.Verify(ctx, raw)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var c Claims
	if err := tok.Claims(&c); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if !slices.Contains(strings.Fields(c.Scope), scope) {
		return c, ErrInsufficientScope
	}
	return c, nil
}

type subjectKey struct{}

// Subject returns the sub of the token a Protect-ed request carried.
func Subject(ctx context.Context) string { s, _ := ctx.Value(subjectKey{}).(string); return s }

// Protect answers 401 or 403 with WWW-Authenticate (RFC 6750 §3) unless
// the request carries a bearer token that Verify accepts with scope.
func Protect(v *Verifier, scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			// No credentials: no error code (RFC 6750 §3.1).
			w.Header().Set("WWW-Authenticate", `Bearer realm="reports"`)
			http.Error(w, "bearer token required", http.StatusUnauthorized)
			return
		}
		c, err := v.Verify(r.Context(), raw, scope)
		switch {
		case errors.Is(err, ErrInsufficientScope):
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="reports", error="insufficient_scope", scope=%q`, scope))
			http.Error(w, "the token lacks scope "+scope, http.StatusForbidden)
		case err != nil:
			// The cause stays in the log: a client learns only that the token is bad.
			log.Printf("token refused: %v", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="reports", error="invalid_token"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
		default:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, c.Subject)))
		}
	})
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

package oauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// handleUserinfo answers with the claims of the user a bearer access token
// was issued to, as its scopes allow (OIDC Core 1.0 §5.3, §5.4): sub
// always, profile and email claims with those scopes. Client tokens have
// no user and are refused.
func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	token, ok := bearerToken(r)
	if !ok && r.Method == http.MethodPost {
		token, ok = bodyToken(r)
	}
	if !ok {
		// RFC 6750 §3.1: no error code when no credentials were sent.
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ctx, pr, err := p.VerifyAccessToken(ctx, token)
	if errors.Is(err, authz.ErrInvalidToken) || (err == nil && pr.ClientToken) {
		p.writeBearerError(w, "invalid_token")
		return
	} else if err != nil {
		p.writeError(ctx, w, err)
		return
	}
	claims, err := p.parseAccessToken(token) // verified above; served from the verifier's cache
	if err != nil {
		p.writeBearerError(w, "invalid_token")
		return
	}
	u, err := p.opts.Store.GetUser(ctx, p.opts.Realm, pr.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		p.writeBearerError(w, "invalid_token")
		return
	} else if err != nil {
		p.writeError(ctx, w, err)
		return
	}
	info := idClaims{Subject: u.ID}
	profileClaims(&info, u, strings.Fields(claims.Scope))
	writeJSON(w, userinfo{Sub: info.Subject, PreferredUsername: info.PreferredUsername, Name: info.Name,
		Locale: info.Locale, Email: info.Email, EmailVerified: info.EmailVerified})
}

// userinfo is the OIDC UserInfo response (OIDC Core 1.0 §5.3.2).
type userinfo struct {
	Sub               string `json:"sub"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Locale            string `json:"locale,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
}

// bearerToken extracts an RFC 6750 §2.1 bearer token from the
// Authorization header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// bodyToken reads an access token sent in a form body (RFC 6750 §2.2),
// which some relying parties use for userinfo.
func bodyToken(r *http.Request) (string, bool) {
	form, err := parseForm(r)
	if err != nil || len(form) != 1 {
		return "", false
	}
	token := form.Get("access_token")
	return token, token != ""
}

// writeBearerError answers an RFC 6750 §3 error.
func (p *Provider) writeBearerError(w http.ResponseWriter, code string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+code+`"`)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"error":"` + code + `","error_description":"The access token is invalid, expired or revoked."}` + "\n"))
}

package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// resourceIntrospectAny lets a client introspect every token of its realm;
// without it a client sees only the tokens issued to itself.
const resourceIntrospectAny = "tokens-introspect"

// introspection is the RFC 7662 §2.2 response.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`
	JTI       string `json:"jti,omitempty"`
	Locale    string `json:"locale,omitempty"`
	Context   string `json:"context,omitempty"`
}

var inactive = introspection{Active: false}

// handleIntrospect serves RFC 7662 token introspection. Inactive, expired,
// revoked, malformed and foreign tokens all answer {"active": false}; when
// token state cannot be read it answers 503 rather than guess.
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, err := postForm(w, r)
	if err != nil {
		p.writeError(ctx, w, err)
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeError(ctx, w, invalidRequest("The token parameter is missing."))
		return
	}
	var resp introspection
	if strings.HasPrefix(token, refreshTokenPrefix) {
		resp, err = p.introspectRefresh(ctx, r, form, token)
	} else {
		resp, err = p.introspectAccess(ctx, r, form, token)
	}
	if err != nil {
		p.writeError(ctx, w, err)
		return
	}
	writeJSON(w, resp)
}

// introspectAccess makes one token-state round trip: the revocation check
// brings the change stamp under which the caller is authenticated from
// cached storage. The caller is authenticated before anything about the
// token is answered. The token is judged by the same verifier as at the
// management API: a token whose user, client or client owner is no longer
// active is inactive, and scope is what the token may do now (see
// docs/operations.md, "Permissions now and in tokens").
func (p *Provider) introspectAccess(ctx context.Context, r *http.Request, form url.Values, token string) (introspection, error) {
	c, parseErr := p.parseAccessToken(token)
	revoked := true
	if parseErr == nil {
		var err error
		if ctx, revoked, err = p.revocationView(ctx, c); err != nil {
			return inactive, err
		}
	} else {
		var err error
		if ctx, err = p.opts.Views.Begin(ctx); err != nil {
			return inactive, err
		}
	}
	caller, err := p.authenticateCaller(ctx, r, form, false)
	if err != nil {
		return inactive, err
	}
	if parseErr != nil || revoked {
		return inactive, nil
	}
	if ok, err := p.mayInspect(ctx, caller, c.ClientID); err != nil || !ok {
		return inactive, err
	}
	pr, err := p.principal(ctx, c)
	if errors.Is(err, authz.ErrInvalidToken) {
		return inactive, nil
	} else if err != nil {
		return inactive, err
	}
	return introspection{
		Active: true, Scope: strings.Join(selectorAnd(pr.Context, pr.Held), " "), ClientID: c.ClientID, TokenType: "Bearer",
		Exp: c.Expiry, Iat: c.IssuedAt, Sub: c.Subject, Aud: strings.Join(c.Audience, " "),
		Iss: c.Issuer, JTI: c.JTI, Locale: c.Locale, Context: pr.Context,
	}, nil
}

func (p *Provider) introspectRefresh(ctx context.Context, r *http.Request, form url.Values, token string) (introspection, error) {
	ctx, err := p.opts.Views.Begin(ctx)
	if err != nil {
		return inactive, err
	}
	caller, err := p.authenticateCaller(ctx, r, form, false)
	if err != nil {
		return inactive, err
	}
	rt, ok := parseRefreshToken(token)
	if !ok {
		return inactive, nil
	}
	rec, err := p.opts.State.GetRefreshToken(ctx, rt.id(), rt.secretDigest())
	if errors.Is(err, storage.ErrNotFound) {
		return inactive, nil
	} else if err != nil {
		return inactive, err
	}
	if ok, err := p.mayInspect(ctx, caller, rec.ClientID); err != nil || !ok {
		return inactive, err
	}
	// A grant whose client, client owner or user is no longer active
	// cannot be refreshed: it is not active either. Its scope is what the
	// next refresh could carry now.
	var allowed []string
	contextID := scopeContext(rec.Scopes)
	cl, err := p.activeClient(ctx, rec.ClientID)
	if err == nil && cl.ContextID != "" && cl.ContextID != contextID {
		err = authz.ErrInvalidToken // bound to another context since
	}
	if err == nil {
		allowed, err = p.userAllowed(ctx, cl, rec.UserID, contextID)
	}
	if errors.Is(err, authz.ErrInvalidToken) || errors.Is(err, errOwnerInactive) || errors.Is(err, errUserInactive) ||
		(contextID != "" && errors.Is(err, storage.ErrNotFound)) {
		return inactive, nil
	} else if err != nil {
		return inactive, err
	}
	return introspection{
		Active: true, Scope: strings.Join(selectorAnd(contextID, authz.Intersect(rec.Scopes, allowed)), " "), ClientID: rec.ClientID,
		TokenType: "refresh_token", Exp: rec.ExpiresAt.Unix(), Iat: rec.IssuedAt.Unix(),
		Sub: rec.UserID, Iss: p.opts.Issuer, Context: contextID,
	}, nil
}

// mayInspect reports whether caller may see a token issued to owner: its
// own tokens always, others' only while it holds tokens-introspect (within
// its owner's current resources).
func (p *Provider) mayInspect(ctx context.Context, caller storage.Client, owner string) (bool, error) {
	if caller.ClientID == owner {
		return true, nil
	}
	// tokens-introspect is a realm-wide power: a client bound to a
	// context, which holds only what its owner holds there, inspects its
	// own tokens only.
	if caller.ContextID != "" {
		return false, nil
	}
	ceiling, err := p.clientCeiling(ctx, caller, "")
	if errors.Is(err, errOwnerInactive) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return contains(ceiling, resourceIntrospectAny), nil
}

// postForm parses the POST form of the introspection and revocation
// endpoints.
func postForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &oauthError{Code: "invalid_request", Status: http.StatusMethodNotAllowed,
			Description: "This endpoint accepts POST only."}
	}
	return parseForm(r)
}

// authenticateCaller authenticates the client calling the introspection
// or revocation endpoint; ctx must carry the request's storage view.
// Public clients are let in only where allowPublic says so.
func (p *Provider) authenticateCaller(ctx context.Context, r *http.Request, form url.Values, allowPublic bool) (storage.Client, error) {
	res, err := p.auth.Authenticate(ctx, r, form)
	if err != nil {
		return storage.Client{}, err
	}
	p.touched.touch(res.Client.ClientID, res.SecretID)
	if res.Method == storage.AuthMethodNone && !allowPublic {
		return storage.Client{}, errInvalidClient.withCause(errors.New("public client at introspection or revocation"))
	}
	return res.Client, nil
}

// selectorAnd returns a context token's scope as introspection shows it:
// the selector, then what the token may do now.
func selectorAnd(contextID string, held []string) []string {
	if contextID == "" {
		return held
	}
	out := append([]string{contextScopePrefix + contextID}, held...)
	slices.Sort(out)
	return out
}

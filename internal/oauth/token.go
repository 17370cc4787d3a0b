package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/ory/fosite"

	"github.com/gatehouse/gatehouse/storage"
)

// handleToken serves the token endpoint (RFC 6749 §3.2). It rejects what
// fosite would let through (duplicated parameters, parameters in the query
// string, unknown grant types reported as invalid_request, plain-text
// passwords) before handing the request to fosite.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		p.refuseToken(ctx, w, "", &oauthError{Code: "invalid_request", Status: http.StatusMethodNotAllowed,
			Description: "The token endpoint accepts POST only."})
		return
	}
	form, err := parseForm(r)
	if err != nil {
		p.refuseToken(ctx, w, "", err)
		return
	}
	grant := form.Get("grant_type")
	switch grant {
	case grantClientCredentials, grantPassword, grantRefreshToken, grantAuthorizationCode:
	case "":
		p.refuseToken(ctx, w, grant, invalidRequest("The grant_type parameter is missing."))
		return
	default:
		p.refuseToken(ctx, w, grant, errUnsupportedGrant)
		return
	}

	began := p.now()
	ctx, err = p.opts.Views.Begin(ctx)
	if err != nil {
		p.refuseToken(ctx, w, grant, err)
		return
	}
	ar, err := p.oauth2.NewAccessRequest(ctx, r, &session{issuedAt: began, source: storage.ThrottleSource(r.RemoteAddr)})
	if err != nil {
		p.refuseToken(ctx, w, grant, err)
		return
	}
	resp, err := p.oauth2.NewAccessResponse(ctx, ar)
	if err != nil {
		p.refuseToken(ctx, w, grant, err)
		return
	}
	p.opts.Metrics.TokenRequest(grant, OutcomeIssued)
	writeAccessResponse(w, resp)
}

// Header values of every token response, shared and never modified.
var (
	noStoreHeader  = []string{"no-store"}
	noCacheHeader  = []string{"no-cache"}
	jsonTypeHeader = []string{"application/json;charset=UTF-8"}
)

// writeAccessResponse writes what fosite's WriteAccessResponse writes
// (RFC 6749 §5.1: the same headers, the same JSON), without marshalling
// the response map by reflection (see jsonenc.go).
func writeAccessResponse(w http.ResponseWriter, resp fosite.AccessResponder) {
	m := resp.ToMap()
	body, ok := appendTokenResponse(make([]byte, 0, 1024), m)
	if !ok {
		var err error
		if body, err = json.Marshal(m); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	h := w.Header()
	h["Cache-Control"] = noStoreHeader
	h["Pragma"] = noCacheHeader
	h["Content-Type"] = jsonTypeHeader
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// refuseToken answers a token request with err and counts the refusal by
// its RFC 6749 §5.2 error code.
func (p *Provider) refuseToken(ctx context.Context, w http.ResponseWriter, grant string, err error) {
	oe := p.writeError(ctx, w, err)
	p.opts.Metrics.TokenRequest(grant, oe.Code)
}

// authenticateClient is fosite's ClientAuthenticationStrategy.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	res, err := p.auth.Authenticate(ctx, r, form)
	if err != nil {
		return nil, err
	}
	p.touched.touch(res.Client.ClientID, res.SecretID)
	return &client{c: res.Client, method: res.Method}, nil
}

const formURLEncoded = "application/x-www-form-urlencoded"

// parseForm parses an application/x-www-form-urlencoded POST body and
// rejects what RFC 6749 forbids: parameters in the query string (§3.2)
// and parameters sent more than once (§3.1, §3.2).
func parseForm(r *http.Request) (url.Values, error) {
	if r.URL.RawQuery != "" {
		return nil, invalidRequest("Parameters must be sent in the request body, not in the URL.")
	}
	// The exact type, what clients nearly always send, needs no parsing.
	if ct := r.Header.Get("Content-Type"); ct != formURLEncoded {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != formURLEncoded {
			return nil, invalidRequest("The request body must be application/x-www-form-urlencoded.")
		}
	}
	if err := r.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, &oauthError{Code: "invalid_request", Status: http.StatusRequestEntityTooLarge,
				Description: "The request body is too large."}
		}
		return nil, invalidRequest("The request body is not a valid form.")
	}
	for name, values := range r.PostForm {
		if len(values) > 1 {
			return nil, invalidRequest("The parameter " + strconvQuote(name) + " is repeated.")
		}
	}
	return r.PostForm, nil
}

package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// discoveryTTL is how long a rendered discovery document is served before
// it is rebuilt. scopes_supported follows the realm's resources, which
// change rarely; a short cache keeps the document off the database.
const discoveryTTL = 30 * time.Second

// assertionAlgs are the asymmetric algorithms accepted in private_key_jwt
// client assertions (internal/clientauth).
var assertionAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

var clientAuthMethods = []string{
	storage.AuthMethodSecretBasic, storage.AuthMethodSecretPost, storage.AuthMethodPrivateKeyJWT,
}

// metadata is the OIDC Discovery / RFC 8414 document.
type metadata struct {
	Issuer                string `json:"issuer"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	PreloginEndpoint      string `json:"prelogin_endpoint"`
	// PasswordIterations is the client-side PBKDF2 count a password must
	// be set with (prelogin's made-up answers show it anyway).
	PasswordIterations       int      `json:"password_iterations"`
	GrantTypesSupported      []string `json:"grant_types_supported"`
	ResponseTypesSupported   []string `json:"response_types_supported"`
	SubjectTypesSupported    []string `json:"subject_types_supported"`
	ScopesSupported          []string `json:"scopes_supported"`
	ClaimsSupported          []string `json:"claims_supported"`
	IDTokenSigningAlgs       []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	TokenAuthSigningAlgs     []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	IntrospectionAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionAuthSigning []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	RevocationAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationAuthSigning    []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	AccessTokenSigningAlgs   []string `json:"access_token_signing_alg_values_supported"`
}

// discoveryDoc caches the rendered discovery document.
type discoveryDoc struct {
	p       *Provider
	mu      sync.Mutex
	body    []byte
	expires time.Time
}

func newDiscoveryDoc(p *Provider) *discoveryDoc { return &discoveryDoc{p: p} }

func (d *discoveryDoc) get(ctx context.Context) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.p.now()
	if d.body != nil && now.Before(d.expires) {
		return d.body, nil
	}
	body, err := d.render(ctx)
	if err != nil {
		return nil, err
	}
	d.body, d.expires = body, now.Add(discoveryTTL)
	return body, nil
}

func (d *discoveryDoc) render(ctx context.Context) ([]byte, error) {
	p := d.p
	scopes, err := storage.ResourceNames(ctx, p.opts.Store, p.opts.Realm)
	if err != nil {
		return nil, err
	}
	iss := p.opts.Issuer
	tokenAuth := clientAuthMethods
	if p.opts.AllowPublicPasswordGrant {
		tokenAuth = append(append([]string{}, clientAuthMethods...), storage.AuthMethodNone)
	}
	algs := p.opts.Keys.Algorithms()
	return json.Marshal(metadata{
		Issuer:                   iss,
		TokenEndpoint:            iss + PathToken,
		JWKSURI:                  iss + PathJWKS,
		IntrospectionEndpoint:    iss + PathIntrospect,
		RevocationEndpoint:       iss + PathRevoke,
		UserinfoEndpoint:         iss + PathUserinfo,
		PreloginEndpoint:         iss + PathPrelogin,
		PasswordIterations:       p.opts.PasswordIterations,
		GrantTypesSupported:      []string{grantClientCredentials, grantPassword, grantRefreshToken},
		ResponseTypesSupported:   []string{},
		SubjectTypesSupported:    []string{"public"},
		ScopesSupported:          scopes,
		ClaimsSupported:          []string{"sub", "iss", "aud", "exp", "iat", "jti", "client_id", "scope", "locale", "preferred_username", "name", "email"},
		IDTokenSigningAlgs:       algs,
		AccessTokenSigningAlgs:   algs,
		TokenAuthMethods:         tokenAuth,
		TokenAuthSigningAlgs:     assertionAlgs,
		IntrospectionAuthMethods: clientAuthMethods,
		IntrospectionAuthSigning: assertionAlgs,
		RevocationAuthMethods:    tokenAuth,
		RevocationAuthSigning:    assertionAlgs,
	})
}

func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	body, err := p.discovery.get(r.Context())
	if err != nil {
		p.writeError(r.Context(), w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=30")
	_, _ = w.Write(body)
}

package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
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
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	PreloginEndpoint      string `json:"prelogin_endpoint"`
	// PasswordIterations is the client-side PBKDF2 count a password must
	// be set with (prelogin's made-up answers show it anyway).
	PasswordIterations     int      `json:"password_iterations"`
	GrantTypesSupported    []string `json:"grant_types_supported"`
	ResponseTypesSupported []string `json:"response_types_supported"`
	ResponseModesSupported []string `json:"response_modes_supported"`
	CodeChallengeMethods   []string `json:"code_challenge_methods_supported"`
	PromptValuesSupported  []string `json:"prompt_values_supported"`
	// RFC 9207: authorization responses carry iss.
	AuthorizationResponseIss bool     `json:"authorization_response_iss_parameter_supported"`
	RequestParameter         bool     `json:"request_parameter_supported"`
	RequestURIParameter      bool     `json:"request_uri_parameter_supported"`
	ClaimsParameter          bool     `json:"claims_parameter_supported"`
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
	// Public clients authenticate with none at the token endpoint (the
	// code flow, refresh) and at revocation, never at introspection.
	tokenAuth := append(append([]string{}, clientAuthMethods...), storage.AuthMethodNone)
	algs := p.opts.Keys.Algorithms()
	return json.Marshal(metadata{
		Issuer:                   iss,
		AuthorizationEndpoint:    iss + PathAuthorize,
		TokenEndpoint:            iss + PathToken,
		EndSessionEndpoint:       iss + PathLogout,
		JWKSURI:                  iss + PathJWKS,
		IntrospectionEndpoint:    iss + PathIntrospect,
		RevocationEndpoint:       iss + PathRevoke,
		UserinfoEndpoint:         iss + PathUserinfo,
		PreloginEndpoint:         iss + PathPrelogin,
		PasswordIterations:       p.opts.PasswordIterations,
		GrantTypesSupported:      []string{grantAuthorizationCode, grantClientCredentials, grantPassword, grantRefreshToken},
		ResponseTypesSupported:   []string{"code"},
		ResponseModesSupported:   []string{"query"},
		CodeChallengeMethods:     []string{"S256"},
		PromptValuesSupported:    []string{"none", "login", "consent", "select_account"},
		AuthorizationResponseIss: true,
		SubjectTypesSupported:    []string{"public"},
		// context:* stands for the selector context:<id> (docs/contexts.md).
		ScopesSupported: append(append(slices.Clone(oidcScopes), scopes...), contextScopePrefix+"*"),
		ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "at_hash",
			"jti", "client_id", "scope", "preferred_username", "name", "locale", "email", "email_verified", "context"},
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

package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// Bounds of per-client token lifetimes, in seconds.
const (
	minTTL        = 60
	maxAccessTTL  = int(storage.MaxAccessTokenTTL / time.Second)
	maxRefreshTTL = 365 * 24 * 60 * 60 // within storage.MaxRefreshTokenTTL
	maxJWKSBytes  = 16 << 10
	maxJWKSKeys   = 10
)

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+~-]{0,127}$`)
	grantTypes      = []string{"authorization_code", "client_credentials", "password", "refresh_token"}
	authMethods     = []string{storage.AuthMethodSecretBasic, storage.AuthMethodSecretPost, storage.AuthMethodPrivateKeyJWT, storage.AuthMethodNone}
)

// clientInput is the body of client create and update.
type clientInput struct {
	ClientID                *string          `json:"client_id"`
	Name                    *string          `json:"name"`
	Owner                   *string          `json:"owner"`
	Scopes                  *[]string        `json:"scopes"`
	GrantTypes              *[]string        `json:"grant_types"`
	TokenEndpointAuthMethod *string          `json:"token_endpoint_auth_method"`
	SecretVerifier          *string          `json:"secret_verifier"`
	JWKS                    *json.RawMessage `json:"jwks"`
	AccessTokenTTL          *int             `json:"access_token_ttl"`
	RefreshTokenTTL         *int             `json:"refresh_token_ttl"`
	RedirectURIs            *[]string        `json:"redirect_uris"`
	PostLogoutRedirectURIs  *[]string        `json:"post_logout_redirect_uris"`
	RequirePKCE             *bool            `json:"require_pkce"`
	SkipConsent             *bool            `json:"skip_consent"`
	// ContextID binds the client to a context ("" unbinds it).
	ContextID *string `json:"context_id"`
	Status    *string `json:"status"`
}

// clientChange is validated client input.
type clientChange struct {
	in       clientInput
	verifier []byte
}

// prepareClientChange validates in. Checks that need the resulting client
// as a whole (method and credentials fit together) run in checkClient.
func (a *API) prepareClientChange(ctx context.Context, p authz.Principal, in clientInput, create bool) (clientChange, error) {
	c := clientChange{in: in}
	if create && (in.Name == nil) {
		return c, invalidField("name", "The field name is required.")
	}
	if in.ClientID != nil && !clientIDPattern.MatchString(*in.ClientID) {
		return c, invalidField("client_id", "A client_id is 1 to 128 letters, digits or . _ : / @ + ~ -, starting with a letter or digit.")
	}
	if in.Name != nil {
		if err := validateText("name", *in.Name, true); err != nil {
			return c, err
		}
	}
	if in.Scopes != nil {
		if err := validateResourceNames("scopes", *in.Scopes); err != nil {
			return c, err
		}
		if err := a.resourcesExist(ctx, "scopes", *in.Scopes); err != nil {
			return c, err
		}
	}
	if in.GrantTypes != nil {
		if len(*in.GrantTypes) == 0 {
			return c, invalidField("grant_types", "At least one grant type is required.")
		}
		for _, g := range *in.GrantTypes {
			if !slices.Contains(grantTypes, g) {
				return c, invalidField("grant_types", "Grant types are authorization_code, client_credentials, password and refresh_token.")
			}
		}
	}
	if in.TokenEndpointAuthMethod != nil && !slices.Contains(authMethods, *in.TokenEndpointAuthMethod) {
		return c, invalidField("token_endpoint_auth_method", "The method is client_secret_basic, client_secret_post, private_key_jwt or none.")
	}
	if in.SecretVerifier != nil {
		v, err := clienthash.Decode(*in.SecretVerifier)
		if err != nil || len(v) != 32 {
			return c, invalidField("secret_verifier", "The verifier is b64u(SHA-256(W)), 43 characters; see docs/client-side-hashing.md.")
		}
		c.verifier = v
	}
	if in.JWKS != nil && string(*in.JWKS) != "null" {
		if err := validateJWKS(*in.JWKS); err != nil {
			return c, err
		}
	}
	if err := validateTTL("access_token_ttl", in.AccessTokenTTL, maxAccessTTL); err != nil {
		return c, err
	}
	if err := validateTTL("refresh_token_ttl", in.RefreshTokenTTL, maxRefreshTTL); err != nil {
		return c, err
	}
	if in.RedirectURIs != nil {
		if err := validateRedirectURIs("redirect_uris", *in.RedirectURIs); err != nil {
			return c, err
		}
	}
	if in.PostLogoutRedirectURIs != nil {
		if err := validateRedirectURIs("post_logout_redirect_uris", *in.PostLogoutRedirectURIs); err != nil {
			return c, err
		}
	}
	if in.ContextID != nil && *in.ContextID != "" && !storage.ContextIDPattern.MatchString(*in.ContextID) {
		return c, invalidField("context_id", "A context id is 1 to 64 lowercase letters, digits, '.', '_' or '-'.")
	}
	if in.Status != nil && !storage.Status(*in.Status).Valid() {
		return c, invalidField("status", "status is active or disabled.")
	}
	return c, nil
}

func (c clientChange) apply(cl *storage.Client) {
	in := c.in
	if in.Name != nil {
		cl.Name = *in.Name
	}
	if in.Scopes != nil {
		cl.Scopes = slices.Clone(*in.Scopes)
	}
	if in.GrantTypes != nil {
		cl.GrantTypes = slices.Clone(*in.GrantTypes)
	}
	if in.TokenEndpointAuthMethod != nil {
		cl.TokenEndpointAuthMethod = *in.TokenEndpointAuthMethod
	}
	if in.JWKS != nil {
		cl.JWKS = nil
		if string(*in.JWKS) != "null" {
			cl.JWKS = slices.Clone([]byte(*in.JWKS))
		}
	}
	if in.AccessTokenTTL != nil {
		cl.AccessTokenTTL = time.Duration(*in.AccessTokenTTL) * time.Second
	}
	if in.RefreshTokenTTL != nil {
		cl.RefreshTokenTTL = time.Duration(*in.RefreshTokenTTL) * time.Second
	}
	if in.RedirectURIs != nil {
		cl.RedirectURIs = sortedURIs(*in.RedirectURIs)
	}
	if in.PostLogoutRedirectURIs != nil {
		cl.PostLogoutRedirectURIs = sortedURIs(*in.PostLogoutRedirectURIs)
	}
	if in.RequirePKCE != nil {
		cl.PKCEOptional = !*in.RequirePKCE
	}
	if in.SkipConsent != nil {
		cl.SkipConsent = *in.SkipConsent
	}
	if in.ContextID != nil {
		cl.ContextID = *in.ContextID
	}
	if in.Status != nil {
		cl.Status = storage.Status(*in.Status)
	}
}

// sortedURIs returns uris sorted, never nil, as the store keeps them
// (storage.Client), so that before and after of a change compare.
func sortedURIs(uris []string) []string {
	out := append([]string{}, uris...)
	slices.Sort(out)
	return out
}

// checkClient validates the client as a whole after a change, and the
// delegation ceiling for scopes it gains.
func checkClient(p authz.Principal, before, after storage.Client) error {
	for _, s := range after.Scopes {
		if !slices.Contains(before.Scopes, s) && !p.Has(s) {
			return delegationCeiling(s)
		}
	}
	switch after.TokenEndpointAuthMethod {
	case storage.AuthMethodPrivateKeyJWT:
		if len(after.JWKS) == 0 {
			return semantic("invalid-client", "jwks", "private_key_jwt needs the client's public keys in jwks.")
		}
	case storage.AuthMethodNone:
		if slices.Contains(after.GrantTypes, "client_credentials") {
			return semantic("invalid-client", "grant_types", "A public client (method none) cannot use client_credentials.")
		}
		// A public client cannot keep a secret, so only PKCE binds its
		// code to it (RFC 7636 §1, RFC 9700 §2.1.1).
		if after.PKCEOptional {
			return semantic("invalid-client", "require_pkce", "A public client (method none) always needs PKCE: require_pkce cannot be false.")
		}
	}
	// Without a registered redirect URI the authorization endpoint has
	// nowhere to send a code (RFC 6749 §3.1.2.2).
	if slices.Contains(after.GrantTypes, "authorization_code") && len(after.RedirectURIs) == 0 {
		return semantic("invalid-client", "redirect_uris", "authorization_code needs at least one redirect URI in redirect_uris.")
	}
	return nil
}

func validateTTL(field string, v *int, max int) error {
	if v != nil && *v != 0 && (*v < minTTL || *v > max) {
		return invalidField(field, field+" is 0 (the default) or from 60 to "+itoa(max)+" seconds.")
	}
	return nil
}

// validateJWKS accepts a JSON Web Key Set of public, asymmetric signing
// keys only: a private or symmetric key here would be a secret on the wire.
func validateJWKS(raw []byte) error {
	if len(raw) > maxJWKSBytes {
		return invalidField("jwks", "The key set is too large.")
	}
	if !storableJSON(raw) {
		return invalidField("jwks", "jwks must be JSON text without NUL characters, unpaired surrogates or invalid UTF-8.")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) == 0 || len(set.Keys) > maxJWKSKeys {
		return invalidField("jwks", "jwks must be a JSON Web Key Set with 1 to 10 keys.")
	}
	for _, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			return invalidField("jwks", "Every key must be a valid public signing key (RSA, EC or OKP); never a private or symmetric key.")
		}
	}
	return nil
}

// newClientID generates a client_id for callers that do not choose one.
func newClientID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "c-" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

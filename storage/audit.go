package storage

import (
	"slices"
	"strings"
)

// Audit actions that the mutating methods of Store record. Every backend
// writes these names, so that readers of the log (and the management API's
// filters) see one vocabulary whatever the backend.
const (
	ActionLanguageCreate = "language.create"
	ActionLanguageUpdate = "language.update"
	ActionLanguageDelete = "language.delete"

	ActionUserCreate = "user.create"
	ActionUserUpdate = "user.update"
	ActionUserDelete = "user.delete"

	ActionResourceCreate = "resource.create"
	ActionResourceUpdate = "resource.update"
	ActionResourceDelete = "resource.delete"

	ActionGroupCreate         = "group.create"
	ActionGroupUpdate         = "group.update"
	ActionGroupDelete         = "group.delete"
	ActionGroupMemberAdd      = "group.member.add"
	ActionGroupMemberRemove   = "group.member.remove"
	ActionGroupResourceGrant  = "group.resource.grant"
	ActionGroupResourceRevoke = "group.resource.revoke"

	ActionClientCreate           = "client.create"
	ActionClientUpdate           = "client.update"
	ActionClientDelete           = "client.delete"
	ActionClientSecretAdd        = "client.secret.add"
	ActionClientSecretDeactivate = "client.secret.deactivate"

	ActionConsentGrant  = "consent.grant"
	ActionConsentRevoke = "consent.revoke"

	// ActionSessionEnd records a user signing one of their browser
	// sessions out from the account page (AuditStore.AppendAudit): the
	// session itself lives in token state.
	ActionSessionEnd = "session.end"

	ActionContextCreate = "context.create"
	ActionContextUpdate = "context.update"
	ActionContextDelete = "context.delete"

	ActionKeyCreate = "key.create"
	ActionKeyState  = "key.state"
	ActionKeyDelete = "key.delete"
	ActionKeyReseal = "key.reseal"

	// ActionAccessDenied records a management request refused for want
	// of power (AuditStore.AppendAudit); it changes nothing.
	ActionAccessDenied = "access.denied"
)

// Target types of audit entries.
const (
	TargetLanguage   = "language"
	TargetUser       = "user"
	TargetResource   = "resource"
	TargetGroup      = "group"
	TargetClient     = "client"
	TargetContext    = "context"
	TargetSigningKey = "signing_key"
	TargetRealm      = "realm"
)

// ChangeDetails returns the details of an update's audit entry:
// {"changed": "name,status"}, or nil when no field changed. It names
// fields only, never their values, which may be secrets.
func ChangeDetails(fields []string) map[string]string {
	if len(fields) == 0 {
		return nil
	}
	return map[string]string{"changed": strings.Join(fields, ",")}
}

// changes collects the names of differing fields in declaration order.
type changes []string

func (c *changes) add(name string, differs bool) {
	if differs {
		*c = append(*c, name)
	}
}

// UserChanges names the fields of a user that differ between a and b. A
// password counts as changed when it is set or removed or its hash
// differs.
func UserChanges(a, b User) []string {
	var c changes
	c.add("username", a.Username != b.Username)
	c.add("email", a.Email != b.Email)
	c.add("email_verified", a.EmailVerified != b.EmailVerified)
	c.add("display_name", a.DisplayName != b.DisplayName)
	c.add("language", a.Language != b.Language)
	c.add("status", a.Status != b.Status)
	c.add("password", (a.Password == nil) != (b.Password == nil) || (a.Password != nil && a.Password.Hash != b.Password.Hash))
	return c
}

// GroupChanges names the fields of a group that UpdateGroup may change and
// that differ between a and b. Resources compare as sorted lists.
func GroupChanges(a, b Group) []string {
	var c changes
	c.add("name", a.Name != b.Name)
	c.add("description", a.Description != b.Description)
	c.add("resources", !slices.Equal(a.Resources, b.Resources))
	c.add("includes", !slices.Equal(a.Includes, b.Includes))
	c.add("managed_by", a.ManagedBy != b.ManagedBy)
	return c
}

// ClientChanges names the fields of a client that UpdateClient may change
// and that differ between a and b, by their management API names. Scopes
// and redirect URIs compare as sorted lists.
func ClientChanges(a, b Client) []string {
	var c changes
	c.add("name", a.Name != b.Name)
	c.add("scopes", !slices.Equal(a.Scopes, b.Scopes))
	c.add("all_scopes", a.AllScopes != b.AllScopes)
	c.add("grant_types", !slices.Equal(a.GrantTypes, b.GrantTypes))
	c.add("token_endpoint_auth_method", a.TokenEndpointAuthMethod != b.TokenEndpointAuthMethod)
	c.add("jwks", string(a.JWKS) != string(b.JWKS))
	c.add("access_token_ttl", a.AccessTokenTTL != b.AccessTokenTTL)
	c.add("refresh_token_ttl", a.RefreshTokenTTL != b.RefreshTokenTTL)
	c.add("redirect_uris", !slices.Equal(a.RedirectURIs, b.RedirectURIs))
	c.add("post_logout_redirect_uris", !slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs))
	c.add("require_pkce", a.PKCEOptional != b.PKCEOptional)
	c.add("skip_consent", a.SkipConsent != b.SkipConsent)
	c.add("context", a.ContextID != b.ContextID)
	c.add("status", a.Status != b.Status)
	return c
}

// ContextChanges names the fields of a context that UpdateContext may
// change and that differ between a and b.
func ContextChanges(a, b Context) []string {
	var c changes
	c.add("name", a.Name != b.Name)
	c.add("kind", a.Kind != b.Kind)
	c.add("parent", a.ParentID != b.ParentID)
	return c
}

package storage

import "time"

// DefaultRealm is the realm that migrations create. Every table carries a
// realm id so that tenancy can come later without a schema rewrite.
const DefaultRealm = "default"

// Status is the lifecycle state of a user or client. Disabled entities keep
// their data but get no tokens.
type Status string

// Statuses of users and clients.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == StatusActive || s == StatusDisabled }

// Realm is a tenant. Only DefaultRealm exists for now.
type Realm struct {
	ID              string
	Name            string
	DefaultLanguage string
	CreatedAt       time.Time
}

// Language is a user language, addressed by its BCP 47 code.
type Language struct {
	Code      string // e.g. "en", "de-AT"; unique per realm, case-insensitively
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PasswordVerifier is what the server keeps of a user's password: the
// parameters of the client-side KDF (handed back by prelogin) and the
// server-side hash of the client-side result P. P itself is never stored.
type PasswordVerifier struct {
	KDF        string // client-side KDF, "pbkdf2-sha256"
	Iterations int
	Salt       []byte // client-side salt
	Hash       string // server-side hash of P in PHC string format (argon2id)
}

// User is a person or account. Not every user may sign in to the admin
// console; that is decided by the admin-login resource, not here.
type User struct {
	ID       string // UUID
	Username string // as typed; unique per realm by CanonicalUsername
	Email    string // optional
	// EmailVerified: the person proved they read mail at Email (an
	// activation or invitation link reached them there).
	EmailVerified bool
	DisplayName   string
	Language      string // a Language code of the realm
	Status        Status
	Password      *PasswordVerifier // nil: the user cannot log in with a password
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Resource is a named admin permission, such as "users-read". Its name uses
// OAuth scope characters only, because it travels as a token scope.
type Resource struct {
	Name        string // unique per realm
	Description string
	BuiltIn     bool // created by migrations; cannot be deleted or renamed
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Group grants its members a set of resources. Grants add up; there is no
// deny.
type Group struct {
	ID          string // UUID
	Name        string // unique per realm, case-insensitively
	Description string
	// AllResources grants every resource of the realm, present and future.
	// Only the built-in administrators group has it; it is the one wildcard
	// in the model.
	AllResources bool
	BuiltIn      bool
	Resources    []string // explicitly granted resource names, sorted
	// Includes are the ids of the groups whose resources this group's
	// members hold as well, sorted (owner includes maintainer includes
	// user). Inclusion has no cycles and chains at most
	// MaxInclusionDepth groups below any group.
	Includes []string
	// ManagedBy names the resource that lets its holder add and remove
	// members of this group, in the contexts where they hold it, without
	// groups-write: "owners appoint maintainers" (docs/contexts.md).
	// Empty when only groups-write manages the group.
	ManagedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AdministratorsGroup is the name of the built-in group that migrations
// create in every realm.
const AdministratorsGroup = "administrators"

// EffectiveResource is one resource a user holds, with the ids of the groups
// it comes from.
type EffectiveResource struct {
	Name string
	// Groups are the ids of the groups the user is a member of that grant
	// the resource, directly or through inclusion, sorted.
	Groups []string
	// Paths are every way the user holds the resource, sorted by
	// context, then chain.
	Paths []GrantPath
}

// GrantPath is one way a user holds a resource: a membership, in Context
// ("" for realm-wide), of Chain[0], which includes Chain[1], and so on to
// the last group, which grants the resource.
type GrantPath struct {
	Context string
	Chain   []string // group ids
}

// Token endpoint authentication methods (RFC 7591 names).
const (
	AuthMethodSecretBasic   = "client_secret_basic"
	AuthMethodSecretPost    = "client_secret_post"
	AuthMethodPrivateKeyJWT = "private_key_jwt"
	AuthMethodNone          = "none"
)

// Client is an API client. It is always owned by a user and never able to
// do more than its owner: the scopes of its tokens are cut down to what the
// owner currently holds.
type Client struct {
	ClientID string // unique per realm; chosen by the caller or generated
	OwnerID  string // user id
	Name     string
	// Scopes are the admin resources the client may request.
	Scopes []string
	// AllScopes allows every resource of the realm, present and future
	// (the bootstrap admin client). The owner ceiling still applies.
	AllScopes               bool
	GrantTypes              []string
	TokenEndpointAuthMethod string
	// JWKS is the client's public JSON Web Key Set for private_key_jwt,
	// stored as given (JSON), nil when absent.
	JWKS []byte
	// AccessTokenTTL and RefreshTokenTTL override the global lifetimes when
	// non-zero.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// RedirectURIs are where the authorization code flow may send the
	// browser back to (RFC 6749 §3.1.2), absolute URIs compared exactly
	// as strings (a loopback IP redirect may differ in its port only,
	// RFC 8252 §7.3). PostLogoutRedirectURIs likewise for RP-initiated
	// logout. Both sorted, never nil.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// PKCEOptional lets a confidential client of a legacy relying party
	// use the authorization code flow without PKCE (RFC 7636). The zero
	// value requires PKCE, so that a client created without saying
	// anything is the safe kind; public clients always need it.
	PKCEOptional bool
	// SkipConsent marks a first-party client: its users are not asked to
	// consent. The zero value is a third-party client.
	SkipConsent bool
	// ContextID binds the client to a context: its tokens are always for
	// that context, and its owner's resources are counted there. Empty
	// for a realm-wide client.
	ContextID string
	Status    Status
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Consent records what a user allowed a third-party client in the
// authorization code flow: the scopes it may receive without asking
// again. One record per user and client; a later consent to further
// scopes adds them.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string // sorted, without duplicates
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ClientSecret is one version of a client's secret. Only the verifier
// V = SHA-256(W) is stored; several versions may be active at once so that
// secrets rotate without downtime.
type ClientSecret struct {
	ID            string // UUID
	ClientID      string
	Verifier      []byte // 32 bytes
	CreatedAt     time.Time
	DeactivatedAt *time.Time // nil while active
	LastUsedAt    *time.Time
}

// Active reports whether the secret version is accepted.
func (s ClientSecret) Active() bool { return s.DeactivatedAt == nil }

// KeyState is the lifecycle of a signing key.
type KeyState string

// Signing key states. Exactly one key per realm signs (active); retired keys
// stay published in the JWKS until the tokens they signed have expired.
const (
	KeyStateNext    KeyState = "next"
	KeyStateActive  KeyState = "active"
	KeyStateRetired KeyState = "retired"
)

// SigningKey is a token-signing key. The private key is encrypted at rest by
// the caller; storage never sees it in the clear.
type SigningKey struct {
	KID                 string
	Algorithm           string // JWS alg: ES256, RS256, EdDSA
	PrivateKeyEncrypted []byte
	PublicJWK           []byte // public key as JWK JSON
	State               KeyState
	CreatedAt           time.Time
	ActivatedAt         *time.Time
	RetiredAt           *time.Time
}

// ActorType says who made a change.
type ActorType string

// Actor types recorded in the audit log.
const (
	ActorUser   ActorType = "user"
	ActorClient ActorType = "client"
	ActorSystem ActorType = "system"
)

// Actor is who makes a change. Every mutating Store method takes one and
// writes an audit entry in the same transaction as the change.
type Actor struct {
	Type ActorType
	ID   string // user id, client_id, or a system component name
}

// System is the actor for changes made by Gatehouse itself (migrations,
// bootstrap, key rotation).
func System(component string) Actor { return Actor{Type: ActorSystem, ID: component} }

// AuditEntry records one change. Details never contain secrets, hashes,
// salts or verifiers.
type AuditEntry struct {
	ID         string // UUID
	Time       time.Time
	Actor      Actor
	Action     string // e.g. "user.create", "group.member.add"
	TargetType string // e.g. "user"
	TargetID   string
	Details    map[string]string
}

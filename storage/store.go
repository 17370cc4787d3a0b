package storage

import (
	"context"
	"time"
)

// Store is the durable identity and permission store. Every method is scoped
// to a realm; ids of one realm are not found in another.
//
// Mutating methods take the Actor that makes the change and MUST write an
// audit entry in the same transaction as the change, so that a change and
// its audit row exist together or not at all.
//
// Update methods follow a read-modify-write pattern: the backend loads the
// entity, calls fn on a copy, validates references and writes it back
// atomically (concurrent updates of the same entity are serialised, none is
// lost). If fn returns an error, nothing is written and the error is
// returned as is. Fields that identify the entity (ids, names used as keys,
// timestamps) are not changed by fn.
type Store interface {
	LanguageStore
	UserStore
	ResourceStore
	GroupStore
	ContextStore
	ClientStore
	ConsentStore
	KeyStore
	AuditStore

	// GetRealm returns ErrNotFound if the realm does not exist.
	GetRealm(ctx context.Context, realm string) (Realm, error)
	// Ping returns an error wrapping ErrUnavailable if the backend cannot
	// be reached.
	Ping(ctx context.Context) error
	Close()
}

// LanguageStore manages user languages.
type LanguageStore interface {
	// CreateLanguage returns ErrAlreadyExists if the code is taken
	// (case-insensitively).
	CreateLanguage(ctx context.Context, actor Actor, realm string, l Language) (Language, error)
	GetLanguage(ctx context.Context, realm, code string) (Language, error)
	ListLanguages(ctx context.Context, realm string, opts ListOptions) (Page[Language], error)
	UpdateLanguage(ctx context.Context, actor Actor, realm, code string, fn func(*Language) error) (Language, error)
	// DeleteLanguage returns ErrInUse if a user speaks it or it is the
	// realm's default language.
	DeleteLanguage(ctx context.Context, actor Actor, realm, code string) error
}

// UserStore manages users and their group memberships.
//
// At least one active member of the administrators group (the built-in
// group with AllResources) remains: a change that would take the number of
// active administrators from one or more to zero (UpdateUser setting a
// status other than active, DeleteUser, GroupStore.RemoveGroupMember on
// that group) returns an error wrapping ErrLastAdministrator and changes
// nothing. The count is decided inside the changing transaction, so that
// two administrators taking each other away at once cannot both succeed.
// A realm with no active administrator (before bootstrap) refuses nothing.
type UserStore interface {
	// CreateUser creates u (ID generated when empty) as a member of groups.
	// Usernames are unique per realm by canonical form (CanonicalUsername):
	// two spellings with one canonical form are one account. u.Username is
	// stored as typed, for display. Returns an error wrapping
	// ErrInvalidUsername for a username without a canonical form,
	// ErrAlreadyExists for a taken username or id, and ErrMissingReference
	// for an unknown language or group.
	CreateUser(ctx context.Context, actor Actor, realm string, u User, groups []string) (User, error)
	GetUser(ctx context.Context, realm, id string) (User, error)
	// GetUserByUsername finds the user whose username has the canonical
	// form of username, whatever its spelling. A username without a
	// canonical form names nobody: ErrNotFound.
	GetUserByUsername(ctx context.Context, realm, username string) (User, error)
	// ListUsers lists users ordered by canonical username.
	ListUsers(ctx context.Context, realm string, f UserFilter, opts ListOptions) (Page[User], error)
	// UpdateUser may change every field but ID and timestamps, including
	// Username (ErrInvalidUsername and ErrAlreadyExists as for CreateUser)
	// and Password. Disabling the last active administrator returns
	// ErrLastAdministrator.
	UpdateUser(ctx context.Context, actor Actor, realm, id string, fn func(*User) error) (User, error)
	// DeleteUser deletes the user with their memberships and the clients
	// they own. Deleting the last active administrator returns
	// ErrLastAdministrator.
	DeleteUser(ctx context.Context, actor Actor, realm, id string) error

	// UserGroups lists the groups the user belongs to realm-wide, by name.
	UserGroups(ctx context.Context, realm, userID string) ([]Group, error)
	// UserResources returns the union of the resources of the user's
	// realm-wide groups and the groups they include, sorted by name, each
	// with the groups and paths it comes from (see Effective). A group
	// with AllResources contributes every resource of the realm.
	UserResources(ctx context.Context, realm, userID string) ([]EffectiveResource, error)
}

// ResourceStore manages admin resources.
type ResourceStore interface {
	CreateResource(ctx context.Context, actor Actor, realm string, r Resource) (Resource, error)
	GetResource(ctx context.Context, realm, name string) (Resource, error)
	ListResources(ctx context.Context, realm string, opts ListOptions) (Page[Resource], error)
	// UpdateResource may change the description only.
	UpdateResource(ctx context.Context, actor Actor, realm, name string, fn func(*Resource) error) (Resource, error)
	// DeleteResource removes the resource from every group and client (a
	// group managed by it is then managed by groups-write only).
	// Returns ErrInUse for a built-in resource.
	DeleteResource(ctx context.Context, actor Actor, realm, name string) error
}

// GroupStore manages groups, their members and their resource grants.
type GroupStore interface {
	// CreateGroup returns ErrAlreadyExists for a taken name,
	// ErrMissingReference for an unknown resource in g.Resources or
	// g.ManagedBy or an unknown group in g.Includes, and ErrHierarchy when
	// inclusion would chain deeper than MaxInclusionDepth.
	CreateGroup(ctx context.Context, actor Actor, realm string, g Group) (Group, error)
	GetGroup(ctx context.Context, realm, id string) (Group, error)
	GetGroupByName(ctx context.Context, realm, name string) (Group, error)
	ListGroups(ctx context.Context, realm string, opts ListOptions) (Page[Group], error)
	// UpdateGroup may change Name, Description, Resources (replacing the
	// grants), Includes and ManagedBy (errors as for CreateGroup, and
	// ErrHierarchy for a cycle). AllResources and BuiltIn cannot be
	// changed.
	UpdateGroup(ctx context.Context, actor Actor, realm, id string, fn func(*Group) error) (Group, error)
	// DeleteGroup removes the group with its memberships and grants.
	// Returns ErrInUse for a built-in group.
	DeleteGroup(ctx context.Context, actor Actor, realm, id string) error

	// AddGroupMember and RemoveGroupMember are idempotent. They return
	// ErrNotFound if the group or the user does not exist.
	// RemoveGroupMember returns ErrLastAdministrator when it would remove
	// the last active administrator from the administrators group (see
	// UserStore).
	AddGroupMember(ctx context.Context, actor Actor, realm, groupID, userID string) error
	RemoveGroupMember(ctx context.Context, actor Actor, realm, groupID, userID string) error
	// ListGroupMembers lists the realm-wide members ordered by canonical
	// username.
	ListGroupMembers(ctx context.Context, realm, groupID string, opts ListOptions) (Page[User], error)

	// GrantGroupResource and RevokeGroupResource are idempotent. They return
	// ErrNotFound if the group or the resource does not exist.
	GrantGroupResource(ctx context.Context, actor Actor, realm, groupID, resource string) error
	RevokeGroupResource(ctx context.Context, actor Actor, realm, groupID, resource string) error
}

// ClientStore manages API clients and their secret versions.
type ClientStore interface {
	// CreateClient creates c with the given initial secret verifiers (may
	// be empty). Returns ErrAlreadyExists for a taken client_id and
	// ErrMissingReference for an unknown owner, scope or context.
	CreateClient(ctx context.Context, actor Actor, realm string, c Client, verifiers [][]byte) (Client, error)
	GetClient(ctx context.Context, realm, clientID string) (Client, error)
	// ListClients lists clients ordered by client_id; ownerID filters when
	// not empty.
	ListClients(ctx context.Context, realm, ownerID string, opts ListOptions) (Page[Client], error)
	// UpdateClient may change every field but ClientID, OwnerID and
	// timestamps.
	UpdateClient(ctx context.Context, actor Actor, realm, clientID string, fn func(*Client) error) (Client, error)
	// DeleteClient deletes the client with its secret versions.
	DeleteClient(ctx context.Context, actor Actor, realm, clientID string) error

	// AddClientSecret adds an active secret version.
	AddClientSecret(ctx context.Context, actor Actor, realm, clientID string, verifier []byte) (ClientSecret, error)
	// ListClientSecrets lists all versions, active and deactivated, oldest
	// first.
	ListClientSecrets(ctx context.Context, realm, clientID string) ([]ClientSecret, error)
	// ActiveClientSecrets lists the active versions only; it is on the
	// token endpoint's path.
	ActiveClientSecrets(ctx context.Context, realm, clientID string) ([]ClientSecret, error)
	// DeactivateClientSecret is idempotent; ErrNotFound if the version does
	// not exist for that client.
	DeactivateClientSecret(ctx context.Context, actor Actor, realm, clientID, secretID string) error
	// TouchClientSecret records that a version was used at t. It writes no
	// audit entry; backends may coalesce it.
	TouchClientSecret(ctx context.Context, realm, clientID, secretID string, t time.Time) error
}

// ConsentStore keeps the consents users gave clients in the authorization
// code flow. Deleting the user or the client deletes their consents.
type ConsentStore interface {
	// GrantConsent records that the user allowed the client scopes, added
	// to what they allowed before, and returns the consent as it now is.
	// Returns ErrNotFound if the user or the client does not exist.
	GrantConsent(ctx context.Context, actor Actor, realm, userID, clientID string, scopes []string) (Consent, error)
	// GetConsent returns ErrNotFound when the user gave the client none.
	GetConsent(ctx context.Context, realm, userID, clientID string) (Consent, error)
	// ListConsents lists the user's consents ordered by client_id.
	ListConsents(ctx context.Context, realm, userID string, opts ListOptions) (Page[Consent], error)
	// RevokeConsent deletes the user's consent to the client; ErrNotFound
	// when there is none.
	RevokeConsent(ctx context.Context, actor Actor, realm, userID, clientID string) error
}

// KeyStore keeps token-signing keys.
type KeyStore interface {
	// CreateSigningKey returns ErrAlreadyExists if the kid is taken. A
	// non-zero k.CreatedAt is kept (it is when the key was first published,
	// which decides when it may sign); zero means now.
	CreateSigningKey(ctx context.Context, actor Actor, realm string, k SigningKey) (SigningKey, error)
	// ListSigningKeys lists every key of the realm, newest first.
	ListSigningKeys(ctx context.Context, realm string) ([]SigningKey, error)
	// SetSigningKeyState moves a key to state at time t, recording
	// ActivatedAt or RetiredAt. Moving a key to KeyStateActive retires the
	// previously active key in the same transaction, so that at most one
	// key is active.
	SetSigningKeyState(ctx context.Context, actor Actor, realm, kid string, state KeyState, t time.Time) error
	// DeleteSigningKey removes a key that does not sign: a retired one
	// whose tokens have all expired, or a next one withdrawn. The active
	// key is refused with ErrInUse, decided in the same change, so that a
	// caller that read the key as next while another node activated it
	// never unpublishes the key that signs.
	DeleteSigningKey(ctx context.Context, actor Actor, realm, kid string) error
	// ResealSigningKey replaces a key's encrypted private key with sealed,
	// if it is still was: ErrConflict if another writer changed it first,
	// ErrNotFound if the key is gone. It re-encrypts under a new
	// keys.encryption_secret; nothing else about the key changes.
	ResealSigningKey(ctx context.Context, actor Actor, realm, kid string, was, sealed []byte) error
}

// AuditStore reads the audit log. Entries are written by the mutating
// methods of Store.
type AuditStore interface {
	// ListAudit lists entries newest first.
	ListAudit(ctx context.Context, realm string, f AuditFilter, opts ListOptions) (Page[AuditEntry], error)
	// AppendAudit records an entry that goes with no change of the store,
	// such as a refused management action. e.ID and e.Time are set by the
	// backend.
	AppendAudit(ctx context.Context, realm string, e AuditEntry) error
}

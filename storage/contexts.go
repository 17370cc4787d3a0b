package storage

import (
	"context"
	"regexp"
	"time"
)

// Context is a node in the realm's tree of places where permissions hold:
// an organisation, an account, a space, a project (docs/contexts.md). A
// membership in a context applies there and in every context below it.
type Context struct {
	ID        string // chosen by its creator; ContextIDPattern
	Name      string // display name
	Kind      string // a free label: organisation, account, space…
	ParentID  string // "" for a root
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Bounds of the context tree and of group inclusion. They keep the
// computation of effective resources bounded whatever the data holds.
const (
	// MaxContextDepth is how many contexts a path from a root holds at
	// most, the root and the deepest context included.
	MaxContextDepth = 16
	// MaxInclusionDepth is how many inclusion steps lead down from any
	// group at most.
	MaxInclusionDepth = 8
)

// ContextIDPattern is what a context id looks like: it travels in the
// token scope context:<id>, so it is made of scope characters only.
var ContextIDPattern = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// Membership is a user's membership of a group, realm-wide (ContextID
// "") or in a context.
type Membership struct {
	GroupID   string
	UserID    string
	ContextID string
}

// ContextStore manages contexts and the memberships held in them.
type ContextStore interface {
	// CreateContext returns ErrAlreadyExists for a taken id,
	// ErrMissingReference for an unknown parent and ErrHierarchy when
	// the tree would grow deeper than MaxContextDepth.
	CreateContext(ctx context.Context, actor Actor, realm string, c Context) (Context, error)
	GetContext(ctx context.Context, realm, id string) (Context, error)
	// ListContexts lists contexts ordered by id: the children of parent,
	// or every context when parent is "".
	ListContexts(ctx context.Context, realm, parent string, opts ListOptions) (Page[Context], error)
	// UpdateContext may change Name, Kind and ParentID (a move).
	// ErrMissingReference for an unknown parent, ErrHierarchy for a move
	// below itself or deeper than MaxContextDepth.
	UpdateContext(ctx context.Context, actor Actor, realm, id string, fn func(*Context) error) (Context, error)
	// DeleteContext deletes an empty context: ErrInUse while it has
	// children, memberships or clients bound to it.
	DeleteContext(ctx context.Context, actor Actor, realm, id string) error
	// ContextPath returns the id and those of its ancestors, nearest
	// first, root last. ErrNotFound for an unknown context.
	ContextPath(ctx context.Context, realm, id string) ([]string, error)
	// ListContextMembers lists the users with a membership in the context
	// or one of its ancestors, ordered by canonical username. Realm-wide
	// members are not listed: they hold what they hold everywhere.
	ListContextMembers(ctx context.Context, realm, id string, opts ListOptions) (Page[User], error)

	// AddGroupMemberIn and RemoveGroupMemberIn are AddGroupMember and
	// RemoveGroupMember for a membership in contextID ("" for
	// realm-wide). ErrNotFound for an unknown context, group or user.
	AddGroupMemberIn(ctx context.Context, actor Actor, realm, contextID, groupID, userID string) error
	RemoveGroupMemberIn(ctx context.Context, actor Actor, realm, contextID, groupID, userID string) error
	// UserMemberships lists every membership of the user, realm-wide
	// ones first, then by context id and group id.
	UserMemberships(ctx context.Context, realm, userID string) ([]Membership, error)
	// UserResourcesIn returns what the user holds in the context: what
	// their memberships there, in its ancestors and realm-wide grant,
	// through inclusion, with every path (see Effective). contextID ""
	// is UserResources. ErrNotFound for an unknown user or context.
	UserResourcesIn(ctx context.Context, realm, userID, contextID string) ([]EffectiveResource, error)
}

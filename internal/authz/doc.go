// Package authz says who a request acts for and decides the one rule every
// management action follows: a caller may act on an entity only if it
// holds everything that entity can exercise now, and may grant or take
// away only what it holds (the delegation ceiling).
//
// It is a leaf: the OAuth package builds Principals from access tokens,
// the management API decides with them, and neither needs the other's
// types. What a principal holds is computed from current permissions (the
// token's scope cut down to what its user, client and client owner hold
// now), never from the token alone: see docs/operations.md, "Permissions
// now and in tokens". A principal of a token for a context holds what its
// subject holds there (docs/contexts.md).
package authz

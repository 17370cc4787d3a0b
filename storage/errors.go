package storage

import "errors"

// Sentinel errors returned by every backend, wrapped with %w so that callers
// test them with errors.Is. Messages around them name the entity, never a
// secret.
var (
	// ErrNotFound means the addressed entity does not exist in the realm.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a unique name, username, code or id is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrMissingReference means the entity refers to another one (a language,
	// owner, group or resource) that does not exist.
	ErrMissingReference = errors.New("referenced entity does not exist")
	// ErrInUse means the entity cannot be deleted or changed because others
	// still depend on it (a language users speak, the realm's default
	// language, a built-in resource or group).
	ErrInUse = errors.New("in use")
	// ErrConflict means another writer changed the entity between the
	// caller's read and its conditional write; reading again and retrying
	// is safe.
	ErrConflict = errors.New("changed concurrently")
	// ErrUnavailable means the backend could not be reached. Callers that
	// decide about tokens MUST fail closed on it.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrInvalidCursor means a list cursor was not one the backend
	// returned.
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrRefreshReused means a refresh token that was already rotated was
	// presented again; its whole family has been revoked.
	ErrRefreshReused = errors.New("refresh token reused")
	// ErrLastAdministrator means the change would leave the realm without
	// an active member of the administrators group: nobody could manage
	// it any more. Backends decide it inside the changing transaction.
	ErrLastAdministrator = errors.New("last active administrator")
	// ErrHierarchy means the change would make a cycle, or go past the
	// bounded depth, of the context tree (MaxContextDepth) or of group
	// inclusion (MaxInclusionDepth).
	ErrHierarchy = errors.New("cycle or too deep")
)

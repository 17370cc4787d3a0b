package storage

import (
	"context"
	"time"
)

// SubjectKind says whose tokens a "revoked before" mark applies to.
type SubjectKind string

// Subject kinds for RevokeSubject.
const (
	SubjectUser   SubjectKind = "user"
	SubjectClient SubjectKind = "client"
)

// TokenRef identifies an issued token for a revocation check.
type TokenRef struct {
	JTI      string // the token's unique id
	UserID   string // empty for client_credentials tokens
	ClientID string // the client the token was issued to
	// FamilyID is the refresh-token family a user token was issued with,
	// empty when there is none: revoking the family revokes the token too
	// (RFC 7009 §2.1).
	FamilyID string
	IssuedAt time.Time // iat; compared against "revoked before" marks
}

// RefreshToken is the server-side record of a refresh token. The token
// itself is never stored: ID is a digest of it, so that a leaked Redis dump
// yields no usable token.
type RefreshToken struct {
	ID        string // digest of the token, unique
	FamilyID  string // shared by every rotation of one grant
	ClientID  string
	UserID    string
	Scopes    []string // granted scopes, carried to the next rotation
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// TokenState keeps the short-lived state of tokens, shared by every node.
// Every entry expires on its own; nothing needs a cleanup job.
//
// Every method returns an error wrapping ErrUnavailable when the backend
// cannot be reached; callers deciding about tokens MUST then fail closed.
type TokenState interface {
	// RevokeToken marks the token jti revoked until exp, the token's own
	// expiry (after it the token is dead anyway). A past exp stores nothing.
	RevokeToken(ctx context.Context, jti string, exp time.Time) error
	// RevokeSubject revokes every token of the user or client issued at or
	// before the instant before. The mark is kept for keep (the longest
	// lifetime a token can have); a later mark replaces an earlier one,
	// never the other way round.
	RevokeSubject(ctx context.Context, kind SubjectKind, id string, before time.Time, keep time.Duration) error
	// IsRevoked reports whether the token was revoked by its jti, by a mark
	// on its user or client, or with its refresh-token family, and returns
	// the change stamp (see ChangeStamp) read in the same round trip: a
	// request presenting a token needs both before it may use cached
	// storage, and pays for one round trip.
	IsRevoked(ctx context.Context, t TokenRef) (revoked bool, stamp int64, err error)

	// CreateRefreshToken stores rec until rec.ExpiresAt. Returns
	// ErrAlreadyExists if rec.ID is taken.
	CreateRefreshToken(ctx context.Context, rec RefreshToken) error
	// GetRefreshToken returns the live record, or ErrNotFound if it is
	// unknown, expired, already rotated, or revoked (by its family or by a
	// mark on its user or client).
	GetRefreshToken(ctx context.Context, id string) (RefreshToken, error)
	// RotateRefreshToken atomically consumes the record oldID and stores
	// next in the same family, returning the consumed record. Exactly one
	// of two concurrent rotations of the same token succeeds. Presenting a
	// token that was already rotated revokes its whole family and returns
	// ErrRefreshReused; an unknown, expired or revoked one returns
	// ErrNotFound. next.FamilyID, next.UserID and next.Scopes are taken
	// from the old record (a refresh token carries its original grant).
	// If next.ClientID differs from the old record's ClientID, nothing
	// changes and ErrNotFound is returned: a client cannot consume, or
	// learn anything about, another client's refresh token.
	RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken) (RefreshToken, error)
	// RevokeRefreshToken revokes the whole family of the token id.
	// Idempotent: an unknown id is not an error.
	RevokeRefreshToken(ctx context.Context, id string) error

	// MarkOnce records key until exp and reports whether this was the first
	// time (replay protection for private_key_jwt assertions).
	MarkOnce(ctx context.Context, key string, exp time.Time) (bool, error)
	// Allow counts one event for key in a fixed window and reports whether
	// the count is within limit, and if not, how long until the window ends.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)

	// ChangeStamp returns the shared change stamp: a counter that
	// BumpChangeStamp raises after every change to identities or
	// permissions, so that every node can tell whether what it cached is
	// still current. It starts at 0.
	ChangeStamp(ctx context.Context) (int64, error)
	// BumpChangeStamp raises the change stamp and returns the new value.
	BumpChangeStamp(ctx context.Context) (int64, error)

	Ping(ctx context.Context) error
	Close()
}

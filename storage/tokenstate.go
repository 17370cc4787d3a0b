package storage

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
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
	// IssuedAt is when the token was issued, to the microsecond (a JWT's
	// iat alone is whole seconds): "revoked before" marks are compared
	// against it at that resolution, so a subject revoked and re-enabled
	// within one second is not refused the tokens it gets afterwards.
	IssuedAt time.Time
}

// TimeResolution is the resolution at which token state keeps and
// compares issue times and "revoked before" marks: both are truncated to
// it, and a mark covers a token whose truncated issue time is at or
// before the truncated mark.
const TimeResolution = time.Microsecond

// Limits on token lifetimes: the configuration's defaults and a client's
// overrides both stay within them, so token state knows how long what it
// keeps about a token can matter.
const (
	// MaxAccessTokenTTL bounds an access token's lifetime.
	MaxAccessTokenTTL = 24 * time.Hour
	// MaxRefreshTokenTTL bounds a refresh token's lifetime (each rotation
	// starts a new one).
	MaxRefreshTokenTTL = 366 * 24 * time.Hour
	// RefreshReuseGrace is how long after a rotation the previous secret
	// is refused without counting as a reuse: two requests of one client
	// that raced with the same token (two browser tabs, a retry after a
	// lost answer) must not end the grant the winner just received.
	RefreshReuseGrace = 10 * time.Second
)

// RefreshToken is the server-side record of a grant's refresh token. A
// refresh token is a handle, the same for every rotation of one grant,
// and a secret, new at every rotation. The record is kept under a digest
// of the handle and holds a digest of the current secret: rotation
// replaces the secret in place, so token state holds one record per live
// grant however often it is refreshed, and a leaked Redis dump yields no
// usable token. Presenting the handle with an earlier secret is a reuse.
type RefreshToken struct {
	ID     string // digest of the handle, unique; the record's key
	Secret string // digest of the current token's secret
	// PrevSecret is the digest of the secret the last rotation replaced,
	// empty before the first: within RefreshReuseGrace of IssuedAt it is
	// refused without counting as a reuse.
	PrevSecret string
	FamilyID   string // the grant's public id (the access tokens' sid)
	ClientID   string
	UserID     string
	Scopes     []string  // granted scopes, carried to the next rotation
	IssuedAt   time.Time // kept at TimeResolution; compared against marks like TokenRef.IssuedAt
	ExpiresAt  time.Time
}

// FailureCount is what token state keeps of one throttle bucket: the
// failures counted since it was last forgotten, and when the latest
// happened. The policy (how many are free, how long each further one
// delays the next attempt) is the caller's.
type FailureCount struct {
	Failures int
	Last     time.Time // at TimeResolution; zero when Failures is 0
}

// Bucket is one key TryAttempt counts an attempt in, with the failures
// it lets through without a wait.
type Bucket struct {
	Key  string
	Free int
}

// ThrottleSource is the address a throttle counts attempts under, from
// a request's RemoteAddr (host:port or host): the TCP peer
// (behind a proxy, the proxy: see docs/operations.md). An IPv6 peer counts
// as its /64, which one subscriber usually holds whole; an IPv4-mapped one
// as its IPv4 address.
func ThrottleSource(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Attempt is what TryAttempt decides on. The policy is the caller's, the
// arithmetic the backend's (it must decide atomically): after n failures,
// the latest at Last, a bucket with n <= Free imposes no wait; with more,
// the next attempt waits until Last + min(BaseDelay·2^(n-Free-1),
// MaxDelay).
type Attempt struct {
	Marker         string
	Known, Unknown []Bucket
	At             time.Time // the attempt's time, at TimeResolution; waits are measured on it
	BaseDelay      time.Duration
	MaxDelay       time.Duration
	// Keep is how long each counted key is kept after its latest
	// failure (measured on the backend's own clock), not less.
	Keep time.Duration
}

// FailureDelay is how long after the latest of n failures a bucket that
// lets free failures through makes the next attempt wait (see Attempt).
func FailureDelay(n, free int, base, maxDelay time.Duration) time.Duration {
	if n <= free {
		return 0
	}
	d := base
	for i := free + 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// Settlement is what SettleAttempt does for an attempt that did not
// fail after all.
type Settlement struct {
	At time.Time // the attempt's At
	// TakeBack are keys whose failure counted at At is taken back: the
	// count drops by one (a key left with none is forgotten) and, unless
	// a later failure was counted meanwhile, the latest failure's time
	// goes back to the one before. The key is kept no less long than
	// before.
	TakeBack []string
	// Forget are keys forgotten at once.
	Forget []string
	// Marker, unless empty, is set for MarkKeep (replacing an earlier
	// expiry).
	Marker   string
	MarkKeep time.Duration
}

// LoginSession is a browser's signed-in session at the hosted login page
// (OIDC's sid). The browser holds an opaque cookie; token state keeps
// the session under a digest of it.
type LoginSession struct {
	ID       string // digest of the cookie's secret; the record's key
	UserID   string
	AuthTime time.Time // when the user last proved their password (OIDC auth_time)
	AMR      []string  // authentication methods, e.g. ["pwd"]
	// CreatedAt and ExpiresAt bound the session absolutely; IdleExpiresAt
	// is pushed forward while the session is used, never past ExpiresAt.
	CreatedAt     time.Time
	ExpiresAt     time.Time
	IdleExpiresAt time.Time
	// Families are the refresh-token families (grants) started in this
	// session: ending the session revokes them and their access tokens.
	Families []string
	// Device is a short description of the browser that signed in (from
	// its User-Agent), for the user's list of their sessions. It is kept
	// with that list: ListLoginSessions returns it, the other methods
	// leave it empty.
	Device string
}

// MaxListedSessions bounds the sessions ListLoginSessions keeps of one
// user: a script signing in again and again must not grow the list
// without end. Past it the oldest drop out of the list (they still end
// by themselves, and with every mark on their user).
const MaxListedSessions = 100

// MaxDeviceLen bounds LoginSession.Device, in bytes.
const MaxDeviceLen = 200

// ListedSessions puts a user's sessions in ListLoginSessions' order,
// newest first (ties by id), and keeps the MaxListedSessions first.
func ListedSessions(list []LoginSession) []LoginSession {
	slices.SortFunc(list, func(a, b LoginSession) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return list[:min(len(list), MaxListedSessions)]
}

// DeviceText cuts a device description to MaxDeviceLen bytes, on a rune
// boundary.
func DeviceText(d string) string {
	if len(d) <= MaxDeviceLen {
		return d
	}
	d = d[:MaxDeviceLen]
	for len(d) > 0 && !utf8.ValidString(d) {
		d = d[:len(d)-1]
	}
	return d
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
	// RevokeSubject revokes every token and refresh record of the user or
	// client issued at or before the instant before, compared at
	// TimeResolution: a token issued at before is revoked, one issued
	// TimeResolution later is not. The mark is kept for keep (the longest
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
	// GetRefreshToken returns the live record id if secret is its current
	// secret, or ErrNotFound if it is unknown, expired, revoked (by its
	// family or by a mark on its user or client), or secret is not the
	// current one (an earlier rotation's token is no longer live).
	GetRefreshToken(ctx context.Context, id, secret string) (RefreshToken, error)
	// RotateRefreshToken atomically checks that secret is the current
	// secret of record id and replaces it with next.Secret, next.IssuedAt
	// and next.ExpiresAt (keeping the replaced secret as PrevSecret),
	// returning the record as it was. Exactly one of two concurrent
	// rotations with the same secret succeeds. The previous secret,
	// presented less than RefreshReuseGrace after the rotation that
	// replaced it (by next.IssuedAt), returns ErrNotFound and changes
	// nothing: that is the loser of such a race. Presenting any other
	// secret is a reuse of an earlier token (only holders of the family's
	// tokens know the handle): it revokes the whole family and returns
	// ErrRefreshReused. An unknown, expired or revoked record returns
	// ErrNotFound. If next.ClientID differs from the record's ClientID,
	// nothing changes and ErrNotFound is returned: a client cannot
	// consume, or learn anything about, another client's token.
	RotateRefreshToken(ctx context.Context, id, secret string, next RefreshToken) (RefreshToken, error)
	// RevokeRefreshToken revokes the whole family of record id.
	// Idempotent: an unknown id is not an error.
	//
	// A family's revocation, by this method or by a reuse, is kept for
	// MaxAccessTokenTTL, however short the record's own lifetime: the
	// family's access tokens must stay revoked until they expire.
	RevokeRefreshToken(ctx context.Context, id string) error

	// RevokeFamily revokes the refresh-token family familyID: its refresh
	// record, if one exists, and every access token issued with it
	// (TokenRef.FamilyID), kept for MaxAccessTokenTTL like a family
	// revoked by RevokeRefreshToken. Idempotent.
	RevokeFamily(ctx context.Context, familyID string) error

	// PutEntry stores value under key until exp, replacing what was there.
	// Entries hold short-lived records of the browser flows (pending
	// authorization requests, authorization codes), encoded by the caller.
	PutEntry(ctx context.Context, key string, value []byte, exp time.Time) error
	// GetEntry returns the value of a live entry, ErrNotFound otherwise;
	// an entry TakeEntry spent is no longer live to GetEntry (a pending
	// request already answered is gone), only to TakeEntry.
	GetEntry(ctx context.Context, key string) ([]byte, error)
	// DeleteEntry removes an entry. Idempotent.
	DeleteEntry(ctx context.Context, key string) error
	// TakeEntry reads a live entry and marks it spent, atomically, so that
	// exactly one caller gets first == true; the entry is then kept, spent,
	// until spentUntil (or its own expiry, whichever is later), and
	// every later call returns its value with first == false (a reused
	// authorization code names the tokens to revoke). ErrNotFound when
	// there is no live entry.
	TakeEntry(ctx context.Context, key string, spentUntil time.Time) (value []byte, first bool, err error)

	// CreateLoginSession stores s until s.IdleExpiresAt and adds it to its
	// user's list (see ListLoginSessions). ErrAlreadyExists if s.ID is
	// taken.
	CreateLoginSession(ctx context.Context, s LoginSession) error
	// ListLoginSessions returns the live sessions of user userID, newest
	// first, with their Device and without their Families: at most
	// MaxListedSessions, the most recently created. Sessions ended or
	// expired are not listed.
	ListLoginSessions(ctx context.Context, userID string) ([]LoginSession, error)
	// GetLoginSession returns the live session id, ErrNotFound when it is
	// unknown, ended or past either expiry. When idle is positive it also
	// pushes IdleExpiresAt to min(now+idle, ExpiresAt) and returns the
	// session so extended.
	GetLoginSession(ctx context.Context, id string, idle time.Duration) (LoginSession, error)
	// AddLoginSessionFamily records that a grant of family familyID was
	// started in session id; ErrNotFound when the session is not live.
	AddLoginSessionFamily(ctx context.Context, id, familyID string) error
	// StartSessionGrant starts the grant of family rec.FamilyID in session
	// id: it is AddLoginSessionFamily(id, rec.FamilyID) followed, when
	// rec.ID is not empty, by CreateRefreshToken(rec), done together so
	// that the code exchange pays one round trip for both. ErrNotFound
	// when the session is not live: then the grant did not start, and no
	// refresh record of it is left. ErrAlreadyExists when rec.ID is taken.
	// rec.FamilyID must be a family not yet started in the session (each
	// authorization code has its own): a backend need not look for it
	// among those the session holds, which would cost more the longer
	// the session lives.
	StartSessionGrant(ctx context.Context, id string, rec RefreshToken) error
	// EndLoginSession deletes session id and returns it as it was, with
	// its families, so that the caller revokes them; ErrNotFound when it
	// is not live.
	EndLoginSession(ctx context.Context, id string) (LoginSession, error)

	// MarkOnce records key until exp and reports whether this was the first
	// time (replay protection for private_key_jwt assertions).
	MarkOnce(ctx context.Context, key string, exp time.Time) (bool, error)

	// TryAttempt decides whether a throttled attempt may go on, and counts
	// it before it does: in one round trip, and atomically over the marker
	// and every bucket it reads, so that concurrent attempts see each
	// other. It reads whether a.Marker is set (see SettleAttempt) and
	// takes the buckets of a.Known if it is, of a.Unknown otherwise. If
	// any of them has a wait pending at a.At (see Attempt), it returns the
	// longest remaining wait and changes nothing. Otherwise it counts a
	// failure at a.At on each of them and returns a
	// zero wait: the attempt stands as a failure unless SettleAttempt
	// takes it back.
	TryAttempt(ctx context.Context, a Attempt) (marked bool, wait time.Duration, err error)
	// SettleAttempt ends an attempt TryAttempt counted, in one round trip
	// and atomically (see Settlement).
	SettleAttempt(ctx context.Context, s Settlement) error

	// Failures reports, in one round trip, whether marker is set and the
	// failure count of each key, in the order of keys; a key never
	// counted, or forgotten, has the zero FailureCount. It decides
	// nothing: a budget is kept with TryAttempt, atomically.
	Failures(ctx context.Context, marker string, keys []string) (marked bool, counts []FailureCount, err error)

	// ChangeStamp returns the shared change stamp: a counter that
	// BumpChangeStamp raises after every change to identities or
	// permissions, so that every node can tell whether what it cached is
	// still current. It starts at an arbitrary value and only grows, also
	// across a restart of the backend that lost it.
	ChangeStamp(ctx context.Context) (int64, error)
	// BumpChangeStamp raises the change stamp and returns the new value.
	BumpChangeStamp(ctx context.Context) (int64, error)

	Ping(ctx context.Context) error
	Close()
}

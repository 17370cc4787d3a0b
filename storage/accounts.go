package storage

import (
	"context"
	"time"
)

// LinkPurpose says what a link token in an e-mail is for. A token is
// spent only for its own purpose: an activation link cannot reset a
// password.
type LinkPurpose string

// Link purposes (docs/accounts.md).
const (
	LinkActivate LinkPurpose = "activate"
	LinkReset    LinkPurpose = "reset"
	LinkInvite   LinkPurpose = "invite"
)

// Valid reports whether p is a known purpose.
func (p LinkPurpose) Valid() bool { return p == LinkActivate || p == LinkReset || p == LinkInvite }

// LinkToken is what the server keeps of a token sent in an e-mail link:
// its SHA-256 digest, never the token itself, bound to a purpose and a
// user (activation, reset) or an invitation.
type LinkToken struct {
	Digest       []byte // SHA-256 of the token's raw bytes; 32 bytes
	Purpose      LinkPurpose
	UserID       string // activation and reset
	InvitationID string // invitations
	// Email is the address the link was mailed to: a user's link is good
	// only while it is still the user's address.
	Email     string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// InvitationStatus is where an invitation stands. An invitation past its
// expiry is reported as expired whatever its stored status.
type InvitationStatus string

// Invitation statuses.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationRevoked  InvitationStatus = "revoked"
	InvitationExpired  InvitationStatus = "expired"
)

// Invitation asks a person, by e-mail address, to join groups.
type Invitation struct {
	ID            string // UUID
	Email         string
	Groups        []string // group ids, sorted
	InviterID     string   // the user whose power the invitation carries
	AllowAnyEmail bool     // may be accepted into an account with another address
	Language      string   // of the mail and the page
	Status        InvitationStatus
	AcceptedBy    string // user id, once accepted
	ExpiresAt     time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// EffectiveStatus is the status with expiry applied at now.
func (i Invitation) EffectiveStatus(now time.Time) InvitationStatus {
	if i.Status == InvitationPending && !now.Before(i.ExpiresAt) {
		return InvitationExpired
	}
	return i.Status
}

// Mail is one message in the outbox, rendered: the outbox keeps what is
// sent, so that a restart or another node sends the same message.
type Mail struct {
	ID        string // UUID, generated when empty
	To        string
	Subject   string
	Text      string
	HTML      string
	Kind      string    // the template, for metrics and logs: activate, reset, invite
	Attempts  int       // delivery attempts so far
	NextTryAt time.Time // zero until a failed attempt sets when to retry
	LastError string    // the last failure, without credentials
	CreatedAt time.Time
}

// OutboxStats describes the outbox for metrics.
type OutboxStats struct {
	Pending       int       // waiting or being sent
	Failed        int       // given up after the maximum attempts
	OldestPending time.Time // zero when none is pending
}

// AccountStore keeps what accounts by e-mail need: link tokens,
// invitations and the outbox of mails. It is apart from Store because
// none of it is on the token endpoint's path (internal/storecache caches
// nothing of it).
type AccountStore interface {
	// IssueLink stores t and enqueues m in one transaction, so that a
	// link is never mailed without its token or kept without its mail.
	// When t is for a user, the user's earlier tokens of t.Purpose are
	// deleted: only the newest link works. Returns ErrMissingReference
	// for an unknown user or invitation.
	IssueLink(ctx context.Context, realm string, t LinkToken, m Mail) error
	// LookupLink returns the live token with digest for purpose, without
	// spending it; ErrNotFound if it does not exist, is spent, or expired
	// at now.
	LookupLink(ctx context.Context, realm string, purpose LinkPurpose, digest []byte, now time.Time) (LinkToken, error)
	// SpendLink deletes the live token with digest for purpose and
	// returns it. It MUST be atomic: of concurrent calls with one digest
	// exactly one succeeds, the others get ErrNotFound, as do expired
	// and unknown tokens. Spending a user's token deletes the user's
	// other tokens of that purpose.
	SpendLink(ctx context.Context, realm string, purpose LinkPurpose, digest []byte, now time.Time) (LinkToken, error)

	// CreateInvitation stores inv (ID generated when empty), the token of
	// its link and its mail in one transaction, with an audit entry.
	// Returns ErrMissingReference for an unknown group or inviter.
	CreateInvitation(ctx context.Context, actor Actor, realm string, inv Invitation, t LinkToken, m Mail) (Invitation, error)
	GetInvitation(ctx context.Context, realm, id string) (Invitation, error)
	// ListInvitations lists invitations newest first.
	ListInvitations(ctx context.Context, realm string, opts ListOptions) (Page[Invitation], error)
	// RevokeInvitation marks a pending invitation revoked and deletes its
	// tokens. Returns ErrNotFound for an unknown id and ErrConflict when
	// it is no longer pending (accepted, revoked or expired at now).
	RevokeInvitation(ctx context.Context, actor Actor, realm, id string, now time.Time) error
	// AcceptInvitation spends the invitation's link token (digest),
	// marks the invitation accepted by userID and adds the user to its
	// groups that still exist, all in one transaction with an audit
	// entry. It MUST be atomic: of concurrent acceptances exactly one
	// succeeds. Returns ErrNotFound when the token is not live or the
	// invitation is not pending at now.
	AcceptInvitation(ctx context.Context, actor Actor, realm string, digest []byte, userID string, now time.Time) (Invitation, error)

	// EnqueueMail adds m to the outbox, due at once.
	EnqueueMail(ctx context.Context, realm string, m Mail) error
	// ClaimMails leases up to limit due mails (new ones, and those whose
	// NextTryAt ≤ now; not failed, not leased) until now+lease and counts an attempt on each.
	// Concurrent claimers (other nodes) never get the same mail while
	// its lease lasts; a mail whose lease ran out (its sender died) is
	// due again.
	ClaimMails(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error)
	// DeleteMail removes a mail that was sent.
	DeleteMail(ctx context.Context, id string) error
	// RetryMail records a failed attempt: the mail is due again at next,
	// or, when failed is true, kept as failed and never tried again.
	RetryMail(ctx context.Context, id string, next time.Time, lastError string, failed bool) error
	// OutboxStats counts the outbox.
	OutboxStats(ctx context.Context) (OutboxStats, error)
}

// Audit actions of AccountStore and of the account pages.
const (
	ActionInvitationCreate = "invitation.create"
	ActionInvitationRevoke = "invitation.revoke"
	ActionInvitationAccept = "invitation.accept"

	TargetInvitation = "invitation"
)

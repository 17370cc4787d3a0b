package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/storage"
)

// Paths of the pages the mails link to (served by internal/signin).
const (
	PathActivate = "/activate"
	PathForgot   = "/password/forgot"
	PathReset    = "/password/reset"
	PathInvite   = "/invite"
)

// Default lifetimes of links (docs/accounts.md).
const (
	DefaultActivationTTL = 72 * time.Hour
	DefaultResetTTL      = 30 * time.Minute
	DefaultInvitationTTL = 7 * 24 * time.Hour
	MaxInvitationTTL     = 90 * 24 * time.Hour
)

// Errors the pages turn into messages.
var (
	// ErrLinkGone: the link's token is unknown, spent, expired, or
	// belongs to something that can no longer use it. One error for all,
	// so that a page tells nothing more.
	ErrLinkGone = errors.New("the link is unknown, used or expired")
	// ErrMismatch: the password and its confirmation differ.
	ErrMismatch = errors.New("the passwords differ")
	// ErrBadPassword: the password object was not derived by the page's
	// script (malformed, or not this server's parameters).
	ErrBadPassword = errors.New("the password was not hashed as the page does")
	// ErrUsernameTaken: creating an account with a username in use.
	ErrUsernameTaken = errors.New("the username is taken")
	// ErrBadUsername: a username that cannot be one.
	ErrBadUsername = errors.New("the username is invalid")
	// ErrWrongEmail: the invitation is for another address.
	ErrWrongEmail = errors.New("the invitation is for another e-mail address")
	// ErrNoActivation: the user cannot be sent an activation link (no
	// address, or a password already set).
	ErrNoActivation = errors.New("the user has no e-mail address or already has a password")
)

// Options configures a Service. Zero durations take the defaults above.
type Options struct {
	Realm    string
	Issuer   string
	Store    storage.Store
	Accounts storage.AccountStore
	State    storage.TokenState
	Hasher   *credential.PasswordHasher
	Renderer *mail.Renderer
	// Wake is called after a mail was enqueued, to send it at once; nil
	// leaves it to the worker's next poll.
	Wake func()
	// PasswordIterations is the client-side count every password is set
	// with (credential.ValidatePasswordSetting).
	PasswordIterations int
	ActivationTTL      time.Duration
	ResetTTL           time.Duration
	// MaxTokenLifetime is how long revocation marks are kept.
	MaxTokenLifetime time.Duration
	ResetThrottle    ResetThrottle
	Logger           *slog.Logger
	Now              func() time.Time
}

// Service runs the flows.
type Service struct {
	o      Options
	powers authz.Powers
	resets chan struct{} // bounds the reset requests being worked on
}

// New returns a Service.
func New(o Options) *Service {
	if o.ActivationTTL <= 0 {
		o.ActivationTTL = DefaultActivationTTL
	}
	if o.ResetTTL <= 0 {
		o.ResetTTL = DefaultResetTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Wake == nil {
		o.Wake = func() {}
	}
	o.ResetThrottle.setDefaults()
	return &Service{o: o, powers: authz.Powers{Store: o.Store, Realm: o.Realm}, resets: make(chan struct{}, maxPendingResets)}
}

// newToken returns a fresh link token (256 random bits, base64url) and
// its digest, which is all the store keeps.
func newToken() (token string, digest []byte, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw[:])
	return base64.RawURLEncoding.EncodeToString(raw[:]), sum[:], nil
}

// tokenDigest returns the digest of a token from a link, or false when
// it cannot be one of ours (then nothing is looked up).
func tokenDigest(token string) ([]byte, bool) {
	if len(token) != 43 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		return nil, false
	}
	sum := sha256.Sum256(raw)
	return sum[:], true
}

// link is the URL of a page with its token.
func (s *Service) link(path, token string) string {
	return strings.TrimSuffix(s.o.Issuer, "/") + path + "?token=" + token
}

// lookup finds the live token of a link.
func (s *Service) lookup(ctx context.Context, purpose storage.LinkPurpose, token string) (storage.LinkToken, []byte, error) {
	d, ok := tokenDigest(token)
	if !ok {
		return storage.LinkToken{}, nil, ErrLinkGone
	}
	t, err := s.o.Accounts.LookupLink(ctx, s.o.Realm, purpose, d, s.o.Now())
	if errors.Is(err, storage.ErrNotFound) {
		return t, nil, ErrLinkGone
	}
	return t, d, err
}

// hashSetting checks a password object from a page and returns the
// verifier to store.
func (s *Service) hashSetting(ctx context.Context, in clienthash.PasswordSetting) (*storage.PasswordVerifier, error) {
	v, err := s.o.Hasher.NewVerifier(ctx, in, s.o.PasswordIterations)
	var fe *credential.FieldError
	switch {
	case errors.Is(err, credential.ErrConfirmationMismatch):
		return nil, ErrMismatch
	case errors.As(err, &fe):
		return nil, ErrBadPassword
	}
	return v, err
}

// PasswordIterations is the count the pages derive new passwords with.
func (s *Service) PasswordIterations() int { return s.o.PasswordIterations }

// revokeUser ends every session and token of the user issued up to now,
// even if the caller hangs up: a revocation decided is written.
func (s *Service) revokeUser(ctx context.Context, userID string) error {
	return s.o.State.RevokeSubject(context.WithoutCancel(ctx), storage.SubjectUser, userID, s.o.Now(), s.o.MaxTokenLifetime)
}

// selfActor is a user acting on their own account through a page.
func selfActor(userID string) storage.Actor {
	return storage.Actor{Type: storage.ActorUser, ID: userID}
}

package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/storage"
)

// ResetThrottle bounds the reset mails one address, one name and one
// account can cause (token state's throttle buckets, shared by every
// node). Every request counts; past the free ones, further requests are
// dropped until a wait that starts at BaseDelay and doubles up to
// MaxDelay has passed. A dropped request is answered like any other.
type ResetThrottle struct {
	FreePerAccount int           // reset mails per account; default 3
	FreePerName    int           // requests per typed name or address; default 5
	FreePerAddress int           // requests per source address; default 20
	BaseDelay      time.Duration // default 1m
	MaxDelay       time.Duration // default 1h
	ForgetAfter    time.Duration // default 24h
}

func (t *ResetThrottle) setDefaults() {
	if t.FreePerAccount <= 0 {
		t.FreePerAccount = 3
	}
	if t.FreePerName <= 0 {
		t.FreePerName = 5
	}
	if t.FreePerAddress <= 0 {
		t.FreePerAddress = 20
	}
	if t.BaseDelay <= 0 {
		t.BaseDelay = time.Minute
	}
	if t.MaxDelay <= 0 {
		t.MaxDelay = time.Hour
	}
	if t.ForgetAfter <= 0 {
		t.ForgetAfter = 24 * time.Hour
	}
	t.ForgetAfter = max(t.ForgetAfter, t.MaxDelay)
}

// maxPendingResets bounds the reset requests worked on at once; past it
// requests are dropped (and answered like any other), so that a flood
// cannot pile up goroutines.
const maxPendingResets = 64

// maxResetAccounts bounds the accounts one address can reset at once
// (addresses are not unique).
const maxResetAccounts = 5

// RequestReset asks for a reset link for the account with username or
// e-mail address name, from source (the request's RemoteAddr, counted as
// the login throttle counts it: storage.ThrottleSource). It returns at
// once and always the same: the lookup, the throttle and the mail happen
// afterwards, so that neither the answer nor its timing tells whether
// the account exists (docs/accounts.md).
func (s *Service) RequestReset(ctx context.Context, source, name string) {
	select {
	case s.resets <- struct{}{}:
	default:
		s.o.Logger.WarnContext(ctx, "password reset: too many requests in progress; one dropped")
		return
	}
	go func() {
		defer func() { <-s.resets }()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.requestReset(wctx, source, name); err != nil {
			s.o.Logger.WarnContext(wctx, "password reset: request not served", "err", err.Error())
		}
	}()
}

// throttleKey names a throttle bucket without the name or address in
// clear.
func (s *Service) throttleKey(kind, value string) string {
	sum := sha256.Sum256([]byte("gatehouse reset " + kind + "\x00" + s.o.Realm + "\x00" + value))
	return "reset:" + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

// allow counts a request in buckets and reports whether none of them
// makes it wait. A bucket's Free is how many requests pass before the
// waits begin (TryAttempt lets one more through than it has counted).
func (s *Service) allow(ctx context.Context, buckets ...storage.Bucket) (bool, error) {
	t := s.o.ResetThrottle
	for i := range buckets {
		buckets[i].Free--
	}
	_, wait, err := s.o.State.TryAttempt(ctx, storage.Attempt{Unknown: buckets, At: s.o.Now().Truncate(storage.TimeResolution),
		BaseDelay: t.BaseDelay, MaxDelay: t.MaxDelay, Keep: t.ForgetAfter})
	return err == nil && wait == 0, err
}

func (s *Service) requestReset(ctx context.Context, source, name string) error {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 256 {
		return nil
	}
	t := s.o.ResetThrottle
	ok, err := s.allow(ctx, storage.Bucket{Key: s.throttleKey("a", storage.ThrottleSource(source)), Free: t.FreePerAddress},
		storage.Bucket{Key: s.throttleKey("n", strings.ToLower(name)), Free: t.FreePerName})
	if err != nil || !ok {
		return err
	}
	users, err := s.resetCandidates(ctx, name)
	if err != nil {
		return err
	}
	for _, u := range users {
		ok, err := s.allow(ctx, storage.Bucket{Key: s.throttleKey("u", u.ID), Free: t.FreePerAccount})
		if err != nil {
			return err
		}
		if !ok {
			s.o.Logger.InfoContext(ctx, "password reset: throttled", "user", u.ID)
			continue
		}
		if err := s.sendReset(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// resetCandidates are the active users with an address whom name
// designates: by username, else by e-mail address.
func (s *Service) resetCandidates(ctx context.Context, name string) ([]storage.User, error) {
	var found []storage.User
	if u, err := s.o.Store.GetUserByUsername(ctx, s.o.Realm, name); err == nil {
		found = append(found, u)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if len(found) == 0 && strings.Contains(name, "@") {
		page, err := s.o.Store.ListUsers(ctx, s.o.Realm, storage.UserFilter{Email: name, Status: storage.StatusActive},
			storage.ListOptions{Limit: maxResetAccounts})
		if err != nil {
			return nil, err
		}
		found = page.Items
	}
	out := found[:0]
	for _, u := range found {
		if u.Email != "" && u.Status == storage.StatusActive {
			out = append(out, u)
		}
	}
	return out, nil
}

func (s *Service) sendReset(ctx context.Context, u storage.User) error {
	token, digest, err := newToken()
	if err != nil {
		return err
	}
	exp := s.o.Now().Add(s.o.ResetTTL)
	m, err := s.o.Renderer.Render(mail.Message{Kind: mail.KindReset, To: u.Email, Language: u.Language,
		Link: s.link(PathReset, token), Username: u.Username, Name: u.DisplayName, Expires: exp})
	if err != nil {
		return err
	}
	if err := s.o.Accounts.IssueLink(ctx, s.o.Realm, storage.LinkToken{Digest: digest, Purpose: storage.LinkReset,
		UserID: u.ID, Email: u.Email, ExpiresAt: exp}, m); err != nil {
		return err
	}
	s.o.Wake()
	return nil
}

// ResetUser returns the user a reset link is for.
func (s *Service) ResetUser(ctx context.Context, token string) (storage.User, error) {
	t, _, err := s.lookup(ctx, storage.LinkReset, token)
	if err != nil {
		return storage.User{}, err
	}
	if err := s.resetLinkRevoked(ctx, t); err != nil {
		return storage.User{}, err
	}
	return s.linkUser(ctx, t, false)
}

// resetLinkRevoked makes a reset link gone when everything of its user
// was revoked after it was mailed: a new password set another way (the
// account page, the management API), a disabled account, a "revoke every
// token". Whoever got hold of the link must not take the account back
// from the person or administrator who just secured it
// (docs/accounts.md). The link was issued ResetTTL before its expiry.
func (s *Service) resetLinkRevoked(ctx context.Context, t storage.LinkToken) error {
	revoked, _, err := s.o.State.IsRevoked(ctx, storage.TokenRef{UserID: t.UserID, IssuedAt: t.ExpiresAt.Add(-s.o.ResetTTL)})
	if err != nil {
		return err
	}
	if revoked {
		return ErrLinkGone
	}
	return nil
}

// Reset sets a new password through a reset link and ends every session,
// refresh grant and access token of the user, in the order the
// management API uses for a new password (internal/admin setPassword):
// revoke, save, revoke again, each failure failing the request, so that
// no session outlives the change. A mismatch or a malformed password
// leaves the link usable.
func (s *Service) Reset(ctx context.Context, token string, in clienthash.PasswordSetting) (storage.User, error) {
	u, err := s.ResetUser(ctx, token)
	if err != nil {
		return storage.User{}, err
	}
	v, err := s.hashSetting(ctx, in)
	if err != nil {
		return storage.User{}, err
	}
	d, _ := tokenDigest(token)
	t, err := s.o.Accounts.SpendLink(ctx, s.o.Realm, storage.LinkReset, d, s.o.Now())
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, ErrLinkGone
	} else if err != nil {
		return storage.User{}, err
	}
	if t.UserID != u.ID {
		return storage.User{}, ErrLinkGone
	}
	// Again after spending: a change may have come since ResetUser.
	if err := s.resetLinkRevoked(ctx, t); err != nil {
		return storage.User{}, err
	}
	if err := s.revokeUser(ctx, u.ID); err != nil {
		return storage.User{}, err
	}
	u, err = s.o.Store.UpdateUser(ctx, selfActor(u.ID), s.o.Realm, u.ID, func(u *storage.User) error {
		if err := stillMailedTo(u, t); err != nil {
			return err
		}
		// The link reached the person at this address.
		u.Password, u.EmailVerified = v, true
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, ErrLinkGone
	} else if err != nil {
		return storage.User{}, err
	}
	return u, s.revokeUser(ctx, u.ID)
}

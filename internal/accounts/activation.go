package accounts

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/storage"
)

// SendActivation mails u an activation link, replacing any earlier one.
// It returns ErrNoActivation when u has no address or already has a
// password. The mail is only enqueued: this never waits for SMTP.
func (s *Service) SendActivation(ctx context.Context, u storage.User) error {
	if u.Email == "" || u.Password != nil {
		return ErrNoActivation
	}
	token, digest, err := newToken()
	if err != nil {
		return err
	}
	exp := s.o.Now().Add(s.o.ActivationTTL)
	m, err := s.o.Renderer.Render(mail.Message{Kind: mail.KindActivate, To: u.Email, Language: u.Language,
		Link: s.link(PathActivate, token), Username: u.Username, Name: u.DisplayName, Expires: exp})
	if err != nil {
		return err
	}
	err = s.o.Accounts.IssueLink(ctx, s.o.Realm, storage.LinkToken{Digest: digest, Purpose: storage.LinkActivate,
		UserID: u.ID, Email: u.Email, ExpiresAt: exp}, m)
	if err != nil {
		return err
	}
	s.o.Wake()
	return nil
}

// ActivationUser returns the user an activation link is for.
func (s *Service) ActivationUser(ctx context.Context, token string) (storage.User, error) {
	t, _, err := s.lookup(ctx, storage.LinkActivate, token)
	if err != nil {
		return storage.User{}, err
	}
	return s.linkUser(ctx, t, true)
}

// linkUser loads the user of a link. A user who is gone or disabled, or
// whose address is no longer the one the link was mailed to (whoever
// reads the old mailbox must not take over the account), or, for
// activation, who already has a password, makes the link gone.
func (s *Service) linkUser(ctx context.Context, t storage.LinkToken, activation bool) (storage.User, error) {
	u, err := s.o.Store.GetUser(ctx, s.o.Realm, t.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return u, ErrLinkGone
	} else if err != nil {
		return u, err
	}
	if u.Status != storage.StatusActive || !strings.EqualFold(u.Email, t.Email) || (activation && u.Password != nil) {
		return u, ErrLinkGone
	}
	return u, nil
}

// stillMailedTo is linkUser's address check inside an update: the
// address may change between the check and the write.
func stillMailedTo(u *storage.User, t storage.LinkToken) error {
	if u.Status != storage.StatusActive || !strings.EqualFold(u.Email, t.Email) {
		return ErrLinkGone
	}
	return nil
}

// Activate sets the password of the activation link's user and marks
// their address verified: the link reached them there. A mismatch or a
// malformed password leaves the link usable.
func (s *Service) Activate(ctx context.Context, token string, in clienthash.PasswordSetting) (storage.User, error) {
	if _, err := s.ActivationUser(ctx, token); err != nil {
		return storage.User{}, err
	}
	v, err := s.hashSetting(ctx, in)
	if err != nil {
		return storage.User{}, err
	}
	d, _ := tokenDigest(token)
	t, err := s.o.Accounts.SpendLink(ctx, s.o.Realm, storage.LinkActivate, d, s.o.Now())
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, ErrLinkGone
	} else if err != nil {
		return storage.User{}, err
	}
	u, err := s.o.Store.UpdateUser(ctx, selfActor(t.UserID), s.o.Realm, t.UserID, func(u *storage.User) error {
		if err := stillMailedTo(u, t); err != nil {
			return err
		}
		if u.Password != nil {
			return ErrLinkGone
		}
		u.Password, u.EmailVerified = v, true
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, ErrLinkGone
	}
	return u, err
}

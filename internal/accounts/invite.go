package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/storage"
)

// Invite is what an invitation asks for, validated and authorized by the
// caller (internal/admin applies the delegation ceiling).
type Invite struct {
	Email         string
	Groups        []storage.Group
	Inviter       storage.User // whose power the invitation carries
	AllowAnyEmail bool
	ExpiresIn     time.Duration // zero: DefaultInvitationTTL
	Language      string        // of the mail and page; empty: the inviter's
}

// CreateInvitation stores the invitation, its link token and its mail in
// one transaction (with the audit entry), and wakes the mail worker.
func (s *Service) CreateInvitation(ctx context.Context, actor storage.Actor, in Invite) (storage.Invitation, error) {
	if in.ExpiresIn <= 0 {
		in.ExpiresIn = DefaultInvitationTTL
	}
	if in.Language == "" {
		in.Language = in.Inviter.Language
	}
	token, digest, err := newToken()
	if err != nil {
		return storage.Invitation{}, err
	}
	exp := s.o.Now().Add(in.ExpiresIn)
	ids, names := make([]string, len(in.Groups)), make([]string, len(in.Groups))
	for i, g := range in.Groups {
		ids[i], names[i] = g.ID, g.Name
	}
	m, err := s.o.Renderer.Render(mail.Message{Kind: mail.KindInvite, To: in.Email, Language: in.Language,
		Link: s.link(PathInvite, token), Inviter: displayName(in.Inviter), Groups: names, Expires: exp})
	if err != nil {
		return storage.Invitation{}, err
	}
	inv, err := s.o.Accounts.CreateInvitation(ctx, actor, s.o.Realm, storage.Invitation{Email: in.Email, Groups: ids,
		InviterID: in.Inviter.ID, AllowAnyEmail: in.AllowAnyEmail, Language: in.Language, ExpiresAt: exp},
		storage.LinkToken{Digest: digest, Purpose: storage.LinkInvite, Email: in.Email, ExpiresAt: exp}, m)
	if err != nil {
		return inv, err
	}
	s.o.Wake()
	return inv, nil
}

func displayName(u storage.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

// InvitationView is what the invitation page shows.
type InvitationView struct {
	Invitation storage.Invitation
	Inviter    string
	Groups     []string // names
}

// Invitation returns the pending invitation of a link.
func (s *Service) Invitation(ctx context.Context, token string) (InvitationView, error) {
	t, _, err := s.lookup(ctx, storage.LinkInvite, token)
	if err != nil {
		return InvitationView{}, err
	}
	inv, err := s.o.Accounts.GetInvitation(ctx, s.o.Realm, t.InvitationID)
	if errors.Is(err, storage.ErrNotFound) {
		return InvitationView{}, ErrLinkGone
	} else if err != nil {
		return InvitationView{}, err
	}
	if inv.EffectiveStatus(s.o.Now()) != storage.InvitationPending {
		return InvitationView{}, ErrLinkGone
	}
	v := InvitationView{Invitation: inv}
	inviter, err := s.o.Store.GetUser(ctx, s.o.Realm, inv.InviterID)
	if errors.Is(err, storage.ErrNotFound) {
		return InvitationView{}, ErrLinkGone
	} else if err != nil {
		return InvitationView{}, err
	}
	v.Inviter = displayName(inviter)
	for _, id := range inv.Groups {
		g, err := s.o.Store.GetGroup(ctx, s.o.Realm, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		} else if err != nil {
			return InvitationView{}, err
		}
		v.Groups = append(v.Groups, g.Name)
	}
	return v, nil
}

// inviterStillHolds checks, at acceptance, that the inviter is active and
// still holds every resource of the invitation's groups, on their
// current permissions (issue 14: the ceiling is decided at acceptance
// too). Anything else, a failure to decide included, refuses.
func (s *Service) inviterStillHolds(ctx context.Context, inv storage.Invitation) error {
	inviter, err := s.o.Store.GetUser(ctx, s.o.Realm, inv.InviterID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrLinkGone
	} else if err != nil {
		return err
	}
	if inviter.Status != storage.StatusActive {
		return fmt.Errorf("%w: the inviter is disabled", ErrLinkGone)
	}
	held, err := s.powers.User(ctx, inviter.ID)
	if err != nil {
		return err
	}
	has := make(map[string]bool, len(held))
	for _, r := range held {
		has[r] = true
	}
	for _, id := range inv.Groups {
		g, err := s.o.Store.GetGroup(ctx, s.o.Realm, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue // skipped at acceptance
		} else if err != nil {
			return err
		}
		power, err := s.powers.Group(ctx, g)
		if err != nil {
			return err
		}
		for _, r := range power {
			if !has[r] {
				return fmt.Errorf("%w: the inviter no longer holds %s", ErrLinkGone, r)
			}
		}
	}
	return nil
}

// accept spends the invitation for userID after checking the inviter's
// power, and tells every node's cache that memberships changed.
func (s *Service) accept(ctx context.Context, token string, userID string) (storage.Invitation, error) {
	v, err := s.Invitation(ctx, token)
	if err != nil {
		return storage.Invitation{}, err
	}
	if err := s.inviterStillHolds(ctx, v.Invitation); err != nil {
		if errors.Is(err, ErrLinkGone) {
			s.o.Logger.InfoContext(ctx, "invitation refused at acceptance", "invitation", v.Invitation.ID, "reason", err.Error())
		}
		return storage.Invitation{}, err
	}
	d, _ := tokenDigest(token)
	inv, err := s.o.Accounts.AcceptInvitation(ctx, selfActor(userID), s.o.Realm, d, userID, s.o.Now())
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Invitation{}, ErrLinkGone
	} else if err != nil {
		return storage.Invitation{}, err
	}
	// Memberships changed outside the caching store: raise the change
	// stamp so that no node keeps serving the user's old resources.
	if _, err := s.o.State.BumpChangeStamp(context.WithoutCancel(ctx)); err != nil {
		return inv, err
	}
	return inv, nil
}

// AcceptAsNew creates an account for the invitee, with the invitation's
// address (verified: the link reached it) and language, and accepts the
// invitation into it. If the acceptance fails (another browser was
// quicker), the account is deleted again.
func (s *Service) AcceptAsNew(ctx context.Context, token, username string, in clienthash.PasswordSetting) (storage.User, error) {
	v, err := s.Invitation(ctx, token)
	if err != nil {
		return storage.User{}, err
	}
	if _, err := storage.CanonicalUsername(username); err != nil || len(username) > 256 {
		return storage.User{}, ErrBadUsername
	}
	// A taken name is refused before the password is hashed: the link
	// stays usable after it, and must not buy the shared hasher's time
	// over and over. CreateUser still decides a race.
	if _, err := s.o.Store.GetUserByUsername(ctx, s.o.Realm, username); err == nil {
		return storage.User{}, ErrUsernameTaken
	} else if !errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, err
	}
	if err := s.inviterStillHolds(ctx, v.Invitation); err != nil {
		return storage.User{}, err
	}
	pw, err := s.hashSetting(ctx, in)
	if err != nil {
		return storage.User{}, err
	}
	inv := v.Invitation
	u, err := s.o.Store.CreateUser(ctx, storage.System("invitation"), s.o.Realm, storage.User{Username: username,
		Email: inv.Email, EmailVerified: true, Language: inv.Language, Status: storage.StatusActive, Password: pw}, nil)
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return storage.User{}, ErrUsernameTaken
	case errors.Is(err, storage.ErrInvalidUsername):
		return storage.User{}, ErrBadUsername
	case err != nil:
		return storage.User{}, err
	}
	if _, err := s.accept(ctx, token, u.ID); err != nil {
		if derr := s.o.Store.DeleteUser(context.WithoutCancel(ctx), storage.System("invitation"), s.o.Realm, u.ID); derr != nil {
			s.o.Logger.ErrorContext(ctx, "invitation: cannot delete the account of a failed acceptance", "user", u.ID, "err", derr.Error())
		}
		return storage.User{}, err
	}
	return u, nil
}

// AcceptAsExisting accepts the invitation into u, whose password the
// caller has just verified. Unless the inviter allowed any address, u's
// address must be the invitation's; it is then verified.
func (s *Service) AcceptAsExisting(ctx context.Context, token string, u storage.User) (storage.Invitation, error) {
	v, err := s.Invitation(ctx, token)
	if err != nil {
		return storage.Invitation{}, err
	}
	same := u.Email != "" && strings.EqualFold(u.Email, v.Invitation.Email)
	if !same && !v.Invitation.AllowAnyEmail {
		return storage.Invitation{}, ErrWrongEmail
	}
	inv, err := s.accept(ctx, token, u.ID)
	if err != nil {
		return inv, err
	}
	if same && !u.EmailVerified {
		if _, err := s.o.Store.UpdateUser(ctx, selfActor(u.ID), s.o.Realm, u.ID, func(x *storage.User) error {
			x.EmailVerified = strings.EqualFold(x.Email, v.Invitation.Email) || x.EmailVerified
			return nil
		}); err != nil {
			s.o.Logger.WarnContext(ctx, "invitation: cannot mark the address verified", "user", u.ID, "err", err.Error())
		}
	}
	return inv, nil
}

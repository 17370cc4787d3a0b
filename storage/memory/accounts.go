package memory

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/storage"
)

var _ storage.AccountStore = (*Store)(nil)

type linkRow struct {
	realm string
	t     storage.LinkToken
}

type mailRow struct {
	realm       string
	m           storage.Mail
	lockedUntil time.Time
	failed      bool
}

// IssueLink implements storage.AccountStore.
func (s *Store) IssueLink(_ context.Context, realm string, t storage.LinkToken, m storage.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.insertLink(realm, t); err != nil {
		return err
	}
	s.insertMail(realm, m)
	return nil
}

// insertLink stores t, replacing the user's earlier tokens of its
// purpose; callers hold the write lock.
func (s *Store) insertLink(realm string, t storage.LinkToken) error {
	if len(t.Digest) != 32 || !t.Purpose.Valid() || (t.UserID == "") == (t.InvitationID == "") {
		return fmt.Errorf("link token: %w", storage.ErrMissingReference)
	}
	if t.UserID != "" {
		if _, ok := s.users[key{realm, t.UserID}]; !ok {
			return fmt.Errorf("user %s: %w", t.UserID, storage.ErrMissingReference)
		}
		s.dropLinks(func(r linkRow) bool { return r.realm == realm && r.t.UserID == t.UserID && r.t.Purpose == t.Purpose })
	}
	if t.InvitationID != "" {
		if _, ok := s.invitations[key{realm, t.InvitationID}]; !ok {
			return fmt.Errorf("invitation %s: %w", t.InvitationID, storage.ErrMissingReference)
		}
	}
	if _, ok := s.links[string(t.Digest)]; ok {
		return fmt.Errorf("link token: %w", storage.ErrAlreadyExists)
	}
	t.Digest = bytes.Clone(t.Digest)
	t.CreatedAt = s.stamp()
	t.ExpiresAt = t.ExpiresAt.UTC().Truncate(time.Microsecond)
	s.links[string(t.Digest)] = linkRow{realm, t}
	return nil
}

func (s *Store) dropLinks(match func(linkRow) bool) {
	for k, r := range s.links {
		if match(r) {
			delete(s.links, k)
		}
	}
}

func (s *Store) insertMail(realm string, m storage.Mail) {
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	m.Attempts, m.LastError = 0, ""
	m.CreatedAt = s.stamp()
	m.NextTryAt = time.Time{} // due at once
	s.outbox[m.ID] = &mailRow{realm: realm, m: m}
}

// liveLink finds the live token; callers hold a lock.
func (s *Store) liveLink(realm string, purpose storage.LinkPurpose, digest []byte, now time.Time) (storage.LinkToken, error) {
	r, ok := s.links[string(digest)]
	if !ok || r.realm != realm || r.t.Purpose != purpose || !now.Before(r.t.ExpiresAt) ||
		subtle.ConstantTimeCompare(r.t.Digest, digest) != 1 {
		return storage.LinkToken{}, fmt.Errorf("link token: %w", storage.ErrNotFound)
	}
	t := r.t
	t.Digest = bytes.Clone(t.Digest)
	return t, nil
}

// LookupLink implements storage.AccountStore.
func (s *Store) LookupLink(_ context.Context, realm string, purpose storage.LinkPurpose, digest []byte, now time.Time) (storage.LinkToken, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.liveLink(realm, purpose, digest, now)
}

// SpendLink implements storage.AccountStore.
func (s *Store) SpendLink(_ context.Context, realm string, purpose storage.LinkPurpose, digest []byte, now time.Time) (storage.LinkToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.liveLink(realm, purpose, digest, now)
	if err != nil {
		return t, err
	}
	delete(s.links, string(digest))
	if t.UserID != "" {
		s.dropLinks(func(r linkRow) bool { return r.realm == realm && r.t.UserID == t.UserID && r.t.Purpose == purpose })
	}
	return t, nil
}

func copyInvitation(i storage.Invitation) storage.Invitation {
	i.Groups = slices.Clone(i.Groups)
	if i.Groups == nil {
		i.Groups = []string{}
	}
	return i
}

// CreateInvitation implements storage.AccountStore.
func (s *Store) CreateInvitation(_ context.Context, a storage.Actor, realm string, inv storage.Invitation, t storage.LinkToken, m storage.Mail) (storage.Invitation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv.ID == "" {
		inv.ID = uuid.NewString()
	}
	if _, ok := s.invitations[key{realm, inv.ID}]; ok {
		return storage.Invitation{}, fmt.Errorf("invitation %s: %w", inv.ID, storage.ErrAlreadyExists)
	}
	if _, ok := s.users[key{realm, inv.InviterID}]; !ok {
		return storage.Invitation{}, fmt.Errorf("inviter %s: %w", inv.InviterID, storage.ErrMissingReference)
	}
	groups := slices.Clone(inv.Groups)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	for _, g := range groups {
		if _, ok := s.groups[key{realm, g}]; !ok {
			return storage.Invitation{}, fmt.Errorf("group %s: %w", g, storage.ErrMissingReference)
		}
	}
	lang, ok := s.languageCode(realm, inv.Language)
	if !ok {
		return storage.Invitation{}, fmt.Errorf("language %s: %w", inv.Language, storage.ErrMissingReference)
	}
	now := s.stamp()
	inv.Groups, inv.Language, inv.Status, inv.AcceptedBy = groups, lang, storage.InvitationPending, ""
	inv.ExpiresAt = inv.ExpiresAt.UTC().Truncate(time.Microsecond)
	inv.CreatedAt, inv.UpdatedAt = now, now
	s.invitations[key{realm, inv.ID}] = copyInvitation(inv)
	t.InvitationID, t.UserID = inv.ID, ""
	if err := s.insertLink(realm, t); err != nil {
		delete(s.invitations, key{realm, inv.ID})
		return storage.Invitation{}, err
	}
	s.insertMail(realm, m)
	s.record(realm, a, storage.ActionInvitationCreate, storage.TargetInvitation, inv.ID,
		map[string]string{"groups": strings.Join(inv.Groups, ","), "allow_any_email": fmt.Sprint(inv.AllowAnyEmail)})
	return copyInvitation(inv), nil
}

// languageCode resolves a code case-insensitively; callers hold a lock.
func (s *Store) languageCode(realm, code string) (string, bool) {
	l, ok := s.languages[key{realm, strings.ToLower(code)}]
	return l.Code, ok
}

// GetInvitation implements storage.AccountStore.
func (s *Store) GetInvitation(_ context.Context, realm, id string) (storage.Invitation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	inv, ok := s.invitations[key{realm, id}]
	if !ok {
		return storage.Invitation{}, fmt.Errorf("invitation %s: %w", id, storage.ErrNotFound)
	}
	return copyInvitation(inv), nil
}

// invitationKey orders invitations newest first, ties by id descending,
// like PostgreSQL's ORDER BY created_at DESC, id DESC.
func invitationBefore(a, b storage.Invitation) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// ListInvitations implements storage.AccountStore.
func (s *Store) ListInvitations(_ context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Invitation], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []storage.Invitation
	for k, inv := range s.invitations {
		if k.realm == realm {
			items = append(items, copyInvitation(inv))
		}
	}
	slices.SortFunc(items, invitationBefore)
	start := 0
	if opts.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(opts.Cursor)
		at, id, ok := strings.Cut(string(b), "|")
		var micros int64
		if _, serr := fmt.Sscanf(at, "%d", &micros); err != nil || !ok || serr != nil || uuid.Validate(id) != nil {
			return storage.Page[storage.Invitation]{}, fmt.Errorf("cursor: %w", storage.ErrInvalidCursor)
		}
		last := storage.Invitation{ID: id, CreatedAt: time.UnixMicro(micros)}
		for start < len(items) && invitationBefore(items[start], last) <= 0 {
			start++
		}
	}
	limit := opts.EffectiveLimit()
	out := storage.Page[storage.Invitation]{Items: []storage.Invitation{}}
	end := min(start+limit, len(items))
	out.Items = append(out.Items, items[start:end]...)
	if end < len(items) {
		last := items[end-1]
		out.NextCursor = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d|%s", last.CreatedAt.UnixMicro(), last.ID))
	}
	return out, nil
}

// RevokeInvitation implements storage.AccountStore.
func (s *Store) RevokeInvitation(_ context.Context, a storage.Actor, realm, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{realm, id}
	inv, ok := s.invitations[k]
	if !ok {
		return fmt.Errorf("invitation %s: %w", id, storage.ErrNotFound)
	}
	if st := inv.EffectiveStatus(now); st != storage.InvitationPending {
		return fmt.Errorf("invitation %s is %s: %w", id, st, storage.ErrConflict)
	}
	inv.Status, inv.UpdatedAt = storage.InvitationRevoked, s.stamp()
	s.invitations[k] = inv
	s.dropLinks(func(r linkRow) bool { return r.realm == realm && r.t.InvitationID == id })
	s.record(realm, a, storage.ActionInvitationRevoke, storage.TargetInvitation, id, nil)
	return nil
}

// AcceptInvitation implements storage.AccountStore.
func (s *Store) AcceptInvitation(_ context.Context, a storage.Actor, realm string, digest []byte, userID string, now time.Time) (storage.Invitation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.liveLink(realm, storage.LinkInvite, digest, now)
	if err != nil {
		return storage.Invitation{}, err
	}
	k := key{realm, t.InvitationID}
	inv, ok := s.invitations[k]
	if !ok || inv.EffectiveStatus(now) != storage.InvitationPending {
		return storage.Invitation{}, fmt.Errorf("invitation %s: %w", t.InvitationID, storage.ErrNotFound)
	}
	if _, ok := s.users[key{realm, userID}]; !ok {
		return storage.Invitation{}, fmt.Errorf("user %s: %w", userID, storage.ErrNotFound)
	}
	delete(s.links, string(digest))
	inv.Status, inv.AcceptedBy, inv.UpdatedAt = storage.InvitationAccepted, userID, s.stamp()
	s.invitations[k] = inv
	for _, g := range inv.Groups {
		if m, ok := s.members[key{realm, g}]; ok {
			m[userID] = true
		}
	}
	s.record(realm, a, storage.ActionInvitationAccept, storage.TargetInvitation, inv.ID,
		map[string]string{"user": userID, "groups": strings.Join(inv.Groups, ",")})
	return copyInvitation(inv), nil
}

// dropAccountsOf deletes what ends with a user: their link tokens and
// the invitations they made, as PostgreSQL's cascades do; callers hold
// the write lock.
func (s *Store) dropAccountsOf(realm, userID string) {
	for k, inv := range s.invitations {
		if k.realm == realm && inv.InviterID == userID {
			delete(s.invitations, k)
			s.dropLinks(func(r linkRow) bool { return r.realm == realm && r.t.InvitationID == inv.ID })
		}
	}
	s.dropLinks(func(r linkRow) bool { return r.realm == realm && r.t.UserID == userID })
}

// EnqueueMail implements storage.AccountStore.
func (s *Store) EnqueueMail(_ context.Context, realm string, m storage.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insertMail(realm, m)
	return nil
}

// ClaimMails implements storage.AccountStore.
func (s *Store) ClaimMails(_ context.Context, now time.Time, lease time.Duration, limit int) ([]storage.Mail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*mailRow
	for _, r := range s.outbox {
		if !r.failed && !r.m.NextTryAt.After(now) && !r.lockedUntil.After(now) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *mailRow) int {
		if c := a.m.NextTryAt.Compare(b.m.NextTryAt); c != 0 {
			return c
		}
		return a.m.CreatedAt.Compare(b.m.CreatedAt)
	})
	out := []storage.Mail{}
	for _, r := range due[:min(limit, len(due))] {
		r.lockedUntil = now.Add(lease)
		r.m.Attempts++
		out = append(out, r.m)
	}
	return out, nil
}

// DeleteMail implements storage.AccountStore.
func (s *Store) DeleteMail(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.outbox, id)
	return nil
}

// RetryMail implements storage.AccountStore.
func (s *Store) RetryMail(_ context.Context, id string, next time.Time, lastError string, failed bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.outbox[id]
	if !ok {
		return fmt.Errorf("mail %s: %w", id, storage.ErrNotFound)
	}
	r.m.NextTryAt, r.m.LastError, r.failed, r.lockedUntil = next.UTC().Truncate(time.Microsecond), lastError, failed, time.Time{}
	return nil
}

// OutboxStats implements storage.AccountStore.
func (s *Store) OutboxStats(context.Context) (storage.OutboxStats, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var st storage.OutboxStats
	for _, r := range s.outbox {
		if r.failed {
			st.Failed++
			continue
		}
		st.Pending++
		if st.OldestPending.IsZero() || r.m.CreatedAt.Before(st.OldestPending) {
			st.OldestPending = r.m.CreatedAt
		}
	}
	return st, nil
}

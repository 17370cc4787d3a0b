package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

var _ storage.AccountStore = (*Store)(nil)

const linkCols = `digest, purpose, coalesce(user_id::text, ''), coalesce(invitation_id::text, ''), email, expires_at, created_at`

func scanLink(row pgx.Row) (storage.LinkToken, error) {
	var t storage.LinkToken
	err := row.Scan(&t.Digest, &t.Purpose, &t.UserID, &t.InvitationID, &t.Email, &t.ExpiresAt, &t.CreatedAt)
	return t, err
}

// nullID is NULL for an empty id, so that the foreign keys do not apply.
func nullID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// insertLink stores t inside tx, replacing the user's earlier tokens of
// the same purpose.
func insertLink(ctx context.Context, tx pgx.Tx, realm string, t storage.LinkToken) error {
	what := "link token"
	if len(t.Digest) != 32 || !t.Purpose.Valid() || (t.UserID == "") == (t.InvitationID == "") ||
		(t.UserID != "" && !validID(t.UserID)) || (t.InvitationID != "" && !validID(t.InvitationID)) {
		return errorf(what, storage.ErrMissingReference)
	}
	if t.UserID != "" {
		if _, err := tx.Exec(ctx, `DELETE FROM link_tokens WHERE realm_id = $1 AND user_id = $2 AND purpose = $3`,
			realm, t.UserID, string(t.Purpose)); err != nil {
			return mapErr(err, what, false)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO link_tokens (digest, realm_id, purpose, user_id, invitation_id, email, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.Digest, realm, string(t.Purpose), nullID(t.UserID), nullID(t.InvitationID), t.Email, t.ExpiresAt)
	return mapErr(err, what, false)
}

func insertMail(ctx context.Context, tx pgx.Tx, realm string, m storage.Mail) error {
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	_, err := tx.Exec(ctx, `INSERT INTO mail_outbox (id, realm_id, recipient, subject, body_text, body_html, kind)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, m.ID, realm, m.To, m.Subject, m.Text, m.HTML, m.Kind)
	return mapErr(err, "mail", false)
}

// IssueLink implements storage.AccountStore.
func (s *Store) IssueLink(ctx context.Context, realm string, t storage.LinkToken, m storage.Mail) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := insertLink(ctx, tx, realm, t); err != nil {
			return err
		}
		return insertMail(ctx, tx, realm, m)
	})
}

// LookupLink implements storage.AccountStore.
func (s *Store) LookupLink(ctx context.Context, realm string, purpose storage.LinkPurpose, digest []byte, now time.Time) (storage.LinkToken, error) {
	t, err := scanLink(s.pool.QueryRow(ctx, `SELECT `+linkCols+` FROM link_tokens
		WHERE digest = $1 AND realm_id = $2 AND purpose = $3 AND expires_at > $4`, digest, realm, string(purpose), now))
	if err != nil {
		return storage.LinkToken{}, mapErr(err, "link token", false)
	}
	return checkDigest(t, digest)
}

// checkDigest compares the found token's digest with the one asked for
// in constant time: the index found it, this makes sure of it without a
// timing difference (docs/accounts.md).
func checkDigest(t storage.LinkToken, digest []byte) (storage.LinkToken, error) {
	if subtle.ConstantTimeCompare(t.Digest, digest) != 1 {
		return storage.LinkToken{}, errorf("link token", storage.ErrNotFound)
	}
	return t, nil
}

// SpendLink implements storage.AccountStore. The DELETE … RETURNING is
// the atomic step: of two concurrent spends only one deletes the row.
func (s *Store) SpendLink(ctx context.Context, realm string, purpose storage.LinkPurpose, digest []byte, now time.Time) (storage.LinkToken, error) {
	var out storage.LinkToken
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = spendLink(ctx, tx, realm, purpose, digest, now)
		if err != nil || out.UserID == "" {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM link_tokens WHERE realm_id = $1 AND user_id = $2 AND purpose = $3`,
			realm, out.UserID, string(purpose))
		return mapErr(err, "link token", false)
	})
	return out, err
}

func spendLink(ctx context.Context, tx pgx.Tx, realm string, purpose storage.LinkPurpose, digest []byte, now time.Time) (storage.LinkToken, error) {
	t, err := scanLink(tx.QueryRow(ctx, `DELETE FROM link_tokens
		WHERE digest = $1 AND realm_id = $2 AND purpose = $3 AND expires_at > $4 RETURNING `+linkCols,
		digest, realm, string(purpose), now))
	if err != nil {
		return storage.LinkToken{}, mapErr(err, "link token", false)
	}
	return checkDigest(t, digest)
}

const invitationCols = `id::text, email, group_ids::text[], inviter_id::text, allow_any_email, language, status,
	coalesce(accepted_by::text, ''), expires_at, created_at, updated_at`

func scanInvitation(row pgx.Row) (storage.Invitation, error) {
	var i storage.Invitation
	err := row.Scan(&i.ID, &i.Email, &i.Groups, &i.InviterID, &i.AllowAnyEmail, &i.Language, &i.Status,
		&i.AcceptedBy, &i.ExpiresAt, &i.CreatedAt, &i.UpdatedAt)
	i.Groups = nonNil(i.Groups)
	slices.Sort(i.Groups)
	return i, err
}

// CreateInvitation implements storage.AccountStore.
func (s *Store) CreateInvitation(ctx context.Context, a storage.Actor, realm string, inv storage.Invitation, t storage.LinkToken, m storage.Mail) (storage.Invitation, error) {
	if inv.ID == "" {
		inv.ID = uuid.NewString()
	}
	what := "invitation"
	if !validID(inv.ID) || !validID(inv.InviterID) {
		return storage.Invitation{}, errorf(what, storage.ErrMissingReference)
	}
	groups := sortedSet(inv.Groups)
	for _, g := range groups {
		if !validID(g) {
			return storage.Invitation{}, errorf("group "+g, storage.ErrMissingReference)
		}
	}
	var out storage.Invitation
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM groups WHERE realm_id = $1 AND id = ANY($2::uuid[])`, realm, groups).Scan(&n); err != nil {
			return mapErr(err, what, false)
		}
		if n != len(groups) {
			return errorf("group", storage.ErrMissingReference)
		}
		lang, err := canonicalLanguage(ctx, tx, realm, inv.Language)
		if err != nil {
			return missingRef(err, "language "+inv.Language)
		}
		out, err = scanInvitation(tx.QueryRow(ctx, `INSERT INTO invitations (id, realm_id, email, group_ids, inviter_id, allow_any_email, language, expires_at)
			VALUES ($1, $2, $3, $4::uuid[], $5, $6, $7, $8) RETURNING `+invitationCols,
			inv.ID, realm, inv.Email, groups, inv.InviterID, inv.AllowAnyEmail, lang, inv.ExpiresAt))
		if err != nil {
			return mapErr(err, what, false)
		}
		t.InvitationID, t.UserID = out.ID, ""
		if err := insertLink(ctx, tx, realm, t); err != nil {
			return err
		}
		if err := insertMail(ctx, tx, realm, m); err != nil {
			return err
		}
		return audit(ctx, tx, realm, a, storage.ActionInvitationCreate, storage.TargetInvitation, out.ID,
			map[string]string{"groups": strings.Join(out.Groups, ","), "allow_any_email": fmt.Sprint(out.AllowAnyEmail)})
	})
	return out, err
}

// GetInvitation implements storage.AccountStore.
func (s *Store) GetInvitation(ctx context.Context, realm, id string) (storage.Invitation, error) {
	if !validID(id) {
		return storage.Invitation{}, errorf("invitation "+id, storage.ErrNotFound)
	}
	i, err := scanInvitation(s.pool.QueryRow(ctx, `SELECT `+invitationCols+` FROM invitations WHERE realm_id = $1 AND id = $2`, realm, id))
	return i, mapErr(err, "invitation "+id, false)
}

// invitationCursor is the sort key of invitation lists: newest first,
// ties broken by id. The time is in microseconds, PostgreSQL's precision.
func invitationCursor(i storage.Invitation) string {
	return fmt.Sprintf("%d|%s", i.CreatedAt.UnixMicro(), i.ID)
}

func parseInvitationCursor(c string) (time.Time, string, error) {
	var micros int64
	var id string
	at, rest, ok := strings.Cut(c, "|")
	if !ok {
		return time.Time{}, "", errorf("cursor", storage.ErrInvalidCursor)
	}
	if _, err := fmt.Sscanf(at, "%d", &micros); err != nil || !validID(rest) {
		return time.Time{}, "", errorf("cursor", storage.ErrInvalidCursor)
	}
	id = rest
	return time.UnixMicro(micros), id, nil
}

// ListInvitations implements storage.AccountStore.
func (s *Store) ListInvitations(ctx context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Invitation], error) {
	cur, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.Invitation]{}, err
	}
	var beforeAt any
	beforeID := ""
	if cur != "" {
		at, id, err := parseInvitationCursor(cur)
		if err != nil {
			return storage.Page[storage.Invitation]{}, err
		}
		beforeAt, beforeID = at, id
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+invitationCols+` FROM invitations WHERE realm_id = $1
		AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $4`, realm, beforeAt, nullID(beforeID), limit+1)
	if err != nil {
		return storage.Page[storage.Invitation]{}, mapErr(err, "invitations", false)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Invitation, error) { return scanInvitation(r) })
	if err != nil {
		return storage.Page[storage.Invitation]{}, mapErr(err, "invitations", false)
	}
	return finishPage(items, limit, invitationCursor), nil
}

// RevokeInvitation implements storage.AccountStore.
func (s *Store) RevokeInvitation(ctx context.Context, a storage.Actor, realm, id string, now time.Time) error {
	what := "invitation " + id
	if !validID(id) {
		return errorf(what, storage.ErrNotFound)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		inv, err := scanInvitation(tx.QueryRow(ctx, `SELECT `+invitationCols+` FROM invitations
			WHERE realm_id = $1 AND id = $2 FOR UPDATE`, realm, id))
		if err != nil {
			return mapErr(err, what, false)
		}
		if inv.EffectiveStatus(now) != storage.InvitationPending {
			return errorf(what+" is "+string(inv.EffectiveStatus(now)), storage.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE invitations SET status = 'revoked', updated_at = now() WHERE realm_id = $1 AND id = $2`, realm, id); err != nil {
			return mapErr(err, what, false)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM link_tokens WHERE realm_id = $1 AND invitation_id = $2`, realm, id); err != nil {
			return mapErr(err, what, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionInvitationRevoke, storage.TargetInvitation, id, nil)
	})
}

// AcceptInvitation implements storage.AccountStore. The token's DELETE
// and the invitation's row lock make it atomic.
func (s *Store) AcceptInvitation(ctx context.Context, a storage.Actor, realm string, digest []byte, userID string, now time.Time) (storage.Invitation, error) {
	if !validID(userID) {
		return storage.Invitation{}, errorf("user "+userID, storage.ErrNotFound)
	}
	var out storage.Invitation
	err := s.tx(ctx, func(tx pgx.Tx) error {
		t, err := spendLink(ctx, tx, realm, storage.LinkInvite, digest, now)
		if err != nil {
			return err
		}
		what := "invitation " + t.InvitationID
		inv, err := scanInvitation(tx.QueryRow(ctx, `SELECT `+invitationCols+` FROM invitations
			WHERE realm_id = $1 AND id = $2 FOR UPDATE`, realm, t.InvitationID))
		if err != nil {
			return mapErr(err, what, false)
		}
		if inv.EffectiveStatus(now) != storage.InvitationPending {
			return errorf(what, storage.ErrNotFound)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE realm_id = $1 AND id = $2)`, realm, userID).Scan(&exists); err != nil {
			return mapErr(err, "user "+userID, false)
		}
		if !exists {
			return errorf("user "+userID, storage.ErrNotFound)
		}
		out, err = scanInvitation(tx.QueryRow(ctx, `UPDATE invitations SET status = 'accepted', accepted_by = $3, updated_at = now()
			WHERE realm_id = $1 AND id = $2 RETURNING `+invitationCols, realm, inv.ID, userID))
		if err != nil {
			if err = mapErr(err, what, false); errors.Is(err, storage.ErrMissingReference) {
				return errorf("user "+userID, storage.ErrNotFound)
			}
			return err
		}
		// Groups deleted since the invitation was made are skipped.
		if _, err := tx.Exec(ctx, `INSERT INTO group_members (realm_id, group_id, user_id)
			SELECT $1, g.id, $3 FROM groups g WHERE g.realm_id = $1 AND g.id = ANY($2::uuid[]) ON CONFLICT DO NOTHING`,
			realm, out.Groups, userID); err != nil {
			if err = mapErr(err, "user "+userID, false); errors.Is(err, storage.ErrMissingReference) {
				return errorf("user "+userID, storage.ErrNotFound)
			}
			return err
		}
		return audit(ctx, tx, realm, a, storage.ActionInvitationAccept, storage.TargetInvitation, out.ID,
			map[string]string{"user": userID, "groups": strings.Join(out.Groups, ",")})
	})
	return out, err
}

// EnqueueMail implements storage.AccountStore.
func (s *Store) EnqueueMail(ctx context.Context, realm string, m storage.Mail) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return insertMail(ctx, tx, realm, m) })
}

const mailCols = `id::text, recipient, subject, body_text, body_html, kind, attempts, next_try_at, last_error, created_at`

// ClaimMails implements storage.AccountStore. FOR UPDATE SKIP LOCKED lets
// nodes claim at once without waiting on each other's rows; the lease
// (locked_until) keeps a claimed mail from the others after the claiming
// transaction commits, while it is being sent.
func (s *Store) ClaimMails(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]storage.Mail, error) {
	rows, err := s.pool.Query(ctx, `UPDATE mail_outbox SET locked_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM mail_outbox
			WHERE NOT failed AND (next_try_at IS NULL OR next_try_at <= $1) AND (locked_until IS NULL OR locked_until <= $1)
			ORDER BY next_try_at NULLS FIRST, created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+mailCols, now, now.Add(lease), limit)
	if err != nil {
		return nil, mapErr(err, "outbox", false)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Mail, error) {
		var m storage.Mail
		var next *time.Time
		err := r.Scan(&m.ID, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Kind, &m.Attempts, &next, &m.LastError, &m.CreatedAt)
		if next != nil {
			m.NextTryAt = *next
		}
		return m, err
	})
	return out, mapErr(err, "outbox", false)
}

// DeleteMail implements storage.AccountStore.
func (s *Store) DeleteMail(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM mail_outbox WHERE id = $1`, id)
	return mapErr(err, "mail", false)
}

// RetryMail implements storage.AccountStore.
func (s *Store) RetryMail(ctx context.Context, id string, next time.Time, lastError string, failed bool) error {
	if !validID(id) {
		return errorf("mail "+id, storage.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE mail_outbox SET next_try_at = $2, last_error = $3, failed = $4, locked_until = NULL
		WHERE id = $1`, id, next, lastError, failed)
	if err == nil && tag.RowsAffected() == 0 {
		return errorf("mail "+id, storage.ErrNotFound)
	}
	return mapErr(err, "mail", false)
}

// OutboxStats implements storage.AccountStore.
func (s *Store) OutboxStats(ctx context.Context) (storage.OutboxStats, error) {
	var st storage.OutboxStats
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT failed), count(*) FILTER (WHERE failed),
		min(created_at) FILTER (WHERE NOT failed) FROM mail_outbox`).Scan(&st.Pending, &st.Failed, &oldest)
	if oldest != nil {
		st.OldestPending = *oldest
	}
	return st, mapErr(err, "outbox", false)
}

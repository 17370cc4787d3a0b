package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

// lockAdministrators locks the realm's administrators group (the one with
// all_resources) and returns its id, "" if the realm has none. Every
// transaction that could take away an active administrator (disabling,
// deleting, removing from the group) takes this lock before it reads
// anything, so that such transactions run one after the other and each
// counts the administrators the previous one left: two administrators
// removing each other at once cannot both succeed.
//
// FOR NO KEY UPDATE, not FOR UPDATE: it serialises these transactions all
// the same, but does not conflict with the FOR KEY SHARE locks that
// inserting a member takes on the group and on the user through the
// foreign keys. Additions only grow the set, so they need not wait; and
// were they to wait on the group while holding the user's key-share lock
// (which depends on the order the foreign-key checks run in), UpdateUser,
// which holds the group and then locks the user, would deadlock with them.
func lockAdministrators(ctx context.Context, tx pgx.Tx, realm string) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT id::text FROM groups WHERE realm_id = $1 AND all_resources FOR NO KEY UPDATE`, realm).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, mapErr(err, "administrators group", false)
}

// lastActiveAdmin reports whether userID is the only active member of the
// administrators group adminID. Callers hold lockAdministrators.
func lastActiveAdmin(ctx context.Context, tx pgx.Tx, realm, adminID, userID string) (bool, error) {
	if adminID == "" {
		return false, nil
	}
	var self bool
	var others int
	err := tx.QueryRow(ctx, `SELECT coalesce(bool_or(u.id = $3), false), count(*) FILTER (WHERE u.id <> $3)
		FROM group_members m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = $2 AND m.context_id IS NULL AND u.realm_id = $1 AND u.status = 'active'`, realm, adminID, userID).Scan(&self, &others)
	if err != nil {
		return false, mapErr(err, "administrators", false)
	}
	return self && others == 0, nil
}

// refuseLastAdmin returns ErrLastAdministrator if taking userID out of the
// active administrators would leave none. Callers hold lockAdministrators.
func refuseLastAdmin(ctx context.Context, tx pgx.Tx, realm, adminID, userID string) error {
	last, err := lastActiveAdmin(ctx, tx, realm, adminID, userID)
	if err != nil {
		return err
	}
	if last {
		return errorf("user "+userID, storage.ErrLastAdministrator)
	}
	return nil
}

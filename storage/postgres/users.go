package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

const userCols = `id::text, username, email, email_verified, display_name, language, status,
	password_kdf, password_iterations, password_salt, password_hash, created_at, updated_at`

// userListCols adds the canonical username, the sort key and cursor of
// user lists.
const userListCols = userCols + `, username_canonical`

// scanUser scans userCols, then the columns of extra.
func scanUser(row pgx.Row, extra ...any) (storage.User, error) {
	var u storage.User
	var kdf, hash *string
	var iterations *int
	var salt []byte
	err := row.Scan(append([]any{&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.DisplayName, &u.Language, &u.Status,
		&kdf, &iterations, &salt, &hash, &u.CreatedAt, &u.UpdatedAt}, extra...)...)
	if kdf != nil && iterations != nil && hash != nil {
		u.Password = &storage.PasswordVerifier{KDF: *kdf, Iterations: *iterations, Salt: salt, Hash: *hash}
	}
	return u, err
}

// passwordArgs returns the password columns of u, all NULL when it has
// none.
func passwordArgs(u storage.User) (kdf, iterations, salt, hash any) {
	if u.Password == nil {
		return nil, nil, nil, nil
	}
	return u.Password.KDF, u.Password.Iterations, u.Password.Salt, u.Password.Hash
}

// canonicalLanguage resolves a language code case-insensitively to its
// stored form, so that the foreign key matches.
func canonicalLanguage(ctx context.Context, q pgx.Tx, realm, code string) (string, error) {
	var c string
	err := q.QueryRow(ctx, `SELECT code FROM languages WHERE realm_id = $1 AND lower(code) = lower($2)`, realm, code).Scan(&c)
	if err == pgx.ErrNoRows {
		return "", mapErr(err, "language "+code, false)
	}
	if err != nil {
		return "", mapErr(err, "language "+code, false)
	}
	return c, nil
}

// CreateUser implements storage.UserStore.
func (s *Store) CreateUser(ctx context.Context, a storage.Actor, realm string, u storage.User, groups []string) (storage.User, error) {
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	if !validID(u.ID) {
		return storage.User{}, errorf("user id", storage.ErrMissingReference)
	}
	canonical, err := storage.CanonicalUsername(u.Username)
	if err != nil {
		return storage.User{}, fmt.Errorf("username %q: %w", u.Username, err)
	}
	var out storage.User
	err = s.tx(ctx, func(tx pgx.Tx) error {
		lang, err := canonicalLanguage(ctx, tx, realm, u.Language)
		if err != nil {
			return missingRef(err, "language "+u.Language)
		}
		kdf, it, salt, hash := passwordArgs(u)
		out, err = scanUser(tx.QueryRow(ctx, `INSERT INTO users (id, realm_id, username, username_canonical, email, display_name, language, status,
			password_kdf, password_iterations, password_salt, password_hash, email_verified) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING `+userCols,
			u.ID, realm, u.Username, canonical, u.Email, u.DisplayName, lang, string(u.Status), kdf, it, salt, hash, u.EmailVerified))
		if err != nil {
			return mapErr(err, "user "+u.Username, false)
		}
		if err := audit(ctx, tx, realm, a, storage.ActionUserCreate, storage.TargetUser, out.ID, map[string]string{"username": out.Username}); err != nil {
			return err
		}
		for _, g := range groups {
			if !validID(g) {
				return errorf("group "+g, storage.ErrMissingReference)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO group_members (realm_id, group_id, user_id) VALUES ($1, $2, $3)`, realm, g, out.ID); err != nil {
				return mapErr(err, "group "+g, false)
			}
			if err := audit(ctx, tx, realm, a, storage.ActionGroupMemberAdd, storage.TargetGroup, g, map[string]string{"user": out.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// GetUser implements storage.UserStore.
func (s *Store) GetUser(ctx context.Context, realm, id string) (storage.User, error) {
	if !validID(id) {
		return storage.User{}, errorf("user "+id, storage.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE realm_id = $1 AND id = $2`, realm, id))
	return u, mapErr(err, "user "+id, false)
}

// GetUserByUsername implements storage.UserStore.
func (s *Store) GetUserByUsername(ctx context.Context, realm, username string) (storage.User, error) {
	canonical, err := storage.CanonicalUsername(username)
	if err != nil {
		// A username without a canonical form names no account.
		return storage.User{}, errorf("user "+username, storage.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE realm_id = $1 AND username_canonical = $2`, realm, canonical))
	return u, mapErr(err, "user "+username, false)
}

// ListUsers implements storage.UserStore.
func (s *Store) ListUsers(ctx context.Context, realm string, f storage.UserFilter, opts storage.ListOptions) (storage.Page[storage.User], error) {
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.User]{}, err
	}
	if f.GroupID != "" && !validID(f.GroupID) {
		return storage.Page[storage.User]{Items: []storage.User{}}, nil
	}
	var group any
	if f.GroupID != "" {
		group = f.GroupID
	}
	username := ""
	if f.Username != "" {
		if username, err = storage.CanonicalUsername(f.Username); err != nil {
			return storage.Page[storage.User]{Items: []storage.User{}}, nil
		}
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+userListCols+` FROM users WHERE realm_id = $1
		AND ($2 = '' OR username_canonical = $2) AND ($3 = '' OR lower(email) = lower($3)) AND ($4 = '' OR status = $4)
		AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = $5 AND m.user_id = users.id AND m.context_id IS NULL))
		AND username_canonical COLLATE "C" > $6
		ORDER BY username_canonical COLLATE "C" LIMIT $7`,
		realm, username, f.Email, string(f.Status), group, after, limit+1)
	return collectUsers(rows, err, limit)
}

// collectUsers reads rows of userListCols, ordered by canonical username,
// into a page.
func collectUsers(rows pgx.Rows, err error, limit int) (storage.Page[storage.User], error) {
	if err != nil {
		return storage.Page[storage.User]{}, mapErr(err, "users", false)
	}
	type row struct {
		u         storage.User
		canonical string
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var out row
		var err error
		out.u, err = scanUser(r, &out.canonical)
		return out, err
	})
	if err != nil {
		return storage.Page[storage.User]{}, mapErr(err, "users", false)
	}
	p := finishPage(items, limit, func(r row) string { return r.canonical })
	out := storage.Page[storage.User]{Items: make([]storage.User, len(p.Items)), NextCursor: p.NextCursor}
	for i, r := range p.Items {
		out.Items[i] = r.u
	}
	return out, nil
}

// UpdateUser implements storage.UserStore.
func (s *Store) UpdateUser(ctx context.Context, a storage.Actor, realm, id string, fn func(*storage.User) error) (storage.User, error) {
	if !validID(id) {
		return storage.User{}, errorf("user "+id, storage.ErrNotFound)
	}
	var out storage.User
	err := s.tx(ctx, func(tx pgx.Tx) error {
		admins, err := lockAdministrators(ctx, tx, realm)
		if err != nil {
			return err
		}
		cur, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE realm_id = $1 AND id = $2 FOR UPDATE`, realm, id))
		if err != nil {
			return mapErr(err, "user "+id, false)
		}
		next := cur
		if cur.Password != nil {
			p := *cur.Password
			next.Password = &p
		}
		if err := fn(&next); err != nil {
			return err
		}
		canonical, err := storage.CanonicalUsername(next.Username)
		if err != nil {
			return fmt.Errorf("username %q: %w", next.Username, err)
		}
		if next.Status != storage.StatusActive {
			if err := refuseLastAdmin(ctx, tx, realm, admins, id); err != nil {
				return err
			}
		}
		lang, err := canonicalLanguage(ctx, tx, realm, next.Language)
		if err != nil {
			return missingRef(err, "language "+next.Language)
		}
		kdf, it, salt, hash := passwordArgs(next)
		out, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET username = $3, email = $4, display_name = $5, language = $6, status = $7,
			password_kdf = $8, password_iterations = $9, password_salt = $10, password_hash = $11, username_canonical = $12, email_verified = $13, updated_at = now()
			WHERE realm_id = $1 AND id = $2 RETURNING `+userCols,
			realm, id, next.Username, next.Email, next.DisplayName, lang, string(next.Status), kdf, it, salt, hash, canonical, next.EmailVerified))
		if err != nil {
			return mapErr(err, "user "+next.Username, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionUserUpdate, storage.TargetUser, id, storage.ChangeDetails(storage.UserChanges(cur, out)))
	})
	return out, err
}

// DeleteUser implements storage.UserStore.
func (s *Store) DeleteUser(ctx context.Context, a storage.Actor, realm, id string) error {
	if !validID(id) {
		return errorf("user "+id, storage.ErrNotFound)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		admins, err := lockAdministrators(ctx, tx, realm)
		if err != nil {
			return err
		}
		if err := refuseLastAdmin(ctx, tx, realm, admins, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM clients WHERE realm_id = $1 AND owner_id = $2 RETURNING client_id`, realm, id)
		if err != nil {
			return mapErr(err, "clients of user "+id, true)
		}
		owned, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return mapErr(err, "clients of user "+id, true)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE realm_id = $1 AND id = $2`, realm, id)
		if err != nil {
			return mapErr(err, "user "+id, true)
		}
		if tag.RowsAffected() == 0 {
			return errorf("user "+id, storage.ErrNotFound)
		}
		for _, c := range owned {
			if err := audit(ctx, tx, realm, a, storage.ActionClientDelete, storage.TargetClient, c, map[string]string{"reason": "owner deleted"}); err != nil {
				return err
			}
		}
		return audit(ctx, tx, realm, a, storage.ActionUserDelete, storage.TargetUser, id, nil)
	})
}

// UserGroups implements storage.UserStore.
func (s *Store) UserGroups(ctx context.Context, realm, userID string) ([]storage.Group, error) {
	if err := s.userExists(ctx, realm, userID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+groupCols+` FROM groups g JOIN group_members m ON m.group_id = g.id
		WHERE g.realm_id = $1 AND m.user_id = $2 AND m.context_id IS NULL ORDER BY lower(g.name) COLLATE "C"`, realm, userID)
	if err != nil {
		return nil, mapErr(err, "groups of user "+userID, false)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Group, error) { return scanGroup(r) })
}

// UserResources implements storage.UserStore.
func (s *Store) UserResources(ctx context.Context, realm, userID string) ([]storage.EffectiveResource, error) {
	return s.UserResourcesIn(ctx, realm, userID, "")
}

func (s *Store) userExists(ctx context.Context, realm, id string) error {
	if !validID(id) {
		return errorf("user "+id, storage.ErrNotFound)
	}
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM users WHERE realm_id = $1 AND id = $2`, realm, id).Scan(&one)
	return mapErr(err, "user "+id, false)
}

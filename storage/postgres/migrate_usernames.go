package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse/gatehouse/storage"
)

// canonicalUsernames is migration 2. It is written in Go because the
// canonical form is storage.CanonicalUsername (PRECIS UsernameCaseMapped,
// RFC 8265 §3.3), which SQL cannot compute; the migrations package
// imports no project code, so the migration lives here and is registered
// with the goose provider.
func canonicalUsernames() *goose.Migration {
	m := goose.NewGoMigration(2,
		&goose.GoFunc{RunTx: canonicalUsernamesUp},
		&goose.GoFunc{RunTx: canonicalUsernamesDown})
	m.Source = "00002_username_canonical.go"
	return m
}

// canonicalUsernamesUp adds users.username_canonical and makes it unique
// per realm in place of lower(username). Spellings that were distinct
// under lower() may share a canonical form (a fullwidth "ＡＬＩＣＥ" and
// "Alice"); such accounts are not merged, since which one should survive
// is an operator's decision. The migration then fails, naming every user
// involved, and changes nothing: it runs in one transaction.
func canonicalUsernamesUp(ctx context.Context, tx *sql.Tx) error {
	// ADD COLUMN takes an ACCESS EXCLUSIVE lock on users until commit, so
	// no node of the old version inserts a row after the rows are read.
	if _, err := tx.ExecContext(ctx, `ALTER TABLE users ADD COLUMN username_canonical text`); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id::text, realm_id, username FROM users ORDER BY realm_id, username, id`)
	if err != nil {
		return err
	}
	var users []usernameRow
	for rows.Next() {
		var u usernameRow
		if err := rows.Scan(&u.id, &u.realm, &u.username); err != nil {
			rows.Close()
			return err
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	ids, canonicals, err := canonicalize(users)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET username_canonical = v.canonical
		FROM unnest($1::uuid[], $2::text[]) AS v(id, canonical) WHERE users.id = v.id`, ids, canonicals); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `ALTER TABLE users ALTER COLUMN username_canonical SET NOT NULL;
		CREATE UNIQUE INDEX users_username_canonical ON users (realm_id, username_canonical);
		DROP INDEX users_username_ci`)
	return err
}

func canonicalUsernamesDown(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `CREATE UNIQUE INDEX users_username_ci ON users (realm_id, lower(username));
		ALTER TABLE users DROP COLUMN username_canonical`)
	return err
}

type usernameRow struct{ id, realm, username string }

// canonicalize returns the canonical username of every row, or an error
// that lists every row without a canonical form and every set of rows of
// one realm that share one.
func canonicalize(users []usernameRow) (ids, canonicals []string, err error) {
	type realmName struct{ realm, canonical string }
	owners := map[realmName][]usernameRow{}
	var order []realmName
	var problems []string
	for _, u := range users {
		c, err := storage.CanonicalUsername(u.username)
		if err != nil {
			problems = append(problems, fmt.Sprintf("realm %q: user %s %q has no canonical form", u.realm, u.id, u.username))
			continue
		}
		k := realmName{u.realm, c}
		if len(owners[k]) == 0 {
			order = append(order, k)
		}
		owners[k] = append(owners[k], u)
		ids, canonicals = append(ids, u.id), append(canonicals, c)
	}
	for _, k := range order {
		if same := owners[k]; len(same) > 1 {
			names := make([]string, len(same))
			for i, u := range same {
				names[i] = fmt.Sprintf("user %s %q", u.id, u.username)
			}
			problems = append(problems, fmt.Sprintf("realm %q: %s are one username (%q)", k.realm, strings.Join(names, ", "), k.canonical))
		}
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("usernames must be unique under PRECIS UsernameCaseMapped (RFC 8265 §3.3); rename these users and migrate again, nothing was changed: %s",
			strings.Join(problems, "; "))
	}
	return ids, canonicals, nil
}

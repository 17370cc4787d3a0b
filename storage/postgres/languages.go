package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

const languageCols = `code, name, created_at, updated_at`

func scanLanguage(row pgx.Row) (storage.Language, error) {
	var l storage.Language
	err := row.Scan(&l.Code, &l.Name, &l.CreatedAt, &l.UpdatedAt)
	return l, err
}

// CreateLanguage implements storage.LanguageStore.
func (s *Store) CreateLanguage(ctx context.Context, a storage.Actor, realm string, l storage.Language) (storage.Language, error) {
	var out storage.Language
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanLanguage(tx.QueryRow(ctx, `INSERT INTO languages (realm_id, code, name) VALUES ($1, $2, $3) RETURNING `+languageCols, realm, l.Code, l.Name))
		if err != nil {
			return mapErr(err, "language "+l.Code, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionLanguageCreate, storage.TargetLanguage, out.Code, map[string]string{"name": out.Name})
	})
	return out, err
}

// GetLanguage implements storage.LanguageStore.
func (s *Store) GetLanguage(ctx context.Context, realm, code string) (storage.Language, error) {
	l, err := scanLanguage(s.pool.QueryRow(ctx, `SELECT `+languageCols+` FROM languages WHERE realm_id = $1 AND lower(code) = lower($2)`, realm, code))
	return l, mapErr(err, "language "+code, false)
}

// ListLanguages implements storage.LanguageStore.
func (s *Store) ListLanguages(ctx context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Language], error) {
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.Language]{}, err
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+languageCols+` FROM languages WHERE realm_id = $1 AND lower(code) COLLATE "C" > $2
		ORDER BY lower(code) COLLATE "C" LIMIT $3`, realm, after, limit+1)
	if err != nil {
		return storage.Page[storage.Language]{}, mapErr(err, "languages", false)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Language, error) { return scanLanguage(r) })
	if err != nil {
		return storage.Page[storage.Language]{}, mapErr(err, "languages", false)
	}
	return finishPage(items, limit, func(l storage.Language) string { return lowerASCII(l.Code) }), nil
}

// UpdateLanguage implements storage.LanguageStore.
func (s *Store) UpdateLanguage(ctx context.Context, a storage.Actor, realm, code string, fn func(*storage.Language) error) (storage.Language, error) {
	var out storage.Language
	err := s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := scanLanguage(tx.QueryRow(ctx, `SELECT `+languageCols+` FROM languages WHERE realm_id = $1 AND lower(code) = lower($2) FOR UPDATE`, realm, code))
		if err != nil {
			return mapErr(err, "language "+code, false)
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		out, err = scanLanguage(tx.QueryRow(ctx, `UPDATE languages SET name = $3, updated_at = now() WHERE realm_id = $1 AND code = $2 RETURNING `+languageCols, realm, cur.Code, next.Name))
		if err != nil {
			return mapErr(err, "language "+code, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionLanguageUpdate, storage.TargetLanguage, cur.Code, map[string]string{"name": out.Name})
	})
	return out, err
}

// DeleteLanguage implements storage.LanguageStore.
func (s *Store) DeleteLanguage(ctx context.Context, a storage.Actor, realm, code string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var canonical string
		err := tx.QueryRow(ctx, `DELETE FROM languages WHERE realm_id = $1 AND lower(code) = lower($2) RETURNING code`, realm, code).Scan(&canonical)
		if err != nil {
			return mapErr(err, "language "+code, true)
		}
		return audit(ctx, tx, realm, a, storage.ActionLanguageDelete, storage.TargetLanguage, canonical, nil)
	})
}

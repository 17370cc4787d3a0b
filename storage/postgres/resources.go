package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

const resourceCols = `name, description, built_in, created_at, updated_at`

func scanResource(row pgx.Row) (storage.Resource, error) {
	var r storage.Resource
	err := row.Scan(&r.Name, &r.Description, &r.BuiltIn, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// CreateResource implements storage.ResourceStore.
func (s *Store) CreateResource(ctx context.Context, a storage.Actor, realm string, r storage.Resource) (storage.Resource, error) {
	var out storage.Resource
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanResource(tx.QueryRow(ctx, `INSERT INTO resources (realm_id, name, description) VALUES ($1, $2, $3) RETURNING `+resourceCols,
			realm, r.Name, r.Description))
		if err != nil {
			return mapErr(err, "resource "+r.Name, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionResourceCreate, storage.TargetResource, out.Name, nil)
	})
	return out, err
}

// GetResource implements storage.ResourceStore.
func (s *Store) GetResource(ctx context.Context, realm, name string) (storage.Resource, error) {
	r, err := scanResource(s.pool.QueryRow(ctx, `SELECT `+resourceCols+` FROM resources WHERE realm_id = $1 AND name = $2`, realm, name))
	return r, mapErr(err, "resource "+name, false)
}

// ListResources implements storage.ResourceStore.
func (s *Store) ListResources(ctx context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Resource], error) {
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.Resource]{}, err
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+resourceCols+` FROM resources WHERE realm_id = $1 AND name COLLATE "C" > $2
		ORDER BY name COLLATE "C" LIMIT $3`, realm, after, limit+1)
	if err != nil {
		return storage.Page[storage.Resource]{}, mapErr(err, "resources", false)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Resource, error) { return scanResource(r) })
	if err != nil {
		return storage.Page[storage.Resource]{}, mapErr(err, "resources", false)
	}
	return finishPage(items, limit, func(r storage.Resource) string { return r.Name }), nil
}

// UpdateResource implements storage.ResourceStore.
func (s *Store) UpdateResource(ctx context.Context, a storage.Actor, realm, name string, fn func(*storage.Resource) error) (storage.Resource, error) {
	var out storage.Resource
	err := s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := scanResource(tx.QueryRow(ctx, `SELECT `+resourceCols+` FROM resources WHERE realm_id = $1 AND name = $2 FOR UPDATE`, realm, name))
		if err != nil {
			return mapErr(err, "resource "+name, false)
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		out, err = scanResource(tx.QueryRow(ctx, `UPDATE resources SET description = $3, updated_at = now() WHERE realm_id = $1 AND name = $2 RETURNING `+resourceCols,
			realm, name, next.Description))
		if err != nil {
			return mapErr(err, "resource "+name, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionResourceUpdate, storage.TargetResource, name, storage.ChangeDetails([]string{"description"}))
	})
	return out, err
}

// DeleteResource implements storage.ResourceStore.
func (s *Store) DeleteResource(ctx context.Context, a storage.Actor, realm, name string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var builtIn bool
		err := tx.QueryRow(ctx, `SELECT built_in FROM resources WHERE realm_id = $1 AND name = $2 FOR UPDATE`, realm, name).Scan(&builtIn)
		if err != nil {
			return mapErr(err, "resource "+name, false)
		}
		if builtIn {
			return errorf("resource "+name+" is built in", storage.ErrInUse)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM resources WHERE realm_id = $1 AND name = $2`, realm, name); err != nil {
			return mapErr(err, "resource "+name, true)
		}
		return audit(ctx, tx, realm, a, storage.ActionResourceDelete, storage.TargetResource, name, nil)
	})
}

package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

const groupCols = `g.id::text, g.name, g.description, g.all_resources, g.built_in,
	ARRAY(SELECT gr.resource FROM group_resources gr WHERE gr.group_id = g.id ORDER BY gr.resource COLLATE "C"),
	ARRAY(SELECT gi.included_id::text FROM group_includes gi WHERE gi.group_id = g.id ORDER BY gi.included_id::text COLLATE "C"),
	coalesce(g.managed_by, ''), g.created_at, g.updated_at`

func scanGroup(row pgx.Row) (storage.Group, error) {
	var g storage.Group
	err := row.Scan(&g.ID, &g.Name, &g.Description, &g.AllResources, &g.BuiltIn, &g.Resources, &g.Includes, &g.ManagedBy, &g.CreatedAt, &g.UpdatedAt)
	g.Resources, g.Includes = nonNil(g.Resources), nonNil(g.Includes)
	return g, err
}

func (s *Store) getGroup(ctx context.Context, q pgx.Tx, realm, id string, lock bool) (storage.Group, error) {
	if !validID(id) {
		return storage.Group{}, errorf("group "+id, storage.ErrNotFound)
	}
	if lock {
		// Lock first, read after: in READ COMMITTED a later statement sees
		// what the transaction that held the lock committed, including the
		// grants the read gathers from another table.
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM groups WHERE realm_id = $1 AND id = $2 FOR UPDATE`, realm, id).Scan(&one); err != nil {
			return storage.Group{}, mapErr(err, "group "+id, false)
		}
	}
	sql := `SELECT ` + groupCols + ` FROM groups g WHERE g.realm_id = $1 AND g.id = $2`
	var row pgx.Row
	if q != nil {
		row = q.QueryRow(ctx, sql, realm, id)
	} else {
		row = s.pool.QueryRow(ctx, sql, realm, id)
	}
	g, err := scanGroup(row)
	return g, mapErr(err, "group "+id, false)
}

// setGroupResources replaces a group's grants inside tx.
func setGroupResources(ctx context.Context, tx pgx.Tx, realm, id string, resources []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM group_resources WHERE group_id = $1`, id); err != nil {
		return mapErr(err, "group "+id, false)
	}
	_, err := tx.Exec(ctx, `INSERT INTO group_resources (realm_id, group_id, resource) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`,
		realm, id, resources)
	return mapErr(err, "resources of group "+id, false)
}

// CreateGroup implements storage.GroupStore.
func (s *Store) CreateGroup(ctx context.Context, a storage.Actor, realm string, g storage.Group) (storage.Group, error) {
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	var out storage.Group
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO groups (id, realm_id, name, description, managed_by) VALUES ($1, $2, $3, $4, $5)`,
			g.ID, realm, g.Name, g.Description, nullIfEmpty(g.ManagedBy)); err != nil {
			return mapErr(err, "group "+g.Name, false)
		}
		if err := setGroupResources(ctx, tx, realm, g.ID, g.Resources); err != nil {
			return err
		}
		if err := setGroupIncludes(ctx, tx, realm, g.ID, g.Includes); err != nil {
			return err
		}
		var err error
		if out, err = s.getGroup(ctx, tx, realm, g.ID, false); err != nil {
			return err
		}
		return audit(ctx, tx, realm, a, storage.ActionGroupCreate, storage.TargetGroup, g.ID, map[string]string{"name": g.Name, "resources": strings.Join(out.Resources, " ")})
	})
	return out, err
}

// GetGroup implements storage.GroupStore.
func (s *Store) GetGroup(ctx context.Context, realm, id string) (storage.Group, error) {
	return s.getGroup(ctx, nil, realm, id, false)
}

// GetGroupByName implements storage.GroupStore.
func (s *Store) GetGroupByName(ctx context.Context, realm, name string) (storage.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.realm_id = $1 AND lower(g.name) = lower($2)`, realm, name))
	return g, mapErr(err, "group "+name, false)
}

// ListGroups implements storage.GroupStore.
func (s *Store) ListGroups(ctx context.Context, realm string, opts storage.ListOptions) (storage.Page[storage.Group], error) {
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.Group]{}, err
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.realm_id = $1 AND lower(g.name) COLLATE "C" > $2
		ORDER BY lower(g.name) COLLATE "C" LIMIT $3`, realm, after, limit+1)
	if err != nil {
		return storage.Page[storage.Group]{}, mapErr(err, "groups", false)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Group, error) { return scanGroup(r) })
	if err != nil {
		return storage.Page[storage.Group]{}, mapErr(err, "groups", false)
	}
	return finishPage(items, limit, func(g storage.Group) string { return strings.ToLower(g.Name) }), nil
}

// UpdateGroup implements storage.GroupStore.
func (s *Store) UpdateGroup(ctx context.Context, a storage.Actor, realm, id string, fn func(*storage.Group) error) (storage.Group, error) {
	var out storage.Group
	err := s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := s.getGroup(ctx, tx, realm, id, true)
		if err != nil {
			return err
		}
		next := cur
		next.Resources, next.Includes = slices.Clone(cur.Resources), slices.Clone(cur.Includes)
		if err := fn(&next); err != nil {
			return err
		}
		if cur.BuiltIn && !strings.EqualFold(cur.Name, next.Name) {
			return errorf("group "+cur.Name+" is built in and cannot be renamed", storage.ErrInUse)
		}
		if _, err := tx.Exec(ctx, `UPDATE groups SET name = $3, description = $4, managed_by = $5, updated_at = now() WHERE realm_id = $1 AND id = $2`,
			realm, id, next.Name, next.Description, nullIfEmpty(next.ManagedBy)); err != nil {
			return mapErr(err, "group "+next.Name, false)
		}
		if err := setGroupResources(ctx, tx, realm, id, next.Resources); err != nil {
			return err
		}
		if !slices.Equal(sortedSet(next.Includes), cur.Includes) {
			if err := setGroupIncludes(ctx, tx, realm, id, next.Includes); err != nil {
				return err
			}
		}
		if out, err = s.getGroup(ctx, tx, realm, id, false); err != nil {
			return err
		}
		return audit(ctx, tx, realm, a, storage.ActionGroupUpdate, storage.TargetGroup, id, storage.ChangeDetails(storage.GroupChanges(cur, out)))
	})
	return out, err
}

// DeleteGroup implements storage.GroupStore.
func (s *Store) DeleteGroup(ctx context.Context, a storage.Actor, realm, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		g, err := s.getGroup(ctx, tx, realm, id, true)
		if err != nil {
			return err
		}
		if g.BuiltIn {
			return errorf("group "+g.Name+" is built in", storage.ErrInUse)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM groups WHERE realm_id = $1 AND id = $2`, realm, id); err != nil {
			return mapErr(err, "group "+id, true)
		}
		return audit(ctx, tx, realm, a, storage.ActionGroupDelete, storage.TargetGroup, id, map[string]string{"name": g.Name})
	})
}

// AddGroupMember implements storage.GroupStore.
func (s *Store) AddGroupMember(ctx context.Context, a storage.Actor, realm, groupID, userID string) error {
	return s.link(ctx, a, realm, groupID, "user", userID, storage.ActionGroupMemberAdd,
		`INSERT INTO group_members (realm_id, group_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`)
}

// RemoveGroupMember implements storage.GroupStore.
func (s *Store) RemoveGroupMember(ctx context.Context, a storage.Actor, realm, groupID, userID string) error {
	return s.link(ctx, a, realm, groupID, "user", userID, storage.ActionGroupMemberRemove,
		`DELETE FROM group_members WHERE realm_id = $1 AND group_id = $2 AND user_id = $3 AND context_id IS NULL`)
}

// GrantGroupResource implements storage.GroupStore.
func (s *Store) GrantGroupResource(ctx context.Context, a storage.Actor, realm, groupID, resource string) error {
	return s.link(ctx, a, realm, groupID, "resource", resource, storage.ActionGroupResourceGrant,
		`INSERT INTO group_resources (realm_id, group_id, resource) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`)
}

// RevokeGroupResource implements storage.GroupStore.
func (s *Store) RevokeGroupResource(ctx context.Context, a storage.Actor, realm, groupID, resource string) error {
	return s.link(ctx, a, realm, groupID, "resource", resource, storage.ActionGroupResourceRevoke,
		`DELETE FROM group_resources WHERE realm_id = $1 AND group_id = $2 AND resource = $3`)
}

// link adds or removes a membership or grant idempotently: ErrNotFound if
// the group or the other side does not exist, an audit row only when
// something changed.
// Removing a member takes the administrators lock first (see
// lockAdministrators).
func (s *Store) link(ctx context.Context, a storage.Actor, realm, groupID, kind, other, action, sql string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		removesMember := action == storage.ActionGroupMemberRemove
		var admins string
		if removesMember {
			var err error
			if admins, err = lockAdministrators(ctx, tx, realm); err != nil {
				return err
			}
		}
		if _, err := s.getGroup(ctx, tx, realm, groupID, false); err != nil {
			return err
		}
		exists := `SELECT 1 FROM resources WHERE realm_id = $1 AND name = $2`
		if kind == "user" {
			if !validID(other) {
				return errorf("user "+other, storage.ErrNotFound)
			}
			exists = `SELECT 1 FROM users WHERE realm_id = $1 AND id = $2`
		}
		var one int
		if err := tx.QueryRow(ctx, exists, realm, other).Scan(&one); err != nil {
			return mapErr(err, kind+" "+other, false)
		}
		if removesMember && strings.EqualFold(groupID, admins) {
			if err := refuseLastAdmin(ctx, tx, realm, admins, other); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, sql, realm, groupID, other)
		if err != nil {
			return mapErr(err, "group "+groupID, false)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		if kind == "resource" {
			if _, err := tx.Exec(ctx, `UPDATE groups SET updated_at = now() WHERE id = $1`, groupID); err != nil {
				return mapErr(err, "group "+groupID, false)
			}
		}
		return audit(ctx, tx, realm, a, action, storage.TargetGroup, groupID, map[string]string{kind: other})
	})
}

// ListGroupMembers implements storage.GroupStore.
func (s *Store) ListGroupMembers(ctx context.Context, realm, groupID string, opts storage.ListOptions) (storage.Page[storage.User], error) {
	if _, err := s.GetGroup(ctx, realm, groupID); err != nil {
		return storage.Page[storage.User]{}, err
	}
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.User]{}, err
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+userListCols+` FROM users JOIN group_members m ON m.user_id = users.id
		WHERE users.realm_id = $1 AND m.group_id = $2 AND m.context_id IS NULL AND username_canonical COLLATE "C" > $3
		ORDER BY username_canonical COLLATE "C" LIMIT $4`, realm, groupID, after, limit+1)
	return collectUsers(rows, err, limit)
}

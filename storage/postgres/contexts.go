package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

const contextCols = `id, name, kind, coalesce(parent_id, ''), created_at, updated_at`

func scanContext(row pgx.Row) (storage.Context, error) {
	var c storage.Context
	err := row.Scan(&c.ID, &c.Name, &c.Kind, &c.ParentID, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// lockTree serialises the changes of the realm's context tree that
// depth and cycles are decided on (create, move), and those of its group
// inclusion graph, each under its own transaction-scoped advisory lock:
// two moves that are each fine alone cannot together make a cycle.
func lockTree(ctx context.Context, tx pgx.Tx, realm, what string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "gatehouse "+what+" "+realm)
	return mapErr(err, what+" lock", false)
}

// contextPath is ContextPath on q.
func contextPath(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, realm, id string) ([]string, error) {
	rows, err := q.Query(ctx, `WITH RECURSIVE p(id, parent_id, depth) AS (
			SELECT id, parent_id, 1 FROM contexts WHERE realm_id = $1 AND id = $2
			UNION ALL
			SELECT c.id, c.parent_id, p.depth + 1 FROM contexts c JOIN p ON c.realm_id = $1 AND c.id = p.parent_id
			WHERE p.depth < $3)
		SELECT id FROM p ORDER BY depth`, realm, id, storage.MaxContextDepth)
	if err != nil {
		return nil, mapErr(err, "context "+id, false)
	}
	path, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapErr(err, "context "+id, false)
	}
	if len(path) == 0 {
		return nil, errorf("context "+id, storage.ErrNotFound)
	}
	return path, nil
}

// CreateContext implements storage.ContextStore.
func (s *Store) CreateContext(ctx context.Context, a storage.Actor, realm string, c storage.Context) (storage.Context, error) {
	var out storage.Context
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := lockTree(ctx, tx, realm, "contexts"); err != nil {
			return err
		}
		if c.ParentID != "" {
			path, err := contextPath(ctx, tx, realm, c.ParentID)
			if err != nil {
				return missingRef(err, "parent "+c.ParentID)
			}
			if len(path)+1 > storage.MaxContextDepth {
				return errorf("context "+c.ID+" too deep", storage.ErrHierarchy)
			}
		}
		var err error
		out, err = scanContext(tx.QueryRow(ctx, `INSERT INTO contexts (realm_id, id, name, kind, parent_id) VALUES ($1, $2, $3, $4, $5)
			RETURNING `+contextCols, realm, c.ID, c.Name, c.Kind, nullIfEmpty(c.ParentID)))
		if err != nil {
			return mapErr(err, "context "+c.ID, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionContextCreate, storage.TargetContext, c.ID,
			map[string]string{"name": c.Name, "kind": c.Kind, "parent": c.ParentID})
	})
	return out, err
}

// GetContext implements storage.ContextStore.
func (s *Store) GetContext(ctx context.Context, realm, id string) (storage.Context, error) {
	c, err := scanContext(s.pool.QueryRow(ctx, `SELECT `+contextCols+` FROM contexts WHERE realm_id = $1 AND id = $2`, realm, id))
	return c, mapErr(err, "context "+id, false)
}

// ListContexts implements storage.ContextStore.
func (s *Store) ListContexts(ctx context.Context, realm, parent string, opts storage.ListOptions) (storage.Page[storage.Context], error) {
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.Context]{}, err
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+contextCols+` FROM contexts WHERE realm_id = $1 AND ($2 = '' OR parent_id = $2)
		AND id COLLATE "C" > $3 ORDER BY id COLLATE "C" LIMIT $4`, realm, parent, after, limit+1)
	if err != nil {
		return storage.Page[storage.Context]{}, mapErr(err, "contexts", false)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Context, error) { return scanContext(r) })
	if err != nil {
		return storage.Page[storage.Context]{}, mapErr(err, "contexts", false)
	}
	return finishPage(items, limit, func(c storage.Context) string { return c.ID }), nil
}

// UpdateContext implements storage.ContextStore.
func (s *Store) UpdateContext(ctx context.Context, a storage.Actor, realm, id string, fn func(*storage.Context) error) (storage.Context, error) {
	var out storage.Context
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := lockTree(ctx, tx, realm, "contexts"); err != nil {
			return err
		}
		cur, err := scanContext(tx.QueryRow(ctx, `SELECT `+contextCols+` FROM contexts WHERE realm_id = $1 AND id = $2 FOR UPDATE`, realm, id))
		if err != nil {
			return mapErr(err, "context "+id, false)
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		if next.ParentID != cur.ParentID && next.ParentID != "" {
			path, err := contextPath(ctx, tx, realm, next.ParentID)
			if err != nil {
				return missingRef(err, "parent "+next.ParentID)
			}
			for _, p := range path {
				if p == id {
					return errorf("context "+id+" below itself", storage.ErrHierarchy)
				}
			}
			var height int
			if err := tx.QueryRow(ctx, `WITH RECURSIVE d(id, depth) AS (
					SELECT id, 1 FROM contexts WHERE realm_id = $1 AND id = $2
					UNION ALL
					SELECT c.id, d.depth + 1 FROM contexts c JOIN d ON c.realm_id = $1 AND c.parent_id = d.id WHERE d.depth <= $3)
				SELECT max(depth) FROM d`, realm, id, storage.MaxContextDepth).Scan(&height); err != nil {
				return mapErr(err, "context "+id, false)
			}
			if len(path)+height > storage.MaxContextDepth {
				return errorf("context "+id+" too deep", storage.ErrHierarchy)
			}
		}
		out, err = scanContext(tx.QueryRow(ctx, `UPDATE contexts SET name = $3, kind = $4, parent_id = $5, updated_at = now()
			WHERE realm_id = $1 AND id = $2 RETURNING `+contextCols, realm, id, next.Name, next.Kind, nullIfEmpty(next.ParentID)))
		if err != nil {
			return mapErr(err, "context "+id, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionContextUpdate, storage.TargetContext, id, storage.ChangeDetails(storage.ContextChanges(cur, out)))
	})
	return out, err
}

// DeleteContext implements storage.ContextStore. Children, memberships
// and bound clients refer to the context without cascading, so the
// delete fails (ErrInUse) while any remains.
func (s *Store) DeleteContext(ctx context.Context, a storage.Actor, realm, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `DELETE FROM contexts WHERE realm_id = $1 AND id = $2 RETURNING name`, realm, id).Scan(&name)
		if err != nil {
			return mapErr(err, "context "+id, true)
		}
		return audit(ctx, tx, realm, a, storage.ActionContextDelete, storage.TargetContext, id, map[string]string{"name": name})
	})
}

// ContextPath implements storage.ContextStore.
func (s *Store) ContextPath(ctx context.Context, realm, id string) ([]string, error) {
	return contextPath(ctx, s.pool, realm, id)
}

// ListContextMembers implements storage.ContextStore.
func (s *Store) ListContextMembers(ctx context.Context, realm, id string, opts storage.ListOptions) (storage.Page[storage.User], error) {
	path, err := s.ContextPath(ctx, realm, id)
	if err != nil {
		return storage.Page[storage.User]{}, err
	}
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.User]{}, err
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+userListCols+` FROM users WHERE realm_id = $1
		AND EXISTS (SELECT 1 FROM group_members m WHERE m.user_id = users.id AND m.realm_id = $1 AND m.context_id = ANY($2))
		AND username_canonical COLLATE "C" > $3
		ORDER BY username_canonical COLLATE "C" LIMIT $4`, realm, path, after, limit+1)
	return collectUsers(rows, err, limit)
}

// AddGroupMemberIn implements storage.ContextStore.
func (s *Store) AddGroupMemberIn(ctx context.Context, a storage.Actor, realm, contextID, groupID, userID string) error {
	if contextID == "" {
		return s.AddGroupMember(ctx, a, realm, groupID, userID)
	}
	return s.memberIn(ctx, a, realm, contextID, groupID, userID, storage.ActionGroupMemberAdd,
		`INSERT INTO group_members (realm_id, group_id, user_id, context_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`)
}

// RemoveGroupMemberIn implements storage.ContextStore.
func (s *Store) RemoveGroupMemberIn(ctx context.Context, a storage.Actor, realm, contextID, groupID, userID string) error {
	if contextID == "" {
		return s.RemoveGroupMember(ctx, a, realm, groupID, userID)
	}
	return s.memberIn(ctx, a, realm, contextID, groupID, userID, storage.ActionGroupMemberRemove,
		`DELETE FROM group_members WHERE realm_id = $1 AND group_id = $2 AND user_id = $3 AND context_id = $4`)
}

// memberIn adds or removes a membership in a context idempotently, like
// link. A membership in a context never makes anyone an administrator of
// the realm, so the last-administrator rule does not apply.
func (s *Store) memberIn(ctx context.Context, a storage.Actor, realm, contextID, groupID, userID, action, sql string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := s.getGroup(ctx, tx, realm, groupID, false); err != nil {
			return err
		}
		if !validID(userID) {
			return errorf("user "+userID, storage.ErrNotFound)
		}
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE realm_id = $1 AND id = $2`, realm, userID).Scan(&one); err != nil {
			return mapErr(err, "user "+userID, false)
		}
		if err := tx.QueryRow(ctx, `SELECT 1 FROM contexts WHERE realm_id = $1 AND id = $2 FOR KEY SHARE`, realm, contextID).Scan(&one); err != nil {
			return mapErr(err, "context "+contextID, false)
		}
		tag, err := tx.Exec(ctx, sql, realm, groupID, userID, contextID)
		if err != nil {
			return mapErr(err, "group "+groupID, false)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return audit(ctx, tx, realm, a, action, storage.TargetGroup, groupID, map[string]string{"user": userID, "context": contextID})
	})
}

// UserMemberships implements storage.ContextStore.
func (s *Store) UserMemberships(ctx context.Context, realm, userID string) ([]storage.Membership, error) {
	if err := s.userExists(ctx, realm, userID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT group_id::text, user_id::text, coalesce(context_id, '') FROM group_members
		WHERE realm_id = $1 AND user_id = $2 ORDER BY coalesce(context_id, '') COLLATE "C", group_id::text COLLATE "C"`, realm, userID)
	if err != nil {
		return nil, mapErr(err, "memberships of user "+userID, false)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[storage.Membership])
	if err != nil {
		return nil, mapErr(err, "memberships of user "+userID, false)
	}
	if out == nil {
		out = []storage.Membership{}
	}
	return out, nil
}

// UserResourcesIn implements storage.ContextStore. One round trip reads
// everything that applies — the context's path, the memberships there,
// above it and realm-wide, the groups they reach through inclusion with
// their grants, and the realm's resources only if one of those groups
// has AllResources — and storage.Effective computes the rest, as in the
// memory store. A user without memberships costs a second query, to tell
// them from a missing one.
func (s *Store) UserResourcesIn(ctx context.Context, realm, userID, contextID string) ([]storage.EffectiveResource, error) {
	if !validID(userID) {
		return nil, errorf("user "+userID, storage.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, userResourcesSQL, realm, userID, contextID, storage.MaxContextDepth, storage.MaxInclusionDepth)
	if err != nil {
		return nil, mapErr(err, "resources of user "+userID, false)
	}
	var ms []storage.Membership
	groups := map[string]storage.GroupGrants{}
	var all []string
	pathFound := false
	var kind, id, other string
	var g storage.GroupGrants
	_, err = pgx.ForEachRow(rows, []any{&kind, &id, &other, &g.AllResources, &g.Resources, &g.Includes}, func() error {
		switch kind {
		case "p":
			pathFound = true
		case "m":
			ms = append(ms, storage.Membership{GroupID: id, UserID: userID, ContextID: other})
		case "g":
			groups[id] = storage.GroupGrants{AllResources: g.AllResources, Resources: g.Resources, Includes: g.Includes}
		case "a":
			all = append(all, id)
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err, "resources of user "+userID, false)
	}
	if contextID != "" && !pathFound {
		return nil, errorf("context "+contextID, storage.ErrNotFound)
	}
	if len(ms) == 0 {
		return []storage.EffectiveResource{}, s.userExists(ctx, realm, userID)
	}
	return storage.Effective(ms, groups, all), nil
}

// userResourcesSQL is the one query of UserResourcesIn: rows of kind p
// (the context's path), m (a membership: group, context), g (a group
// reached: id, AllResources, resources, includes) and a (a resource of
// the realm, when a group reached has AllResources).
const userResourcesSQL = `WITH RECURSIVE p(id, parent_id, depth) AS (
		SELECT id, parent_id, 1 FROM contexts WHERE realm_id = $1 AND id = $3
		UNION ALL
		SELECT c.id, c.parent_id, p.depth + 1 FROM contexts c JOIN p ON c.realm_id = $1 AND c.id = p.parent_id WHERE p.depth < $4
	), m AS (
		SELECT group_id, coalesce(context_id, '') AS context_id FROM group_members
		WHERE realm_id = $1 AND user_id = $2 AND (context_id IS NULL OR context_id IN (SELECT id FROM p))
	), r(id, depth) AS (
		SELECT group_id, 0 FROM m
		UNION
		SELECT gi.included_id, r.depth + 1 FROM group_includes gi JOIN r ON gi.group_id = r.id WHERE r.depth < $5
	), reached AS (
		SELECT g.id, g.all_resources FROM groups g WHERE g.realm_id = $1 AND g.id IN (SELECT id FROM r)
	)
	SELECT 'p', id, '', false, NULL::text[], NULL::text[] FROM p
	UNION ALL
	SELECT 'm', group_id::text, context_id, false, NULL, NULL FROM m
	UNION ALL
	SELECT 'g', g.id::text, '', g.all_resources,
		ARRAY(SELECT gr.resource FROM group_resources gr WHERE gr.group_id = g.id),
		ARRAY(SELECT gi.included_id::text FROM group_includes gi WHERE gi.group_id = g.id)
	FROM reached g
	UNION ALL
	SELECT 'a', name, '', false, NULL, NULL FROM resources
	WHERE realm_id = $1 AND EXISTS (SELECT 1 FROM reached WHERE all_resources)`

// setGroupIncludes replaces a group's inclusions inside tx and checks the
// realm's inclusion graph as it then is (storage.CheckInclusion), under
// the realm's inclusion lock.
func setGroupIncludes(ctx context.Context, tx pgx.Tx, realm, id string, includes []string) error {
	for _, inc := range includes {
		if !validID(inc) {
			return errorf("group "+inc, storage.ErrMissingReference)
		}
		if inc == id {
			return errorf("group "+id+" includes itself", storage.ErrHierarchy)
		}
	}
	if err := lockTree(ctx, tx, realm, "group inclusion"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM group_includes WHERE group_id = $1`, id); err != nil {
		return mapErr(err, "group "+id, false)
	}
	if len(includes) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO group_includes (realm_id, group_id, included_id) SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING`,
		realm, id, includes); err != nil {
		return mapErr(err, "includes of group "+id, false)
	}
	rows, err := tx.Query(ctx, `SELECT group_id::text, included_id::text FROM group_includes WHERE realm_id = $1`, realm)
	if err != nil {
		return mapErr(err, "group inclusion", false)
	}
	graph := map[string][]string{}
	var from, to string
	if _, err := pgx.ForEachRow(rows, []any{&from, &to}, func() error {
		graph[from] = append(graph[from], to)
		return nil
	}); err != nil {
		return mapErr(err, "group inclusion", false)
	}
	if err := storage.CheckInclusion(graph); err != nil {
		return err
	}
	return nil
}

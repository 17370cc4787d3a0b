package postgres

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

// ListAudit implements storage.AuditStore. Entries are listed newest first
// by their sequence number; the cursor is the last sequence returned.
func (s *Store) ListAudit(ctx context.Context, realm string, f storage.AuditFilter, opts storage.ListOptions) (storage.Page[storage.AuditEntry], error) {
	cur, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.AuditEntry]{}, err
	}
	var before *int64
	if cur != "" {
		n, err := strconv.ParseInt(cur, 10, 64)
		if err != nil || n < 1 {
			return storage.Page[storage.AuditEntry]{}, errorf("cursor", storage.ErrInvalidCursor)
		}
		before = &n
	}
	var since, until any
	if !f.Since.IsZero() {
		since = f.Since
	}
	if !f.Until.IsZero() {
		until = f.Until
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT seq, id::text, time, actor_type, actor_id, action, target_type, target_id, details
		FROM audit_log WHERE realm_id = $1 AND ($2 = '' OR actor_id = $2) AND ($3 = '' OR target_id = $3)
		AND ($4::timestamptz IS NULL OR time >= $4) AND ($5::timestamptz IS NULL OR time < $5)
		AND ($6::bigint IS NULL OR seq < $6)
		ORDER BY seq DESC LIMIT $7`, realm, f.ActorID, f.TargetID, since, until, before, limit+1)
	if err != nil {
		return storage.Page[storage.AuditEntry]{}, mapErr(err, "audit log", false)
	}
	type row struct {
		seq int64
		e   storage.AuditEntry
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var out row
		var details []byte
		err := r.Scan(&out.seq, &out.e.ID, &out.e.Time, &out.e.Actor.Type, &out.e.Actor.ID, &out.e.Action, &out.e.TargetType, &out.e.TargetID, &details)
		if err == nil && len(details) > 0 {
			err = json.Unmarshal(details, &out.e.Details)
		}
		return out, err
	})
	if err != nil {
		return storage.Page[storage.AuditEntry]{}, mapErr(err, "audit log", false)
	}
	page := finishPage(items, limit, func(r row) string { return strconv.FormatInt(r.seq, 10) })
	out := storage.Page[storage.AuditEntry]{Items: make([]storage.AuditEntry, len(page.Items)), NextCursor: page.NextCursor}
	for i, r := range page.Items {
		out.Items[i] = r.e
	}
	return out, nil
}

// AppendAudit implements storage.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, realm string, e storage.AuditEntry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		return audit(ctx, tx, realm, e.Actor, e.Action, e.TargetType, e.TargetID, e.Details)
	})
}

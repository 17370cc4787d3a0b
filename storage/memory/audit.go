package memory

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"strconv"

	"github.com/gatehouse/gatehouse/storage"
)

// ListAudit implements storage.AuditStore. Entries are listed newest
// first; the cursor is the position of the last entry returned.
func (s *Store) ListAudit(_ context.Context, realm string, f storage.AuditFilter, opts storage.ListOptions) (storage.Page[storage.AuditEntry], error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	from := len(s.audit) - 1
	if opts.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(opts.Cursor)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 1 || n > len(s.audit) {
			return storage.Page[storage.AuditEntry]{}, fmt.Errorf("cursor: %w", storage.ErrInvalidCursor)
		}
		from = n - 1
	}
	out := storage.Page[storage.AuditEntry]{Items: []storage.AuditEntry{}}
	limit := opts.EffectiveLimit()
	for i := from; i >= 0; i-- {
		e := s.audit[i]
		switch {
		case s.auditRlm[i] != realm:
		case f.ActorID != "" && e.Actor.ID != f.ActorID:
		case f.TargetID != "" && e.TargetID != f.TargetID:
		case !f.Since.IsZero() && e.Time.Before(f.Since):
		case !f.Until.IsZero() && !e.Time.Before(f.Until):
		default:
			if len(out.Items) == limit {
				out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i + 1)))
				return out, nil
			}
			out.Items = append(out.Items, e)
		}
	}
	return out, nil
}

// AppendAudit implements storage.AuditStore.
func (s *Store) AppendAudit(_ context.Context, realm string, e storage.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record(realm, e.Actor, e.Action, e.TargetType, e.TargetID, maps.Clone(e.Details))
	return nil
}

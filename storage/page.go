package storage

import (
	"context"
	"time"
)

// List limits shared by every backend and the management API.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// ListOptions selects one page of a list. Lists have a stable order (by the
// entity's natural key: name, code, canonical username, client_id, or time
// then id for the audit log); Cursor is opaque and comes from a previous Page.
type ListOptions struct {
	Limit  int    // 0 means DefaultListLimit; values above MaxListLimit are clamped
	Cursor string // empty for the first page
}

// EffectiveLimit returns the page size to use.
func (o ListOptions) EffectiveLimit() int {
	switch {
	case o.Limit <= 0:
		return DefaultListLimit
	case o.Limit > MaxListLimit:
		return MaxListLimit
	}
	return o.Limit
}

// Page is one page of a list. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// UserFilter narrows ListUsers. Empty fields do not filter. Username
// matches by canonical form (CanonicalUsername; one without a canonical
// form matches nobody), Email exactly but case-insensitively.
type UserFilter struct {
	Username string
	Email    string
	GroupID  string
	Status   Status
}

// AuditFilter narrows ListAudit. Zero fields do not filter.
type AuditFilter struct {
	ActorID  string
	TargetID string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
}

// ResourceNames lists the names of every resource of a realm, sorted,
// walking all pages.
func ResourceNames(ctx context.Context, s ResourceStore, realm string) ([]string, error) {
	var names []string
	opts := ListOptions{Limit: MaxListLimit}
	for {
		page, err := s.ListResources(ctx, realm, opts)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Items {
			names = append(names, r.Name)
		}
		if page.NextCursor == "" {
			return names, nil
		}
		opts.Cursor = page.NextCursor
	}
}

package memory

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/storage"
)

// builtInResources are what the migrations create in every realm, with
// their descriptions (migrations/00001_init.sql), which the consent page
// shows.
var builtInResources = []struct{ name, description string }{
	{"users-read", "Read users"},
	{"users-write", "Create, change and delete users"},
	{"groups-read", "Read groups"},
	{"groups-write", "Create, change and delete groups and memberships"},
	{"resources-read", "Read admin resources"},
	{"resources-write", "Create, change and delete admin resources"},
	{"clients-read", "Read API clients"},
	{"clients-write", "Create, change and delete API clients and their secrets"},
	{"languages-read", "Read user languages"},
	{"languages-write", "Create, change and delete user languages"},
	{"tokens-revoke", "Revoke every token of a user or client"},
	{"tokens-introspect", "Introspect any token of the realm"},
	{"audit-read", "Read the audit log"},
	{"admin-login", "Sign in to the admin console"},
	// migrations/00004_accounts.sql
	{"invites-read", "Read invitations"},
	{"invites-write", "Create and revoke invitations"},
	// migrations/00005_contexts.sql
	{"contexts-read", "Read contexts"},
	{"contexts-write", "Create, change and delete contexts"},
}

// Store is an in-memory storage.Store. One mutex guards everything: every
// method is a single critical section, which makes each change and its
// audit entry atomic, as the interface demands.
type Store struct {
	mu  sync.RWMutex
	now func() time.Time

	realms    map[string]storage.Realm
	languages map[key]storage.Language // key: realm, lower(code)
	users     map[key]storage.User     // key: realm, id
	usernames map[key]string           // key: realm, id → canonical username
	resources map[key]storage.Resource // key: realm, name
	groups    map[key]storage.Group    // key: realm, id
	members   map[key]map[string]bool  // key: realm, group id → user ids (realm-wide)
	contexts  map[key]storage.Context  // key: realm, id
	inMembers map[inMember]bool        // memberships in a context
	clients   map[key]storage.Client   // key: realm, client_id
	secrets   map[key][]storage.ClientSecret
	consents  map[consentKey]storage.Consent
	keys      map[key]storage.SigningKey // key: realm, kid
	audit     []storage.AuditEntry       // in insertion order
	auditRlm  []string

	links       map[string]linkRow         // key: string(digest)
	invitations map[key]storage.Invitation // key: realm, id
	outbox      map[string]*mailRow        // key: id
}

type key struct{ realm, id string }

type inMember struct{ realm, context, group, user string }

var _ storage.Store = (*Store)(nil)

// New returns a store seeded like a freshly migrated database.
func New() *Store { return NewWithClock(time.Now) }

// NewWithClock returns a seeded store that timestamps with now.
func NewWithClock(now func() time.Time) *Store {
	s := &Store{
		now:       now,
		realms:    map[string]storage.Realm{},
		languages: map[key]storage.Language{},
		users:     map[key]storage.User{},
		usernames: map[key]string{},
		resources: map[key]storage.Resource{},
		groups:    map[key]storage.Group{},
		members:   map[key]map[string]bool{},
		contexts:  map[key]storage.Context{},
		inMembers: map[inMember]bool{},
		clients:   map[key]storage.Client{},
		secrets:   map[key][]storage.ClientSecret{},
		consents:  map[consentKey]storage.Consent{},
		keys:      map[key]storage.SigningKey{},

		links:       map[string]linkRow{},
		invitations: map[key]storage.Invitation{},
		outbox:      map[string]*mailRow{},
	}
	t := s.stamp()
	r := storage.DefaultRealm
	s.realms[r] = storage.Realm{ID: r, Name: "Default", DefaultLanguage: "en", CreatedAt: t}
	s.languages[key{r, "en"}] = storage.Language{Code: "en", Name: "English", CreatedAt: t, UpdatedAt: t}
	for _, b := range builtInResources {
		s.resources[key{r, b.name}] = storage.Resource{Name: b.name, Description: b.description, BuiltIn: true, CreatedAt: t, UpdatedAt: t}
	}
	id := uuid.NewString()
	s.groups[key{r, id}] = storage.Group{ID: id, Name: storage.AdministratorsGroup, Description: "Every admin resource of the realm",
		AllResources: true, BuiltIn: true, Resources: []string{}, Includes: []string{}, CreatedAt: t, UpdatedAt: t}
	s.members[key{r, id}] = map[string]bool{}
	return s
}

// stamp returns the current time at the resolution PostgreSQL keeps.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Ping always succeeds.
func (s *Store) Ping(context.Context) error { return nil }

// Close does nothing.
func (s *Store) Close() {}

// GetRealm returns the realm.
func (s *Store) GetRealm(_ context.Context, realm string) (storage.Realm, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.realms[realm]
	if !ok {
		return storage.Realm{}, fmt.Errorf("realm %q: %w", realm, storage.ErrNotFound)
	}
	return r, nil
}

// record appends an audit entry; callers hold the write lock.
func (s *Store) record(realm string, a storage.Actor, action, targetType, targetID string, details map[string]string) {
	s.audit = append(s.audit, storage.AuditEntry{
		ID: uuid.NewString(), Time: s.stamp(), Actor: a, Action: action,
		TargetType: targetType, TargetID: targetID, Details: details,
	})
	s.auditRlm = append(s.auditRlm, realm)
}

// page cuts a sorted list of items into the page after cursor. sortKey
// gives each item's position; the cursor is the last key of the previous
// page.
func page[T any](items []T, sortKey func(T) string, opts storage.ListOptions) (storage.Page[T], error) {
	after := ""
	if opts.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(opts.Cursor)
		// Like PostgreSQL's text, no sort key holds NUL or invalid UTF-8.
		if err != nil || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
			return storage.Page[T]{}, fmt.Errorf("cursor: %w", storage.ErrInvalidCursor)
		}
		after = string(b)
	}
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(sortKey(a), sortKey(b)) })
	start := 0
	for start < len(items) && after != "" && sortKey(items[start]) <= after {
		start++
	}
	limit := opts.EffectiveLimit()
	out := storage.Page[T]{Items: []T{}}
	end := min(start+limit, len(items))
	out.Items = append(out.Items, items[start:end]...)
	if end < len(items) {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(sortKey(items[end-1])))
	}
	return out, nil
}

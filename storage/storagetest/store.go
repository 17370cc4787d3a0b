package storagetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

// builtIn are the resources every fresh realm holds.
// builtIn are the resources every realm starts with, sorted, and their
// descriptions, which the consent page shows.
var builtIn = []string{
	"admin-login", "audit-read", "clients-read", "clients-write", "contexts-read", "contexts-write", "groups-read", "groups-write",
	"invites-read", "invites-write", "languages-read", "languages-write", "resources-read", "resources-write", "tokens-introspect",
	"tokens-revoke", "users-read", "users-write",
}

var builtInDescriptions = map[string]string{
	"users-read":        "Read users",
	"users-write":       "Create, change and delete users",
	"groups-read":       "Read groups",
	"groups-write":      "Create, change and delete groups and memberships",
	"resources-read":    "Read admin resources",
	"resources-write":   "Create, change and delete admin resources",
	"clients-read":      "Read API clients",
	"clients-write":     "Create, change and delete API clients and their secrets",
	"languages-read":    "Read user languages",
	"languages-write":   "Create, change and delete user languages",
	"tokens-revoke":     "Revoke every token of a user or client",
	"tokens-introspect": "Introspect any token of the realm",
	"audit-read":        "Read the audit log",
	"admin-login":       "Sign in to the admin console",
	"invites-read":      "Read invitations",
	"invites-write":     "Create and revoke invitations",
	"contexts-read":     "Read contexts",
	"contexts-write":    "Create, change and delete contexts",
}

var (
	actor = storage.Actor{Type: storage.ActorUser, ID: "suite-actor"}
	realm = storage.DefaultRealm
	ctx   = context.Background()
)

// RunStoreTests proves the documented behaviour of storage.Store against
// fresh, freshly seeded stores made by newStore.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"Seed", testSeed},
		{"Languages", testLanguages},
		{"Users", testUsers},
		{"CanonicalUsernames", testCanonicalUsernames},
		{"UserFiltersAndPages", testUserFiltersAndPages},
		{"UserConcurrentUpdates", testUserConcurrentUpdates},
		{"Resources", testResources},
		{"Groups", testGroups},
		{"Memberships", testMemberships},
		{"EffectiveResources", testEffectiveResources},
		{"LastAdministrator", testLastAdministrator},
		{"LastAdministratorRace", testLastAdministratorRace},
		{"GroupCascades", testGroupCascades},
		{"Clients", testClients},
		{"ClientSecrets", testClientSecrets},
		{"UserDeleteCascades", testUserDeleteCascades},
		{"ClientBrowserFields", testClientBrowserFields},
		{"Consents", testConsents},
		{"ConsentPages", testConsentPages},
		{"ConsentCascades", testConsentCascades},
		{"Audit", testAudit},
		{"AppendAudit", testAppendAudit},
		{"OtherRealm", testOtherRealm},
		{"ContextTree", testContextTree},
		{"ContextDepth", testContextDepth},
		{"ContextDelete", testContextDelete},
		{"ContextMemberships", testContextMemberships},
		{"EffectiveInContext", testEffectiveInContext},
		{"GroupInclusion", testGroupInclusion},
		{"GroupManagedBy", testGroupManagedBy},
		{"ClientContext", testClientContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
	for _, tc := range keyStoreTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// keyStoreTests prove storage.KeyStore; RunStoreTests runs them too.
var keyStoreTests = []struct {
	name string
	fn   func(t *testing.T, s storage.KeyStore)
}{
	{"SigningKeys", testSigningKeys},
	{"SigningKeyConcurrentActivation", testSigningKeyConcurrentActivation},
	{"SigningKeyCreatedAtAndReseal", testSigningKeyCreatedAtAndReseal},
}

// RunKeyStoreTests proves the documented behaviour of storage.KeyStore on
// stores that keep signing keys only, such as the ephemeral one of
// internal/keys.
func RunKeyStoreTests(t *testing.T, newStore func(t *testing.T) storage.KeyStore) {
	for _, tc := range keyStoreTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func testSeed(t *testing.T, s storage.Store) {
	r, err := s.GetRealm(ctx, realm)
	require.NoError(t, err)
	require.Equal(t, "en", r.DefaultLanguage)
	l, err := s.GetLanguage(ctx, realm, "en")
	require.NoError(t, err)
	require.Equal(t, "English", l.Name)
	page, err := s.ListResources(ctx, realm, storage.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, r := range page.Items {
		require.True(t, r.BuiltIn, r.Name)
		require.Equal(t, builtInDescriptions[r.Name], r.Description, r.Name)
		names = append(names, r.Name)
	}
	require.Equal(t, builtIn, names, "built-in resources, sorted")
	g, err := s.GetGroupByName(ctx, realm, "Administrators")
	require.NoError(t, err, "group names match case-insensitively")
	require.True(t, g.AllResources)
	require.True(t, g.BuiltIn)
	require.NoError(t, s.Ping(ctx))
	_, err = s.GetRealm(ctx, "no-such-realm")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// user creates an active user speaking English.
func user(t *testing.T, s storage.Store, name string, groups ...string) storage.User {
	t.Helper()
	u, err := s.CreateUser(ctx, actor, realm, storage.User{Username: name, Language: "en", Status: storage.StatusActive}, groups)
	require.NoError(t, err)
	return u
}

func group(t *testing.T, s storage.Store, name string, resources ...string) storage.Group {
	t.Helper()
	g, err := s.CreateGroup(ctx, actor, realm, storage.Group{Name: name, Resources: resources})
	require.NoError(t, err)
	return g
}

// walk reads every page of a list with the given page size and returns
// the keys in order, failing on duplicates.
func walk[T any](t *testing.T, limit int, list func(storage.ListOptions) (storage.Page[T], error), key func(T) string) []string {
	t.Helper()
	var keys []string
	seen := map[string]bool{}
	opts := storage.ListOptions{Limit: limit}
	for range 1000 {
		page, err := list(opts)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Items), limit)
		for _, it := range page.Items {
			k := key(it)
			require.False(t, seen[k], "duplicate %q across pages", k)
			seen[k] = true
			keys = append(keys, k)
		}
		if page.NextCursor == "" {
			return keys
		}
		require.NotEmpty(t, page.Items, "a page with a next cursor is not empty")
		opts.Cursor = page.NextCursor
	}
	t.Fatal("pagination does not end")
	return nil
}

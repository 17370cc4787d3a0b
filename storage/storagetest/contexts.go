package storagetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

func mkContext(t *testing.T, s storage.Store, id, parent string) storage.Context {
	t.Helper()
	c, err := s.CreateContext(ctx, actor, realm, storage.Context{ID: id, Name: "Name of " + id, Kind: "k", ParentID: parent})
	require.NoError(t, err)
	return c
}

func contextIDs(t *testing.T, s storage.Store, parent string) []string {
	t.Helper()
	return walk(t, 2, func(o storage.ListOptions) (storage.Page[storage.Context], error) {
		return s.ListContexts(ctx, realm, parent, o)
	}, func(c storage.Context) string { return c.ID })
}

func testContextTree(t *testing.T, s storage.Store) {
	org := mkContext(t, s, "acme", "")
	require.Equal(t, "Name of acme", org.Name)
	require.Equal(t, "k", org.Kind)
	require.Empty(t, org.ParentID)
	require.False(t, org.CreatedAt.IsZero())
	mkContext(t, s, "acme.app-1", "acme")
	mkContext(t, s, "acme.app_2", "acme")
	mkContext(t, s, "deep", "acme.app-1")

	got, err := s.GetContext(ctx, realm, "acme.app-1")
	require.NoError(t, err)
	require.Equal(t, "acme", got.ParentID)
	_, err = s.GetContext(ctx, realm, "nope")
	require.ErrorIs(t, err, storage.ErrNotFound)

	_, err = s.CreateContext(ctx, actor, realm, storage.Context{ID: "acme", Name: "again"})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, err = s.CreateContext(ctx, actor, realm, storage.Context{ID: "orphan", Name: "o", ParentID: "nope"})
	require.ErrorIs(t, err, storage.ErrMissingReference)

	require.Equal(t, []string{"acme", "acme.app-1", "acme.app_2", "deep"}, contextIDs(t, s, ""), "every context, by id")
	require.Equal(t, []string{"acme.app-1", "acme.app_2"}, contextIDs(t, s, "acme"), "children of acme")
	require.Empty(t, contextIDs(t, s, "deep"))

	path, err := s.ContextPath(ctx, realm, "deep")
	require.NoError(t, err)
	require.Equal(t, []string{"deep", "acme.app-1", "acme"}, path, "nearest first")
	_, err = s.ContextPath(ctx, realm, "nope")
	require.ErrorIs(t, err, storage.ErrNotFound)

	// Rename and move.
	moved, err := s.UpdateContext(ctx, actor, realm, "deep", func(c *storage.Context) error {
		c.Name, c.Kind, c.ParentID = "Deep", "space", "acme.app_2"
		c.ID = "ignored"
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "deep", moved.ID, "the id does not change")
	require.Equal(t, "Deep", moved.Name)
	require.Equal(t, "space", moved.Kind)
	path, err = s.ContextPath(ctx, realm, "deep")
	require.NoError(t, err)
	require.Equal(t, []string{"deep", "acme.app_2", "acme"}, path)

	// No cycles: not below itself, nor below a descendant.
	for _, parent := range []string{"acme", "deep"} {
		_, err = s.UpdateContext(ctx, actor, realm, "acme", func(c *storage.Context) error { c.ParentID = parent; return nil })
		require.ErrorIs(t, err, storage.ErrHierarchy, parent)
	}
	_, err = s.UpdateContext(ctx, actor, realm, "deep", func(c *storage.Context) error { c.ParentID = "nope"; return nil })
	require.ErrorIs(t, err, storage.ErrMissingReference)
	_, err = s.UpdateContext(ctx, actor, realm, "nope", func(c *storage.Context) error { return nil })
	require.ErrorIs(t, err, storage.ErrNotFound)
	// To the top.
	top, err := s.UpdateContext(ctx, actor, realm, "deep", func(c *storage.Context) error { c.ParentID = ""; return nil })
	require.NoError(t, err)
	require.Empty(t, top.ParentID)

	entries, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: "deep"}, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, entries.Items, 3)
	require.Equal(t, storage.ActionContextUpdate, entries.Items[0].Action)
	require.Equal(t, storage.ActionContextCreate, entries.Items[2].Action)
	require.Equal(t, "name,kind,parent", entries.Items[1].Details["changed"])
}

func testContextDepth(t *testing.T, s storage.Store) {
	parent := ""
	for i := range storage.MaxContextDepth {
		id := fmt.Sprintf("c%02d", i)
		mkContext(t, s, id, parent)
		parent = id
	}
	_, err := s.CreateContext(ctx, actor, realm, storage.Context{ID: "too-deep", Name: "x", ParentID: parent})
	require.ErrorIs(t, err, storage.ErrHierarchy)
	path, err := s.ContextPath(ctx, realm, parent)
	require.NoError(t, err)
	require.Len(t, path, storage.MaxContextDepth)

	// Moving a subtree of two levels below the second-deepest context
	// would make the tree too deep; below the root it fits.
	mkContext(t, s, "sub", "")
	mkContext(t, s, "sub.child", "sub")
	_, err = s.UpdateContext(ctx, actor, realm, "sub", func(c *storage.Context) error {
		c.ParentID = fmt.Sprintf("c%02d", storage.MaxContextDepth-2)
		return nil
	})
	require.ErrorIs(t, err, storage.ErrHierarchy)
	_, err = s.UpdateContext(ctx, actor, realm, "sub", func(c *storage.Context) error {
		c.ParentID = fmt.Sprintf("c%02d", storage.MaxContextDepth-3)
		return nil
	})
	require.NoError(t, err)
}

func testContextDelete(t *testing.T, s storage.Store) {
	mkContext(t, s, "org", "")
	mkContext(t, s, "app", "org")
	g := group(t, s, "g", "users-read")
	u := user(t, s, "u")
	require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "app", g.ID, u.ID))
	_, err := s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "bound", OwnerID: u.ID, Name: "b", ContextID: "org",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
	require.NoError(t, err)

	require.ErrorIs(t, s.DeleteContext(ctx, actor, realm, "org"), storage.ErrInUse, "it has a child")
	require.ErrorIs(t, s.DeleteContext(ctx, actor, realm, "app"), storage.ErrInUse, "it has a membership")
	require.NoError(t, s.RemoveGroupMemberIn(ctx, actor, realm, "app", g.ID, u.ID))
	require.NoError(t, s.DeleteContext(ctx, actor, realm, "app"))
	require.ErrorIs(t, s.DeleteContext(ctx, actor, realm, "org"), storage.ErrInUse, "a client is bound to it")
	require.NoError(t, s.DeleteClient(ctx, actor, realm, "bound"))
	require.NoError(t, s.DeleteContext(ctx, actor, realm, "org"))
	require.ErrorIs(t, s.DeleteContext(ctx, actor, realm, "org"), storage.ErrNotFound)
	_, err = s.GetContext(ctx, realm, "org")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func testContextMemberships(t *testing.T, s storage.Store) {
	mkContext(t, s, "acct", "")
	mkContext(t, s, "space-1", "acct")
	mkContext(t, s, "space-2", "acct")
	g := group(t, s, "editors", "users-read")
	ann := user(t, s, "ann")
	bob := user(t, s, "bob")
	cid := user(t, s, "cid")
	for range 2 {
		require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "acct", g.ID, ann.ID), "idempotent")
	}
	require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "space-1", g.ID, bob.ID))
	require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "space-2", g.ID, ann.ID), "one group in several contexts")
	require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "", g.ID, cid.ID), "realm-wide")

	ms, err := s.UserMemberships(ctx, realm, ann.ID)
	require.NoError(t, err)
	require.Equal(t, []storage.Membership{{GroupID: g.ID, UserID: ann.ID, ContextID: "acct"}, {GroupID: g.ID, UserID: ann.ID, ContextID: "space-2"}}, ms)
	ms, err = s.UserMemberships(ctx, realm, cid.ID)
	require.NoError(t, err)
	require.Equal(t, []storage.Membership{{GroupID: g.ID, UserID: cid.ID}}, ms)
	_, err = s.UserMemberships(ctx, realm, "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, storage.ErrNotFound)

	// Realm-wide views count realm-wide memberships only.
	page, err := s.ListGroupMembers(ctx, realm, g.ID, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, cid.ID, page.Items[0].ID)
	groups, err := s.UserGroups(ctx, realm, ann.ID)
	require.NoError(t, err)
	require.Empty(t, groups)
	users, err := s.ListUsers(ctx, realm, storage.UserFilter{GroupID: g.ID}, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, users.Items, 1)

	members := func(id string) []string {
		return walk(t, 1, func(o storage.ListOptions) (storage.Page[storage.User], error) {
			return s.ListContextMembers(ctx, realm, id, o)
		}, func(u storage.User) string { return u.Username })
	}
	require.Equal(t, []string{"ann", "bob"}, members("space-1"), "members there and above; realm-wide ones are not listed")
	require.Equal(t, []string{"ann"}, members("space-2"))
	require.Equal(t, []string{"ann"}, members("acct"))
	_, err = s.ListContextMembers(ctx, realm, "nope", storage.ListOptions{})
	require.ErrorIs(t, err, storage.ErrNotFound)

	nobody := "00000000-0000-0000-0000-000000000000"
	require.ErrorIs(t, s.AddGroupMemberIn(ctx, actor, realm, "nope", g.ID, ann.ID), storage.ErrNotFound)
	require.ErrorIs(t, s.AddGroupMemberIn(ctx, actor, realm, "acct", nobody, ann.ID), storage.ErrNotFound)
	require.ErrorIs(t, s.AddGroupMemberIn(ctx, actor, realm, "acct", g.ID, nobody), storage.ErrNotFound)

	for range 2 {
		require.NoError(t, s.RemoveGroupMemberIn(ctx, actor, realm, "acct", g.ID, ann.ID), "idempotent")
	}
	require.Equal(t, []string{"bob"}, members("space-1"))
	ms, err = s.UserMemberships(ctx, realm, ann.ID)
	require.NoError(t, err)
	require.Len(t, ms, 1, "the membership in space-2 stays")

	entries, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: g.ID}, storage.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, storage.ActionGroupMemberRemove, entries.Items[0].Action)
	require.Equal(t, "acct", entries.Items[0].Details["context"])
	require.Equal(t, ann.ID, entries.Items[0].Details["user"])

	// A membership of the administrators group in a context does not
	// count as a realm administrator; deleting the user removes it.
	admins, err := s.GetGroupByName(ctx, realm, storage.AdministratorsGroup)
	require.NoError(t, err)
	root := user(t, s, "root", admins.ID)
	require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "acct", admins.ID, bob.ID))
	require.ErrorIs(t, s.RemoveGroupMember(ctx, actor, realm, admins.ID, root.ID), storage.ErrLastAdministrator)
	require.NoError(t, s.DeleteUser(ctx, actor, realm, bob.ID))
	require.Equal(t, []string{}, nonNilStrings(members("space-1")))
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func names(eff []storage.EffectiveResource) []string { return storage.ResourceNamesOf(eff) }

func testEffectiveInContext(t *testing.T, s storage.Store) {
	_, err := s.CreateResource(ctx, actor, realm, storage.Resource{Name: "docs-edit"})
	require.NoError(t, err)
	_, err = s.CreateResource(ctx, actor, realm, storage.Resource{Name: "docs-view"})
	require.NoError(t, err)
	viewer := group(t, s, "viewer", "docs-view")
	editor, err := s.CreateGroup(ctx, actor, realm, storage.Group{Name: "editor", Resources: []string{"docs-edit"}, Includes: []string{viewer.ID}})
	require.NoError(t, err)
	staff := group(t, s, "staff", "admin-login")
	mkContext(t, s, "acct", "")
	mkContext(t, s, "space-1", "acct")
	mkContext(t, s, "space-2", "acct")
	mkContext(t, s, "other", "")

	u := user(t, s, "u", staff.ID)
	require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "acct", viewer.ID, u.ID))
	require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "space-1", editor.ID, u.ID))

	in := func(c string) []storage.EffectiveResource {
		eff, err := s.UserResourcesIn(ctx, realm, u.ID, c)
		require.NoError(t, err)
		return eff
	}
	require.Equal(t, []string{"admin-login"}, names(in("")), "realm-wide only")
	realmWide, err := s.UserResources(ctx, realm, u.ID)
	require.NoError(t, err)
	require.Equal(t, in(""), realmWide)
	require.Equal(t, []string{"admin-login", "docs-view"}, names(in("acct")))
	require.Equal(t, []string{"admin-login", "docs-view"}, names(in("space-2")), "the account's membership applies in its spaces")
	require.Equal(t, []string{"admin-login"}, names(in("other")), "nothing from a sibling tree")

	eff := in("space-1")
	require.Equal(t, []string{"admin-login", "docs-edit", "docs-view"}, names(eff))
	require.Equal(t, []storage.GrantPath{{Context: "", Chain: []string{staff.ID}}}, eff[0].Paths)
	require.Equal(t, []storage.GrantPath{{Context: "space-1", Chain: []string{editor.ID}}}, eff[1].Paths)
	require.Equal(t, []storage.GrantPath{
		{Context: "acct", Chain: []string{viewer.ID}},
		{Context: "space-1", Chain: []string{editor.ID, viewer.ID}},
	}, eff[2].Paths, "every path, with the inclusion chain")
	want := []string{viewer.ID, editor.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	require.Equal(t, want, eff[2].Groups, "the groups the user is a member of")

	_, err = s.UserResourcesIn(ctx, realm, u.ID, "nope")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.UserResourcesIn(ctx, realm, "00000000-0000-0000-0000-000000000000", "acct")
	require.ErrorIs(t, err, storage.ErrNotFound)
	nobody := user(t, s, "nobody")
	eff, err = s.UserResourcesIn(ctx, realm, nobody.ID, "acct")
	require.NoError(t, err)
	require.Empty(t, eff)

	// The administrators group grants every resource, in a context too.
	admins, err := s.GetGroupByName(ctx, realm, storage.AdministratorsGroup)
	require.NoError(t, err)
	require.NoError(t, s.AddGroupMemberIn(ctx, actor, realm, "space-2", admins.ID, nobody.ID))
	eff, err = s.UserResourcesIn(ctx, realm, nobody.ID, "space-2")
	require.NoError(t, err)
	require.Len(t, eff, len(builtIn)+2)
	eff, err = s.UserResourcesIn(ctx, realm, nobody.ID, "space-1")
	require.NoError(t, err)
	require.Empty(t, eff)
}

func testGroupInclusion(t *testing.T, s storage.Store) {
	viewer := group(t, s, "viewer", "users-read")
	user1 := group(t, s, "user", "groups-read")
	owner, err := s.CreateGroup(ctx, actor, realm, storage.Group{Name: "owner", Includes: []string{user1.ID, viewer.ID, viewer.ID}})
	require.NoError(t, err)
	want := []string{user1.ID, viewer.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	require.Equal(t, want, owner.Includes, "sorted, without duplicates")
	got, err := s.GetGroup(ctx, realm, owner.ID)
	require.NoError(t, err)
	require.Equal(t, want, got.Includes)
	require.Equal(t, []string{}, viewer.Includes)

	u := user(t, s, "u", owner.ID)
	eff, err := s.UserResources(ctx, realm, u.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"groups-read", "users-read"}, names(eff), "included groups grant realm-wide too")
	require.Equal(t, []string{owner.ID}, eff[0].Groups)

	_, err = s.CreateGroup(ctx, actor, realm, storage.Group{Name: "bad", Includes: []string{"00000000-0000-0000-0000-000000000000"}})
	require.ErrorIs(t, err, storage.ErrMissingReference)

	// No cycles, not even through itself.
	_, err = s.UpdateGroup(ctx, actor, realm, viewer.ID, func(g *storage.Group) error { g.Includes = []string{owner.ID}; return nil })
	require.ErrorIs(t, err, storage.ErrHierarchy)
	_, err = s.UpdateGroup(ctx, actor, realm, viewer.ID, func(g *storage.Group) error { g.Includes = []string{viewer.ID}; return nil })
	require.ErrorIs(t, err, storage.ErrHierarchy)
	got, err = s.GetGroup(ctx, realm, viewer.ID)
	require.NoError(t, err)
	require.Empty(t, got.Includes, "a refused change changes nothing")

	// A chain of MaxInclusionDepth steps is fine, one more is not.
	chain := []storage.Group{group(t, s, "g0")}
	for i := 1; i <= storage.MaxInclusionDepth; i++ {
		g, err := s.CreateGroup(ctx, actor, realm, storage.Group{Name: fmt.Sprintf("g%d", i), Includes: []string{chain[i-1].ID}})
		require.NoError(t, err)
		chain = append(chain, g)
	}
	_, err = s.CreateGroup(ctx, actor, realm, storage.Group{Name: "one-more", Includes: []string{chain[len(chain)-1].ID}})
	require.ErrorIs(t, err, storage.ErrHierarchy)
	_, err = s.UpdateGroup(ctx, actor, realm, chain[0].ID, func(g *storage.Group) error { g.Includes = []string{viewer.ID}; return nil })
	require.ErrorIs(t, err, storage.ErrHierarchy, "growing the chain from below counts too")

	// Deleting an included group removes the inclusion.
	require.NoError(t, s.DeleteGroup(ctx, actor, realm, viewer.ID))
	got, err = s.GetGroup(ctx, realm, owner.ID)
	require.NoError(t, err)
	require.Equal(t, []string{user1.ID}, got.Includes)
	eff, err = s.UserResources(ctx, realm, u.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"groups-read"}, names(eff))

	// Updating other fields keeps the inclusions; the audit names them.
	_, err = s.UpdateGroup(ctx, actor, realm, owner.ID, func(g *storage.Group) error { g.Includes = nil; return nil })
	require.NoError(t, err)
	entries, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: owner.ID}, storage.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, "includes", entries.Items[0].Details["changed"])
}

func testGroupManagedBy(t *testing.T, s storage.Store) {
	_, err := s.CreateResource(ctx, actor, realm, storage.Resource{Name: "appoint-maintainers"})
	require.NoError(t, err)
	g, err := s.CreateGroup(ctx, actor, realm, storage.Group{Name: "maintainer", ManagedBy: "appoint-maintainers"})
	require.NoError(t, err)
	require.Equal(t, "appoint-maintainers", g.ManagedBy)
	_, err = s.CreateGroup(ctx, actor, realm, storage.Group{Name: "x", ManagedBy: "nope"})
	require.ErrorIs(t, err, storage.ErrMissingReference)
	_, err = s.UpdateGroup(ctx, actor, realm, g.ID, func(g *storage.Group) error { g.ManagedBy = "nope"; return nil })
	require.ErrorIs(t, err, storage.ErrMissingReference)
	up, err := s.UpdateGroup(ctx, actor, realm, g.ID, func(g *storage.Group) error { g.ManagedBy = "users-write"; return nil })
	require.NoError(t, err)
	require.Equal(t, "users-write", up.ManagedBy)
	_, err = s.UpdateGroup(ctx, actor, realm, g.ID, func(g *storage.Group) error { g.ManagedBy = "appoint-maintainers"; return nil })
	require.NoError(t, err)

	require.NoError(t, s.DeleteResource(ctx, actor, realm, "appoint-maintainers"))
	got, err := s.GetGroup(ctx, realm, g.ID)
	require.NoError(t, err)
	require.Empty(t, got.ManagedBy, "deleting the resource leaves the group to groups-write")
}

func testClientContext(t *testing.T, s storage.Store) {
	owner := user(t, s, "owner")
	mkContext(t, s, "app-1", "")
	mkContext(t, s, "app-2", "")
	c, err := s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "app1-client", OwnerID: owner.ID, Name: "c", ContextID: "app-1",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
	require.NoError(t, err)
	require.Equal(t, "app-1", c.ContextID)
	got, err := s.GetClient(ctx, realm, c.ClientID)
	require.NoError(t, err)
	require.Equal(t, "app-1", got.ContextID)
	_, err = s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "x", OwnerID: owner.ID, Name: "c", ContextID: "nope",
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrMissingReference)

	up, err := s.UpdateClient(ctx, actor, realm, c.ClientID, func(c *storage.Client) error { c.ContextID = "app-2"; return nil })
	require.NoError(t, err)
	require.Equal(t, "app-2", up.ContextID)
	_, err = s.UpdateClient(ctx, actor, realm, c.ClientID, func(c *storage.Client) error { c.ContextID = "nope"; return nil })
	require.ErrorIs(t, err, storage.ErrMissingReference)
	up, err = s.UpdateClient(ctx, actor, realm, c.ClientID, func(c *storage.Client) error { c.ContextID = ""; return nil })
	require.NoError(t, err)
	require.Empty(t, up.ContextID)
}

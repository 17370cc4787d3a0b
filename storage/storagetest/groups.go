package storagetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

func testResources(t *testing.T, s storage.Store) {
	r, err := s.CreateResource(ctx, actor, realm, storage.Resource{Name: "reports-read", Description: "Read reports", BuiltIn: true})
	require.NoError(t, err)
	require.False(t, r.BuiltIn, "only migrations create built-in resources")
	_, err = s.CreateResource(ctx, actor, realm, storage.Resource{Name: "reports-read"})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	up, err := s.UpdateResource(ctx, actor, realm, "reports-read", func(r *storage.Resource) error {
		r.Description, r.Name = "Reports", "renamed"
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "Reports", up.Description)
	require.Equal(t, "reports-read", up.Name)
	_, err = s.GetResource(ctx, realm, "renamed")
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.ErrorIs(t, s.DeleteResource(ctx, actor, realm, "users-read"), storage.ErrInUse)
	require.NoError(t, s.DeleteResource(ctx, actor, realm, "reports-read"))
	require.ErrorIs(t, s.DeleteResource(ctx, actor, realm, "reports-read"), storage.ErrNotFound)
	names := walk(t, 4, func(o storage.ListOptions) (storage.Page[storage.Resource], error) {
		return s.ListResources(ctx, realm, o)
	},
		func(r storage.Resource) string { return r.Name })
	require.Equal(t, builtIn, names)
}

func testGroups(t *testing.T, s storage.Store) {
	g, err := s.CreateGroup(ctx, actor, realm, storage.Group{Name: "Support", Description: "d", Resources: []string{"users-read", "groups-read", "users-read"},
		AllResources: true, BuiltIn: true})
	require.NoError(t, err)
	require.NotEmpty(t, g.ID)
	require.Equal(t, []string{"groups-read", "users-read"}, g.Resources, "sorted, without duplicates")
	require.False(t, g.AllResources, "only the built-in administrators group holds every resource")
	require.False(t, g.BuiltIn)
	_, err = s.CreateGroup(ctx, actor, realm, storage.Group{Name: "SUPPORT"})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, err = s.CreateGroup(ctx, actor, realm, storage.Group{Name: "x", Resources: []string{"nope"}})
	require.ErrorIs(t, err, storage.ErrMissingReference)
	_, err = s.GetGroupByName(ctx, realm, "x")
	require.ErrorIs(t, err, storage.ErrNotFound)

	up, err := s.UpdateGroup(ctx, actor, realm, g.ID, func(g *storage.Group) error {
		g.Name, g.Resources, g.AllResources = "Helpdesk", []string{"clients-read"}, true
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "Helpdesk", up.Name)
	require.Equal(t, []string{"clients-read"}, up.Resources)
	require.False(t, up.AllResources)
	_, err = s.UpdateGroup(ctx, actor, realm, g.ID, func(g *storage.Group) error { g.Resources = []string{"nope"}; return nil })
	require.ErrorIs(t, err, storage.ErrMissingReference)
	got, err := s.GetGroup(ctx, realm, g.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"clients-read"}, got.Resources, "a failed update changes nothing")

	admins, err := s.GetGroupByName(ctx, realm, storage.AdministratorsGroup)
	require.NoError(t, err)
	require.ErrorIs(t, s.DeleteGroup(ctx, actor, realm, admins.ID), storage.ErrInUse)
	_, err = s.UpdateGroup(ctx, actor, realm, admins.ID, func(g *storage.Group) error { g.Name = "root"; return nil })
	require.ErrorIs(t, err, storage.ErrInUse, "the built-in group keeps its name")

	// Grants are idempotent; unknown group or resource is ErrNotFound.
	for range 2 {
		require.NoError(t, s.GrantGroupResource(ctx, actor, realm, g.ID, "audit-read"))
	}
	got, _ = s.GetGroup(ctx, realm, g.ID)
	require.Equal(t, []string{"audit-read", "clients-read"}, got.Resources)
	for range 2 {
		require.NoError(t, s.RevokeGroupResource(ctx, actor, realm, g.ID, "audit-read"))
	}
	require.ErrorIs(t, s.GrantGroupResource(ctx, actor, realm, g.ID, "nope"), storage.ErrNotFound)
	require.ErrorIs(t, s.GrantGroupResource(ctx, actor, realm, "00000000-0000-0000-0000-000000000000", "audit-read"), storage.ErrNotFound)

	for i := range 5 {
		group(t, s, fmt.Sprintf("g%d", i))
	}
	names := walk(t, 2, func(o storage.ListOptions) (storage.Page[storage.Group], error) { return s.ListGroups(ctx, realm, o) },
		func(g storage.Group) string { return g.Name })
	require.Equal(t, []string{"administrators", "g0", "g1", "g2", "g3", "g4", "Helpdesk"}, names)

	require.NoError(t, s.DeleteGroup(ctx, actor, realm, g.ID))
	require.ErrorIs(t, s.DeleteGroup(ctx, actor, realm, g.ID), storage.ErrNotFound)

	// Concurrent grants through UpdateGroup: none lost.
	c := group(t, s, "concurrent")
	var wg sync.WaitGroup
	for _, r := range builtIn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateGroup(ctx, actor, realm, c.ID, func(g *storage.Group) error {
				g.Resources = append(g.Resources, r)
				return nil
			})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	got, err = s.GetGroup(ctx, realm, c.ID)
	require.NoError(t, err)
	require.Equal(t, builtIn, got.Resources)
}

func testMemberships(t *testing.T, s storage.Store) {
	g := group(t, s, "team")
	a, b := user(t, s, "ann"), user(t, s, "Ben")
	for range 2 {
		require.NoError(t, s.AddGroupMember(ctx, actor, realm, g.ID, b.ID))
		require.NoError(t, s.AddGroupMember(ctx, actor, realm, g.ID, a.ID))
	}
	page, err := s.ListGroupMembers(ctx, realm, g.ID, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	require.Equal(t, "ann", page.Items[0].Username, "members are ordered by username")
	groups, err := s.UserGroups(ctx, realm, a.ID)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	require.Equal(t, g.ID, groups[0].ID)

	for range 2 {
		require.NoError(t, s.RemoveGroupMember(ctx, actor, realm, g.ID, a.ID))
	}
	page, err = s.ListGroupMembers(ctx, realm, g.ID, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.ErrorIs(t, s.AddGroupMember(ctx, actor, realm, g.ID, "00000000-0000-0000-0000-000000000000"), storage.ErrNotFound)
	require.ErrorIs(t, s.AddGroupMember(ctx, actor, realm, "00000000-0000-0000-0000-000000000000", a.ID), storage.ErrNotFound)
	_, err = s.ListGroupMembers(ctx, realm, "00000000-0000-0000-0000-000000000000", storage.ListOptions{})
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.UserGroups(ctx, realm, "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func testEffectiveResources(t *testing.T, s storage.Store) {
	read := group(t, s, "readers", "users-read", "groups-read")
	write := group(t, s, "writers", "users-write", "users-read")
	u := user(t, s, "eve", read.ID, write.ID)
	eff, err := s.UserResources(ctx, realm, u.ID)
	require.NoError(t, err)
	require.Len(t, eff, 3)
	require.Equal(t, "groups-read", eff[0].Name)
	require.Equal(t, "users-read", eff[1].Name)
	want := []string{read.ID, write.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	require.Equal(t, want, eff[1].Groups, "each resource names the groups it comes from, sorted")

	nobody := user(t, s, "nobody")
	eff, err = s.UserResources(ctx, realm, nobody.ID)
	require.NoError(t, err)
	require.Empty(t, eff)
	_, err = s.UserResources(ctx, realm, "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, storage.ErrNotFound)

	// administrators grants every resource, including ones created later.
	admins, err := s.GetGroupByName(ctx, realm, storage.AdministratorsGroup)
	require.NoError(t, err)
	root := user(t, s, "root", admins.ID)
	_, err = s.CreateResource(ctx, actor, realm, storage.Resource{Name: "later"})
	require.NoError(t, err)
	eff, err = s.UserResources(ctx, realm, root.ID)
	require.NoError(t, err)
	require.Len(t, eff, len(builtIn)+1)
}

func testGroupCascades(t *testing.T, s storage.Store) {
	_, err := s.CreateResource(ctx, actor, realm, storage.Resource{Name: "temp"})
	require.NoError(t, err)
	g := group(t, s, "g", "temp", "users-read")
	u := user(t, s, "u", g.ID)
	owner := user(t, s, "owner")
	_, err = s.CreateClient(ctx, actor, realm, storage.Client{ClientID: "c", OwnerID: owner.ID, Name: "c", Scopes: []string{"temp", "users-read"},
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
	require.NoError(t, err)

	// Deleting a resource removes it from groups and clients.
	require.NoError(t, s.DeleteResource(ctx, actor, realm, "temp"))
	got, err := s.GetGroup(ctx, realm, g.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"users-read"}, got.Resources)
	c, err := s.GetClient(ctx, realm, "c")
	require.NoError(t, err)
	require.Equal(t, []string{"users-read"}, c.Scopes)

	// Deleting a group removes its memberships and grants.
	require.NoError(t, s.DeleteGroup(ctx, actor, realm, g.ID))
	eff, err := s.UserResources(ctx, realm, u.ID)
	require.NoError(t, err)
	require.Empty(t, eff)
	groups, err := s.UserGroups(ctx, realm, u.ID)
	require.NoError(t, err)
	require.Empty(t, groups)
}

package main

import (
	"net/http"

	"github.com/spf13/cobra"
)

// This file holds `gatehouse groups` and `gatehouse resources`: the admin
// resources of a realm and the groups that grant them to their members.

// newGroupsCmd is `gatehouse groups`: groups, their members and the admin
// resources they grant. GROUP is a group name or id, USER a username or
// id, RESOURCE a resource name (resources are named by name in the API).
func newGroupsCmd() *cobra.Command {
	cmd := newGroupCmd("groups", "Manage groups, their members and the resources they grant")
	adminFlags(cmd)

	list := &cobra.Command{
		Use:   "list",
		Short: "List groups",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			return printTable(cmd, a, "/admin/groups", []string{"id", "name", "all_resources", "resources", "description"})
		}),
	}
	get := &cobra.Command{
		Use:   "get GROUP",
		Short: "Show a group",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			return groupCall(cmd, a, args[0], http.MethodGet, nil)
		}),
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a group",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			body, err := groupFields(cmd, a)
			if err != nil {
				return err
			}
			var g map[string]any
			if err := a.call(http.MethodPost, "/admin/groups", body, &g); err != nil {
				return err
			}
			return printJSON(cmd, g)
		}),
	}
	update := &cobra.Command{
		Use:   "update GROUP",
		Short: "Change the fields given as flags; --resource replaces the whole set",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			body, err := groupFields(cmd, a)
			if err != nil {
				return err
			}
			if len(body) == 0 {
				return errNoChange
			}
			return groupCall(cmd, a, args[0], http.MethodPatch, body)
		}),
	}
	del := &cobra.Command{
		Use:   "delete GROUP",
		Short: "Delete a group (its members lose what it granted)",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			return groupCall(cmd, a, args[0], http.MethodDelete, nil)
		}),
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().String("name", "", "group name")
		c.Flags().String("description", "", "description")
		c.Flags().StringSlice("resource", nil, "admin resources the group grants (repeat or comma-separate)")
		c.Flags().StringSlice("include", nil, "groups (names or ids) whose resources members hold as well; replaces the whole set")
		c.Flags().String("managed-by", "", `the resource whose holders manage the group's memberships in a context ("" for none)`)
	}
	_ = create.MarkFlagRequired("name")
	cmd.AddCommand(list, get, create, update, del, newGroupMembersCmd(), newGroupResourcesCmd())
	return cmd
}

func newGroupMembersCmd() *cobra.Command {
	cmd := newGroupCmd("members", "List, add and remove a group's members")
	list := &cobra.Command{
		Use:   "list GROUP",
		Short: "List a group's members",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			id, err := a.groupID(args[0])
			if err != nil {
				return err
			}
			return printTable(cmd, a, "/admin/groups/"+pathSeg(id)+"/members", []string{"id", "username", "email", "status"})
		}),
	}
	link := func(use, short, method string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " GROUP USER...",
			Short: short,
			Args:  cobra.MinimumNArgs(2),
			RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
				id, err := a.groupID(args[0])
				if err != nil {
					return err
				}
				for _, ref := range args[1:] {
					uid, err := a.userID(ref)
					if err != nil {
						return err
					}
					// Idempotent (CONTRACT §4): adding a member twice is no error.
					if err := a.call(method, "/admin/groups/"+pathSeg(id)+"/members/"+pathSeg(uid), nil, nil); err != nil {
						return err
					}
				}
				return nil
			}),
		}
	}
	cmd.AddCommand(list, link("add", "Add users (by username or id) to a group", http.MethodPut),
		link("remove", "Remove users (by username or id) from a group", http.MethodDelete))
	return cmd
}

func newGroupResourcesCmd() *cobra.Command {
	cmd := newGroupCmd("resources", "Grant and revoke the admin resources a group gives its members")
	link := func(use, short, method string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " GROUP RESOURCE...",
			Short: short,
			Args:  cobra.MinimumNArgs(2),
			RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
				id, err := a.groupID(args[0])
				if err != nil {
					return err
				}
				for _, name := range args[1:] {
					if err := a.call(method, "/admin/groups/"+pathSeg(id)+"/resources/"+pathSeg(name), nil, nil); err != nil {
						return err
					}
				}
				return nil
			}),
		}
	}
	cmd.AddCommand(link("grant", "Let a group's members hold admin resources", http.MethodPut),
		link("revoke", "Take admin resources away from a group", http.MethodDelete))
	return cmd
}

// groupFields returns the group fields whose flags were given, with
// included groups resolved to ids.
func groupFields(cmd *cobra.Command, a *api) (map[string]any, error) {
	f := cmd.Flags()
	body := map[string]any{}
	for _, flag := range []string{"name", "description"} {
		if f.Changed(flag) {
			body[flag], _ = f.GetString(flag)
		}
	}
	if f.Changed("resource") {
		body["resources"], _ = f.GetStringSlice("resource")
	}
	if f.Changed("include") {
		refs, _ := f.GetStringSlice("include")
		ids, err := a.groupIDs(refs)
		if err != nil {
			return nil, err
		}
		body["includes"] = ids
	}
	if f.Changed("managed-by") {
		body["managed_by"], _ = f.GetString("managed-by")
	}
	return body, nil
}

// groupCall resolves ref and sends method to the group, printing the
// answer when there is one.
func groupCall(cmd *cobra.Command, a *api, ref, method string, body any) error {
	id, err := a.groupID(ref)
	if err != nil {
		return err
	}
	if method == http.MethodDelete {
		return a.call(method, "/admin/groups/"+pathSeg(id), body, nil)
	}
	var out map[string]any
	if err := a.call(method, "/admin/groups/"+pathSeg(id), body, &out); err != nil {
		return err
	}
	return printJSON(cmd, out)
}

// newResourcesCmd is `gatehouse resources`: the realm's admin resources,
// the names that groups grant and tokens carry as scopes. The API names a
// resource by its name, so RESOURCE is always the name.
func newResourcesCmd() *cobra.Command {
	cmd := newGroupCmd("resources", "Manage admin resources (the scopes groups grant)")
	adminFlags(cmd)

	list := &cobra.Command{
		Use:   "list",
		Short: "List admin resources",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			return printTable(cmd, a, "/admin/resources", []string{"name", "built_in", "description"})
		}),
	}
	get := &cobra.Command{
		Use:   "get RESOURCE",
		Short: "Show an admin resource",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			return resourceCall(cmd, a, http.MethodGet, "/admin/resources/"+pathSeg(args[0]), nil)
		}),
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an admin resource (tokens carry it once issued after it exists)",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			name, _ := cmd.Flags().GetString("name")
			desc, _ := cmd.Flags().GetString("description")
			return resourceCall(cmd, a, http.MethodPost, "/admin/resources", map[string]string{"name": name, "description": desc})
		}),
	}
	create.Flags().String("name", "", "resource name, e.g. reports-read")
	create.Flags().String("description", "", "what holding it allows (shown on the consent page)")
	_ = create.MarkFlagRequired("name")
	update := &cobra.Command{
		Use:   "update RESOURCE",
		Short: "Change an admin resource's description (its name is its identity)",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			if !cmd.Flags().Changed("description") {
				return errNoChange
			}
			desc, _ := cmd.Flags().GetString("description")
			return resourceCall(cmd, a, http.MethodPatch, "/admin/resources/"+pathSeg(args[0]), map[string]string{"description": desc})
		}),
	}
	update.Flags().String("description", "", "new description")
	del := &cobra.Command{
		Use:   "delete RESOURCE",
		Short: "Delete an admin resource (groups and clients stop granting it)",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			return a.call(http.MethodDelete, "/admin/resources/"+pathSeg(args[0]), nil, nil)
		}),
	}
	cmd.AddCommand(list, get, create, update, del)
	return cmd
}

func resourceCall(cmd *cobra.Command, a *api, method, path string, body any) error {
	var out map[string]any
	if err := a.call(method, path, body, &out); err != nil {
		return err
	}
	return printJSON(cmd, out)
}

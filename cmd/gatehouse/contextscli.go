package main

import (
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

// newContextsCmd is `gatehouse contexts`: the tree of contexts where
// permissions hold, the memberships held in them, and why a user holds
// what they hold in one (docs/contexts.md). CONTEXT is a context id,
// GROUP a group name or id, USER a username or id.
func newContextsCmd() *cobra.Command {
	cmd := newGroupCmd("contexts", "Manage contexts, memberships in them, and explain what users hold there")
	adminFlags(cmd)

	list := &cobra.Command{
		Use:   "list",
		Short: "List contexts (--parent: the children of one)",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			path := "/admin/contexts"
			if parent, _ := cmd.Flags().GetString("parent"); parent != "" {
				path += "?" + url.Values{"parent": {parent}}.Encode()
			}
			return printTable(cmd, a, path, []string{"id", "name", "kind", "parent"})
		}),
	}
	list.Flags().String("parent", "", "list the children of this context")
	get := &cobra.Command{
		Use:   "get CONTEXT",
		Short: "Show a context",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			return resourceCall(cmd, a, http.MethodGet, "/admin/contexts/"+pathSeg(args[0]), nil)
		}),
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a context",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			body := contextFields(cmd, "id", "name", "kind", "parent")
			return resourceCall(cmd, a, http.MethodPost, "/admin/contexts", body)
		}),
	}
	create.Flags().String("id", "", "context id: lowercase letters, digits, '.', '_', '-'")
	_ = create.MarkFlagRequired("id")
	_ = create.MarkFlagRequired("name")
	update := &cobra.Command{
		Use:   "update CONTEXT",
		Short: `Rename a context, change its kind, or move it (--parent "" moves it to the top)`,
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			body := contextFields(cmd, "name", "kind", "parent")
			if len(body) == 0 {
				return errNoChange
			}
			return resourceCall(cmd, a, http.MethodPatch, "/admin/contexts/"+pathSeg(args[0]), body)
		}),
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().String("name", "", "display name")
		c.Flags().String("kind", "", "a free label: organisation, account, space, project…")
		c.Flags().String("parent", "", "the parent context's id")
	}
	del := &cobra.Command{
		Use:   "delete CONTEXT",
		Short: "Delete an empty context (no children, memberships or bound clients)",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			return a.call(http.MethodDelete, "/admin/contexts/"+pathSeg(args[0]), nil, nil)
		}),
	}
	members := &cobra.Command{
		Use:   "members CONTEXT",
		Short: "Who holds what in a context, and through which memberships",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			var out []map[string]any
			err := eachPage(a, "/admin/contexts/"+pathSeg(args[0])+"/members", "", func(it map[string]any) { out = append(out, it) })
			if err != nil {
				return err
			}
			return printJSON(cmd, out)
		}),
	}
	explain := &cobra.Command{
		Use:   "explain CONTEXT USER",
		Short: "The resources a user holds in a context, with every path that grants each",
		Args:  cobra.ExactArgs(2),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			uid, err := a.userID(args[1])
			if err != nil {
				return err
			}
			return resourceCall(cmd, a, http.MethodGet, "/admin/users/"+pathSeg(uid)+"/resources?"+url.Values{"context": {args[0]}}.Encode(), nil)
		}),
	}
	link := func(use, short, method string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " CONTEXT GROUP USER...",
			Short: short,
			Args:  cobra.MinimumNArgs(3),
			RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
				gid, err := a.groupID(args[1])
				if err != nil {
					return err
				}
				for _, ref := range args[2:] {
					uid, err := a.userID(ref)
					if err != nil {
						return err
					}
					path := "/admin/contexts/" + pathSeg(args[0]) + "/groups/" + pathSeg(gid) + "/members/" + pathSeg(uid)
					if err := a.call(method, path, nil, nil); err != nil {
						return err
					}
				}
				return nil
			}),
		}
	}
	cmd.AddCommand(list, get, create, update, del, members, explain,
		link("join", "Make users members of a group in a context (and every context below it)", http.MethodPut),
		link("leave", "End users' memberships of a group in a context", http.MethodDelete))
	return cmd
}

// contextFields returns the fields among names whose flags were given.
func contextFields(cmd *cobra.Command, names ...string) map[string]any {
	body := map[string]any{}
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			body[n], _ = cmd.Flags().GetString(n)
		}
	}
	return body
}

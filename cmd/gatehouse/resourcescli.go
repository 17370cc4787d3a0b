package main

import (
	"net/http"

	"github.com/spf13/cobra"
)

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

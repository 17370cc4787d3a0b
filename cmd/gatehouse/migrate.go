package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/storage/postgres"
)

func newMigrateCmd() *cobra.Command {
	cmd := newGroupCmd("migrate", "Manage the PostgreSQL schema")
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration (safe to run on several nodes at once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, err := databaseURL(cmd)
			if err != nil {
				return err
			}
			applied, err := postgres.Migrate(cmd.Context(), dsn)
			if err != nil {
				return &config.Error{Key: "database_url", Reason: err.Error()}
			}
			if len(applied) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "schema is up to date")
			}
			for _, v := range applied {
				fmt.Fprintf(cmd.OutOrStdout(), "applied migration %d\n", v)
			}
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show which migrations are applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, err := databaseURL(cmd)
			if err != nil {
				return err
			}
			st, err := postgres.Migrations(cmd.Context(), dsn)
			if err != nil {
				return &config.Error{Key: "database_url", Reason: err.Error()}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
			for _, m := range st {
				state, at := "pending", "-"
				if m.Applied {
					state, at = "applied", m.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, state, at, m.Name)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(up, status)
	return cmd
}

// databaseURL loads the configuration and returns the database URL, which
// migrate needs even though the rest may be incomplete.
func databaseURL(cmd *cobra.Command) (string, error) {
	path, _ := cmd.Flags().GetString("config")
	c, err := config.Load(path, nil, nil)
	if err != nil {
		return "", err
	}
	if c.DatabaseURL == "" {
		return "", &config.Error{Key: "database_url", Reason: "is required"}
	}
	return c.DatabaseURL, nil
}

package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/server"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: an OAuth 2.0 / OpenID Connect authorization server",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "YAML configuration file (see docs/configuration.md)")
	root.AddCommand(newServeCmd(), newMigrateCmd(), newBootstrapCmd(), newKeysCmd(), newTokenCmd(), newSecretCmd(),
		newAuthorizeCmd(), newClientsCmd(), newUsersCmd(), newGroupsCmd(), newContextsCmd(), newResourcesCmd(), newConsentsCmd(), newVersionCmd())
	return root
}

// newGroupCmd returns a command that only groups subcommands. Cobra runs a
// command without Run by printing its help and exiting 0, so that a typo
// such as "clients lst" looked like success; here a missing or unknown
// subcommand is an error (exit 1) that names the choices.
func newGroupCmd(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:                        use,
		Short:                      short,
		SuggestionsMinimumDistance: 2, // cobra's default, which it sets only on the root
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", s[0])
			}
			return fmt.Errorf("%s (choose one of %s)", msg, subcommandNames(cmd))
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fmt.Errorf("%s needs a subcommand: %s (see --help)", cmd.CommandPath(), subcommandNames(cmd))
		},
	}
}

func subcommandNames(cmd *cobra.Command) string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return strings.Join(names, ", ")
}

// loadConfig loads and validates the configuration for cmd, with its
// flags as the last source.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	fs := pflag.NewFlagSet("", pflag.ContinueOnError)
	fs.AddFlagSet(cmd.Flags())
	c, err := config.Load(path, nil, fs)
	if err != nil {
		return c, err
	}
	// With --dev on another address, the issuer follows the address.
	if c.Dev && !cmd.Flags().Changed("issuer") && os.Getenv(config.EnvName("issuer")) == "" && c.Issuer == config.Default().Issuer {
		c.Issuer = "http://" + strings.Replace(c.Addr, "0.0.0.0", "127.0.0.1", 1)
	}
	return c, c.Validate()
}

func newLogger(c config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Log.Level))
	return server.NewLogger(os.Stderr, c.Log.Format, level)
}

// oneLine keeps startup errors to one line.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

package main

import (
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
		newClientsCmd(), newUsersCmd(), newVersionCmd())
	return root
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

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/bootstrap"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage/postgres"
)

func newBootstrapCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Create the first administrator and admin API client",
		Long: `Create the first administrator (a member of 'administrators') and an admin API client
owned by them. On a terminal it asks for the password twice; otherwise it generates one.
The password is hashed on the client side, exactly as any Gatehouse client does.`,
		Args: cobra.NoArgs,
		RunE: runBootstrap,
	}
	cmd.Flags().String("username", "admin", "administrator username")
	cmd.Flags().Bool("json", false, "print the credentials once as JSON")
	return cmd
}

func runBootstrap(cmd *cobra.Command, _ []string) error {
	path, _ := cmd.Flags().GetString("config")
	c, err := config.Load(path, nil, nil)
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Dev {
		return errors.New("bootstrap works on PostgreSQL; `serve --dev` bootstraps by itself")
	}
	store, err := postgres.Open(cmd.Context(), c.DatabaseURL)
	if err != nil {
		return &config.Error{Key: "database_url", Reason: err.Error()}
	}
	defer store.Close()
	if err := schemaCurrent(cmd.Context(), c.DatabaseURL); err != nil {
		return err
	}
	password, err := askPassword()
	if err != nil {
		return err
	}
	username, _ := cmd.Flags().GetString("username")
	hasher := credential.NewPasswordHasher(credential.Argon2Params{MemoryKiB: c.Password.Argon2.MemoryKiB,
		Time: c.Password.Argon2.Time, Threads: c.Password.Argon2.Threads}, 0, 0, 0)
	res, err := bootstrap.Run(cmd.Context(), store, hasher, bootstrap.Input{Username: username, Password: password,
		Iterations: c.Password.Iterations})
	if err != nil {
		return err
	}
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(bootstrapJSON{c.Issuer, res})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "administrator %s (%s)\nadmin client  %s\nclient secret %s  (S: store it now, it is shown once)\n",
		res.AdminUsername, res.AdminUserID, res.AdminClientID, res.AdminClientSecret)
	if res.AdminPassword != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "password      %s  (generated)\n", res.AdminPassword)
	}
	return nil
}

// askPassword reads the password twice from a terminal; without one it
// returns "" and a password is generated.
func askPassword() (string, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", nil
	}
	read := func(prompt string) (string, error) {
		fmt.Fprint(os.Stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	p1, err := read("Administrator password: ")
	if err != nil {
		return "", err
	}
	p2, err := read("Repeat the password: ")
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", errors.New("the passwords differ")
	}
	if len(strings.TrimSpace(p1)) < 12 {
		return "", errors.New("use at least 12 characters")
	}
	return p1, nil
}

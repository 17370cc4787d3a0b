package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/clienthash"
)

func newUsersCmd() *cobra.Command {
	cmd := newGroupCmd("users", "Manage users through the management API")
	adminFlags(cmd)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user; with --with-password the password is hashed here",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			f := cmd.Flags()
			username, _ := f.GetString("username")
			email, _ := f.GetString("email")
			refs, _ := f.GetStringSlice("group")
			groups, err := a.groupIDs(refs)
			if err != nil {
				return fmt.Errorf("group: %w", err)
			}
			body := map[string]any{"username": username, "email": email, "groups": groups}
			if with, _ := f.GetBool("with-password"); with {
				set, err := a.readPasswordSetting()
				if err != nil {
					return err
				}
				body["password"] = set
			}
			var created map[string]any
			if err := a.call(http.MethodPost, "/admin/users", body, &created); err != nil {
				return err
			}
			return printJSON(cmd, created)
		}),
	}
	create.Flags().String("username", "", "username")
	create.Flags().String("email", "", "email")
	create.Flags().StringSlice("group", nil, "groups to join, by name or id (repeat or comma-separate)")
	create.Flags().Bool("with-password", false, "set a password (from "+envPassword+", or asked twice on a terminal)")
	_ = create.MarkFlagRequired("username")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			return printTable(cmd, a, "/admin/users", []string{"id", "username", "email", "language", "status"})
		}),
	}
	get := &cobra.Command{
		Use:   "get USER",
		Short: "Show a user, by username or id",
		Args:  cobra.ExactArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			id, err := a.userID(args[0])
			if err != nil {
				return err
			}
			var u map[string]any
			if err := a.call(http.MethodGet, "/admin/users/"+pathSeg(id), nil, &u); err != nil {
				return err
			}
			return printJSON(cmd, u)
		}),
	}
	setPassword := &cobra.Command{
		Use:   "set-password [USER]",
		Short: "Set a user's password (hashed here); revokes their tokens",
		Args:  cobra.MaximumNArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			ref, _ := cmd.Flags().GetString("id")
			switch {
			case len(args) == 1 && ref != "" && ref != args[0]:
				return fmt.Errorf("the argument %q and --id %q differ: name the user once", args[0], ref)
			case len(args) == 1:
				ref = args[0]
			case ref == "":
				return errors.New("name the user: gatehouse users set-password USER (username or id)")
			}
			id, err := a.userID(ref)
			if err != nil {
				return err
			}
			set, err := a.readPasswordSetting()
			if err != nil {
				return err
			}
			return a.call(http.MethodPut, "/admin/users/"+pathSeg(id)+"/password", set, nil)
		}),
	}
	setPassword.Flags().String("id", "", "the user, by id or username (or give it as the argument)")
	cmd.AddCommand(create, list, get, setPassword)
	return cmd
}

// passwordIterations asks the server's discovery document for the
// client-side iteration count it accepts (password.iterations).
func (a *api) passwordIterations() (int, error) {
	res, err := http.Get(a.issuer + "/.well-known/openid-configuration")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var d struct {
		Iterations int `json:"password_iterations"`
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil || res.StatusCode != http.StatusOK || d.Iterations <= 0 {
		return 0, fmt.Errorf("discovery at %s does not say the password iterations (%s)", a.issuer, res.Status)
	}
	return d.Iterations, nil
}

// readPasswordSetting reads a password from GATEHOUSE_CLI_PASSWORD or twice
// from the terminal, and hashes it into the object the API takes, with
// the iterations the server accepts. The confirmation is the second
// typing, so a typo is caught by the server.
func (a *api) readPasswordSetting() (clienthash.PasswordSetting, error) {
	iterations, err := a.passwordIterations()
	if err != nil {
		return clienthash.PasswordSetting{}, err
	}
	if pw := os.Getenv(envPassword); pw != "" {
		return clienthash.NewPasswordSetting(pw, pw, iterations)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return clienthash.PasswordSetting{}, errors.New("no terminal: give the password in " + envPassword)
	}
	fmt.Fprint(os.Stderr, "Password: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprint(os.Stderr, "\nRepeat: ")
	if err != nil {
		return clienthash.PasswordSetting{}, err
	}
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return clienthash.PasswordSetting{}, err
	}
	return clienthash.NewPasswordSetting(string(p1), string(p2), iterations)
}

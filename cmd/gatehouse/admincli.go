package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/clienthash"
)

// The clients and users commands use the management API as any client
// would: they authenticate with an admin client's secret S (turned into W
// here), and hash secrets and passwords on this side.

// adminFlags adds the flags that say which server and admin client to use.
func adminFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String("issuer", envOr("GATEHOUSE_CLI_ISSUER", "http://127.0.0.1:8080"), "the server's issuer URL (GATEHOUSE_CLI_ISSUER)")
	f.String("admin-client-id", os.Getenv("GATEHOUSE_CLI_CLIENT_ID"), "admin client_id (GATEHOUSE_CLI_CLIENT_ID)")
	f.String("admin-client-secret", os.Getenv("GATEHOUSE_CLI_CLIENT_SECRET"), "admin client secret S (GATEHOUSE_CLI_CLIENT_SECRET)")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// api is a management API client.
type api struct {
	issuer string
	http   *http.Client
}

func newAPI(cmd *cobra.Command) (*api, error) {
	f := cmd.Flags()
	issuer, _ := f.GetString("issuer")
	id, _ := f.GetString("admin-client-id")
	s, _ := f.GetString("admin-client-secret")
	if id == "" || s == "" {
		return nil, errors.New("give the admin client with --admin-client-id and --admin-client-secret (or GATEHOUSE_CLI_CLIENT_ID and GATEHOUSE_CLI_CLIENT_SECRET)")
	}
	w, err := clienthash.WireSecret(s, id)
	if err != nil {
		return nil, fmt.Errorf("admin-client-secret: %w", err)
	}
	issuer = strings.TrimSuffix(issuer, "/")
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: w, TokenURL: issuer + "/oauth2/token"}
	return &api{issuer: issuer, http: cfg.Client(cmd.Context())}, nil
}

// call sends a JSON request and decodes the JSON answer into out (if not
// nil). A problem answer becomes an error with its detail.
func (a *api) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.issuer+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var p struct{ Title, Detail, Field string }
		_ = json.NewDecoder(res.Body).Decode(&p)
		if p.Field != "" {
			return fmt.Errorf("%s: %s (field %s)", res.Status, p.Detail, p.Field)
		}
		return fmt.Errorf("%s: %s", res.Status, p.Detail)
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newClientsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "Manage API clients through the management API"}
	adminFlags(cmd)

	create := &cobra.Command{
		Use:   "create",
		Short: "Create a client; its secret S is generated here, shown once, and only its verifier is sent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := newAPI(cmd)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			id, _ := f.GetString("client-id")
			if id == "" {
				var b [9]byte
				_, _ = rand.Read(b[:])
				id = "c-" + base64.RawURLEncoding.EncodeToString(b[:])
			}
			name, _ := f.GetString("name")
			scopes, _ := f.GetStringSlice("scope")
			grants, _ := f.GetStringSlice("grant-type")
			owner, _ := f.GetString("owner")
			s, err := clienthash.NewClientSecret()
			if err != nil {
				return err
			}
			v, _ := clienthash.VerifierFor(clienthash.Encode(s), id)
			body := map[string]any{"client_id": id, "name": name, "scopes": scopes, "grant_types": grants, "secret_verifier": v}
			if owner != "" {
				body["owner"] = owner
			}
			var created map[string]any
			if err := a.call(http.MethodPost, "/admin/clients", body, &created); err != nil {
				return err
			}
			created["client_secret"] = clienthash.Encode(s)
			return printJSON(cmd, created)
		},
	}
	create.Flags().String("client-id", "", "client_id (default: generated)")
	create.Flags().String("name", "", "display name")
	create.Flags().StringSlice("scope", nil, "allowed admin resources (repeat or comma-separate)")
	create.Flags().StringSlice("grant-type", []string{"client_credentials"}, "grant types")
	create.Flags().String("owner", "", "owner user id (default: the admin client's owner)")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List clients",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := newAPI(cmd)
			if err != nil {
				return err
			}
			return printTable(cmd, a, "/admin/clients", []string{"client_id", "name", "owner", "scopes", "status"})
		},
	}

	rotate := &cobra.Command{
		Use:   "rotate-secret",
		Short: "Add a new secret version (the old ones stay active until deleted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := newAPI(cmd)
			if err != nil {
				return err
			}
			id, _ := cmd.Flags().GetString("client-id")
			s, err := clienthash.NewClientSecret()
			if err != nil {
				return err
			}
			v, _ := clienthash.VerifierFor(clienthash.Encode(s), id)
			var created map[string]any
			if err := a.call(http.MethodPost, "/admin/clients/"+url.PathEscape(id)+"/secrets", map[string]string{"verifier": v}, &created); err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"client_id": id, "secret_id": created["id"], "client_secret": clienthash.Encode(s)})
		},
	}
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete a client and revoke its tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := newAPI(cmd)
			if err != nil {
				return err
			}
			id, _ := cmd.Flags().GetString("client-id")
			return a.call(http.MethodDelete, "/admin/clients/"+url.PathEscape(id), nil, nil)
		},
	}
	for _, c := range []*cobra.Command{rotate, del} {
		c.Flags().String("client-id", "", "client_id")
		_ = c.MarkFlagRequired("client-id")
	}
	cmd.AddCommand(create, list, rotate, del)
	return cmd
}

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage users through the management API"}
	adminFlags(cmd)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user; with --with-password the password is hashed here",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := newAPI(cmd)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			username, _ := f.GetString("username")
			email, _ := f.GetString("email")
			groups, _ := f.GetStringSlice("group")
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
		},
	}
	create.Flags().String("username", "", "username")
	create.Flags().String("email", "", "email")
	create.Flags().StringSlice("group", nil, "group ids")
	create.Flags().Bool("with-password", false, "set a password (from GATEHOUSE_CLI_PASSWORD, or asked twice on a terminal)")
	_ = create.MarkFlagRequired("username")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := newAPI(cmd)
			if err != nil {
				return err
			}
			return printTable(cmd, a, "/admin/users", []string{"id", "username", "email", "language", "status"})
		},
	}
	setPassword := &cobra.Command{
		Use:   "set-password",
		Short: "Set a user's password (hashed here); revokes their tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := newAPI(cmd)
			if err != nil {
				return err
			}
			id, _ := cmd.Flags().GetString("id")
			set, err := a.readPasswordSetting()
			if err != nil {
				return err
			}
			return a.call(http.MethodPut, "/admin/users/"+url.PathEscape(id)+"/password", set, nil)
		},
	}
	setPassword.Flags().String("id", "", "user id")
	_ = setPassword.MarkFlagRequired("id")
	cmd.AddCommand(create, list, setPassword)
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
	if pw := os.Getenv("GATEHOUSE_CLI_PASSWORD"); pw != "" {
		return clienthash.NewPasswordSetting(pw, pw, iterations)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return clienthash.PasswordSetting{}, errors.New("no terminal: give the password in GATEHOUSE_CLI_PASSWORD")
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

// eachPage walks every page of a list.
func eachPage(a *api, path string, fn func(map[string]any)) error {
	cursor := ""
	for {
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		p := path + "?limit=500"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := a.call(http.MethodGet, p, nil, &page); err != nil {
			return err
		}
		for _, it := range page.Items {
			fn(it)
		}
		if cursor = page.NextCursor; cursor == "" {
			return nil
		}
	}
}

// printTable prints every item of a list as a row of the given fields.
func printTable(cmd *cobra.Command, a *api, path string, fields []string) error {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(fields, "\t")))
	err := eachPage(a, path, func(it map[string]any) {
		cells := make([]string, len(fields))
		for i, f := range fields {
			cells[i] = cell(it[f])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func cell(v any) string {
	list, ok := v.([]any)
	if !ok {
		return fmt.Sprint(v)
	}
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}

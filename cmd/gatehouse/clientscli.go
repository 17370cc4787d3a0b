package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse/gatehouse/clienthash"
)

func newClientsCmd() *cobra.Command {
	cmd := newGroupCmd("clients", "Manage API clients through the management API")
	adminFlags(cmd)

	create := &cobra.Command{
		Use:   "create",
		Short: "Create a client; its secret S is generated here, shown once, and only its verifier is sent",
		Args:  cobra.NoArgs,
		RunE:  adminRunE(runClientCreate),
	}
	f := create.Flags()
	f.String("client-id", "", "client_id (default: generated)")
	f.String("name", "", "display name")
	f.String("owner", "", "owner user id (default: the admin client's owner)")
	f.String("auth-method", "client_secret_basic", "token_endpoint_auth_method: client_secret_basic, client_secret_post, or none for a public client (no secret)")
	clientFieldFlags(f)
	_ = create.MarkFlagRequired("name")

	get := &cobra.Command{
		Use:   "get [CLIENT_ID]",
		Short: "Show a client",
		Args:  cobra.MaximumNArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			id, err := clientIDArg(cmd, args)
			if err != nil {
				return err
			}
			var c map[string]any
			if err := a.call(http.MethodGet, "/admin/clients/"+pathSeg(id), nil, &c); err != nil {
				return err
			}
			return printJSON(cmd, c)
		}),
	}
	update := &cobra.Command{
		Use:   "update [CLIENT_ID]",
		Short: "Change the fields given as flags; list flags replace the whole list",
		Args:  cobra.MaximumNArgs(1),
		RunE:  adminRunE(runClientUpdate),
	}
	update.Flags().String("name", "", "display name")
	update.Flags().String("status", "", "active or disabled")
	clientFieldFlags(update.Flags())

	list := &cobra.Command{
		Use:   "list",
		Short: "List clients",
		Args:  cobra.NoArgs,
		RunE: adminRunE(func(cmd *cobra.Command, a *api, _ []string) error {
			return printTable(cmd, a, "/admin/clients", []string{"client_id", "name", "owner", "scopes", "grant_types", "status"})
		}),
	}
	rotate := &cobra.Command{
		Use:   "rotate-secret [CLIENT_ID]",
		Short: "Add a new secret version (the old ones stay active until deleted)",
		Args:  cobra.MaximumNArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			id, err := clientIDArg(cmd, args)
			if err != nil {
				return err
			}
			s, v, err := newSecretFor(id)
			if err != nil {
				return err
			}
			var created map[string]any
			if err := a.call(http.MethodPost, "/admin/clients/"+pathSeg(id)+"/secrets", map[string]string{"verifier": v}, &created); err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"client_id": id, "secret_id": created["id"], "client_secret": s})
		}),
	}
	del := &cobra.Command{
		Use:   "delete [CLIENT_ID]",
		Short: "Delete a client and revoke its tokens",
		Args:  cobra.MaximumNArgs(1),
		RunE: adminRunE(func(cmd *cobra.Command, a *api, args []string) error {
			id, err := clientIDArg(cmd, args)
			if err != nil {
				return err
			}
			return a.call(http.MethodDelete, "/admin/clients/"+pathSeg(id), nil, nil)
		}),
	}
	for _, c := range []*cobra.Command{get, update, rotate, del} {
		c.Flags().String("client-id", "", "client_id (or give it as the argument)")
	}
	cmd.AddCommand(create, list, get, update, rotate, del)
	return cmd
}

// clientFieldFlags adds the flags of the client fields that create and
// update share. Their JSON names are the management API's (RFC 7591 names
// where one exists, CONTRACT §6).
func clientFieldFlags(f *pflag.FlagSet) {
	f.StringSlice("scope", nil, "allowed admin resources (repeat or comma-separate)")
	f.StringSlice("grant-type", []string{"client_credentials"},
		"grant types: client_credentials, password, refresh_token, authorization_code")
	f.StringArray("redirect-uri", nil, "a redirect URI for the authorization code flow, matched exactly (repeat for more)")
	f.StringArray("post-logout-redirect-uri", nil, "a URI to return to after logout, matched exactly (repeat for more)")
	f.Bool("require-pkce", true, "require PKCE (RFC 7636); public clients always need it")
	f.Bool("skip-consent", false, "first-party client: its users are not asked for consent")
	f.String("context", "", `bind the client to a context: its tokens are for it ("" unbinds)`)
}

// clientFields returns the fields whose flags were given, under their JSON
// names. Unset flags are left out so that the server's defaults apply on
// create (require_pkce true, skip_consent false) and update changes only
// what was asked (PATCH, CONTRACT §4). --grant-type is always sent on
// create, where its default is client_credentials.
func clientFields(cmd *cobra.Command, create bool) map[string]any {
	f := cmd.Flags()
	body := map[string]any{}
	set := func(flag, field string, v any) {
		if f.Changed(flag) {
			body[field] = v
		}
	}
	scopes, _ := f.GetStringSlice("scope")
	grants, _ := f.GetStringSlice("grant-type")
	redirects, _ := f.GetStringArray("redirect-uri")
	logouts, _ := f.GetStringArray("post-logout-redirect-uri")
	pkce, _ := f.GetBool("require-pkce")
	skip, _ := f.GetBool("skip-consent")
	contextID, _ := f.GetString("context")
	set("context", "context_id", contextID)
	set("scope", "scopes", scopes)
	set("grant-type", "grant_types", grants)
	set("redirect-uri", "redirect_uris", redirects)
	set("post-logout-redirect-uri", "post_logout_redirect_uris", logouts)
	set("require-pkce", "require_pkce", pkce)
	set("skip-consent", "skip_consent", skip)
	if create {
		body["grant_types"] = grants
		if scopes == nil {
			body["scopes"] = []string{}
		}
	}
	return body
}

func runClientCreate(cmd *cobra.Command, a *api, _ []string) error {
	f := cmd.Flags()
	id, _ := f.GetString("client-id")
	if id == "" {
		var b [9]byte
		_, _ = rand.Read(b[:])
		id = "c-" + base64.RawURLEncoding.EncodeToString(b[:])
	}
	name, _ := f.GetString("name")
	owner, _ := f.GetString("owner")
	method, _ := f.GetString("auth-method")
	body := clientFields(cmd, true)
	body["client_id"], body["name"] = id, name
	if owner != "" {
		body["owner"] = owner
	}
	if f.Changed("auth-method") {
		body["token_endpoint_auth_method"] = method
	}
	secret := ""
	if method != "none" {
		s, v, err := newSecretFor(id)
		if err != nil {
			return err
		}
		secret, body["secret_verifier"] = s, v
	}
	var created map[string]any
	if err := a.call(http.MethodPost, "/admin/clients", body, &created); err != nil {
		return err
	}
	if secret != "" {
		created["client_secret"] = secret
	}
	return printJSON(cmd, created)
}

func runClientUpdate(cmd *cobra.Command, a *api, args []string) error {
	id, err := clientIDArg(cmd, args)
	if err != nil {
		return err
	}
	body := clientFields(cmd, false)
	for _, flag := range []string{"name", "status"} {
		if cmd.Flags().Changed(flag) {
			body[flag], _ = cmd.Flags().GetString(flag)
		}
	}
	if len(body) == 0 {
		return errNoChange
	}
	var updated map[string]any
	if err := a.call(http.MethodPatch, "/admin/clients/"+pathSeg(id), body, &updated); err != nil {
		return err
	}
	return printJSON(cmd, updated)
}

// clientIDArg returns the client_id given as the argument or with
// --client-id (the older spelling, still accepted).
func clientIDArg(cmd *cobra.Command, args []string) (string, error) {
	flag, _ := cmd.Flags().GetString("client-id")
	switch {
	case len(args) == 1 && flag != "" && flag != args[0]:
		return "", fmt.Errorf("the argument %q and --client-id %q differ: give the client_id once", args[0], flag)
	case len(args) == 1:
		return args[0], nil
	case flag != "":
		return flag, nil
	}
	return "", fmt.Errorf("give the client_id: %s CLIENT_ID", cmd.CommandPath())
}

// newSecretFor generates a client secret S and returns it with the
// verifier V to register (docs/client-side-hashing.md).
func newSecretFor(clientID string) (s, v string, err error) {
	raw, err := clienthash.NewClientSecret()
	if err != nil {
		return "", "", err
	}
	s = clienthash.Encode(raw)
	v, err = clienthash.VerifierFor(s, clientID)
	return s, v, err
}

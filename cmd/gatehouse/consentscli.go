package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
)

// The consents commands read and revoke what users allowed third-party
// clients at the consent page (docs/browser-sign-in.md). An administrator
// names the user (by username or id) and uses /admin/users/{id}/consents
// with the admin client; with --as a user signs in (password grant
// through the same client, the password hashed here) and uses
// /admin/me/consents, which takes user tokens only.

func newConsentsCmd() *cobra.Command {
	cmd := newGroupCmd("consents", "List and revoke the consents users gave third-party clients")
	adminFlags(cmd)
	cmd.PersistentFlags().String("as", "", "act as this user on their own consents (password from --password or "+envPassword+")")
	cmd.PersistentFlags().String("password", "", "with --as: the user's password (default: "+envPassword+")")
	list := &cobra.Command{
		Use:   "list [USER]",
		Short: "List a user's consents (USER by username or id; or one's own with --as)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, path, err := consentsAPI(cmd, args)
			if err != nil {
				return err
			}
			return printTable(cmd, a, path, []string{"client_id", "scopes", "created_at", "updated_at"})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke [USER] CLIENT_ID",
		Short: "Revoke a user's consent to a client; it asks again at its next sign-in",
		Long: `Revoke a user's consent to a client: the client asks for consent again at its next
authorization request. Tokens already issued stay until they expire or are revoked.
An administrator names the user (username or id) and the client; with --as USERNAME, only
the client.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientID := args[len(args)-1]
			a, path, err := consentsAPI(cmd, args[:len(args)-1])
			if err != nil {
				return err
			}
			if err := a.call(http.MethodDelete, path+"/"+pathSeg(clientID), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked the consent to %s\n", clientID)
			return nil
		},
	}
	cmd.AddCommand(list, revoke)
	return cmd
}

// consentsAPI returns the API client and the consents path for the user
// that args (zero or one USER) and --as name: exactly one of them.
func consentsAPI(cmd *cobra.Command, args []string) (*api, string, error) {
	as, _ := cmd.Flags().GetString("as")
	switch {
	case as != "" && len(args) > 0:
		return nil, "", fmt.Errorf("name the user once: %q or --as %q", args[0], as)
	case as == "" && len(args) == 0:
		return nil, "", errors.New("name the user (USER, by username or id), or act as yourself with --as USERNAME")
	case as != "":
		a, err := userAPI(cmd, as)
		return a, "/admin/me/consents", err
	}
	a, err := newAPI(cmd)
	if err != nil {
		return nil, "", err
	}
	id, err := a.userID(args[0])
	if err != nil {
		return nil, "", err
	}
	return a, "/admin/users/" + pathSeg(id) + "/consents", nil
}

// userAPI is a management API client holding username's own token, got
// with the password grant through the admin client.
func userAPI(cmd *cobra.Command, username string) (*api, error) {
	f := cmd.Flags()
	issuer, _ := f.GetString("issuer")
	id, _ := f.GetString("admin-client-id")
	s, _ := f.GetString("admin-client-secret")
	password, _ := f.GetString("password")
	if id == "" || s == "" {
		return nil, fmt.Errorf("give the client to sign in through with --admin-client-id and --admin-client-secret (or %s and %s)", envClientID, envClientSecret)
	}
	w, err := wireSecret(s, id)
	if err != nil {
		return nil, fmt.Errorf("admin-client-secret: %w", err)
	}
	issuer = strings.TrimSuffix(issuer, "/")
	cfg := oauth2.Config{ClientID: id, ClientSecret: w,
		Endpoint: oauth2.Endpoint{TokenURL: issuer + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := passwordToken(cmd.Context(), issuer, cfg, username, password)
	if err != nil {
		return nil, fmt.Errorf("signing in as %s: %w", username, explainTokenError(err))
	}
	return &api{issuer: issuer, http: cfg.Client(cmd.Context(), tok)}, nil
}

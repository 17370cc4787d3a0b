package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/clienthash"
)

func newSecretCmd() *cobra.Command {
	cmd := newGroupCmd("secret", "Client-secret helpers (docs/client-side-hashing.md)")
	wire := &cobra.Command{
		Use:   "wire",
		Short: "Print W, what a client sends as client_secret, derived from S",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, _ := cmd.Flags().GetString("client-id")
			s := secretFlag(cmd.Flags(), "secret", envClientSecret)
			if id == "" {
				return fmt.Errorf("give the client with --client-id (or %s)", envClientID)
			}
			w, err := wireSecret(s, id)
			if err != nil {
				return fmt.Errorf("secret: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), w)
			return nil
		},
	}
	wire.Flags().String("client-id", os.Getenv(envClientID), "client_id ("+envClientID+")")
	wire.Flags().String("secret", "", "the client secret S, b64u (default $"+envClientSecret+")")

	newS := &cobra.Command{
		Use:   "new",
		Short: "Generate a secret S and print S and the verifier V to register",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, _ := cmd.Flags().GetString("client-id")
			s, err := clienthash.NewClientSecret()
			if err != nil {
				return err
			}
			v, _ := clienthash.VerifierFor(clienthash.Encode(s), id)
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"client_id": id, "secret": clienthash.Encode(s), "verifier": v})
		},
	}
	newS.Flags().String("client-id", "", "client_id")
	_ = newS.MarkFlagRequired("client-id")

	password := &cobra.Command{
		Use:   "password",
		Short: "Print the password object (hashed on this side) that the management API takes",
		Long: `Print {"kdf","iterations","salt","hash","confirmation"} for a password read from
` + envPassword + ` or --password: what a client sends whenever a password is set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, _ := cmd.Flags().GetString("password")
			if pw == "" {
				pw = os.Getenv(envPassword)
			}
			if pw == "" {
				return fmt.Errorf("give the password with --password or %s", envPassword)
			}
			iterations, _ := cmd.Flags().GetInt("iterations")
			set, err := clienthash.NewPasswordSetting(pw, pw, iterations)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(set)
		},
	}
	password.Flags().String("password", "", "the password (prefer "+envPassword+")")
	password.Flags().Int("iterations", clienthash.DefaultIterations,
		"client-side PBKDF2 iterations: the server's password.iterations (its discovery document's password_iterations)")
	cmd.AddCommand(wire, newS, password)
	return cmd
}

// wireSecret derives W from the client secret S after checking that S is
// what `secret new` and `clients create` print: 32 random bytes in
// base64url without padding (docs/client-side-hashing.md). Any other
// string would still hash to a W, which the server would then refuse
// with an invalid_client that does not say the input was mistyped.
func wireSecret(s, clientID string) (string, error) {
	if s == "" {
		return "", errors.New("is empty: give the secret S that `gatehouse secret new` or `gatehouse clients create` printed")
	}
	raw, err := clienthash.Decode(s)
	if err != nil {
		return "", errors.New("is not base64url without padding: S is 43 characters of A-Z, a-z, 0-9, - and _")
	}
	if len(raw) != clienthash.KeyLen {
		return "", fmt.Errorf("holds %d bytes (%d characters), but S holds %d bytes (43 characters): was it cut short?",
			len(raw), len(s), clienthash.KeyLen)
	}
	return clienthash.WireSecret(s, clientID)
}

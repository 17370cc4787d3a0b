package main

import (
	"errors"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/postgres"
)

// The keys commands drive the signing-key lifecycle that every server runs
// (internal/keys: Tick), on the PostgreSQL store the servers share; see
// docs/operations.md, "Signing keys".
func newKeysCmd() *cobra.Command {
	cmd := newGroupCmd("keys", "Show and drive the token-signing key lifecycle")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys and where each is in its lifecycle",
		Args:  cobra.NoArgs,
		RunE:  withKeys(runKeysList),
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Publish a new signing key now; it signs once resource servers have it",
		Long: `Publish a new signing key (token.signing_alg) in the JWKS now. The running servers activate
it keys.publish_lead later, when every resource server's cached JWKS holds it, and retire the
previous key, which stays published until every token it signed has expired. Running rotate
again while a rotation is under way changes nothing.

--now activates the new key at once: resource servers then meet a key they do not know and
must refetch the JWKS. Use it only for a compromised key, followed by "keys retire --force".

The key is encrypted with keys.encryption_secret, which must be the one the servers use:
rotate refuses to run if it cannot decrypt the stored keys, or while some are sealed under
keys.previous_encryption_secrets (run reencrypt first, once every server has the new secret).`,
		Args: cobra.NoArgs,
		RunE: withKeys(runKeysRotate),
	}
	rotate.Flags().Bool("now", false, "activate at once instead of after keys.publish_lead (compromised key)")
	retire := &cobra.Command{
		Use:   "retire KID",
		Short: "Withdraw a pending key, or unpublish a retired one",
		Long: `Withdraw a key that does not sign: a pending (next) key is deleted, which cancels its rotation;
a retired key is deleted from the JWKS before its tokens have expired only with --force, after
which those tokens fail verification (for a compromised key). The active key is never retired
by hand: rotate first.`,
		Args: cobra.ExactArgs(1),
		RunE: withKeys(runKeysRetire),
	}
	retire.Flags().Bool("force", false, "unpublish a retired key even though tokens it signed may still be valid")
	reencrypt := &cobra.Command{
		Use:   "reencrypt",
		Short: "Re-encrypt every stored key under keys.encryption_secret",
		Long: `Re-encrypt every stored signing key that is still encrypted under one of
keys.previous_encryption_secrets with keys.encryption_secret. To replace the secret: set the new
one as keys.encryption_secret and the old one in keys.previous_encryption_secrets on every
server, run reencrypt, then remove the old secret. Nothing changes if some key opens under
none of the configured secrets.`,
		Args: cobra.NoArgs,
		RunE: withKeys(runKeysReencrypt),
	}
	cmd.AddCommand(list, rotate, retire, reencrypt)
	return cmd
}

// withKeys runs fn with a key manager on the configured PostgreSQL store,
// loaded: with the wrong secret it fails before changing anything.
func withKeys(fn func(*cobra.Command, []string, *keys.Manager, config.Config) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := loadConfig(cmd)
		if err != nil {
			return err
		}
		if c.Dev {
			return errors.New("the keys commands work on PostgreSQL; a --dev server makes a new key at every start")
		}
		ctx := cmd.Context()
		store, err := postgres.Open(ctx, c.DatabaseURL)
		if err != nil {
			return &config.Error{Key: "database_url", Reason: err.Error()}
		}
		defer store.Close()
		if err := schemaCurrent(ctx, c.DatabaseURL); err != nil {
			return err
		}
		km, err := newKeyManager(c, store)
		if err != nil {
			return err
		}
		if err := km.Refresh(ctx); err != nil {
			return err
		}
		return fn(cmd, args, km, c)
	}
}

func runKeysList(cmd *cobra.Command, _ []string, km *keys.Manager, _ config.Config) error {
	list, err := km.List(cmd.Context())
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KID\tALG\tSTATE\tPUBLISHED\tACTIVATED\tRETIRED\tNEXT STEP")
	for _, k := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Algorithm, k.State,
			stamp(&k.PublishedAt), stamp(k.ActivatedAt), stamp(k.RetiredAt), nextStep(k))
	}
	return w.Flush()
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func nextStep(k keys.KeyInfo) string {
	switch {
	case !k.ActivatesAt.IsZero():
		return "signs from " + stamp(&k.ActivatesAt)
	case !k.UnpublishedAt.IsZero():
		return "unpublished from " + stamp(&k.UnpublishedAt)
	case k.State == storage.KeyStateActive:
		return "signs"
	}
	return "-"
}

func runKeysRotate(cmd *cobra.Command, _ []string, km *keys.Manager, c config.Config) error {
	out := cmd.OutOrStdout()
	// Opening the stored keys (withKeys) proves only that this machine
	// holds their secret; a key sealed under a newer one the servers lack
	// would stop them loading any key.
	if err := km.CheckSecretCurrent(cmd.Context()); err != nil {
		return err
	}
	if now, _ := cmd.Flags().GetBool("now"); now {
		kid, err := km.RotateNow(cmd.Context())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "activated signing key %s (%s) at once; servers use it within %s (keys.refresh_interval)\n",
			kid, c.Token.SigningAlg, c.Keys.RefreshInterval)
		return nil
	}
	k, err := km.Rotate(cmd.Context())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "published signing key %s (%s); it signs from %s (keys.publish_lead after publication)\n",
		k.KID, k.Algorithm, stamp(&k.ActivatesAt))
	return nil
}

func runKeysRetire(cmd *cobra.Command, args []string, km *keys.Manager, _ config.Config) error {
	force, _ := cmd.Flags().GetBool("force")
	if err := km.Retire(cmd.Context(), args[0], force); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no signing key %q (see gatehouse keys list)", args[0])
		}
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "signing key %s unpublished; servers drop it within the refresh interval\n", args[0])
	return nil
}

func runKeysReencrypt(cmd *cobra.Command, _ []string, km *keys.Manager, _ config.Config) error {
	n, err := km.Reencrypt(cmd.Context())
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "re-encrypted %d signing key(s) under keys.encryption_secret\n", n)
	return nil
}

// newKeyManager builds the key manager the way the server does.
func newKeyManager(c config.Config, store storage.KeyStore) (*keys.Manager, error) {
	secret, err := config.Secret(c.Keys.EncryptionSecret)
	if err != nil {
		return nil, &config.Error{Key: "keys.encryption_secret", Reason: err.Error()}
	}
	previous, err := config.PreviousSecrets(c.Keys.PreviousEncryptionSecrets)
	if err != nil {
		return nil, &config.Error{Key: "keys.previous_encryption_secrets", Reason: err.Error()}
	}
	return keys.NewManager(store, storage.DefaultRealm, keys.Options{
		Algorithm: c.Token.SigningAlg, EncryptionSecret: secret, PreviousEncryptionSecrets: previous,
		PublishLead: c.Keys.PublishLead, RotationInterval: c.Keys.RotationInterval,
		MaxTokenLifetime: max(c.Token.RefreshTTL, c.Token.AccessTTL, 24*time.Hour),
		Logger:           slog.New(slog.DiscardHandler),
	})
}

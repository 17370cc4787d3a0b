package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/postgres"
)

func newKeysCmd() *cobra.Command {
	cmd := newGroupCmd("keys", "Manage the token-signing keys")
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Activate a new signing key now",
		Long: `Activate a new signing key (token.signing_alg) now. The previous key is retired but stays
in the JWKS until every token it signed has expired. Running servers pick the new key up
within keys.refresh_interval. The key is encrypted with keys.encryption_secret, which must
be the one the servers use: rotate refuses to run if it cannot decrypt the current key.`,
		Args: cobra.NoArgs,
		RunE: runKeysRotate,
	}
	cmd.AddCommand(rotate)
	return cmd
}

func runKeysRotate(cmd *cobra.Command, _ []string) error {
	c, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	if c.Dev {
		return errors.New("keys rotate works on PostgreSQL; a --dev server makes a new key at every start")
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
	// Loading decrypts the active key: with the wrong secret it fails here,
	// before a key the servers could not read is activated.
	if err := km.Refresh(ctx); err != nil {
		return err
	}
	kid, err := km.Rotate(ctx)
	if err != nil {
		return err
	}
	if err := km.Prune(ctx); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "activated signing key %s (%s); servers use it within %s (keys.refresh_interval)\n",
		kid, c.Token.SigningAlg, c.Keys.RefreshInterval)
	return nil
}

// newKeyManager builds the key manager the way the server does.
func newKeyManager(c config.Config, store storage.KeyStore) (*keys.Manager, error) {
	secret, err := config.Secret(c.Keys.EncryptionSecret)
	if err != nil {
		return nil, &config.Error{Key: "keys.encryption_secret", Reason: err.Error()}
	}
	return keys.NewManager(store, storage.DefaultRealm, keys.Options{
		Algorithm: c.Token.SigningAlg, EncryptionSecret: secret,
		MaxTokenLifetime: max(c.Token.RefreshTTL, c.Token.AccessTTL, 24*time.Hour),
		Logger:           slog.New(slog.DiscardHandler),
	})
}

// rotateWhenDue replaces the active signing key once it is older than
// every (keys.rotation_interval), looking every check. Every node runs it;
// two nodes rotating at nearly the same moment is harmless, since the
// key retired in between stays published until its tokens expire.
func rotateWhenDue(ctx context.Context, a *app.App, every, check time.Duration, log *slog.Logger) {
	t := time.NewTicker(check)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		list, err := a.Store().ListSigningKeys(ctx, storage.DefaultRealm)
		if err != nil || !rotationDue(list, time.Now(), every) {
			continue
		}
		if _, err := a.Keys.Rotate(ctx); err != nil {
			log.Error("scheduled signing key rotation failed", "error", err)
			continue
		}
		if err := a.Keys.Prune(ctx); err != nil {
			log.Warn("pruning expired signing keys failed", "error", err)
		}
	}
}

// rotationDue reports whether the active key was activated more than
// every ago. Without an active key there is nothing to rotate: the server
// creates one at start.
func rotationDue(list []storage.SigningKey, now time.Time, every time.Duration) bool {
	for _, k := range list {
		if k.State == storage.KeyStateActive && k.ActivatedAt != nil {
			return now.Sub(*k.ActivatedAt) >= every
		}
	}
	return false
}

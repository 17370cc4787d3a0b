package clientauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// wireSecretLen is the length of b64u(W): 32 bytes, base64url, unpadded.
const wireSecretLen = 43

// authenticateSecret checks client_secret_basic and client_secret_post
// credentials: SHA-256(W) against every active secret version.
//
// An unknown client costs what a known one costs, storage reads included:
// its secret versions are asked for too and W is checked against a dummy
// verifier, so that the time taken does not tell which client_ids exist.
func (a *Authenticator) authenticateSecret(ctx context.Context, cr credentials) (Result, error) {
	if len(cr.secret) != wireSecretLen {
		// Nothing about the client is read yet, so refusing early reveals
		// nothing; a raw secret sent by mistake ends here.
		return Result{}, invalidClient("client_secret is not b64u(W) of 43 characters")
	}
	c, err := a.clients.GetClient(ctx, a.cfg.Realm, cr.clientID)
	known := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Result{}, fmt.Errorf("clientauth: load client: %w", err)
	}
	secrets, err := a.clients.ActiveClientSecrets(ctx, a.cfg.Realm, cr.clientID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Result{}, fmt.Errorf("clientauth: load client secrets: %w", err)
	}
	verifiers := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		if s.Active() {
			verifiers = append(verifiers, s.Verifier)
		} else {
			verifiers = append(verifiers, nil) // keeps indexes aligned; nil matches nothing
		}
	}
	hasSecrets := known && len(verifiers) > 0
	if !hasSecrets {
		verifiers = a.dummy
	}
	i, ok := credential.VerifyClientSecret(cr.secret, verifiers)
	switch {
	case !known:
		return Result{}, invalidClient("unknown client")
	case !hasSecrets:
		return Result{}, invalidClient("client has no active secret")
	case !ok:
		return Result{}, invalidClient("secret matches no active version")
	}
	if err := checkClient(c, cr.method); err != nil {
		return Result{}, err
	}
	return Result{Client: c, Method: cr.method, SecretID: secrets[i].ID}, nil
}

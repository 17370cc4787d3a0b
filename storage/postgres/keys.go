package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

const keyCols = `kid, algorithm, private_key_encrypted, public_jwk, state, created_at, activated_at, retired_at`

func scanKey(row pgx.Row) (storage.SigningKey, error) {
	var k storage.SigningKey
	err := row.Scan(&k.KID, &k.Algorithm, &k.PrivateKeyEncrypted, &k.PublicJWK, &k.State, &k.CreatedAt, &k.ActivatedAt, &k.RetiredAt)
	return k, err
}

// CreateSigningKey implements storage.KeyStore.
func (s *Store) CreateSigningKey(ctx context.Context, a storage.Actor, realm string, k storage.SigningKey) (storage.SigningKey, error) {
	if k.State == "" {
		k.State = storage.KeyStateNext
	}
	var out storage.SigningKey
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if k.State == storage.KeyStateActive {
			if err := retireActive(ctx, tx, a, realm, time.Now()); err != nil {
				return err
			}
		}
		var err error
		var created *time.Time
		if !k.CreatedAt.IsZero() {
			created = &k.CreatedAt
		}
		out, err = scanKey(tx.QueryRow(ctx, `INSERT INTO signing_keys (realm_id, kid, algorithm, private_key_encrypted, public_jwk, state, created_at, activated_at)
			VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, now()), CASE WHEN $6 = 'active' THEN COALESCE($7, now()) END) RETURNING `+keyCols,
			realm, k.KID, k.Algorithm, k.PrivateKeyEncrypted, k.PublicJWK, string(k.State), created))
		if err != nil {
			return mapErr(err, "signing key "+k.KID, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionKeyCreate, storage.TargetSigningKey, k.KID, map[string]string{"alg": k.Algorithm, "state": string(k.State)})
	})
	return out, err
}

// ListSigningKeys implements storage.KeyStore.
func (s *Store) ListSigningKeys(ctx context.Context, realm string) ([]storage.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM signing_keys WHERE realm_id = $1 ORDER BY created_at DESC, kid DESC`, realm)
	if err != nil {
		return nil, mapErr(err, "signing keys", false)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.SigningKey, error) { return scanKey(r) })
	return out, mapErr(err, "signing keys", false)
}

// retireActive retires the realm's active key inside tx.
func retireActive(ctx context.Context, tx pgx.Tx, a storage.Actor, realm string, t time.Time) error {
	var kid string
	err := tx.QueryRow(ctx, `UPDATE signing_keys SET state = 'retired', retired_at = $2 WHERE realm_id = $1 AND state = 'active' RETURNING kid`, realm, t).Scan(&kid)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil {
		return mapErr(err, "active signing key", false)
	}
	return audit(ctx, tx, realm, a, storage.ActionKeyState, storage.TargetSigningKey, kid, map[string]string{"state": string(storage.KeyStateRetired)})
}

// SetSigningKeyState implements storage.KeyStore.
func (s *Store) SetSigningKeyState(ctx context.Context, a storage.Actor, realm, kid string, state storage.KeyState, t time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var cur storage.KeyState
		if err := tx.QueryRow(ctx, `SELECT state FROM signing_keys WHERE realm_id = $1 AND kid = $2 FOR UPDATE`, realm, kid).Scan(&cur); err != nil {
			return mapErr(err, "signing key "+kid, false)
		}
		// Serialise activations per realm, so that two nodes activating
		// at once end with exactly one active key.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gatehouse.signing_keys.' || $1))`, realm); err != nil {
			return mapErr(err, "signing key lock", false)
		}
		if state == storage.KeyStateActive && cur != storage.KeyStateActive {
			if err := retireActive(ctx, tx, a, realm, t); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE signing_keys SET state = $3,
			activated_at = CASE WHEN $3 = 'active' THEN $4 ELSE activated_at END,
			retired_at = CASE WHEN $3 = 'retired' THEN $4 ELSE retired_at END
			WHERE realm_id = $1 AND kid = $2`, realm, kid, string(state), t)
		if err != nil {
			return mapErr(err, "signing key "+kid, false)
		}
		return audit(ctx, tx, realm, a, storage.ActionKeyState, storage.TargetSigningKey, kid, map[string]string{"state": string(state)})
	})
}

// DeleteSigningKey implements storage.KeyStore.
func (s *Store) DeleteSigningKey(ctx context.Context, a storage.Actor, realm, kid string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var state storage.KeyState
		err := tx.QueryRow(ctx, `DELETE FROM signing_keys WHERE realm_id = $1 AND kid = $2 AND state <> 'active' RETURNING state`, realm, kid).Scan(&state)
		if err == pgx.ErrNoRows {
			return keyRefused(ctx, tx, realm, kid, "is active", storage.ErrInUse)
		}
		if err != nil {
			return mapErr(err, "signing key "+kid, true)
		}
		return audit(ctx, tx, realm, a, storage.ActionKeyDelete, storage.TargetSigningKey, kid, nil)
	})
}

// ResealSigningKey implements storage.KeyStore.
func (s *Store) ResealSigningKey(ctx context.Context, a storage.Actor, realm, kid string, was, sealed []byte) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE signing_keys SET private_key_encrypted = $4
			WHERE realm_id = $1 AND kid = $2 AND private_key_encrypted = $3`, realm, kid, was, sealed)
		if err != nil {
			return mapErr(err, "signing key "+kid, false)
		}
		if tag.RowsAffected() == 0 {
			return keyRefused(ctx, tx, realm, kid, "changed meanwhile", storage.ErrConflict)
		}
		return audit(ctx, tx, realm, a, storage.ActionKeyReseal, storage.TargetSigningKey, kid, nil)
	})
}

// keyRefused explains a conditional key write that changed no row: the
// key is gone (ErrNotFound), or it exists and failed the condition
// (refused, described by why).
func keyRefused(ctx context.Context, tx pgx.Tx, realm, kid, why string, refused error) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys WHERE realm_id = $1 AND kid = $2)`, realm, kid).Scan(&exists); err != nil {
		return mapErr(err, "signing key "+kid, false)
	}
	if !exists {
		return errorf("signing key "+kid, storage.ErrNotFound)
	}
	return errorf("signing key "+kid+" "+why, refused)
}

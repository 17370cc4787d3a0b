package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

const consentCols = `user_id::text, client_id, scopes, created_at, updated_at`

func scanConsent(row pgx.Row) (storage.Consent, error) {
	var c storage.Consent
	err := row.Scan(&c.UserID, &c.ClientID, &c.Scopes, &c.CreatedAt, &c.UpdatedAt)
	c.Scopes = nonNil(c.Scopes)
	return c, err
}

// GrantConsent implements storage.ConsentStore. The union is computed in
// the statement that writes it, so that two consents given at once (two
// browser tabs) both count.
func (s *Store) GrantConsent(ctx context.Context, a storage.Actor, realm, userID, clientID string, scopes []string) (storage.Consent, error) {
	what := "consent of user " + userID + " to client " + clientID
	if !validID(userID) {
		return storage.Consent{}, errorf(what, storage.ErrNotFound)
	}
	var out storage.Consent
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanConsent(tx.QueryRow(ctx, `INSERT INTO consents (realm_id, user_id, client_id, scopes) VALUES ($1, $2, $3, $4)
			ON CONFLICT (realm_id, user_id, client_id) DO UPDATE SET updated_at = now(),
				scopes = ARRAY(SELECT u.s FROM (SELECT DISTINCT unnest(consents.scopes || EXCLUDED.scopes) AS s) u ORDER BY u.s COLLATE "C")
			RETURNING `+consentCols, realm, userID, clientID, sortedSet(scopes)))
		if err != nil {
			// The user or the client does not exist (a foreign key).
			if err = mapErr(err, what, false); errors.Is(err, storage.ErrMissingReference) {
				return errorf(what, storage.ErrNotFound)
			}
			return err
		}
		return audit(ctx, tx, realm, a, storage.ActionConsentGrant, storage.TargetUser, userID,
			map[string]string{"client": clientID, "scopes": strings.Join(out.Scopes, " ")})
	})
	return out, err
}

// GetConsent implements storage.ConsentStore.
func (s *Store) GetConsent(ctx context.Context, realm, userID, clientID string) (storage.Consent, error) {
	what := "consent of user " + userID + " to client " + clientID
	if !validID(userID) {
		return storage.Consent{}, errorf(what, storage.ErrNotFound)
	}
	c, err := scanConsent(s.pool.QueryRow(ctx, `SELECT `+consentCols+` FROM consents
		WHERE realm_id = $1 AND user_id = $2 AND client_id = $3`, realm, userID, clientID))
	return c, mapErr(err, what, false)
}

// ListConsents implements storage.ConsentStore. An unknown user has no
// consents: the list is empty.
func (s *Store) ListConsents(ctx context.Context, realm, userID string, opts storage.ListOptions) (storage.Page[storage.Consent], error) {
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.Consent]{}, err
	}
	if !validID(userID) {
		return storage.Page[storage.Consent]{Items: []storage.Consent{}}, nil
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+consentCols+` FROM consents WHERE realm_id = $1 AND user_id = $2
		AND client_id COLLATE "C" > $3 ORDER BY client_id COLLATE "C" LIMIT $4`, realm, userID, after, limit+1)
	if err != nil {
		return storage.Page[storage.Consent]{}, mapErr(err, "consents of user "+userID, false)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Consent, error) { return scanConsent(r) })
	if err != nil {
		return storage.Page[storage.Consent]{}, mapErr(err, "consents of user "+userID, false)
	}
	return finishPage(items, limit, func(c storage.Consent) string { return c.ClientID }), nil
}

// RevokeConsent implements storage.ConsentStore.
func (s *Store) RevokeConsent(ctx context.Context, a storage.Actor, realm, userID, clientID string) error {
	what := "consent of user " + userID + " to client " + clientID
	if !validID(userID) {
		return errorf(what, storage.ErrNotFound)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM consents WHERE realm_id = $1 AND user_id = $2 AND client_id = $3`, realm, userID, clientID)
		if err != nil {
			return mapErr(err, what, true)
		}
		if tag.RowsAffected() == 0 {
			return errorf(what, storage.ErrNotFound)
		}
		return audit(ctx, tx, realm, a, storage.ActionConsentRevoke, storage.TargetUser, userID, map[string]string{"client": clientID})
	})
}

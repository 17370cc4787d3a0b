package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/storage"
)

const clientCols = `c.client_id, c.owner_id::text, c.name,
	ARRAY(SELECT cr.resource FROM client_resources cr WHERE cr.realm_id = c.realm_id AND cr.client_id = c.client_id ORDER BY cr.resource COLLATE "C"),
	c.all_scopes, c.grant_types, c.token_endpoint_auth_method, c.jwks, c.access_token_ttl, c.refresh_token_ttl,
	c.redirect_uris, c.post_logout_redirect_uris, c.pkce_optional, c.skip_consent, coalesce(c.context_id, ''), c.status, c.created_at, c.updated_at`

func scanClient(row pgx.Row) (storage.Client, error) {
	var c storage.Client
	var jwks []byte
	var at, rt *int64
	err := row.Scan(&c.ClientID, &c.OwnerID, &c.Name, &c.Scopes, &c.AllScopes, &c.GrantTypes, &c.TokenEndpointAuthMethod,
		&jwks, &at, &rt, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.PKCEOptional, &c.SkipConsent, &c.ContextID, &c.Status, &c.CreatedAt, &c.UpdatedAt)
	if len(jwks) > 0 {
		c.JWKS = jwks
	}
	if at != nil {
		c.AccessTokenTTL = time.Duration(*at) * time.Second
	}
	if rt != nil {
		c.RefreshTokenTTL = time.Duration(*rt) * time.Second
	}
	c.Scopes, c.RedirectURIs, c.PostLogoutRedirectURIs = nonNil(c.Scopes), nonNil(c.RedirectURIs), nonNil(c.PostLogoutRedirectURIs)
	return c, err
}

// ttlArg stores a lifetime as whole seconds, NULL for the default.
func ttlArg(d time.Duration) any {
	if d <= 0 {
		return nil
	}
	return int64(d / time.Second)
}

func jwksArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (s *Store) getClient(ctx context.Context, q pgx.Tx, realm, clientID string, lock bool) (storage.Client, error) {
	if lock {
		// Lock first, read after (see getGroup).
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM clients WHERE realm_id = $1 AND client_id = $2 FOR UPDATE`, realm, clientID).Scan(&one); err != nil {
			return storage.Client{}, mapErr(err, "client "+clientID, false)
		}
	}
	sql := `SELECT ` + clientCols + ` FROM clients c WHERE c.realm_id = $1 AND c.client_id = $2`
	var row pgx.Row
	if q != nil {
		row = q.QueryRow(ctx, sql, realm, clientID)
	} else {
		row = s.pool.QueryRow(ctx, sql, realm, clientID)
	}
	c, err := scanClient(row)
	return c, mapErr(err, "client "+clientID, false)
}

func setClientResources(ctx context.Context, tx pgx.Tx, realm, clientID string, scopes []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM client_resources WHERE realm_id = $1 AND client_id = $2`, realm, clientID); err != nil {
		return mapErr(err, "client "+clientID, false)
	}
	_, err := tx.Exec(ctx, `INSERT INTO client_resources (realm_id, client_id, resource) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`,
		realm, clientID, scopes)
	return mapErr(err, "scopes of client "+clientID, false)
}

// CreateClient implements storage.ClientStore.
func (s *Store) CreateClient(ctx context.Context, a storage.Actor, realm string, c storage.Client, verifiers [][]byte) (storage.Client, error) {
	if !validID(c.OwnerID) {
		return storage.Client{}, errorf("owner "+c.OwnerID, storage.ErrMissingReference)
	}
	var out storage.Client
	err := s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO clients (realm_id, client_id, owner_id, name, all_scopes, grant_types, token_endpoint_auth_method,
			jwks, access_token_ttl, refresh_token_ttl, redirect_uris, post_logout_redirect_uris, pkce_optional, skip_consent, status, context_id)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
			realm, c.ClientID, c.OwnerID, c.Name, c.AllScopes, nonNil(c.GrantTypes), c.TokenEndpointAuthMethod,
			jwksArg(c.JWKS), ttlArg(c.AccessTokenTTL), ttlArg(c.RefreshTokenTTL),
			sortedSet(c.RedirectURIs), sortedSet(c.PostLogoutRedirectURIs), c.PKCEOptional, c.SkipConsent, string(c.Status), nullIfEmpty(c.ContextID))
		if err != nil {
			return mapErr(err, "client "+c.ClientID, false)
		}
		if err := setClientResources(ctx, tx, realm, c.ClientID, c.Scopes); err != nil {
			return err
		}
		if err := audit(ctx, tx, realm, a, storage.ActionClientCreate, storage.TargetClient, c.ClientID, map[string]string{"owner": c.OwnerID, "name": c.Name}); err != nil {
			return err
		}
		for _, v := range verifiers {
			if _, err := addSecret(ctx, tx, a, realm, c.ClientID, v); err != nil {
				return err
			}
		}
		out, err = s.getClient(ctx, tx, realm, c.ClientID, false)
		return err
	})
	return out, err
}

// GetClient implements storage.ClientStore.
func (s *Store) GetClient(ctx context.Context, realm, clientID string) (storage.Client, error) {
	return s.getClient(ctx, nil, realm, clientID, false)
}

// ListClients implements storage.ClientStore.
func (s *Store) ListClients(ctx context.Context, realm, ownerID string, opts storage.ListOptions) (storage.Page[storage.Client], error) {
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return storage.Page[storage.Client]{}, err
	}
	if ownerID != "" && !validID(ownerID) {
		return storage.Page[storage.Client]{Items: []storage.Client{}}, nil
	}
	var owner any
	if ownerID != "" {
		owner = ownerID
	}
	limit := opts.EffectiveLimit()
	rows, err := s.pool.Query(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.realm_id = $1 AND ($2::uuid IS NULL OR c.owner_id = $2)
		AND c.client_id COLLATE "C" > $3 ORDER BY c.client_id COLLATE "C" LIMIT $4`, realm, owner, after, limit+1)
	if err != nil {
		return storage.Page[storage.Client]{}, mapErr(err, "clients", false)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Client, error) { return scanClient(r) })
	if err != nil {
		return storage.Page[storage.Client]{}, mapErr(err, "clients", false)
	}
	return finishPage(items, limit, func(c storage.Client) string { return c.ClientID }), nil
}

// UpdateClient implements storage.ClientStore.
func (s *Store) UpdateClient(ctx context.Context, a storage.Actor, realm, clientID string, fn func(*storage.Client) error) (storage.Client, error) {
	var out storage.Client
	err := s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := s.getClient(ctx, tx, realm, clientID, true)
		if err != nil {
			return err
		}
		next := cur
		next.Scopes, next.GrantTypes, next.JWKS = slices.Clone(cur.Scopes), slices.Clone(cur.GrantTypes), slices.Clone(cur.JWKS)
		next.RedirectURIs, next.PostLogoutRedirectURIs = slices.Clone(cur.RedirectURIs), slices.Clone(cur.PostLogoutRedirectURIs)
		if err := fn(&next); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE clients SET name = $3, all_scopes = $4, grant_types = $5, token_endpoint_auth_method = $6,
			jwks = $7, access_token_ttl = $8, refresh_token_ttl = $9, redirect_uris = $10, post_logout_redirect_uris = $11,
			pkce_optional = $12, skip_consent = $13, status = $14, context_id = $15, updated_at = now()
			WHERE realm_id = $1 AND client_id = $2`,
			realm, clientID, next.Name, next.AllScopes, nonNil(next.GrantTypes), next.TokenEndpointAuthMethod,
			jwksArg(next.JWKS), ttlArg(next.AccessTokenTTL), ttlArg(next.RefreshTokenTTL),
			sortedSet(next.RedirectURIs), sortedSet(next.PostLogoutRedirectURIs), next.PKCEOptional, next.SkipConsent, string(next.Status), nullIfEmpty(next.ContextID))
		if err != nil {
			return mapErr(err, "client "+clientID, false)
		}
		if err := setClientResources(ctx, tx, realm, clientID, next.Scopes); err != nil {
			return err
		}
		if out, err = s.getClient(ctx, tx, realm, clientID, false); err != nil {
			return err
		}
		return audit(ctx, tx, realm, a, storage.ActionClientUpdate, storage.TargetClient, clientID, storage.ChangeDetails(storage.ClientChanges(cur, out)))
	})
	return out, err
}

// DeleteClient implements storage.ClientStore.
func (s *Store) DeleteClient(ctx context.Context, a storage.Actor, realm, clientID string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM clients WHERE realm_id = $1 AND client_id = $2`, realm, clientID)
		if err != nil {
			return mapErr(err, "client "+clientID, true)
		}
		if tag.RowsAffected() == 0 {
			return errorf("client "+clientID, storage.ErrNotFound)
		}
		return audit(ctx, tx, realm, a, storage.ActionClientDelete, storage.TargetClient, clientID, nil)
	})
}

const secretCols = `id::text, client_id, verifier, created_at, deactivated_at, last_used_at`

func scanSecret(row pgx.Row) (storage.ClientSecret, error) {
	var sec storage.ClientSecret
	err := row.Scan(&sec.ID, &sec.ClientID, &sec.Verifier, &sec.CreatedAt, &sec.DeactivatedAt, &sec.LastUsedAt)
	return sec, err
}

func addSecret(ctx context.Context, tx pgx.Tx, a storage.Actor, realm, clientID string, verifier []byte) (storage.ClientSecret, error) {
	sec, err := scanSecret(tx.QueryRow(ctx, `INSERT INTO client_secrets (id, realm_id, client_id, verifier) VALUES ($1, $2, $3, $4) RETURNING `+secretCols,
		uuid.New(), realm, clientID, verifier))
	if err != nil {
		return sec, mapErr(err, "secret of client "+clientID, false)
	}
	return sec, audit(ctx, tx, realm, a, storage.ActionClientSecretAdd, storage.TargetClient, clientID, map[string]string{"secret": sec.ID})
}

// AddClientSecret implements storage.ClientStore.
func (s *Store) AddClientSecret(ctx context.Context, a storage.Actor, realm, clientID string, verifier []byte) (storage.ClientSecret, error) {
	var out storage.ClientSecret
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := s.getClient(ctx, tx, realm, clientID, false); err != nil {
			return err
		}
		var err error
		out, err = addSecret(ctx, tx, a, realm, clientID, verifier)
		return err
	})
	return out, err
}

// ListClientSecrets implements storage.ClientStore.
func (s *Store) ListClientSecrets(ctx context.Context, realm, clientID string) ([]storage.ClientSecret, error) {
	return s.secrets(ctx, realm, clientID, false)
}

// ActiveClientSecrets implements storage.ClientStore.
func (s *Store) ActiveClientSecrets(ctx context.Context, realm, clientID string) ([]storage.ClientSecret, error) {
	return s.secrets(ctx, realm, clientID, true)
}

func (s *Store) secrets(ctx context.Context, realm, clientID string, activeOnly bool) ([]storage.ClientSecret, error) {
	// One round trip: the client's existence and its secret versions.
	rows, err := s.pool.Query(ctx, `SELECT s.id::text, c.client_id, s.verifier, s.created_at, s.deactivated_at, s.last_used_at
		FROM clients c LEFT JOIN client_secrets s ON s.realm_id = c.realm_id AND s.client_id = c.client_id AND (NOT $3 OR s.deactivated_at IS NULL)
		WHERE c.realm_id = $1 AND c.client_id = $2 ORDER BY s.created_at, s.id`, realm, clientID, activeOnly)
	if err != nil {
		return nil, mapErr(err, "secrets of client "+clientID, false)
	}
	found := false
	out := []storage.ClientSecret{}
	for rows.Next() {
		found = true
		var id *string
		var sec storage.ClientSecret
		var created *time.Time
		if err := rows.Scan(&id, &sec.ClientID, &sec.Verifier, &created, &sec.DeactivatedAt, &sec.LastUsedAt); err != nil {
			rows.Close()
			return nil, mapErr(err, "secrets of client "+clientID, false)
		}
		if id != nil {
			sec.ID, sec.CreatedAt = *id, *created
			out = append(out, sec)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "secrets of client "+clientID, false)
	}
	if !found {
		return nil, errorf("client "+clientID, storage.ErrNotFound)
	}
	return out, nil
}

// DeactivateClientSecret implements storage.ClientStore.
func (s *Store) DeactivateClientSecret(ctx context.Context, a storage.Actor, realm, clientID, secretID string) error {
	if !validID(secretID) {
		return errorf("secret "+secretID, storage.ErrNotFound)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		var wasActive bool
		err := tx.QueryRow(ctx, `UPDATE client_secrets SET deactivated_at = COALESCE(deactivated_at, now())
			WHERE realm_id = $1 AND client_id = $2 AND id = $3 RETURNING deactivated_at = now()`, realm, clientID, secretID).Scan(&wasActive)
		if err != nil {
			return mapErr(err, "secret "+secretID+" of client "+clientID, false)
		}
		if !wasActive {
			return nil
		}
		return audit(ctx, tx, realm, a, storage.ActionClientSecretDeactivate, storage.TargetClient, clientID, map[string]string{"secret": secretID})
	})
}

// TouchClientSecret implements storage.ClientStore.
func (s *Store) TouchClientSecret(ctx context.Context, realm, clientID, secretID string, t time.Time) error {
	if !validID(secretID) {
		return errorf("secret "+secretID, storage.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE client_secrets SET last_used_at = $4 WHERE realm_id = $1 AND client_id = $2 AND id = $3`,
		realm, clientID, secretID, t)
	if err != nil {
		return mapErr(err, "secret "+secretID, false)
	}
	if tag.RowsAffected() == 0 {
		return errorf("secret "+secretID, storage.ErrNotFound)
	}
	return nil
}

// sortedSet returns s sorted byte-wise and without duplicates, never nil:
// how the store keeps sets of strings it does not index (redirect URIs,
// consented scopes).
func sortedSet(s []string) []string {
	out := slices.Clone(nonNil(s))
	slices.Sort(out)
	return slices.Compact(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

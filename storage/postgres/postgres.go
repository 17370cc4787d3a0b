package postgres

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/storage"
)

// Store is a storage.Store on a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool
}

var _ storage.Store = (*Store)(nil)

// Open connects to the database at dsn and checks that it answers. Errors
// are one line and never contain the DSN's password.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid database URL %s", redact(dsn))
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.tracer != nil {
		cfg.ConnConfig.Tracer = queryTracer{tracer: o.tracer.Tracer("github.com/gatehouse/gatehouse/storage/postgres")}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", redact(dsn), storage.ErrUnavailable)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot connect to %s: %s: %w", redact(dsn), rootCause(err), storage.ErrUnavailable)
	}
	return &Store{pool: pool}, nil
}

// redact returns host, port and database of a DSN, without credentials.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		if cfg, err := pgxpool.ParseConfig(dsn); err == nil {
			return fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
		}
		return "the configured database"
	}
	return u.Host + u.Path
}

// rootCause shortens a connection error to its last, most specific part,
// which never includes credentials.
func rootCause(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", storage.ErrUnavailable)
	}
	return nil
}

// Close implements storage.Store.
func (s *Store) Close() { s.pool.Close() }

// GetRealm implements storage.Store.
func (s *Store) GetRealm(ctx context.Context, realm string) (storage.Realm, error) {
	var r storage.Realm
	err := s.pool.QueryRow(ctx, `SELECT id, name, default_language, created_at FROM realms WHERE id = $1`, realm).
		Scan(&r.ID, &r.Name, &r.DefaultLanguage, &r.CreatedAt)
	return r, mapErr(err, "realm "+realm, false)
}

// tx runs fn in a transaction.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, fn)
	if err != nil && needsMapping(err) {
		return mapErr(err, "transaction", false)
	}
	return err
}

// audit writes an audit row inside tx.
func audit(ctx context.Context, tx pgx.Tx, realm string, a storage.Actor, action, targetType, targetID string, details map[string]string) error {
	var d []byte
	if len(details) > 0 {
		d, _ = json.Marshal(details)
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (id, realm_id, actor_type, actor_id, action, target_type, target_id, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		uuid.New(), realm, string(a.Type), a.ID, action, targetType, targetID, d)
	return mapErr(err, "audit entry", false)
}

// encodeCursor and decodeCursor turn the last sort key of a page into an
// opaque cursor and back.
func encodeCursor(k string) string { return base64.RawURLEncoding.EncodeToString([]byte(k)) }

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	// Sort keys are text: a key PostgreSQL cannot hold was never returned.
	if err != nil || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", fmt.Errorf("cursor: %w", storage.ErrInvalidCursor)
	}
	return string(b), nil
}

// finishPage trims a result fetched with limit+1 rows to limit, with the
// cursor after its last item.
func finishPage[T any](items []T, limit int, sortKey func(T) string) storage.Page[T] {
	p := storage.Page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = encodeCursor(sortKey(items[limit-1]))
	}
	return p
}

// validID reports whether id can be a UUID; other ids are simply not found.
func validID(id string) bool { return uuid.Validate(id) == nil }

// lowerASCII lower-cases like PostgreSQL's lower() does for the keys used
// in cursors; keys compare byte-wise (COLLATE "C") on both sides.
func lowerASCII(s string) string { return strings.ToLower(s) }

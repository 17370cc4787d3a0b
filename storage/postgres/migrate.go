package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gatehouse/gatehouse/migrations"
	"github.com/gatehouse/gatehouse/storage"
)

// MigrationStatus is the state of one migration.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// provider opens the database for goose; close releases it.
func provider(ctx context.Context, dsn string) (p *goose.Provider, close func(), err error) {
	s, err := Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	// A session-level advisory lock: nodes that migrate at the same time
	// take turns, and the second finds nothing to do.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		s.Close()
		return nil, nil, err
	}
	p, err = goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker),
		goose.WithGoMigrations(canonicalUsernames()))
	if err != nil {
		db.Close()
		s.Close()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return p, func() { db.Close(); s.Close() }, nil
}

// Migrate applies every pending migration and returns the versions it
// applied (none when the schema is current).
func Migrate(ctx context.Context, dsn string) ([]int64, error) {
	p, closeDB, err := provider(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	results, err := p.Up(ctx)
	if err != nil {
		var partial *goose.PartialError
		if errors.As(err, &partial) && partial.Failed != nil {
			return nil, fmt.Errorf("migration %d failed: %w", partial.Failed.Source.Version, partial.Failed.Error)
		}
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Migrations reports the state of every known migration.
func Migrations(ctx context.Context, dsn string) ([]MigrationStatus, error) {
	p, closeDB, err := provider(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w: %v", storage.ErrUnavailable, err)
	}
	out := make([]MigrationStatus, len(st))
	for i, m := range st {
		out[i] = MigrationStatus{Version: m.Source.Version, Name: m.Source.Path, Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt}
	}
	return out, nil
}

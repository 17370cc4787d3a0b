package postgres

import (
	"context"
	"fmt"
)

// ExecForTest runs raw SQL, for tests of the schema's constraints.
func ExecForTest(ctx context.Context, s *Store, sql string) error {
	_, err := s.pool.Exec(ctx, sql)
	return err
}

// MigrateToForTest applies the pending migrations up to version, so that
// a test can put data in front of a later migration.
func MigrateToForTest(ctx context.Context, dsn string, version int64) error {
	p, closeDB, err := provider(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate to %d: %w", version, err)
	}
	return nil
}

// Operation is operation, for its table test.
var Operation = operation

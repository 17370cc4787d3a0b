package postgres

import "context"

// ExecForTest runs raw SQL, for tests of the schema's constraints.
func ExecForTest(ctx context.Context, s *Store, sql string) error {
	_, err := s.pool.Exec(ctx, sql)
	return err
}

// Package migrations holds Gatehouse's versioned SQL schema, embedded in
// the binary and applied by `gatehouse migrate up` (pressly/goose, under a
// PostgreSQL advisory lock so that nodes starting together are safe).
//
// Every table carries realm_id, so that tenancy can come later without a
// schema rewrite; composite foreign keys keep references inside a realm.
package migrations

import "embed"

// FS holds the migration files, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS

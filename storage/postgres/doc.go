// Package postgres implements storage.Store on PostgreSQL with pgx v5, and
// applies the embedded migrations with goose, together with the one written
// in Go (version 2, migrate_usernames.go: canonical usernames).
//
// Every mutating method runs in one transaction together with its audit
// row. Read-modify-write updates lock the row (SELECT … FOR UPDATE), so that
// concurrent updates of one entity are serialised and none is lost.
// PostgreSQL errors are mapped to the storage sentinels in one place
// (errors.go).
package postgres

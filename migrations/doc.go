// Package migrations holds Gatehouse's versioned SQL schema, embedded in
// the binary and applied by `gatehouse migrate up` (pressly/goose, under a
// PostgreSQL advisory lock so that nodes starting together are safe).
//
// Every table carries realm_id, so that tenancy can come later without a
// schema rewrite; composite foreign keys keep references inside a realm.
//
// Not every version is a file here. Version 2 (00002_username_canonical)
// is a Go migration, registered with the goose provider by
// storage/postgres, because it computes storage.CanonicalUsername (PRECIS
// UsernameCaseMapped, RFC 8265 §3.3) for every existing user, which SQL
// cannot do, and this package imports no project code. It adds
// users.username_canonical, unique per realm in place of the unique index
// on lower(username). Users whose usernames share a canonical form, or
// have none, are not merged: the migration fails naming them and changes
// nothing, and succeeds once they are renamed.
//
// Version 3 (00003_browser_signin.sql) adds the clients' redirect URIs,
// PKCE and consent settings and the consents table. Version 4
// (00004_accounts.sql) adds users.email_verified, invitations, link
// tokens, the mail outbox and the invites-read and invites-write
// resources (docs/accounts.md).
// Version 5 (00005_contexts.sql) adds contexts, memberships in a
// context, group inclusion and managing resources, clients bound to a
// context, and the built-in resources contexts-read and contexts-write
// (docs/contexts.md).
package migrations

import "embed"

// FS holds the SQL migration files, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS

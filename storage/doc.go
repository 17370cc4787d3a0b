// Package storage declares Gatehouse's domain types, the storage interfaces
// every backend implements, and the sentinel errors they return.
//
// It imports nothing from the project and only the standard library, so that
// every other package can depend on it. Backends live in subpackages
// (postgres, memory, redis) and prove their behaviour with the shared
// conformance suite in storagetest.
//
// Two kinds of state are kept apart on purpose:
//
//   - Store holds identities and permissions (users, groups, resources,
//     contexts and the memberships held in them, clients, signing keys,
//     audit): durable, relational, PostgreSQL in production. What a user
//     holds, realm-wide or in a context, is computed by Effective for
//     every backend alike (docs/contexts.md).
//   - TokenState holds what changes with every token (revocations, refresh
//     tokens, replay markers, rate limits): short-lived, expiring, Redis in
//     production.
package storage

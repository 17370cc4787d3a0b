// Package memory implements storage.Store and storage.TokenState in
// process memory, for `gatehouse serve --dev` and fast tests. It passes the
// same conformance suite (storage/storagetest) as PostgreSQL and Redis, so
// that --dev behaves like production; it keeps nothing across restarts.
package memory

// Package bootstrap creates the first administrator of a realm and an API
// client owned by them, hashing the password on the client side exactly as
// any Gatehouse client would, so that the server side never sees it.
//
// It is used by `gatehouse bootstrap` (on PostgreSQL) and by
// `gatehouse serve --dev` (in memory).
package bootstrap

// Package credential checks credentials on the server side of Gatehouse's
// no-raw-secret scheme (docs/client-side-hashing.md): it hashes and
// verifies the client-side password hash P with argon2id under a bound on
// concurrent hashes, verifies client secrets W against their registered
// verifiers, validates password-setting objects, and derives the stable
// fake prelogin salts that keep usernames from being enumerated.
//
// Every comparison of secret-derived bytes is constant-time.
package credential

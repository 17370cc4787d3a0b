// Package keys manages Gatehouse's token-signing keys: it generates them,
// keeps them encrypted at rest in storage (AES-256-GCM under a key derived
// from the configured secret), signs and verifies JWTs with go-jose v4, and
// serves the public JSON Web Key Set.
//
// The hot paths do no I/O and no key parsing: signers and the serialised
// JWKS are built once per key-set change and swapped in atomically.
package keys

// Package keys manages Gatehouse's token-signing keys: it generates them,
// keeps them encrypted at rest in storage, signs and verifies JWTs with
// go-jose v4, and serves the public JSON Web Key Set.
//
// A key is created "next", made "active" (which retires the previous active
// key in the same storage transaction) and stays published while retired
// until every token it signed has expired (Options.MaxTokenLifetime); Prune
// then deletes it. Nodes sharing a store converge on the one active key
// through Refresh, which Run calls periodically and Verify calls (rate
// limited) when it meets an unknown kid.
//
// Private keys are sealed with AES-256-GCM under a key derived by HKDF-SHA256
// from keys.encryption_secret, with the realm and kid as additional data.
// Every published key is decrypted when the key set is loaded, and its
// public half is what gets published: a row forged without the secret is
// refused, never published.
//
// The hot paths do no I/O and no key parsing: jose.Signers, verification
// keys and the serialised JWKS with its ETag are built once per key-set
// change and swapped in atomically.
package keys

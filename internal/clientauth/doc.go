// Package clientauth authenticates the OAuth 2.0 client of a request to the
// token, introspection and revocation endpoints (RFC 6749 §2.3, RFC 7523;
// the README's "Client authentication" sums up what is accepted).
//
// Four methods are recognised, and a client may use only the one it
// registered as token_endpoint_auth_method:
//
//   - client_secret_basic: the Authorization header carries client_id and
//     the wire secret W, each form-urlencoded before the Basic encoding;
//   - client_secret_post: the form fields client_id and client_secret;
//   - private_key_jwt: a JWT assertion signed with an asymmetric key of the
//     client's registered JWKS, accepted once per jti;
//   - none: a public client that sends only its client_id (and only when
//     the caller allows public clients at all).
//
// The wire secret is never the client's secret S but W = HMAC(S, …) of the
// no-raw-secret scheme (docs/client-side-hashing.md); the server compares
// SHA-256(W) against every active secret version in constant time.
//
// Every authentication failure is ErrInvalidClient, whatever the cause, so
// that the answer reveals nothing (which client_ids exist, which check
// failed); the wrapped cause is for logs and never contains a secret, W,
// verifier or assertion. ErrInvalidRequest marks a request that is
// malformed rather than unauthenticated (two methods at once, a duplicated
// parameter, contradicting client_ids). Storage failures are returned
// wrapped as they are, so that unavailability becomes a 503 and never a
// guess.
package clientauth

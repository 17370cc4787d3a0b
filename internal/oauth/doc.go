// Package oauth serves Gatehouse's OAuth 2.0 and OpenID Connect endpoints:
// discovery, the token endpoint (client_credentials, password and
// refresh_token grants), introspection (RFC 7662), revocation (RFC 7009),
// userinfo and prelogin.
//
// The token endpoint runs on github.com/ory/fosite: fosite parses the access
// request, dispatches it to the grant handlers registered here and calls
// Gatehouse's client authentication (internal/clientauth) through its
// ClientAuthenticationStrategy hook. The grant handlers are Gatehouse's own
// because fosite's stock handlers cannot express its rules: scopes are
// computed from the caller's current admin resources (exact matching, no
// wildcards), a client never gets more than its owner, refresh tokens are
// rotated atomically in Redis with family revocation on reuse, and password
// logins verify a client-side hash with a bounded server-side argon2id.
//
// Introspection and revocation are served without fosite's handlers, which
// only know HTTP Basic authentication, cannot tell the introspected token's
// owner apart from the caller, and map every storage failure to
// "active: false". Here a token-state outage fails closed with 503
// temporarily_unavailable.
//
// Access tokens are RFC 9068 JWTs signed by internal/keys (go-jose v4);
// this is the only package that imports fosite.
package oauth

// Package admin serves the management REST API under /admin: users,
// languages, admin resources, groups, API clients and their secrets, the
// audit log, and self-service under /admin/me.
//
// Every route requires a bearer access token from this server and a named
// admin resource in its scope; the delegation ceiling (nobody grants what
// they do not hold) is decided here, in the HTTP layer, from the token's
// scopes. Errors are RFC 7807 problem+json, mapped from error kinds in one
// place (problem.go). openapi.yaml describes every route; a contract test
// checks both directions.
package admin

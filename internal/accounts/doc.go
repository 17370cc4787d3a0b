// Package accounts runs the accounts-by-e-mail flows of docs/accounts.md:
// activation links for users created without a password, password reset,
// and invitations into groups. It issues single-use link tokens (random,
// stored by SHA-256 digest), renders their mails and puts them in the
// outbox (internal/mail delivers them), and carries out what a link's
// page submits. Authorization of management requests stays in
// internal/admin; the pages are internal/signin's.
package accounts

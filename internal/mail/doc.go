// Package mail sends Gatehouse's e-mails: it renders them from embedded
// templates in the recipient's language (render.go), keeps them in the
// outbox of storage.AccountStore and delivers them from there in the
// background (worker.go), through SMTP (smtp.go) or, with --dev and no
// smtp.url, to the log (log.go). docs/operations.md (mail delivery)
// describes how delivery behaves when the mail server is slow or down.
package mail

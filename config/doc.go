// Package config loads Gatehouse's configuration: defaults, then a YAML
// file, then GATEHOUSE_* environment variables, then command-line flags,
// later sources winning. Unknown keys, in the file or the environment, and
// values of the wrong type are errors at Load; Validate then checks the
// values, as a table of rules. Every error names the setting (its YAML key
// and environment variable) and what is wrong with it, on one line.
//
// Secrets never leave through String, GoString or LogValue: those redact
// the key-encryption and prelogin secrets and the passwords inside
// database_url and redis_url.
//
// docs/configuration.md documents every key; a test keeps the two in step.
package config

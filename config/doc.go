// Package config loads Gatehouse's configuration: defaults, then a YAML
// file, then GATEHOUSE_* environment variables, then command-line flags,
// later sources winning. Unknown keys, in the file or the environment, are
// errors, and Validate names the setting (its YAML key and environment
// variable) and what is wrong with it.
//
// docs/configuration.md documents every key; a test keeps the two in step.
package config

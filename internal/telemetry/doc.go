// Package telemetry sets up what operators watch Gatehouse with: the
// Prometheus metrics, on a registry of its own served by Handler on the
// metrics listener (never the public one), and OpenTelemetry tracing
// exported with OTLP over HTTP.
//
// Metrics come in two kinds. Events on the request path (a request served,
// a token answered, a hash that waited) are counted through methods whose
// label values are bound once and looked up without allocating. State
// (hash slots, caches, connection pools, the signing key's age) is read
// from its owner's Stats method when Prometheus scrapes, so it costs
// nothing in between. Every label takes its values from a fixed set: no
// user, client, token or raw path ever becomes one. docs/operations.md
// lists every metric.
package telemetry

// Command bench is Gatehouse's benchmark harness (`make bench`): it builds
// the server, starts it against the real PostgreSQL and Redis (or, with
// -dev, on in-memory storage), creates its clients and users through the
// management API, and drives each scenario over real HTTP with a fixed
// number of connections, using wrk (bench/wrk/*.lua) as the load generator. It prints a
// table (throughput, latency percentiles, errors, server CPU per request,
// server peak RSS) and writes the same figures as JSON.
package main

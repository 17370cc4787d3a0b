// Package testenv tells tests where the real PostgreSQL and Redis are.
//
// `make test` exports GATEHOUSE_TEST_DATABASE_URL, GATEHOUSE_TEST_REDIS_URL
// (and the Redis Cluster and Sentinel URLs)
// and sets GATEHOUSE_TEST_REQUIRE_SERVICES=1, so that under it a missing
// service fails the run instead of silently skipping. A plain `go test ./...`
// without them skips the tests that need the services and says how to run
// them.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Environment variables read by tests.
const (
	DatabaseURLVar = "GATEHOUSE_TEST_DATABASE_URL"
	RedisURLVar    = "GATEHOUSE_TEST_REDIS_URL"
	// RedisClusterURLVar names a three-primary Redis Cluster
	// (redis+cluster://), RedisSentinelURLVar the sentinels of a primary
	// with one replica (redis+sentinel://), both from scripts/test-env.sh.
	RedisClusterURLVar  = "GATEHOUSE_TEST_REDIS_CLUSTER_URL"
	RedisSentinelURLVar = "GATEHOUSE_TEST_REDIS_SENTINEL_URL"
	RequireServicesVar  = "GATEHOUSE_TEST_REQUIRE_SERVICES"
	ChromiumVar         = "GATEHOUSE_TEST_CHROMIUM"
)

// DatabaseURL returns the DSN of a PostgreSQL server that tests may create
// scratch databases on, or skips the test when none is configured.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	return lookup(t, DatabaseURLVar, "PostgreSQL")
}

// RedisURL returns the URL of a Redis server that tests may write to (under
// their own key prefix), or skips the test when none is configured.
func RedisURL(t testing.TB) string {
	t.Helper()
	return lookup(t, RedisURLVar, "Redis")
}

// RedisClusterURL returns the redis+cluster:// URL of a Redis Cluster that
// tests may write to (under their own key prefix), or skips the test when
// none is configured.
func RedisClusterURL(t testing.TB) string {
	t.Helper()
	return lookup(t, RedisClusterURLVar, "Redis Cluster")
}

// RedisSentinelURL returns the redis+sentinel:// URL of a Sentinel-managed
// primary with one replica that tests may write to and fail over, or skips
// the test when none is configured.
func RedisSentinelURL(t testing.TB) string {
	t.Helper()
	return lookup(t, RedisSentinelURLVar, "Redis Sentinel")
}

// Chromium returns the path of a headless-capable Chromium for the browser
// tests: the one scripts/test-env.sh installed, else one on PATH; without
// either it skips the test, or fails it under GATEHOUSE_TEST_REQUIRE_SERVICES=1.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumVar); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return lookup(t, ChromiumVar, "browser")
}

func lookup(t testing.TB, name, what string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv(RequireServicesVar) == "1" {
		t.Fatalf("%s is not set but %s=1: %s tests must run", name, RequireServicesVar, what)
	}
	t.Skipf("%s not set: skipping %s tests; run `make test` to run them against a real server", name, what)
	return ""
}

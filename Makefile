# Gatehouse. `make test` is what CI runs (.ci/run): it brings up PostgreSQL and
# Redis on loopback (installing them if needed) and runs every test against them.
GO       ?= go
PKGS     ?= ./...
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

.PHONY: all build run test lint bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/gatehouse ./cmd/gatehouse

run:
	$(GO) run ./cmd/gatehouse serve --dev

# Every test, against real PostgreSQL and Redis; a missing service fails the run.
test:
	@set -e; eval "$$(scripts/test-env.sh)"; \
	trap 'psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $$GATEHOUSE_TEST_SCRATCH_DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT; \
	$(GO) test -race -count=1 -timeout 12m $(PKGS)

lint:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# The load benchmark against real PostgreSQL and Redis (BENCHFLAGS=-dev for memory), then the Go
# micro-benchmarks of the hot functions. See docs/benchmarks.md.
bench:
	@scripts/test-env.sh >/dev/null
	$(GO) run ./bench $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/keys/ ./internal/credential/ ./internal/clientauth/

clean:
	rm -rf bin

# Gatehouse. `make test` is what CI runs (.ci/run): it brings up PostgreSQL and
# Redis on loopback (installing them if needed) and runs every test against them.
GO       ?= go
PKGS     ?= ./...
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build run test lint bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/gatehouse ./cmd/gatehouse

run:
	$(GO) run ./cmd/gatehouse serve --dev

# Every test, against real PostgreSQL and Redis; a missing service fails the
# run (GATEHOUSE_TEST_REQUIRE_SERVICES=1) instead of skipping. The script's
# output is captured before eval, so that its failure stops the target: a
# bare eval "$(…)" would swallow it and run the tests without services.
# The per-run database is dropped however the tests end.
test:
	@set -e; \
	envs=$$(scripts/test-env.sh); eval "$$envs"; \
	trap 'scripts/test-env.sh --drop "$$GATEHOUSE_TEST_SCRATCH_DB"' EXIT; \
	$(GO) test -race -count=1 -timeout 12m $(PKGS)

lint:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# The load benchmark against real PostgreSQL and Redis (BENCHFLAGS=-dev for memory), then the Go
# micro-benchmarks of the hot functions. See docs/benchmarks.md.
bench:
	@envs=$$(scripts/test-env.sh --bench); eval "$$envs"; scripts/test-env.sh --drop "$$GATEHOUSE_TEST_SCRATCH_DB"; \
	set -x; $(GO) run ./bench $(BENCHFLAGS) && \
	$(GO) test -run '^$$' -bench . -benchmem ./internal/app/ ./internal/oauth/ ./internal/keys/ ./internal/server/ ./internal/credential/ ./internal/clientauth/ ./storage/redis/ ./storage/memory/

clean:
	rm -rf bin
	rm -f gatehouse *.test *.out

#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are up for
# the test suite: uses them if they answer, starts them if they are installed
# but stopped, installs them with apt-get if they are missing. Then creates a
# scratch database for this run and prints the environment the tests read:
#   eval "$(scripts/test-env.sh)"
# Everything it says goes to stderr; stdout carries only the exports.
set -euo pipefail

PGHOST=127.0.0.1 PGPORT=5432 PGUSER=${PGUSER:-postgres}
REDIS_PORT=6379
log() { echo "test-env: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do
    if $check; then return 0; fi
    sleep 0.5
  done
  log "$what did not come up"; exit 1
}

apt_install() {
  log "installing $* with apt-get"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_postgres() {
  if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql postgresql-client
  fi
  if pg_up; then return; fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  # Tests connect over loopback as postgres without a password.
  if ! as_root grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    log "allowing trust auth on 127.0.0.1 in $hba"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  wait_for PostgreSQL pg_up
}

ensure_redis() {
  if ! command -v redis-server >/dev/null; then apt_install redis-server; fi
  if redis_up; then return; fi
  log "starting Redis"
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >&2
  wait_for Redis redis_up
}

ensure_postgres
ensure_redis

db="gatehouse_ci_$(date +%s)_$$"
psql -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -c "CREATE DATABASE $db" >&2
log "scratch database $db"
echo "export GATEHOUSE_TEST_DATABASE_URL='postgres://$PGUSER@$PGHOST:$PGPORT/$db?sslmode=disable'"
echo "export GATEHOUSE_TEST_REDIS_URL='redis://127.0.0.1:$REDIS_PORT/0'"
echo "export GATEHOUSE_TEST_REQUIRE_SERVICES=1"
echo "export GATEHOUSE_TEST_SCRATCH_DB='$db'"

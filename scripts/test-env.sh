#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are up,
# a three-primary Redis Cluster (127.0.0.1:17001-17003) and a Redis Sentinel
# setup (primary and replicas on 16390-16392, sentinels on 26391-26393) too,
# and headless Chromium installed, for the test suite: uses them if they answer, starts them if they are installed
# but stopped, installs them with apt-get if they are missing (with sudo when
# not root). Then creates a scratch database for this run and prints the
# environment the tests read:
#
#   envs=$(scripts/test-env.sh) && eval "$envs"
#   ... go test ...
#   scripts/test-env.sh --drop "$GATEHOUSE_TEST_SCRATCH_DB"
#
# With --bench first, it also installs wrk, the benchmark's load generator.
#
# Idempotent: run it as often as you like. Everything it says goes to stderr;
# stdout carries only the exports. PGPASSWORD is honoured for a server that
# wants a password; a local Debian cluster is switched to trust auth on
# loopback instead.
set -euo pipefail

PGHOST=127.0.0.1
PGPORT=5432
PGUSER=${PGUSER:-postgres}
REDIS_PORT=6379
WAIT_STEPS=120 # × 0.25 s: how long a service may take to come up

log() { echo "test-env: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres "$@"; }

apt_updated=
apt_install() {
  log "installing $* with apt-get"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

wait_for() {
  local what=$1 check=$2
  for _ in $(seq "$WAIT_STEPS"); do
    if $check; then return 0; fi
    sleep 0.25
  done
  die "$what did not come up within $((WAIT_STEPS / 4)) s"
}

# --- PostgreSQL ---------------------------------------------------------------

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
pg_login() { psql_admin -Atc 'SELECT 1' >/dev/null 2>&1; }
pg_cluster() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true; }

# allow_trust lets tests connect over loopback as $PGUSER without a password,
# on the local Debian cluster. It changes pg_hba.conf only once.
allow_trust() {
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  [ -f "$hba" ] || return 0
  if ! as_root grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    log "allowing trust auth on loopback in $hba"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
}

ensure_postgres() {
  command -v pg_isready >/dev/null && command -v psql >/dev/null || apt_install postgresql-client
  if ! pg_up; then
    [ -n "$(pg_cluster)" ] || apt_install postgresql
    local version
    version=$(pg_cluster)
    [ -n "$version" ] || die "PostgreSQL is installed but has no cluster in /etc/postgresql"
    allow_trust "$version"
    if ! pg_up; then # the package may have started it
      log "starting PostgreSQL $version"
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    fi
    wait_for PostgreSQL pg_up
  fi
  if ! pg_login; then
    local version
    version=$(pg_cluster)
    [ -n "$version" ] || die "cannot log in to PostgreSQL on $PGHOST:$PGPORT as $PGUSER: set PGPASSWORD, or allow trust auth on loopback"
    allow_trust "$version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload >&2 || true
    wait_for "PostgreSQL login as $PGUSER" pg_login
  fi
}

# --- Redis --------------------------------------------------------------------

# redis_up speaks RESP over bash's /dev/tcp, so that it needs no redis-cli.
redis_up() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || exit 1
    [[ $reply == +PONG* ]]
  ) 2>/dev/null
}

ensure_redis() {
  redis_up && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  redis_up && return 0 # the package may have started it
  log "starting Redis"
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >&2
  wait_for Redis redis_up
}

# --- Redis Cluster and Sentinel ------------------------------------------------

# Both run as the invoking user from config files under $REDIS_TEST_DIR, so
# that a test that kills a server can start it again with `redis-server
# <config_file>` (INFO server names the file). Persistence is off.
REDIS_TEST_DIR=${TMPDIR:-/tmp}/gatehouse-test-redis
CLUSTER_PORTS=(17001 17002 17003)
SENTINEL_DATA_PORTS=(16390 16391 16392) # a primary and its two replicas
SENTINEL_PORTS=(26391 26392 26393)
SENTINEL_PRIMARY=gatehouse-test

rcli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }

# stop_redis_in stops the servers whose config files are in a directory.
stop_redis_in() {
  local conf port
  for conf in "$1"/*.conf; do
    [ -f "$conf" ] || continue
    port=$(awk '$1 == "port" {print $2}' "$conf")
    rcli "$port" shutdown nosave >/dev/null || true
  done
}

# write_conf writes the config file of a server on a port; extra lines of
# configuration come as further arguments.
write_conf() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir/$port"
  {
    echo "port $port"; echo "bind 127.0.0.1"; echo "dir $dir/$port"; echo "daemonize yes"
    echo "pidfile $dir/$port/redis.pid"; echo "logfile $dir/$port/redis.log"
    printf '%s\n' "$@"
  } >"$dir/$port.conf"
}

# start_redis writes a server's config file and starts it.
start_redis() {
  write_conf "$@" 'save ""' "appendonly no"
  redis-server "$1/$2.conf" >&2 9>&- # the daemon must not hold the lock
}

cluster_ok() { [[ $(rcli "${CLUSTER_PORTS[0]}" cluster info) == *cluster_state:ok* ]]; }

# ensure_redis_cluster starts three primaries in cluster mode, 5,461
# slots each, no replicas: what the tests need to prove that every key a
# command touches is in one slot and reads leave per node.
ensure_redis_cluster() {
  cluster_ok && return 0
  local dir=$REDIS_TEST_DIR/cluster port addrs=()
  log "starting a three-primary Redis Cluster on ports ${CLUSTER_PORTS[*]}"
  stop_redis_in "$dir"
  rm -rf "$dir"
  for port in "${CLUSTER_PORTS[@]}"; do
    start_redis "$dir" "$port" "cluster-enabled yes" "cluster-config-file $dir/$port/nodes.conf" "cluster-node-timeout 2000"
    addrs+=("127.0.0.1:$port")
  done
  for port in "${CLUSTER_PORTS[@]}"; do
    wait_for "Redis on $port" "rcli_ping $port"
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >/dev/null 2>&1 ||
    die "redis-cli --cluster create failed"
  wait_for "Redis Cluster" cluster_ok
}

rcli_ping() { [[ $(rcli "$1" ping) == PONG ]]; }

sentinel_ok() {
  local port primary
  for port in "${SENTINEL_PORTS[@]}"; do
    primary=$(rcli "$port" sentinel get-master-addr-by-name "$SENTINEL_PRIMARY" | tail -n1)
    [ -n "$primary" ] || return 1
    # Every sentinel must know the others, or a failover cannot be voted.
    [[ $(rcli "$port" sentinel master "$SENTINEL_PRIMARY") == *$'num-other-sentinels\n2'* ]] || return 1
  done
  rcli_ping "$primary" && [[ $(rcli "$primary" info replication) == *connected_slaves:2* ]]
}

# ensure_redis_sentinel starts a primary, two replicas and three sentinels
# (quorum 2: the smallest setup where a failover is voted, as in
# production). Two replicas, so that after a failover the new primary
# still has one to WAIT for. A primary that does not answer for a second
# is failed over.
ensure_redis_sentinel() {
  sentinel_ok && return 0
  local dir=$REDIS_TEST_DIR/sentinel port primary=${SENTINEL_DATA_PORTS[0]}
  log "starting Redis Sentinel: primary $primary, replicas ${SENTINEL_DATA_PORTS[*]:1}, sentinels ${SENTINEL_PORTS[*]}"
  stop_redis_in "$dir"
  rm -rf "$dir"
  start_redis "$dir" "$primary"
  start_redis "$dir" "${SENTINEL_DATA_PORTS[1]}" "replicaof 127.0.0.1 $primary"
  start_redis "$dir" "${SENTINEL_DATA_PORTS[2]}" "replicaof 127.0.0.1 $primary"
  for port in "${SENTINEL_PORTS[@]}"; do
    write_conf "$dir" "$port" "sentinel monitor $SENTINEL_PRIMARY 127.0.0.1 $primary 2" \
      "sentinel down-after-milliseconds $SENTINEL_PRIMARY 1000" "sentinel failover-timeout $SENTINEL_PRIMARY 4000"
    redis-server "$dir/$port.conf" --sentinel >&2 9>&-
  done
  wait_for "Redis Sentinel" sentinel_ok
}

# --- Chromium -----------------------------------------------------------------

# The browser tests drive Debian's headless Chromium through chromedp.
ensure_chromium() {
  local name
  for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null; then chromium_path=$(command -v "$name"); return 0; fi
  done
  apt_install chromium
  chromium_path=$(command -v chromium) || die "chromium was installed but is not on PATH"
}

# --- Scratch databases --------------------------------------------------------

scratch_pattern='^gatehouse_ci_[0-9]+_[0-9]+$'

drop_db() {
  [[ $1 =~ $scratch_pattern ]] || die "refusing to drop $1: not a scratch database"
  psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >&2 && log "dropped $1"
}

# drop_stale drops scratch databases of runs that died more than a day ago
# without cleaning up; their name holds their creation time.
drop_stale() {
  local now name created
  now=$(date +%s)
  for name in $(psql_admin -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'gatehouse\_ci\_%'"); do
    [[ $name =~ $scratch_pattern ]] || continue
    created=${name#gatehouse_ci_}
    created=${created%%_*}
    if ((now - created > 86400)); then drop_db "$name" || true; fi
  done
}

# --bench: the load generator too (make bench drives the server with wrk).
if [ "${1:-}" = "--bench" ]; then
  command -v wrk >/dev/null || apt_install wrk
  shift
fi

if [ "${1:-}" = "--drop" ]; then
  [ -n "${2:-}" ] || exit 0
  drop_db "$2"
  exit
fi

ensure_postgres
ensure_redis
command -v redis-cli >/dev/null || apt_install redis-tools
mkdir -p "$REDIS_TEST_DIR"
exec 9>"$REDIS_TEST_DIR/lock"
flock 9 # runs at once start each server once
ensure_redis_cluster
ensure_redis_sentinel
exec 9>&-
ensure_chromium
drop_stale

db="gatehouse_ci_$(date +%s)_$$"
psql_admin -c "CREATE DATABASE $db" >&2
log "PostgreSQL, Redis, Redis Cluster and Redis Sentinel are up; scratch database $db"
echo "export GATEHOUSE_TEST_DATABASE_URL='postgres://$PGUSER@$PGHOST:$PGPORT/$db?sslmode=disable'"
echo "export GATEHOUSE_TEST_REDIS_URL='redis://127.0.0.1:$REDIS_PORT/0'"
echo "export GATEHOUSE_TEST_REDIS_CLUSTER_URL='redis+cluster://127.0.0.1:${CLUSTER_PORTS[0]},127.0.0.1:${CLUSTER_PORTS[1]},127.0.0.1:${CLUSTER_PORTS[2]}'"
echo "export GATEHOUSE_TEST_REDIS_SENTINEL_URL='redis+sentinel://127.0.0.1:${SENTINEL_PORTS[0]},127.0.0.1:${SENTINEL_PORTS[1]},127.0.0.1:${SENTINEL_PORTS[2]}/$SENTINEL_PRIMARY/0'"
echo "export GATEHOUSE_TEST_CHROMIUM='$chromium_path'"
echo "export GATEHOUSE_TEST_REQUIRE_SERVICES=1"
echo "export GATEHOUSE_TEST_SCRATCH_DB='$db'"

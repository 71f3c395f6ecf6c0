#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster for retrace's tests (RETRACE_TEST_DB=pg).
#
#   bash deployment/postgres/start-test-server.sh [DIR]
#
# DIR (default $RETRACE_PG_DIR or /var/tmp/retrace-pg) holds data/, the server log and the
# unix socket. The server listens on 127.0.0.1 only (port $RETRACE_PG_PORT, default 54329),
# trusts every local/loopback connection, is tuned for speed over durability (fsync=off:
# NEVER keep data you care about in it), and has database retrace_test with pgvector.
#
# Idempotent: if the cluster is already running it only re-checks the database.
# Progress goes to stderr; the ONLY stdout line is the connection URL, so
#   RETRACE_TEST_PG_URL="$(bash deployment/postgres/start-test-server.sh)"
# works. Requires pgvector (deployment/postgres/build-pgvector.sh).
set -euo pipefail

log() { printf '[pg-test-server] %s\n' "$*" >&2; }
die() { printf '[pg-test-server] ERROR: %s\n' "$*" >&2; exit 1; }

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
BASE="${1:-${RETRACE_PG_DIR:-/var/tmp/retrace-pg}}"
PORT="${RETRACE_PG_PORT:-54329}"
DB=retrace_test
SUPERUSER=postgres
URL="postgres://${SUPERUSER}@127.0.0.1:${PORT}/${DB}"

[ -x "$PGBIN/postgres" ] || die "PostgreSQL 15 server not found in $PGBIN"
EXT_DIR="$("$PGBIN/pg_config" --sharedir)/extension"
[ -f "$EXT_DIR/vector.control" ] || die "pgvector is not installed ($EXT_DIR/vector.control missing); run deployment/postgres/build-pgvector.sh"

mkdir -p "$BASE"
BASE="$(cd "$BASE" && pwd -P)"
DATA="$BASE/data"
SOCK="$BASE/run"
LOGFILE="$BASE/server.log"

# initdb and postgres refuse to run as root: as root, run everything as the postgres user.
if [ "$(id -u)" = 0 ]; then
  id -u postgres >/dev/null 2>&1 || die "no 'postgres' system user"
  as_pg() { runuser -u postgres -- "$@"; }
  chown postgres: "$BASE"
  # The postgres user must be able to reach BASE; make sure every parent is traversable.
  as_pg test -x "$BASE" || die "user postgres cannot access $BASE (check parent directory permissions)"
else
  as_pg() { "$@"; }
fi

psql_() { as_pg env PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" "$@"; }

# 1. Create the cluster once.
if [ ! -f "$DATA/PG_VERSION" ]; then
  log "initdb $DATA"
  as_pg mkdir -p "$DATA" "$SOCK"
  as_pg "$PGBIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    --no-instructions >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }
  as_pg sh -c "echo \"include_if_exists = 'retrace-test.conf'\" >> '$DATA/postgresql.conf'"
else
  as_pg mkdir -p "$SOCK"
fi
[ "$(cat "$DATA/PG_VERSION")" = 15 ] || die "$DATA is not a PostgreSQL 15 cluster"

# Settings are rewritten on each start so edits here take effect on the next (re)start.
as_pg tee "$DATA/retrace-test.conf" >/dev/null <<EOF
# Written by deployment/postgres/start-test-server.sh: throwaway test server. NOT durable.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 50
shared_buffers = 256MB
work_mem = 16MB
# HNSW builds keep the graph in maintenance_work_mem; too little makes them crawl.
maintenance_work_mem = 512MB
max_parallel_maintenance_workers = 1
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
max_wal_size = 4GB
logging_collector = off
log_min_messages = warning
log_min_error_statement = error
timezone = 'UTC'
EOF

# 2. Start unless already running.
if as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "already running (data $DATA, port $PORT)"
else
  if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres 2>/dev/null; then
    die "something else already listens on 127.0.0.1:$PORT; set RETRACE_PG_PORT"
  fi
  log "starting PostgreSQL 15 on 127.0.0.1:$PORT (data $DATA, log $LOGFILE)"
  as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 start >/dev/null \
    || { tail -n 30 "$LOGFILE" >&2 || true; die "pg_ctl start failed"; }
fi

for _ in $(seq 1 30); do
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres && break
  sleep 1
done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres || die "server does not accept connections on 127.0.0.1:$PORT"

# 3. Database and extension.
if [ "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
  log "creating database $DB"
  psql_ -d postgres -c "CREATE DATABASE $DB"
fi
# UPDATE: a data directory kept from before a newer pgvector was built records the old version.
vec="$(psql_ -d "$DB" -tA -c "CREATE EXTENSION IF NOT EXISTS vector" -c "ALTER EXTENSION vector UPDATE" \
  -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")" \
  || die "CREATE EXTENSION vector failed in $DB"
log "ready: database $DB, pgvector $vec"

echo "$URL"

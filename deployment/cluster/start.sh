#!/usr/bin/env bash
# Starts a small retrace cluster on this machine, on 127.0.0.1 only:
#
#   PostgreSQL 15 primary (pgvector)         127.0.0.1:$CLUSTER_PG_PORT      (default 54340)
#   streaming replica (pg_basebackup -R)     127.0.0.1:$((CLUSTER_PG_PORT+1))
#   2 workers    retrace worker --db primary
#   2 API servers retrace serve --no-worker --read-db replica   127.0.0.1:$CLUSTER_API_PORT, +1 (default 7841, 7842)
#
#   bash deployment/cluster/start.sh [BASE]     (BASE default $RETRACE_CLUSTER_DIR or /var/tmp/retrace-cluster)
#
# BASE holds pg/primary, pg/replica, api1/ and api2/ (each server's --data-dir), logs/ and pids/.
# The workers read uploaded files at the path the API server stored them under: on one machine
# that is any path; across machines the servers' data directories must be mounted at the same
# paths on the workers (a shared volume, as in deployment/docker-compose.yml).
# Stop it all with deployment/cluster/stop.sh [BASE] [--purge]. Like the test server, the
# databases are tuned for speed (fsync=off): throwaway, not for data you keep.
set -euo pipefail

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd "$HERE/../.." && pwd -P)"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
BASE="${1:-${RETRACE_CLUSTER_DIR:-/var/tmp/retrace-cluster}}"
PG_PORT="${CLUSTER_PG_PORT:-54340}"
REPLICA_PORT=$((PG_PORT + 1))
API_PORT="${CLUSTER_API_PORT:-7841}"
DB=retrace
PRIMARY_URL="postgres://postgres@127.0.0.1:${PG_PORT}/${DB}"
REPLICA_URL="postgres://postgres@127.0.0.1:${REPLICA_PORT}/${DB}"
RETRACE=(node "$REPO/bin/retrace.js")

[ -x "$PGBIN/postgres" ] || die "PostgreSQL 15 server not found in $PGBIN"
[ -f "$("$PGBIN/pg_config" --sharedir)/extension/vector.control" ] || die "pgvector is not installed; run deployment/postgres/build-pgvector.sh"
[ -f "$REPO/dist/src/cli/main.js" ] || die "retrace is not built: run npm install (or npm run build) in $REPO"

mkdir -p "$BASE/pg" "$BASE/logs" "$BASE/pids"
BASE="$(cd "$BASE" && pwd -P)"
if [ "$(id -u)" = 0 ]; then
  id -u postgres >/dev/null 2>&1 || die "no 'postgres' system user"
  as_pg() { runuser -u postgres -- "$@"; }
  chown postgres: "$BASE/pg"
  chmod 755 "$BASE"
else
  as_pg() { "$@"; }
fi
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }
ready() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres; }
for p in "$PG_PORT" "$REPLICA_PORT"; do ready "$p" 2>/dev/null && die "something already listens on 127.0.0.1:$p (a cluster running? stop.sh first)"; done
for p in "$API_PORT" $((API_PORT + 1)); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && die "something already listens on 127.0.0.1:$p"
done

# 1. Primary: replication on, loopback only, trust (initdb's pg_hba lets 127.0.0.1 replicate).
PRIMARY="$BASE/pg/primary"
if [ ! -f "$PRIMARY/PG_VERSION" ]; then
  log "initdb primary"
  as_pg "$PGBIN/initdb" -D "$PRIMARY" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-instructions >"$BASE/pg/initdb.log" 2>&1 \
    || { cat "$BASE/pg/initdb.log" >&2; die "initdb failed"; }
  as_pg sh -c "echo \"include_if_exists = 'cluster.conf'\" >> '$PRIMARY/postgresql.conf'"
fi
as_pg tee "$PRIMARY/cluster.conf" >/dev/null <<CONF
# Written by deployment/cluster/start.sh. Throwaway: fsync off.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 60
shared_buffers = 128MB
maintenance_work_mem = 256MB
wal_level = replica
max_wal_senders = 4
wal_keep_size = 256MB
hot_standby = on
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
CONF
log "starting primary on 127.0.0.1:$PG_PORT"
as_pg "$PGBIN/pg_ctl" -D "$PRIMARY" -l "$BASE/pg/primary.log" -w -t 60 start >/dev/null || { tail -20 "$BASE/pg/primary.log" >&2; die "primary did not start"; }
psql_ -p "$PG_PORT" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 || psql_ -p "$PG_PORT" -d postgres -c "CREATE DATABASE $DB"
psql_ -p "$PG_PORT" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS vector"

# 2. Replica: a base backup of the primary that keeps streaming from it (-R writes primary_conninfo
#    and standby.signal). Its own port goes in cluster.conf, which the backup copied.
REPLICA="$BASE/pg/replica"
if [ ! -f "$REPLICA/PG_VERSION" ]; then
  log "pg_basebackup → replica"
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$REPLICA" -R -X stream -c fast >"$BASE/pg/basebackup.log" 2>&1 \
    || { cat "$BASE/pg/basebackup.log" >&2; die "pg_basebackup failed"; }
fi
as_pg sed -i "s/^port = .*/port = $REPLICA_PORT/" "$REPLICA/cluster.conf"
log "starting replica on 127.0.0.1:$REPLICA_PORT"
as_pg "$PGBIN/pg_ctl" -D "$REPLICA" -l "$BASE/pg/replica.log" -w -t 60 start >/dev/null || { tail -20 "$BASE/pg/replica.log" >&2; die "replica did not start"; }
[ "$(psql_ -p "$REPLICA_PORT" -d postgres -tAc 'SELECT pg_is_in_recovery()')" = t ] || die "the replica is not in recovery (not a standby)"

# 3. retrace processes, in the background, each with a pid file and a log.
launch() { # name, args...
  local name="$1"
  shift
  nohup "${RETRACE[@]}" "$@" >"$BASE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$BASE/pids/$name.pid"
}
wait_log() { # name, pattern
  for _ in $(seq 1 120); do
    grep -q "$2" "$BASE/logs/$1.log" 2>/dev/null && return 0
    kill -0 "$(cat "$BASE/pids/$1.pid")" 2>/dev/null || { tail -20 "$BASE/logs/$1.log" >&2; die "$1 exited"; }
    sleep 0.5
  done
  die "$1 did not start (see $BASE/logs/$1.log)"
}
# The first worker creates the schema on the primary; the servers open the replica without
# writing to it, so they wait until the schema has been replayed there.
launch worker1 worker --db "$PRIMARY_URL" --concurrency 1
wait_log worker1 'is running index jobs'
launch worker2 worker --db "$PRIMARY_URL" --concurrency 1
for _ in $(seq 1 60); do
  [ "$(psql_ -p "$REPLICA_PORT" -d "$DB" -tAc "SELECT to_regclass('schema_migrations') IS NOT NULL AND EXISTS (SELECT 1 FROM retrace_settings WHERE key = 'descriptor')" 2>/dev/null)" = t ] && break
  sleep 0.5
done
for i in 1 2; do
  mkdir -p "$BASE/api$i"
  launch "api$i" serve --no-worker --db "$PRIMARY_URL" --read-db "$REPLICA_URL" --host 127.0.0.1 --port $((API_PORT + i - 1)) \
    --data-dir "$BASE/api$i" --rate-limit 0
done
wait_log worker2 'is running index jobs'
wait_log api1 'retrace is serving'
wait_log api2 'retrace is serving'
log "up: primary $PRIMARY_URL, replica $REPLICA_URL, workers $(cat "$BASE/pids/worker1.pid") $(cat "$BASE/pids/worker2.pid"), API http://127.0.0.1:$API_PORT/ http://127.0.0.1:$((API_PORT + 1))/"

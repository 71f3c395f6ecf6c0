#!/usr/bin/env bash
# Stops the throwaway test cluster started by start-test-server.sh.
#
#   bash deployment/postgres/stop-test-server.sh [DIR] [--purge]
#
# DIR defaults to $RETRACE_PG_DIR or /var/tmp/retrace-pg (same as start-test-server.sh).
# --purge also deletes DIR (the data is throwaway anyway). Succeeds if nothing is running.
set -euo pipefail

log() { printf '[pg-test-server] %s\n' "$*" >&2; }

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
purge=0
dir=""
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    *) dir="$arg" ;;
  esac
done
BASE="${dir:-${RETRACE_PG_DIR:-/var/tmp/retrace-pg}}"
DATA="$BASE/data"

if [ "$(id -u)" = 0 ]; then
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

if [ -f "$DATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "stopping server (data $DATA)"
  as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null \
    || as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null
  log "stopped"
else
  log "not running (data $DATA)"
fi

if [ "$purge" = 1 ] && [ -d "$BASE" ]; then
  log "removing $BASE"
  rm -rf -- "$BASE"
fi

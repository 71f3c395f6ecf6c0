#!/usr/bin/env bash
# Stops what deployment/cluster/start.sh started: the retrace processes (SIGTERM: running jobs go
# back in the queue; SIGKILL after 15 s), then the replica and the primary.
#
#   bash deployment/cluster/stop.sh [BASE] [--purge]     (--purge also deletes BASE)
set -uo pipefail

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
BASE="${RETRACE_CLUSTER_DIR:-/var/tmp/retrace-cluster}"
PURGE=0
for a in "$@"; do
  case "$a" in
    --purge) PURGE=1 ;;
    *) BASE="$a" ;;
  esac
done
log() { printf '[cluster] %s\n' "$*" >&2; }
[ -d "$BASE" ] || { log "nothing at $BASE"; exit 0; }
if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi

pids=()
for f in "$BASE"/pids/*.pid; do
  [ -f "$f" ] || continue
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  fi
  rm -f "$f"
done
for _ in $(seq 1 30); do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.5
done
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && { log "killing $pid"; kill -KILL "$pid"; }; done
[ "${#pids[@]}" -gt 0 ] && log "stopped ${#pids[@]} retrace processes"

for node in replica primary; do
  d="$BASE/pg/$node"
  if [ -f "$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$d" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$d" -m fast -w -t 60 stop >/dev/null && log "stopped $node"
  fi
done
if [ "$PURGE" = 1 ]; then
  rm -rf "$BASE"
  log "deleted $BASE"
fi
exit 0

#!/usr/bin/env bash
# Installs the Debian packages retrace needs for development and CI:
# ffmpeg (decode), PostgreSQL 15 server headers (to build pgvector), Chromium (browser tests).
# Idempotent: skips what is already present.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s postgresql-server-dev-15 >/dev/null 2>&1 || need+=(postgresql-server-dev-15)
dpkg -s build-essential >/dev/null 2>&1 || need+=(build-essential)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

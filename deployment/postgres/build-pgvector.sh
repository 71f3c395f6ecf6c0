#!/usr/bin/env bash
# Builds and installs the pgvector extension for the Debian PostgreSQL 15 server.
#
# bookworm does not package pgvector for PostgreSQL 15, so we take pgvector's upstream source
# as Debian ships it (the .orig.tarball in Debian's pool, checked against a pinned SHA-256),
# build it against postgresql-server-dev-15 and `make install` it. Nothing binary is installed
# from outside bookworm.
#
# Version 0.8.6, not trixie's 0.8.0: 0.8.0 can corrupt an HNSW graph when VACUUM runs beside
# inserts (fixed in 0.8.3 and 0.8.4). A scan then reaches a deleted element and fails with
# "different halfvec dimensions 51 and 0"; CI met it once, after `retrace index` was killed
# mid-batch (the dead client's backend still inserting while the abandoned rows were deleted
# and vacuumed). 0.8.7 is the source in forky, but Debian's pool no longer serves it here;
# 0.8.6's tarball is byte-identical to upstream's tag v0.8.6 (8ee86c9). PGlite's pgvector is
# 0.8.7, so both databases run the same 0.8 series with the vacuum fixes. 0.8.6 still lost the
# race once in CI, as "cannot load deleted element": retrace then searches by exact distance and
# rebuilds the ANN indexes before its next insert (src/db/frame-store.ts, isDamagedGraphError).
#
# Idempotent: exits 0 immediately if pgvector >= 0.8.4 is already in PG15's extension dir; an
# older one is rebuilt. Databases created under the older version keep working; run
# `ALTER EXTENSION vector UPDATE` in each to record the new version.
#
# Environment (all optional):
#   PG_CONFIG          pg_config of the target server (default /usr/lib/postgresql/15/bin/pg_config)
#   PGVECTOR_WORKDIR   where the source is fetched and built (default /var/tmp/retrace-pgvector)
#   PGVECTOR_OPTFLAGS  compiler tuning flags (default: empty = portable build; pgvector's own
#                      default is -march=native, which can crash with SIGILL if the installed
#                      files end up on a different CPU, e.g. in a reused machine image)
#   PGVECTOR_FORCE=1   rebuild and reinstall even if already installed
set -euo pipefail

log() { printf '[build-pgvector] %s\n' "$*"; }
die() { printf '[build-pgvector] ERROR: %s\n' "$*" >&2; exit 1; }

PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
WORKDIR="${PGVECTOR_WORKDIR:-/var/tmp/retrace-pgvector}"
OPTFLAGS_VALUE="${PGVECTOR_OPTFLAGS:-}"
VERSION=0.8.6
TARBALL="pgvector_$VERSION.orig.tar.gz"
URL="http://deb.debian.org/debian/pool/main/p/pgvector/$TARBALL"
SHA256=25c9b78cfdaa43c66788d7490246ac24e4fe1c86f19c4b60c089b723f84a4a0d
MIN_VERSION=0.8.4

[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found; install postgresql-server-dev-15 (deployment/install-system-deps.sh)"
EXT_DIR="$("$PG_CONFIG" --sharedir)/extension"
LIB_DIR="$("$PG_CONFIG" --pkglibdir)"
installed_version() { sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" "$EXT_DIR/vector.control"; }
# True when version $1 >= $2 (dpkg's ordering).
at_least() { dpkg --compare-versions "$1" ge "$2"; }

if [ "${PGVECTOR_FORCE:-0}" != 1 ] && [ -f "$EXT_DIR/vector.control" ] && [ -f "$LIB_DIR/vector.so" ]; then
  if at_least "$(installed_version)" "$MIN_VERSION"; then
    log "pgvector $(installed_version) already installed in $EXT_DIR; nothing to do"
    exit 0
  fi
  log "pgvector $(installed_version) is installed but older than $MIN_VERSION; rebuilding"
fi

[ "$(id -u)" = 0 ] || die "must run as root (apt-get and make install)"
export DEBIAN_FRONTEND=noninteractive
start=$SECONDS

# 1. Tools: a compiler and the server headers.
need=()
dpkg -s build-essential >/dev/null 2>&1 || need+=(build-essential)
dpkg -s postgresql-server-dev-15 >/dev/null 2>&1 || need+=(postgresql-server-dev-15)

if [ ${#need[@]} -gt 0 ]; then
  log "apt-get update"
  apt-get update -q
  log "installing build tools: ${need[*]}"
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# 2. Fetch the tarball (apt's own downloader checks the hash) and unpack it.
mkdir -p "$WORKDIR"
cd "$WORKDIR"
rm -rf pgvector-*/
if ! echo "$SHA256  $TARBALL" | sha256sum -c --quiet 2>/dev/null; then
  log "fetching $URL"
  rm -f "$TARBALL"
  /usr/lib/apt/apt-helper download-file "$URL" "$TARBALL" "SHA256:$SHA256"
fi
echo "$SHA256  $TARBALL" | sha256sum -c --quiet || die "$TARBALL does not have the pinned SHA-256"
tar xzf "$TARBALL"
srcdir="$(find . -maxdepth 1 -type d -name 'pgvector-*' | sort | tail -n1)"
[ -n "$srcdir" ] || die "$TARBALL unpacked no pgvector-* directory in $WORKDIR"
log "source: $WORKDIR/${srcdir#./} (pgvector $VERSION)"

# 3. Build and install.
cd "$srcdir"
jobs="$(nproc 2>/dev/null || echo 2)"
build_start=$SECONDS
log "make -j$jobs PG_CONFIG=$PG_CONFIG OPTFLAGS='$OPTFLAGS_VALUE'"
make -j"$jobs" PG_CONFIG="$PG_CONFIG" OPTFLAGS="$OPTFLAGS_VALUE"
log "compiled in $((SECONDS - build_start))s; make install"
make install PG_CONFIG="$PG_CONFIG" OPTFLAGS="$OPTFLAGS_VALUE"

[ -f "$EXT_DIR/vector.control" ] || die "make install did not produce $EXT_DIR/vector.control"
at_least "$(installed_version)" "$MIN_VERSION" || die "installed pgvector $(installed_version), older than $MIN_VERSION"
log "installed pgvector $(installed_version) into $EXT_DIR and $LIB_DIR (total $((SECONDS - start))s)"

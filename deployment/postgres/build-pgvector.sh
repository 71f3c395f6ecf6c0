#!/usr/bin/env bash
# Builds and installs the pgvector extension for the Debian PostgreSQL 15 server.
#
# bookworm does not package pgvector for PostgreSQL 15, so we take the Debian source
# package from trixie (deb-src ONLY: nothing binary from trixie is ever installed),
# build it against postgresql-server-dev-15 and `make install` it.
#
# Idempotent: exits 0 immediately if vector.control is already in PG15's extension dir.
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
SRC_STANZA=/etc/apt/sources.list.d/trixie-src.sources
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found; install postgresql-server-dev-15 (deployment/install-system-deps.sh)"
EXT_DIR="$("$PG_CONFIG" --sharedir)/extension"
LIB_DIR="$("$PG_CONFIG" --pkglibdir)"
installed_version() { sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" "$EXT_DIR/vector.control"; }

if [ "${PGVECTOR_FORCE:-0}" != 1 ] && [ -f "$EXT_DIR/vector.control" ] && [ -f "$LIB_DIR/vector.so" ]; then
  log "pgvector $(installed_version) already installed in $EXT_DIR; nothing to do"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (apt-get and make install)"
export DEBIAN_FRONTEND=noninteractive
start=$SECONDS

# 1. deb-src stanza for trixie (source only).
if [ -f "$SRC_STANZA" ]; then
  log "deb-src stanza already present: $SRC_STANZA"
else
  log "adding deb-src stanza for trixie: $SRC_STANZA"
  cat >"$SRC_STANZA" <<EOF
# Added by retrace deployment/postgres/build-pgvector.sh: SOURCE packages only
# (used to build pgvector for PostgreSQL 15). Do not add a binary 'deb' line for trixie.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: $KEYRING
EOF
fi

# 2. Tools: dpkg-dev (dpkg-source, used by apt-get source), a compiler, the server headers.
need=()
dpkg -s dpkg-dev >/dev/null 2>&1 || need+=(dpkg-dev)
dpkg -s build-essential >/dev/null 2>&1 || need+=(build-essential)
dpkg -s postgresql-server-dev-15 >/dev/null 2>&1 || need+=(postgresql-server-dev-15)

log "apt-get update"
apt-get update -q
if [ ${#need[@]} -gt 0 ]; then
  log "installing build tools: ${need[*]}"
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# 3. Fetch and unpack the source.
mkdir -p "$WORKDIR"
cd "$WORKDIR"
rm -rf pgvector-*/
log "apt-get source pgvector (into $WORKDIR)"
apt-get source -q pgvector
srcdir="$(find . -maxdepth 1 -type d -name 'pgvector-*' | sort | tail -n1)"
[ -n "$srcdir" ] || die "apt-get source produced no pgvector-* directory in $WORKDIR"
log "source: $WORKDIR/${srcdir#./}"

# 4. Build and install.
cd "$srcdir"
jobs="$(nproc 2>/dev/null || echo 2)"
build_start=$SECONDS
log "make -j$jobs PG_CONFIG=$PG_CONFIG OPTFLAGS='$OPTFLAGS_VALUE'"
make -j"$jobs" PG_CONFIG="$PG_CONFIG" OPTFLAGS="$OPTFLAGS_VALUE"
log "compiled in $((SECONDS - build_start))s; make install"
make install PG_CONFIG="$PG_CONFIG" OPTFLAGS="$OPTFLAGS_VALUE"

[ -f "$EXT_DIR/vector.control" ] || die "make install did not produce $EXT_DIR/vector.control"
log "installed pgvector $(installed_version) into $EXT_DIR and $LIB_DIR (total $((SECONDS - start))s)"

#!/bin/sh
# Runs once, when the primary's data directory is created (docker-entrypoint-initdb.d):
# pgvector in the retrace database (retrace would create it too, but only as a superuser), and
# streaming replication for the replica, authenticated by the same password.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c 'CREATE EXTENSION IF NOT EXISTS vector'
echo "host replication all all scram-sha-256" >>"$PGDATA/pg_hba.conf"

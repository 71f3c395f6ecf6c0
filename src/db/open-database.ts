import type { SqlClient } from './sql-client.js';
import { migrate } from './migrations.js';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseError, DatabaseNotFoundError, RetraceError } from '../core/errors/retrace-error.js';

/** Where the index lives when nothing else is said: `RETRACE_DB`, else `./.retrace`. */
export function defaultDatabaseLocation(): string {
  return process.env.RETRACE_DB || './.retrace';
}

export function isServerUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The directory of an embedded index on disk, or null (a server URL, an in-memory index). */
export function embeddedIndexDir(location: string): string | null {
  return isServerUrl(location) || location.startsWith('memory://') ? null : resolve(location);
}

export interface OpenDatabaseOptions {
  /** Embedded store only: PostgreSQL shared_buffers inside PGlite (default 128MB). */
  pgliteSharedBuffers?: string;
  /**
   * Create the index when there is none (default true). With false, a missing data directory,
   * one that is not a database, or a database without retrace's tables fails with DB_NOT_FOUND
   * and nothing is written: for commands that only read (search, list, stats) or remove.
   */
  create?: boolean;
  /**
   * Bring the schema up to date (default true). A read replica (a hot standby) refuses writes:
   * open it with false, and with `create: false` so it must already hold a retrace index.
   */
  migrate?: boolean;
  /** PostgreSQL only: connections in the pool (default `RETRACE_PG_POOL`, else 4). */
  pool?: number;
  /** PostgreSQL only: statements running longer are cancelled (default `RETRACE_PG_STATEMENT_TIMEOUT_MS`, else none). */
  statementTimeoutMs?: number;
}

/** A positive whole number from the environment, or undefined (unset or not a number). */
function envCount(name: string): number | undefined {
  const v = process.env[name];
  if (!v || !/^\d+$/.test(v.trim())) return undefined;
  const n = Number(v);
  return n > 0 ? n : undefined;
}

/** `location` with a URL's password hidden, for messages. */
function redacted(location: string): string {
  return location.replace(/:[^:@/]*@/, ':***@');
}

/** An embedded directory that holds a database: PGlite, like PostgreSQL, writes PG_VERSION first. */
function embeddedDirectoryProblem(dir: string): string | null {
  try {
    if (!statSync(dir).isDirectory()) return 'it is a file, not a database directory';
  } catch {
    return 'the directory does not exist (`retrace index` creates it)';
  }
  return existsSync(join(dir, 'PG_VERSION')) ? null : 'the directory holds no database (`retrace index` creates one)';
}

async function hasRetraceSchema(client: SqlClient): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AND to_regclass('videos') IS NOT NULL AS ok`);
  return r.rows[0]?.ok === true;
}

/**
 * Open the database named by `location` — a `postgres://` URL selects a server, anything else
 * is an embedded PGlite directory (`memory://` for a throwaway in-memory one) — and bring its
 * schema up to date. With `create: false` it must already hold a retrace index (DB_NOT_FOUND).
 *
 * @example
 * const sql = await openDatabase('./.retrace');
 * const existing = await openDatabase('./.retrace', { create: false });
 */
export async function openDatabase(location: string = defaultDatabaseLocation(), options: OpenDatabaseOptions = {}): Promise<SqlClient> {
  const server = isServerUrl(location);
  const mustExist = options.create === false && location !== 'memory://';
  if (mustExist && !server) {
    const problem = embeddedDirectoryProblem(resolve(location));
    if (problem) throw new DatabaseNotFoundError(location, problem);
  }
  let client: SqlClient;
  try {
    // Each store's driver is imported only when it is used (`pg` costs an embedded open ~50 ms).
    client = server
      ? await (
          await import('./pg-client.js')
        ).PgClient.open(location, {
          maxConnections: options.pool ?? envCount('RETRACE_PG_POOL'),
          statementTimeoutMs: options.statementTimeoutMs ?? envCount('RETRACE_PG_STATEMENT_TIMEOUT_MS'),
        })
      : await (
          await import('./pglite-client.js')
        ).PGliteClient.open(location, { sharedBuffers: options.pgliteSharedBuffers ?? (process.env.RETRACE_PGLITE_SHARED_BUFFERS || undefined) });
  } catch (e) {
    if (e instanceof RetraceError) throw e;
    // PostgreSQL's invalid_catalog_name: the server is there, the database is not.
    if (server && (e as { code?: string }).code === '3D000') {
      throw new DatabaseNotFoundError(redacted(location), `the server has no such database (${(e as Error).message}); create it first, e.g. with createdb`);
    }
    throw new DatabaseError(`Cannot open database ${redacted(location)}: ${(e as Error).message}`, e);
  }
  try {
    if (mustExist && !(await hasRetraceSchema(client))) {
      throw new DatabaseNotFoundError(redacted(location), 'the database has no retrace tables (`retrace index` creates them)');
    }
    if (options.migrate !== false) await migrate(client);
  } catch (e) {
    await client.close().catch(() => undefined);
    if (e instanceof RetraceError) throw e;
    throw new DatabaseError(`Cannot prepare database schema: ${(e as Error).message}`, e);
  }
  return client;
}

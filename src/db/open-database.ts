import type { SqlClient } from './sql-client.js';
import { PGliteClient } from './pglite-client.js';
import { PgClient } from './pg-client.js';
import { migrate } from './migrations.js';
import { DatabaseError, RetraceError } from '../core/errors/retrace-error.js';

/** Where the index lives when nothing else is said: `RETRACE_DB`, else `./.retrace`. */
export function defaultDatabaseLocation(): string {
  return process.env.RETRACE_DB || './.retrace';
}

export function isServerUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Open the database named by `location` — a `postgres://` URL selects a server, anything else
 * is an embedded PGlite directory (`memory://` for a throwaway in-memory one) — and bring its
 * schema up to date.
 *
 * @example
 * const sql = await openDatabase('./.retrace');
 */
export async function openDatabase(location: string = defaultDatabaseLocation(), options: { pgliteSharedBuffers?: string } = {}): Promise<SqlClient> {
  let client: SqlClient;
  try {
    client = isServerUrl(location) ? await PgClient.open(location) : await PGliteClient.open(location, { sharedBuffers: options.pgliteSharedBuffers ?? (process.env.RETRACE_PGLITE_SHARED_BUFFERS || undefined) });
  } catch (e) {
    if (e instanceof RetraceError) throw e;
    throw new DatabaseError(`Cannot open database ${location.replace(/:[^:@/]*@/, ':***@')}: ${(e as Error).message}`, e);
  }
  try {
    await migrate(client);
  } catch (e) {
    await client.close().catch(() => undefined);
    throw new DatabaseError(`Cannot prepare database schema: ${(e as Error).message}`, e);
  }
  return client;
}

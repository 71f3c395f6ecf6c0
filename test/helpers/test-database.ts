/**
 * The database a test runs against, chosen by environment so the whole storage suite runs on
 * both implementations of the seam:
 *
 *   RETRACE_TEST_DB=pglite (default)  a fresh embedded PGlite directory under the OS temp dir
 *   RETRACE_TEST_DB=pg                a fresh database on the PostgreSQL server named by
 *                                     RETRACE_TEST_PG_URL (which must have pgvector installed)
 *
 * Each call creates its own empty database (`retrace_t_<random>` on the server, created through
 * a maintenance connection to RETRACE_TEST_PG_URL's database and dropped by `dispose`), so test
 * files can run in parallel. Every test that touches storage goes through here.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/db/open-database.js';
import type { SqlClient } from '../../src/db/sql-client.js';

export type TestDbKind = 'pglite' | 'pg';

function kindFromEnv(): TestDbKind {
  const v = (process.env.RETRACE_TEST_DB ?? 'pglite').trim().toLowerCase();
  if (v === '' || v === 'pglite') return 'pglite';
  if (v === 'pg' || v === 'postgres' || v === 'postgresql') return 'pg';
  throw new Error(`RETRACE_TEST_DB must be "pglite" or "pg", got "${process.env.RETRACE_TEST_DB}"`);
}

/** Which database this run uses. */
export const TEST_DB_KIND: TestDbKind = kindFromEnv();
export const isPglite = TEST_DB_KIND === 'pglite';

export interface TestDatabase {
  kind: TestDbKind;
  /** What to pass as `Retrace.open({ db })` / `openDatabase(...)`: a directory or a postgres:// URL. */
  location: string;
  /** For PGlite: the data directory (same as `location`). */
  dir?: string;
  /** Drop the database (close every client first). */
  dispose(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.RETRACE_TEST_PG_URL;
  if (!url) {
    throw new Error(
      'RETRACE_TEST_DB=pg needs RETRACE_TEST_PG_URL, e.g. postgres://postgres@127.0.0.1:54329/retrace_test ' +
        '(start one with deployment/postgres/start-test-server.sh)',
    );
  }
  return url;
}

async function withMaintenance<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: serverUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A fresh, empty database for one test file (or one test).
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase(); });
 * afterAll(() => db.dispose());
 * const engine = await Retrace.open({ db: db.location });
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DB_KIND === 'pglite') {
    const parent = await mkdtemp(join(tmpdir(), 'retrace-testdb-'));
    const dir = join(parent, 'index');
    return { kind: 'pglite', location: dir, dir, dispose: () => rm(parent, { recursive: true, force: true }) };
  }
  const name = `retrace_t_${randomBytes(6).toString('hex')}`;
  await withMaintenance((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    kind: 'pg',
    location: url.toString(),
    dispose: () =>
      withMaintenance(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}

export interface OpenTestDatabase {
  db: TestDatabase;
  /** The migrated schema, opened with `openDatabase`. */
  sql: SqlClient;
  /** Close the client, then drop the database. */
  close(): Promise<void>;
}

/**
 * A fresh test database opened with `openDatabase`, for tests of the stores beneath the engine.
 *
 * @example
 * let db: OpenTestDatabase;
 * beforeAll(async () => { db = await openTestDatabase(); });
 * afterAll(() => db?.close());
 */
export async function openTestDatabase(): Promise<OpenTestDatabase> {
  const db = await createTestDatabase();
  let sql: SqlClient;
  try {
    sql = await openDatabase(db.location);
  } catch (e) {
    // The caller gets nothing to close: drop the database here, as its afterAll would have.
    await db.dispose();
    throw e;
  }
  return {
    db,
    sql,
    async close() {
      await sql.close();
      await db.dispose();
    },
  };
}

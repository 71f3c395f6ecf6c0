/**
 * Connection settings of a PostgreSQL database (issue 18, part 6): the pool size and a statement
 * timeout, from options or the environment. Server only: PGlite has one connection and no timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open-database.js';
import { createTestDatabase, isPglite, type TestDatabase } from '../helpers/test-database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.dispose();
});

describe.skipIf(isPglite)('PostgreSQL connection settings', () => {
  it('cancels statements that run past the statement timeout', async () => {
    const sql = await openDatabase(db.location, { statementTimeoutMs: 200 });
    try {
      expect((await sql.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0].statement_timeout).toBe('200ms');
      await expect(sql.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
    } finally {
      await sql.close();
    }
  });

  it('runs no more statements at once than the pool has connections (RETRACE_PG_POOL)', async () => {
    const before = process.env.RETRACE_PG_POOL;
    process.env.RETRACE_PG_POOL = '2';
    const sql = await openDatabase(db.location);
    try {
      // Four statements of 0.3 s on 2 connections: two rounds, so at least 0.6 s.
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 4 }, () => sql.query('SELECT pg_sleep(0.3)')));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(580);
    } finally {
      await sql.close();
      if (before === undefined) delete process.env.RETRACE_PG_POOL;
      else process.env.RETRACE_PG_POOL = before;
    }
  });
});

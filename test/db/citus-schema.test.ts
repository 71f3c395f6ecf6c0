/**
 * The schema stays shardable by Citus (deployment/citus/README.md): `frames` distributed by
 * `video_id`, `videos` and the small tables as reference tables. Citus cannot run here, so the
 * rules it enforces are checked on the migrated schema instead, on PGlite and PostgreSQL:
 *  - every primary key, unique constraint and unique index of `frames` includes `video_id`
 *    (Citus enforces uniqueness per shard only);
 *  - `frames` references only `videos` (a reference table), and nothing references `frames`
 *    (a reference or local table may not point into a distributed one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/db/sql-client.js';
import { openTestDatabase, type OpenTestDatabase } from '../helpers/test-database.js';

let db: OpenTestDatabase;
let sql: SqlClient;

beforeAll(async () => {
  db = await openTestDatabase();
  sql = db.sql;
});

afterAll(() => db?.close());

describe('Citus-compatible schema', () => {
  it('every unique key of frames includes the distribution column video_id', async () => {
    const { rows } = await sql.query<{ name: string; columns: string[] | string }>(
      `SELECT i.relname AS name,
              ARRAY(SELECT a.attname::text FROM unnest(x.indkey) AS k(n) JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n) AS columns
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'frames'::regclass AND (x.indisunique OR x.indisprimary)`,
    );
    const offending = rows.filter((r) => {
      const cols = Array.isArray(r.columns) ? r.columns : String(r.columns).replace(/[{}]/g, '').split(',');
      return !cols.includes('video_id');
    });
    expect(offending.map((r) => r.name)).toEqual([]);
  });

  it('frames references only videos, and no table references frames', async () => {
    const { rows } = await sql.query<{ from_table: string; to_table: string }>(
      `SELECT conrelid::regclass::text AS from_table, confrelid::regclass::text AS to_table
         FROM pg_constraint WHERE contype = 'f' AND (conrelid = 'frames'::regclass OR confrelid = 'frames'::regclass)`,
    );
    expect(rows).toEqual([{ from_table: 'frames', to_table: 'videos' }]);
  });
});

/**
 * Reads on a replica (issue 18, `readDb`): searches, listings and look-ups read the replica,
 * ingest and `get` the primary. The replica here is a second real database that lags: rows
 * reach it only when the test replays them (as WAL replay would on a streaming standby), so
 * the test can tell which database each read went to. Runs on PGlite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Retrace } from '../../src/core/engine/retrace.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { json, startTestServer } from '../server/server-helpers.js';

let primaryDb: TestDatabase;
let replicaDb: TestDatabase;
let engine: Retrace;
let clip: string;
let tmp: TempDir;

/** Copy a video's rows from the primary to the replica, as replication would. */
async function replay(from: SqlClient, to: SqlClient, videoId: string): Promise<void> {
  const v = await from.query<{ j: unknown }>(`SELECT to_jsonb(v) AS j FROM videos v WHERE id = $1`, [videoId]);
  const f = await from.query<{ j: unknown }>(`SELECT COALESCE(jsonb_agg(to_jsonb(f)), '[]'::jsonb) AS j FROM frames f WHERE video_id = $1`, [videoId]);
  await to.query(`INSERT INTO videos SELECT * FROM jsonb_populate_record(NULL::videos, $1::jsonb)`, [JSON.stringify(v.rows[0].j)]);
  await to.query(`INSERT INTO frames SELECT * FROM jsonb_populate_recordset(NULL::frames, $1::jsonb)`, [JSON.stringify(f.rows[0].j)]);
}

beforeAll(async () => {
  tmp = await makeTempDir('retrace-replica-');
  clip = await makeClip(tmp, 'replica-ref', { source: 'mandelbrot', durationSec: 6 });
  primaryDb = await createTestDatabase();
  replicaDb = await createTestDatabase();
  // The replica starts as a copy of the empty primary: the schema and descriptor, no videos.
  const seed = await Retrace.open({ db: replicaDb.location });
  await seed.close();
  engine = await Retrace.open({ db: primaryDb.location, readDb: replicaDb.location });
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await primaryDb?.dispose();
  await replicaDb?.dispose();
  await tmp?.cleanup();
});

describe('reads on a replica', () => {
  it('a video indexed on the primary is listed and found only once it has reached the replica, and the API says when', async () => {
    const r = await engine.index(clip, { title: 'Replicated' });
    // Written on the primary: get() reads there.
    expect((await engine.get(r.videoId)).title).toBe('Replicated');
    // Not replayed yet: listings and searches (the replica) do not see it.
    expect(await engine.isVisibleOnReplica(r.videoId)).toBe(false);
    expect(await engine.count()).toBe(0);
    expect((await engine.search(clip)).matches).toHaveLength(0);
    await expect(engine.lookup(r.videoId)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const srv = await startTestServer(engine, join(tmp.path, 'srv'));
    try {
      const before = await json(srv.url, `/api/videos/${r.videoId}`);
      expect(before.body).toMatchObject({ id: r.videoId, status: 'ready', replicaVisible: false });
      expect((await json(srv.url, '/api/videos')).body.total).toBe(0);

      // The engine's own replica connection plays replication (an embedded database takes one opener).
      await replay(engine.sql, engine.readSql!, r.videoId);

      const after = await json(srv.url, `/api/videos/${r.videoId}`);
      expect(after.body.replicaVisible).toBe(true);
      expect((await json(srv.url, '/api/videos')).body.total).toBe(1);
      const found = await engine.search(clip);
      expect(found.matches[0]?.videoId).toBe(r.videoId);
      expect((await engine.lookup(r.videoId)).id).toBe(r.videoId);
      const health = await json(srv.url, '/api/health');
      expect(health.body.db.replica.status).toBe('ok');
    } finally {
      await srv.close();
    }
  }, 120_000);

  it('never writes to the replica: opening one without the index fails instead of creating it', async () => {
    const empty = await createTestDatabase();
    try {
      await expect(Retrace.open({ db: 'memory://', readDb: empty.location })).rejects.toMatchObject({
        code: 'DB_NOT_FOUND',
      });
    } finally {
      await empty.dispose();
    }
  });
});

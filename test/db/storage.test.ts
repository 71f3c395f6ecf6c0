import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open-database.js';
import { PGliteClient } from '../../src/db/pglite-client.js';
import { PgClient } from '../../src/db/pg-client.js';
import { loadMigrations, migrate } from '../../src/db/migrations.js';
import { DEFAULT_ANN, FrameStore } from '../../src/db/frame-store.js';
import type { KnnHit, NewVideo, StoredFrame } from '../../src/db/frame-store.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { Retrace } from '../../src/core/engine/retrace.js';
import type { FrameDescriptor } from '../../src/core/descriptors/frame-descriptor.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { createTestDatabase, isPglite, TEST_DB_KIND } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';
import { startStorageChild } from '../helpers/child-process.js';
import { seededRng } from '../helpers/seeded-rng.js';

const DIMS = 8;
const DESCRIPTOR_ID = 'storage-test-8d';

/** A unit vector from its components (padded with zeros to DIMS). */
function vec(...values: number[]): Float32Array {
  const v = new Float32Array(DIMS);
  values.forEach((x, i) => {
    v[i] = x;
  });
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Deterministic pseudo-random unit vectors. */
function randomVectors(n: number, seed: number): Float32Array[] {
  const rnd = seededRng(seed);
  return Array.from({ length: n }, () => vec(...Array.from({ length: DIMS }, () => rnd() * 2 - 1)));
}

function newVideo(overrides: Partial<NewVideo> = {}): NewVideo {
  return {
    contentHash: randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, ''),
    path: `/videos/${randomUUID()}.mp4`,
    title: null,
    durationSec: 10,
    fps: 25,
    width: 320,
    height: 240,
    codec: 'h264',
    metadata: {},
    ...overrides,
  };
}

/** Frames at 0, 1, 2… s with the given whole-picture vectors and optional centre vectors. */
function framesOf(whole: Float32Array[], centre?: Float32Array[], quality = 0.9): StoredFrame[] {
  return whole.map((v, i) => ({
    frameNumber: i * 25,
    timestampSec: i,
    isKeyframe: i === 0,
    quality,
    vectors: [{ variant: 0, embedding: v }, ...(centre ? [{ variant: 1, embedding: centre[i] }] : [])],
  }));
}

/** knn hits best first (the store does not promise an order). */
function bySimilarity(hits: KnnHit[]): KnnHit[] {
  return [...hits].sort((x, y) => y.similarity - x.similarity);
}

async function rowCounts(sql: SqlClient, videoId: string): Promise<{ frames: number; vectors: number }> {
  const r = await sql.query<{ f: string; v: string }>(`SELECT count(*)::text AS f, (count(e0) + count(e1))::text AS v FROM frames WHERE video_id = $1`, [
    videoId,
  ]);
  return { frames: Number(r.rows[0].f), vectors: Number(r.rows[0].v) };
}

/** Store a complete, searchable video. */
async function addReadyVideo(store: FrameStore, whole: Float32Array[], centre?: Float32Array[], overrides: Partial<NewVideo> = {}): Promise<string> {
  const id = await store.beginVideo(newVideo(overrides));
  await store.addFrames(id, framesOf(whole, centre));
  await store.finishVideo(id, whole.length, whole.length);
  return id;
}

// One database for the whole file: creating an embedded one costs seconds.
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.dispose();
});

describe(`migration 002 (one row per frame, halfvec) on ${TEST_DB_KIND}`, () => {
  it('moves an index written by schema v1 into the new layout with its frames, vectors and ids', async () => {
    const old = await createTestDatabase();
    try {
      const first = isPglite ? await PGliteClient.open(old.location) : await PgClient.open(old.location);
      const v1 = loadMigrations().filter((m) => m.version === 1);
      await migrate(first, v1);
      const ready = randomUUID();
      const busy = randomUUID();
      await first.exec(`
        INSERT INTO retrace_settings (key, value) VALUES ('descriptor', '{"id": "${DESCRIPTOR_ID}", "dimensions": ${DIMS}}');
        INSERT INTO videos (id, content_hash, path, status, frame_count) VALUES
          ('${ready}', 'h1', '/a.mp4', 'ready', 2), ('${busy}', 'h2', '/b.mp4', 'indexing', 0);
        INSERT INTO frame_info (id, video_id, frame_number, timestamp_sec, is_keyframe, quality) VALUES
          (7, '${ready}', 0, 0, true, 0.9), (8, '${ready}', 25, 1, false, 0.8), (9, '${busy}', 0, 0, false, 0.7);
        INSERT INTO frame_vectors (frame_id, variant, video_id, embedding) VALUES
          (7, 0, '${ready}', '[${vec(1, 2).join(',')}]'), (7, 1, '${ready}', '[${vec(2, 1).join(',')}]'),
          (8, 0, '${ready}', '[${vec(0, 0, 1).join(',')}]'), (8, 1, '${ready}', '[${vec(0, 1).join(',')}]'),
          (9, 0, '${busy}', '[${vec(1, 2).join(',')}]');
        SELECT setval('frame_info_id_seq', 9);`);
      await first.close();

      const sql = await openDatabase(old.location);
      try {
        const store = new FrameStore(sql);
        await store.bindDescriptor(DESCRIPTOR_ID, DIMS);
        const tables = await sql.query<{ name: string }>(
          `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'frame%' ORDER BY 1`,
        );
        expect(tables.rows.map((r) => r.name)).toEqual(['frames']);
        // The unfinished video's frame is kept in the table but not counted: only ready videos' frames are.
        expect(await store.totals()).toMatchObject({ videos: 2, ready: 1, frames: 2, vectors: 4 });
        const frames = await store.framesOf(ready);
        expect(frames.map((f) => [f.frameId, f.timestampSec, [...f.vectors.keys()]])).toEqual([
          [7, 0, [0, 1]],
          [8, 1, [0, 1]],
        ]);
        // halfvec keeps about 3 significant digits: far below descriptor noise.
        expect(cosine(frames[0].vectors.get(1)!, vec(2, 1))).toBeCloseTo(1, 3);
        const hits = bySimilarity(await store.knn([vec(1, 2)], 0, 3));
        expect(hits.map((h) => [h.videoId, h.frameId])).toEqual([
          [ready, 7],
          [ready, 8],
        ]);
        expect(hits[0].similarity).toBeCloseTo(1, 3);
        // New frames get ids after the migrated ones.
        const next = await store.beginVideo(newVideo());
        await store.addFrames(next, framesOf([vec(5, 5)]));
        const [added] = await store.framesOf(next);
        expect(added.frameId).toBeGreaterThan(9);
      } finally {
        await sql.close();
      }
    } finally {
      await old.dispose();
    }
  });
});

describe(`migrations 004 and 005 (L2 partial ANN indexes, compact frames) on ${TEST_DB_KIND}`, () => {
  it('rewrites an index of schema v3: frames, ids and vectors kept, cosine indexes, primary key and b-tree replaced', async () => {
    const old = await createTestDatabase();
    try {
      const first = isPglite ? await PGliteClient.open(old.location) : await PgClient.open(old.location);
      await migrate(
        first,
        loadMigrations().filter((m) => m.version <= 3),
      );
      const ready = randomUUID();
      const other = randomUUID();
      const zero = `[${new Float32Array(DIMS).join(',')}]`;
      await first.exec(`
        INSERT INTO retrace_settings (key, value) VALUES ('descriptor', '{"id": "${DESCRIPTOR_ID}", "dimensions": ${DIMS}}');
        INSERT INTO videos (id, content_hash, path, status, frame_count) VALUES
          ('${ready}', 'h1', '/a.mp4', 'ready', 3), ('${other}', 'h2', '/b.mp4', 'ready', 1);
        INSERT INTO frames (id, video_id, frame_number, timestamp_sec, is_keyframe, quality, e0, e1) VALUES
          (11, '${ready}', 0, 0, true, 0.9, '[${vec(1, 2).join(',')}]', '[${vec(2, 1).join(',')}]'),
          (12, '${other}', 0, 0, false, 0.5, '[${vec(3, 1).join(',')}]', NULL),
          (13, '${ready}', 25, 1, false, 0.8, '[${vec(0, 0, 1).join(',')}]', '${zero}'),
          (14, '${ready}', 50, 2.5, false, 0.7, '${zero}', '[${vec(0, 1).join(',')}]');
        SELECT setval('frames_id_seq', 14);
        CREATE INDEX frames_e0_hnsw ON frames USING hnsw ((e0::halfvec(${DIMS})) halfvec_cosine_ops);
        CREATE INDEX frames_e1_hnsw ON frames USING hnsw ((e1::halfvec(${DIMS})) halfvec_cosine_ops);`);
      await first.close();

      const sql = await openDatabase(old.location);
      try {
        const store = new FrameStore(sql);
        await store.bindDescriptor(DESCRIPTOR_ID, DIMS);
        const indexes = await sql.query<{ name: string; def: string }>(
          `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'frames' ORDER BY 1`,
        );
        expect(indexes.rows.map((r) => r.name)).toEqual(['frames_e0_l2', 'frames_e1_l2', 'frames_e2_l2', 'frames_e3_l2', 'frames_e4_l2', 'frames_video_brin']);
        for (const r of indexes.rows.filter((x) => x.name.endsWith('_l2'))) {
          expect(r.def).toContain('halfvec_l2_ops');
          expect(r.def).toMatch(/WHERE \(?l2_norm\(e[0-4]\) > /);
        }
        expect(indexes.rows.find((r) => r.name === 'frames_video_brin')!.def).toMatch(/USING brin .*uuid_bloom_ops/);
        expect(await store.totals()).toMatchObject({ videos: 2, ready: 2, frames: 4, vectors: 7 });
        const frames = await store.framesOf(ready);
        expect(frames.map((f) => [f.frameId, f.timestampSec, [...f.vectors.keys()]])).toEqual([
          [11, 0, [0, 1]],
          [13, 1, [0, 1]],
          [14, 2.5, [0, 1]],
        ]);
        expect(cosine(frames[0].vectors.get(1)!, vec(2, 1))).toBeCloseTo(1, 3);
        expect(frames[0].quality).toBeCloseTo(0.9, 5);
        expect((await store.framesOf(ready, 0.5, 2)).map((f) => f.frameId)).toEqual([13]);
        // Zero vectors stay in the rows but never come back from knn.
        const hits = bySimilarity(await store.knn([vec(0, 0, 1)], 0, 10));
        expect(hits[0].frameId).toBe(13);
        expect(hits.map((h) => h.frameId).sort()).toEqual([11, 12, 13]);
        expect(hits[0].similarity).toBeCloseTo(1, 3);
        // New frames get ids after the migrated ones; removing a video removes its frames only.
        const next = await store.beginVideo(newVideo());
        await store.addFrames(next, framesOf([vec(5, 5)]));
        await store.finishVideo(next, 1, 1);
        const [added] = await store.framesOf(next);
        expect(added.frameId).toBeGreaterThan(14);
        await store.remove(ready);
        expect(await store.totals()).toMatchObject({ videos: 2, frames: 2 });
        expect((await store.framesOf(other)).map((f) => f.frameId)).toEqual([12]);
      } finally {
        await sql.close();
      }
    } finally {
      await old.dispose();
    }
  });
});

describe(`storage on ${TEST_DB_KIND}`, () => {
  let sql: SqlClient;
  let store: FrameStore;

  beforeAll(async () => {
    sql = await openDatabase(db.location);
    store = new FrameStore(sql);
    await store.bindDescriptor(DESCRIPTOR_ID, DIMS);
  });

  afterAll(async () => {
    await sql?.close();
  });

  it("builds the stored windows' graphs (variants 2–4) with their own degree, the whole picture's and the centre's with m", async () => {
    const r = await sql.query<{ name: string; options: string[] }>(
      `SELECT relname AS name, reloptions AS options FROM pg_class WHERE relname LIKE 'frames\\_e%\\_l2' ORDER BY relname`,
    );
    expect(r.rows.map((x) => x.name)).toEqual([...FrameStore.annIndexNames]);
    r.rows.forEach((x, variant) => expect(x.options).toContain(`m=${variant < 2 ? DEFAULT_ANN.m : DEFAULT_ANN.windowM}`));
    expect(DEFAULT_ANN.windowM).not.toBe(DEFAULT_ANN.m);
  });

  it('rebuilds its ANN indexes in place (the cure for a damaged graph), and search finds the same frames after', async () => {
    const whole = randomVectors(12, 41);
    const id = await addReadyVideo(store, whole);
    const before = bySimilarity(await store.knn([whole[5]], 0, 3)).filter((h) => h.videoId === id);
    await store.rebuildAnnIndexes();
    const after = bySimilarity(await store.knn([whole[5]], 0, 3)).filter((h) => h.videoId === id);
    expect(after.map((h) => h.timestampSec)).toEqual(before.map((h) => h.timestampSec));
    expect(after[0].timestampSec).toBe(5);
    // The database is shared by this file's tests, which count what knn returns.
    await store.remove(id);
  });

  describe('migrations', () => {
    it('are applied at open and each recorded once in schema_migrations', async () => {
      const files = loadMigrations();
      expect(files.length).toBeGreaterThanOrEqual(1);
      const r = await sql.query<{ version: number; name: string }>(`SELECT version, name FROM schema_migrations ORDER BY version`);
      expect(r.rows.map((x) => x.version)).toEqual(files.map((m) => m.version));
      expect(r.rows.map((x) => x.name)).toEqual(files.map((m) => m.name));
      for (const table of ['videos', 'frames', 'jobs', 'retrace_settings']) {
        await expect(sql.query(`SELECT count(*) FROM ${table}`)).resolves.toBeDefined();
      }
    });

    it.runIf(isPglite)('opens PGlite with the chosen buffer pool (default 128MB), and refuses a malformed size', async () => {
      expect((await sql.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0].shared_buffers).toBe('128MB');
      const small = await PGliteClient.open('memory://', { sharedBuffers: '32MB' });
      try {
        expect((await small.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0].shared_buffers).toBe('32MB');
      } finally {
        await small.close();
      }
      await expect(PGliteClient.open('memory://', { sharedBuffers: '32MB; DROP' })).rejects.toThrow(/shared_buffers/);
    });

    it('apply nothing the second time on the same connection', async () => {
      expect(await migrate(sql)).toEqual([]);
      const r = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM schema_migrations`);
      expect(Number(r.rows[0].n)).toBe(loadMigrations().length);
    });

    it('when all are recorded: only read, no DDL and no transaction', async () => {
      const calls: string[] = [];
      const spy: SqlClient = {
        dialect: sql.dialect,
        location: sql.location,
        query: (text, params) => {
          calls.push('query');
          return sql.query(text, params);
        },
        exec: (text) => {
          calls.push(`exec ${text.slice(0, 30)}`);
          return sql.exec(text);
        },
        transaction: (fn) => {
          calls.push('transaction');
          return sql.transaction(fn);
        },
        databaseBytes: () => sql.databaseBytes(),
        close: () => sql.close(),
      };
      expect(await migrate(spy)).toEqual([]);
      expect(calls.every((c) => c === 'query')).toBe(true);
      expect(calls.length).toBeLessThanOrEqual(2);
    });

    it('a migration added to an index that has all the others is still applied, once', async () => {
      const extra = { version: 9999, name: '9999_test_only.sql', sql: 'CREATE TABLE migration_test_9999 (x integer)' };
      try {
        expect(await migrate(sql, [...loadMigrations(), extra])).toEqual([9999]);
        await expect(sql.query('SELECT count(*) FROM migration_test_9999')).resolves.toBeDefined();
        expect(await migrate(sql, [...loadMigrations(), extra])).toEqual([]);
      } finally {
        await sql.exec('DROP TABLE IF EXISTS migration_test_9999');
        await sql.query('DELETE FROM schema_migrations WHERE version = 9999');
      }
    });

    it('leave the data alone when the database is reopened', async () => {
      const id = await addReadyVideo(store, [vec(1, 2), vec(2, 1), vec(1, 1, 1)], undefined, { title: 'survives reopen' });
      await sql.close();
      sql = await openDatabase(db.location);
      store = new FrameStore(sql);
      await store.bindDescriptor(DESCRIPTOR_ID, DIMS);
      expect(await migrate(sql)).toEqual([]);
      const r = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM schema_migrations`);
      expect(Number(r.rows[0].n)).toBe(loadMigrations().length);
      const v = await store.get(id);
      expect(v.title).toBe('survives reopen');
      expect(v.frameCount).toBe(3);
      await store.remove(id);
    });
  });

  describe('videos', () => {
    it('round-trips a video record with its metadata', async () => {
      const id = await store.beginVideo(
        newVideo({
          path: '/films/é wave.mkv',
          title: 'Wave',
          durationSec: 12.5,
          fps: 23.976,
          width: 720,
          height: 576,
          codec: 'mpeg2video',
          metadata: { tags: ['a', 'b'], n: 3 },
        }),
      );
      await store.addFrames(id, framesOf([vec(1), vec(0, 1)]));
      const done = await store.finishVideo(id, 2, 12.5);
      expect(done).toMatchObject({ id, status: 'ready', frameCount: 2, durationSec: 12.5 });
      const v = await store.get(id);
      expect(v).toMatchObject({
        id,
        path: '/films/é wave.mkv',
        title: 'Wave',
        durationSec: 12.5,
        fps: 23.976,
        width: 720,
        height: 576,
        codec: 'mpeg2video',
        status: 'ready',
        error: null,
        metadata: { tags: ['a', 'b'], n: 3 },
        frameCount: 2,
      });
      expect(new Date(v.createdAt).toISOString()).toBe(v.createdAt);
      expect(Date.parse(v.updatedAt)).toBeGreaterThanOrEqual(Date.parse(v.createdAt));
      await store.remove(id);
    });

    it('lists videos oldest first, filters by status and counts them', async () => {
      const before = await store.count();
      const a = await addReadyVideo(store, [vec(1, 0, 1)]);
      const b = await addReadyVideo(store, [vec(0, 1, 1)]);
      const pending = await store.beginVideo(newVideo());
      const all = await store.list();
      const ids = all.map((v) => v.id);
      expect(ids.indexOf(a)).toBeLessThan(ids.indexOf(b));
      expect(ids).toContain(pending);
      expect((await store.list({ status: 'ready' })).map((v) => v.id)).not.toContain(pending);
      expect((await store.list({ status: 'indexing' })).map((v) => v.id)).toEqual([pending]);
      expect(await store.count()).toBe(before + 3);
      expect(await store.count('indexing')).toBe(1);
      const page = await store.list({ limit: 1, offset: ids.indexOf(b) });
      expect(page.map((v) => v.id)).toEqual([b]);
      for (const id of [a, b, pending]) await store.remove(id);
      expect(await store.count()).toBe(before);
    });

    it('reports NOT_FOUND for an unknown or malformed id, on get and on remove', async () => {
      await expectRetraceError(store.get(randomUUID()), 'NOT_FOUND');
      await expectRetraceError(store.get('not-a-uuid'), 'NOT_FOUND');
      await expectRetraceError(store.remove(randomUUID()), 'NOT_FOUND');
      await expectRetraceError(store.remove("x'; DROP TABLE videos; --"), 'NOT_FOUND');
    });

    it('removing a video removes its frames and vectors too, and nothing of other videos', async () => {
      const keep = await addReadyVideo(store, [vec(1, 1), vec(1, -1)], [vec(3, 1), vec(1, 3)]);
      const gone = await addReadyVideo(store, [vec(1, 2), vec(2, 1), vec(2, 2, 1)], [vec(1), vec(0, 1), vec(0, 0, 1)]);
      expect(await rowCounts(sql, gone)).toEqual({ frames: 3, vectors: 6 });
      await store.remove(gone);
      expect(await rowCounts(sql, gone)).toEqual({ frames: 0, vectors: 0 });
      const orphans = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM frames f LEFT JOIN videos v ON v.id = f.video_id WHERE v.id IS NULL`);
      expect(Number(orphans.rows[0].n)).toBe(0);
      expect(await rowCounts(sql, keep)).toEqual({ frames: 2, vectors: 4 });
      await expectRetraceError(store.get(gone), 'NOT_FOUND');
      const hits = await store.knn([vec(1, 2)], 0, 10);
      expect(hits.map((h) => h.videoId)).not.toContain(gone);
      await store.remove(keep);
    });

    it('finds a video by content hash, and refuses a second video with the same hash', async () => {
      const hash = 'a'.repeat(64);
      const id = await addReadyVideo(store, [vec(5, 1)], undefined, { contentHash: hash });
      expect((await store.findByHash(hash))?.id).toBe(id);
      expect(await store.findByHash('b'.repeat(64))).toBeNull();
      await expect(store.beginVideo(newVideo({ contentHash: hash }))).rejects.toThrow();
      expect((await store.list()).filter((v) => v.contentHash === hash).map((v) => v.id)).toEqual([id]);
      await store.remove(id);
    });
  });

  describe('atomic ingest', () => {
    it('keeps a video that is still being indexed invisible to knn until it is finished', async () => {
      const target = vec(0, 0, 0, 0, 1, 1);
      const id = await store.beginVideo(newVideo());
      await store.addFrames(id, framesOf([target, vec(0, 0, 0, 1)]));
      expect((await store.get(id)).status).toBe('indexing');
      const during = await store.knn([target], 0, 5);
      expect(during.map((h) => h.videoId)).not.toContain(id);
      await store.finishVideo(id, 2, 2);
      const after = bySimilarity(await store.knn([target], 0, 5));
      expect(after[0]).toMatchObject({ videoId: id, timestampSec: 0 });
      expect(after[0].similarity).toBeCloseTo(1, 4);
      await store.remove(id);
    });

    /**
     * A ready video (background frames plus two near the query) and a video still being indexed
     * whose 40 frames are all nearer the query than anything ready.
     */
    async function readyAndBusy(target: FrameStore, seed: number) {
      const query = randomVectors(1, seed)[0];
      const near = (noise: number, n: number, s: number) => randomVectors(n, s).map((r) => vec(...query.map((x, i) => x + noise * r[i])));
      const targets = near(0.6, 2, seed + 1);
      const ready = await addReadyVideo(target, [...targets, ...randomVectors(150, seed + 2)]);
      const busy = await target.beginVideo(newVideo());
      await target.addFrames(busy, framesOf(near(0.15, 40, seed + 3)));
      const best = Math.max(...targets.map((t) => cosine(t, query)));
      return { query, ready, busy, best };
    }

    it('a video being indexed cannot push a ready video out of the k nearest (filtered before the LIMIT)', async () => {
      // The old statement took the k nearest first and dropped unready videos afterwards, so
      // k frames of a concurrent ingest nearer the query left nothing of the ready video.
      const { query, ready, busy, best } = await readyAndBusy(store, 41);
      const hits = bySimilarity(await store.knn([query], 0, 2));
      expect(hits.map((h) => h.videoId)).toEqual([ready, ready]);
      expect(hits[0].similarity).toBeCloseTo(best, 2);
      await store.discardVideo(busy);
      await store.remove(ready);
    });

    it('the HNSW scan itself goes on past ef_search while it drops frames of unready videos', async () => {
      // Sequential scans off, so the table is read through the HNSW index; with ef_search 2 a
      // scan without iterative search would stop after the 2 nearest, both unready.
      let client: SqlClient = sql;
      if (isPglite) await sql.exec('SET enable_seqscan = off');
      else {
        const url = new URL(db.location);
        url.searchParams.set('options', '-c enable_seqscan=off');
        client = await openDatabase(url.toString());
      }
      try {
        const indexed = new FrameStore(client);
        await indexed.bindDescriptor(DESCRIPTOR_ID, DIMS);
        const plan = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT id FROM frames WHERE l2_norm(e0) > 0 ORDER BY (e0::halfvec(${DIMS})) <-> '[${vec(1).join(',')}]'::halfvec(${DIMS}) LIMIT 2`,
        );
        expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('frames_e0_l2');
        const { query, ready, busy } = await readyAndBusy(indexed, 43);
        const hits = await indexed.knn([query, query], 0, 2, 2);
        expect(hits.map((h) => h.videoId)).toEqual([ready, ready, ready, ready]);
        await indexed.discardVideo(busy);
        await indexed.remove(ready);
      } finally {
        if (isPglite) await sql.exec('RESET enable_seqscan');
        else await client.close();
      }
    });

    it('re-running an interrupted ingest of the same file replaces the leftovers', async () => {
      const hash = 'c'.repeat(64);
      // First attempt: some frames stored, then the process died before finishing.
      const first = await store.beginVideo(newVideo({ contentHash: hash }));
      await store.addFrames(first, framesOf([vec(7, 1), vec(7, 2), vec(7, 3)]));
      // Second attempt starts from scratch.
      const second = await store.beginVideo(newVideo({ contentHash: hash }));
      expect(second).not.toBe(first);
      expect(await rowCounts(sql, first)).toEqual({ frames: 0, vectors: 0 });
      await expectRetraceError(store.get(first), 'NOT_FOUND');
      await store.addFrames(second, framesOf([vec(7, 1), vec(7, 2)]));
      await store.finishVideo(second, 2, 2);
      const withHash = (await store.list()).filter((v) => v.contentHash === hash);
      expect(withHash.map((v) => [v.id, v.status, v.frameCount])).toEqual([[second, 'ready', 2]]);
      expect(await rowCounts(sql, second)).toEqual({ frames: 2, vectors: 2 });
      await store.remove(second);
    });

    it('discarding a failed ingest leaves nothing behind, but never discards a finished video', async () => {
      const failed = await store.beginVideo(newVideo());
      await store.addFrames(failed, framesOf([vec(1, 0, 0, 9), vec(1, 0, 0, 8)]));
      await store.discardVideo(failed);
      expect(await rowCounts(sql, failed)).toEqual({ frames: 0, vectors: 0 });
      await expectRetraceError(store.get(failed), 'NOT_FOUND');
      const ready = await addReadyVideo(store, [vec(9, 9, 1)]);
      await store.discardVideo(ready);
      expect((await store.get(ready)).status).toBe('ready');
      await store.remove(ready);
    });

    it('a batch whose insert fails stores none of its frames', async () => {
      const id = await store.beginVideo(newVideo());
      const good = framesOf([vec(1, 2, 3)]);
      const bad: StoredFrame[] = [
        ...framesOf([vec(3, 2, 1)]),
        // Wrong dimension for this index: the vector insert fails after the frame rows went in.
        { frameNumber: 50, timestampSec: 2, isKeyframe: false, quality: 0.9, vectors: [{ variant: 0, embedding: new Float32Array(DIMS + 3).fill(0.3) }] },
      ];
      await store.addFrames(id, good);
      await expect(store.addFrames(id, bad)).rejects.toThrow();
      expect(await rowCounts(sql, id)).toEqual({ frames: 1, vectors: 1 });
      await store.discardVideo(id);
    });
  });

  describe('nearest-neighbour search', () => {
    const whole = randomVectors(40, 11);
    const centre = randomVectors(40, 12);
    let a: string;
    let b: string;

    beforeAll(async () => {
      a = await addReadyVideo(store, whole.slice(0, 20), centre.slice(0, 20));
      b = await addReadyVideo(store, whole.slice(20), centre.slice(20));
    });

    afterAll(async () => {
      await store.remove(a);
      await store.remove(b);
    });

    function exactTop(query: Float32Array, pool: Float32Array[], k: number): Array<{ index: number; similarity: number }> {
      return pool
        .map((v, index) => ({ index, similarity: cosine(v, query) }))
        .sort((x, y) => y.similarity - x.similarity)
        .slice(0, k);
    }

    it('returns the k nearest stored vectors with their cosine similarity, video and time', async () => {
      const queries = randomVectors(5, 99);
      const k = 4;
      const hits = await store.knn(queries, 0, k);
      queries.forEach((q, qi) => {
        const mine = hits.filter((h) => h.query === qi).sort((x, y) => y.similarity - x.similarity);
        const truth = exactTop(q, whole, k);
        expect(mine).toHaveLength(k);
        mine.forEach((h, rank) => {
          const expected = truth[rank];
          // halfvec storage keeps about 3 significant digits, far below descriptor noise.
          expect(h.similarity).toBeCloseTo(expected.similarity, 3);
          expect(h.videoId).toBe(expected.index < 20 ? a : b);
          expect(h.timestampSec).toBe(expected.index % 20);
          expect(h.variant).toBe(0);
          expect(h.quality).toBeCloseTo(0.9, 5);
        });
      });
    });

    it('finds a stored vector itself at similarity 1', async () => {
      const hits = bySimilarity(await store.knn([whole[27]], 0, 1));
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ query: 0, videoId: b, timestampSec: 7 });
      expect(hits[0].similarity).toBeCloseTo(1, 4);
    });

    it('searches only the requested region variant', async () => {
      const onCentre = bySimilarity(await store.knn([centre[3]], 1, 3));
      expect(onCentre[0]).toMatchObject({ videoId: a, timestampSec: 3, variant: 1 });
      expect(onCentre[0].similarity).toBeCloseTo(1, 4);
      const truth = exactTop(centre[3], centre, 3);
      expect(onCentre.map((h) => h.similarity).sort((x, y) => y - x)).toEqual(truth.map((t) => expect.closeTo(t.similarity, 4)));
      // The same vector searched among whole-picture vectors is not found at similarity 1.
      const onWhole = await store.knn([centre[3]], 0, 3);
      expect(onWhole.every((h) => h.variant === 0)).toBe(true);
      // halfvec: about 3 significant digits.
      expect(Math.max(...onWhole.map((h) => h.similarity))).toBeCloseTo(exactTop(centre[3], whole, 1)[0].similarity, 3);
    });

    it('returns every stored frame of a video in a time range, in time order, with all its region vectors', async () => {
      const frames = await store.framesOf(b, 5, 9);
      expect(frames.map((f) => f.timestampSec)).toEqual([5, 6, 7, 8, 9]);
      for (const f of frames) {
        const i = 20 + f.timestampSec;
        expect([...f.vectors.keys()].sort()).toEqual([0, 1]);
        expect(cosine(f.vectors.get(0)!, whole[i])).toBeCloseTo(1, 3);
        expect(cosine(f.vectors.get(1)!, centre[i])).toBeCloseTo(1, 3);
      }
      expect(await store.framesOf(b, 100, 200)).toEqual([]);
      expect((await store.framesOf(a)).length).toBe(20);
    });

    it('never returns a zero vector (a flat region), whichever plan runs, and every similarity is a number', async () => {
      // A zero vector has no cosine similarity to anything (pgvector gives NaN). On L2 distance it
      // sits at distance 1 from every unit query, i.e. nearer than any stored vector with cosine
      // below 0.5, and a NaN similarity among a region's hits spoiled its background.
      const zero = new Float32Array(DIMS);
      const q = vec(0, 0, 0, 0, 0, 0, 0, 1);
      const far = [vec(1, 0, 0, 0, 0, 0, 0, 0.3), vec(0, 1, 0, 0, 0, 0, 0, -0.2)];
      const id = await addReadyVideo(store, [zero, ...far], [far[0], zero, far[1]], { title: 'zero vectors' });
      const check = async (client: SqlClient) => {
        const s = new FrameStore(client);
        await s.bindDescriptor(DESCRIPTOR_ID, DIMS);
        for (const variant of [0, 1]) {
          const hits = (await s.knn([q], variant, 200)).filter((h) => h.videoId === id);
          expect(hits).toHaveLength(2);
          for (const h of hits) expect(Number.isFinite(h.similarity)).toBe(true);
          const want = far.map((v) => cosine(v, q)).sort((x, y) => x - y);
          expect(hits.map((h) => h.similarity).sort((x, y) => x - y)).toEqual(want.map((w) => expect.closeTo(w, 3)));
        }
        // Every hit of every stored frame is a number.
        expect((await s.knn(randomVectors(4, 5), 0, 50)).every((h) => Number.isFinite(h.similarity))).toBe(true);
      };
      try {
        await check(sql);
        // The same through the HNSW index (sequential scans off).
        if (isPglite) {
          await sql.exec('SET enable_seqscan = off');
          try {
            await check(sql);
          } finally {
            await sql.exec('RESET enable_seqscan');
          }
        } else {
          const url = new URL(db.location);
          url.searchParams.set('options', '-c enable_seqscan=off');
          const client = await openDatabase(url.toString());
          try {
            await check(client);
          } finally {
            await client.close();
          }
        }
      } finally {
        await store.remove(id);
      }
    });

    it('finds the frames of videos ingested side by side, and summarises the BRIN ranges a finished video wrote', async () => {
      // Two ingests in flight interleave their batches on the same heap pages.
      const x = await store.beginVideo(newVideo());
      const y = await store.beginVideo(newVideo());
      const xs = randomVectors(60, 71);
      const ys = randomVectors(60, 72);
      for (let i = 0; i < 60; i += 10) {
        await store.addFrames(x, framesOf(xs).slice(i, i + 10));
        await store.addFrames(y, framesOf(ys).slice(i, i + 10));
      }
      await store.finishVideo(x, 60, 60);
      await store.finishVideo(y, 60, 60);
      const left = await sql.query<{ n: number }>(`SELECT brin_summarize_new_values('frames_video_brin')::int AS n`);
      expect(left.rows[0].n).toBe(0);
      const got = await store.framesOf(y, 12, 31.5);
      expect(got.map((f) => f.timestampSec)).toEqual(Array.from({ length: 20 }, (_, i) => 12 + i));
      got.forEach((f) => expect(cosine(f.vectors.get(0)!, ys[f.timestampSec])).toBeCloseTo(1, 3));
      expect((await store.frameTimes(x)).length).toBe(60);
      await store.remove(x);
      expect(await store.framesOf(x)).toEqual([]);
      expect((await store.framesOf(y)).length).toBe(60);
      await store.remove(y);
    });

    it('answers an empty batch without a query', async () => {
      expect(await store.knn([], 0, 5)).toEqual([]);
    });

    it('counts only the frames and vectors of ready videos, not those of an ingest under way', async () => {
      const before = await store.totals();
      const id = await store.beginVideo(newVideo());
      await store.addFrames(id, framesOf([vec(1, 1), vec(1, 2)], [vec(2, 1), vec(2, 2)]));
      expect(await store.totals()).toMatchObject({ videos: before.videos + 1, ready: before.ready, frames: before.frames, vectors: before.vectors });
      await store.finishVideo(id, 2, 2);
      expect(await store.totals()).toMatchObject({ ready: before.ready + 1, frames: before.frames + 2, vectors: before.vectors + 4 });
      await store.remove(id);
    });

    it("deletes the unfinished videos of ingests whose process is gone, and no one else's", async () => {
      // Begun here (beginVideo would clear the abandoned ones), then handed to other owners.
      const [dead, mine, elsewhereFresh, elsewhereStale, legacyStale] = await Promise.all(
        [1, 2, 3, 4, 5].map(async () => {
          const id = await store.beginVideo(newVideo());
          await store.addFrames(id, framesOf([vec(3, 1)]));
          return id;
        }),
      );
      const ready = await addReadyVideo(store, [vec(3, 2)]);
      // A pid that existed and has exited: gone for sure.
      const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      const hand = (id: string, owner: string | null, idle: string) =>
        sql.query(`UPDATE videos SET ingest_owner = $2, updated_at = now() - $3::interval WHERE id = $1`, [id, owner, idle]);
      await hand(dead, `${hostname()}:${deadPid}`, '1 second');
      await hand(mine, `${hostname()}:${process.pid}`, '1 hour');
      await hand(elsewhereFresh, 'another-host:123', '1 minute');
      await hand(elsewhereStale, 'another-host:123', '1 hour');
      await hand(legacyStale, null, '1 hour');
      await hand(ready, `${hostname()}:${deadPid}`, '1 hour');

      const discarded = await store.discardAbandonedIngests();
      expect(discarded.sort()).toEqual([dead, elsewhereStale, legacyStale].sort());
      for (const id of discarded) expect(await rowCounts(sql, id)).toEqual({ frames: 0, vectors: 0 });
      for (const id of [mine, elsewhereFresh]) expect((await store.get(id)).status).toBe('indexing');
      expect((await store.get(ready)).status).toBe('ready');
      for (const id of [mine, elsewhereFresh, ready]) await store.remove(id);
    });

    it('beginning an ingest clears the abandoned ones first', async () => {
      const abandoned = await store.beginVideo(newVideo());
      await sql.query(`UPDATE videos SET ingest_owner = 'another-host:1', updated_at = now() - interval '1 day' WHERE id = $1`, [abandoned]);
      const next = await store.beginVideo(newVideo());
      await expectRetraceError(store.get(abandoned), 'NOT_FOUND');
      await store.discardVideo(next);
    });

    it('counts frames, vectors and ready videos', async () => {
      const t = await store.totals();
      expect(t.frames).toBeGreaterThanOrEqual(40);
      expect(t.vectors).toBeGreaterThanOrEqual(80);
      expect(t.ready).toBeGreaterThanOrEqual(2);
      expect(t.durationSec).toBeGreaterThanOrEqual(40);
    });
  });

  describe('stored windows', () => {
    it('are off in a new index, and the setting is recorded until changed', async () => {
      expect(await store.storesWindows()).toBe(false);
      await store.setStoresWindows(true);
      expect(await store.storesWindows()).toBe(true);
      await store.setStoresWindows(false);
      expect(await store.storesWindows()).toBe(false);
    });

    it('keep two strips and a quadrant per frame in their own columns, each searched on its own', async () => {
      const whole = randomVectors(6, 31);
      const stripA = randomVectors(6, 32);
      const stripB = randomVectors(6, 33);
      const quadrant = randomVectors(6, 34);
      const id = await store.beginVideo(newVideo());
      // Frame 5 holds one strip only, as a frame of the cycle's last phase does.
      await store.addFrames(
        id,
        whole.map((v, i) => ({
          frameNumber: i,
          timestampSec: i,
          isKeyframe: false,
          quality: 0.9,
          vectors: [
            { variant: 0, embedding: v },
            { variant: 2, embedding: stripA[i] },
            ...(i === 5 ? [] : [{ variant: 3, embedding: stripB[i] }]),
            { variant: 4, embedding: quadrant[i] },
          ],
        })),
      );
      await store.finishVideo(id, 6, 6);
      try {
        for (const [variant, vecs] of [
          [2, stripA],
          [3, stripB],
          [4, quadrant],
        ] as const) {
          const hit = bySimilarity(await store.knn([vecs[2]], variant, 1))[0];
          expect(hit).toMatchObject({ videoId: id, timestampSec: 2, variant });
          expect(hit.similarity).toBeCloseTo(1, 3);
        }
        const frames = await store.framesOf(id);
        expect([...frames[0].vectors.keys()].sort()).toEqual([0, 2, 3, 4]);
        expect([...frames[5].vectors.keys()].sort()).toEqual([0, 2, 4]);
        expect(cosine(frames[4].vectors.get(3)!, stripB[4])).toBeCloseTo(1, 3);
      } finally {
        await store.remove(id);
      }
    });
  });

  describe('descriptor binding', () => {
    it('records which descriptor built the index', async () => {
      expect(await store.descriptorId()).toBe(DESCRIPTOR_ID);
    });

    it('refuses to open the index with another descriptor (DESCRIPTOR_MISMATCH), and stays usable', async () => {
      await sql.close();
      try {
        // The built-in descriptor against an index built with the 8-d test descriptor.
        const err = await expectRetraceError(Retrace.open({ db: db.location }), 'DESCRIPTOR_MISMATCH');
        expect(err.message).toContain(DESCRIPTOR_ID);
        // Same id, other dimension: also refused.
        const sameIdOtherDims: FrameDescriptor = {
          id: DESCRIPTOR_ID,
          dimensions: DIMS * 2,
          input: { width: 32, height: 32, channels: 1 },
          describe: async (frames) => frames.map(() => new Float32Array(DIMS * 2)),
          close: async () => undefined,
        };
        await expectRetraceError(Retrace.open({ db: db.location, descriptor: sameIdOtherDims }), 'DESCRIPTOR_MISMATCH');
      } finally {
        // The refused opens released the database: it opens again.
        sql = await openDatabase(db.location);
        store = new FrameStore(sql);
        await store.bindDescriptor(DESCRIPTOR_ID, DIMS);
      }
      expect(await store.descriptorId()).toBe(DESCRIPTOR_ID);
    });
  });
});

describe.runIf(isPglite)('the embedded data directory lock (PGlite)', () => {
  const lockFile = () => join(db.dir!, 'retrace.lock');

  it('refuses a second open of a directory that is open (DB_LOCKED), naming the holder', async () => {
    const first = await openDatabase(db.location);
    try {
      expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
      const err = await expectRetraceError(openDatabase(db.location), 'DB_LOCKED');
      expect(err.message).toContain(String(process.pid));
      await expectRetraceError(Retrace.open({ db: db.location }), 'DB_LOCKED');
    } finally {
      await first.close();
    }
    expect(existsSync(lockFile())).toBe(false);
    await (await openDatabase(db.location)).close();
  });

  it('takes over a stale lock left by a process that died', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lockFile(), JSON.stringify({ pid: dead, host: hostname(), at: new Date().toISOString() }));
    const sql = await openDatabase(db.location);
    try {
      expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
    } finally {
      await sql.close();
    }
  });

  it('takes over an unreadable lock file (a writer died between creating and writing it)', async () => {
    writeFileSync(lockFile(), '');
    await (await openDatabase(db.location)).close();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('respects a lock held from another host (it cannot tell whether that process lives)', async () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: 1234, host: `not-${hostname()}`, at: new Date().toISOString() }));
    try {
      await expectRetraceError(openDatabase(db.location), 'DB_LOCKED');
    } finally {
      writeFileSync(lockFile(), '');
      await (await openDatabase(db.location)).close();
    }
  });

  it('keeps a second process out while the first has the directory open', async () => {
    const sql = await openDatabase(db.location);
    try {
      const child = startStorageChild(db.location);
      expect(await child.status).toMatch(/^ERROR DB_LOCKED /);
      await child.exited;
    } finally {
      await sql.close();
    }
  });

  it('is refused the directory while another process holds it, and takes it over once that process is killed', async () => {
    const child = startStorageChild(db.location, { hold: true });
    try {
      expect(await child.status).toMatch(/^OPENED \d+/);
      await expectRetraceError(openDatabase(db.location), 'DB_LOCKED');
      // A crash: no chance to release the lock.
      child.proc.kill('SIGKILL');
      await child.exited;
      expect(existsSync(lockFile())).toBe(true);
      const sql = await openDatabase(db.location);
      await sql.close();
    } finally {
      if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    }
  });

  it('hands the directory over cleanly when the other process closes it', async () => {
    const child = startStorageChild(db.location, { hold: true });
    expect(await child.status).toMatch(/^OPENED/);
    child.proc.stdin.write('close\n');
    await child.exited;
    expect(existsSync(lockFile())).toBe(false);
    await (await openDatabase(db.location)).close();
  });
});

/**
 * Search filters at the storage level: which videos a filter selects (`videosWhere`), and the
 * nearest-neighbour search restricted to them (`knn` with a scope). The restriction must hold
 * inside the scan: when other videos' frames are nearer than every frame of the allowed video,
 * the k nearest of the whole index hold none of it, and filtering that list afterwards would find
 * nothing. Both ways of scanning a scope (exhaustive for small scopes, the filtered HNSW scan for
 * large ones) must find it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open-database.js';
import { DEFAULT_ANN, FrameStore } from '../../src/db/frame-store.js';
import type { NewVideo } from '../../src/db/frame-store.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { createTestDatabase, TEST_DB_KIND } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';
import { seededRng } from '../helpers/seeded-rng.js';

const DIMS = 8;

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v.map((x) => x / n));
}

const rnd = seededRng(7);
/** `base` plus noise of about `spread` per component. */
function near(base: number[], spread: number): Float32Array {
  return unit(base.map((x) => x + (rnd() * 2 - 1) * spread));
}

const TARGET = [1, 0.5, 0.2, 0, 0.1, 0, 0.3, 0];

let db: TestDatabase;
let sql: SqlClient;
let store: FrameStore;
const ids: Record<string, string> = {};

async function addVideo(name: string, vectors: Float32Array[], v: Partial<NewVideo>): Promise<void> {
  const id = await store.beginVideo({
    contentHash: randomUUID(),
    path: `/videos/${name}.mp4`,
    title: null,
    durationSec: vectors.length,
    fps: 25,
    width: 320,
    height: 240,
    codec: 'h264',
    metadata: {},
    ...v,
  });
  await store.addFrames(
    id,
    vectors.map((e, i) => ({ frameNumber: i, timestampSec: i, isKeyframe: false, quality: 0.9, vectors: [{ variant: 0, embedding: e }] })),
  );
  await store.finishVideo(id, vectors.length, vectors.length);
  ids[name] = id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  sql = await openDatabase(db.location);
  store = new FrameStore(sql);
  await store.bindDescriptor('scope-test-8d', DIMS);
  // Three videos crowd the target: 60 frames each, all nearer to it than any frame of "mine".
  for (const n of ['crowd1', 'crowd2', 'crowd3']) {
    await addVideo(
      n,
      Array.from({ length: 60 }, () => near(TARGET, 0.02)),
      { path: `/archive/other/${n}.mp4`, metadata: { collection: 'other', year: 1999 } },
    );
  }
  await addVideo(
    'mine',
    Array.from({ length: 5 }, () => near(TARGET, 0.25)),
    { path: '/archive/mine/clip.mp4', title: 'Mine', metadata: { collection: 'mine', year: 2001, restored: true } },
  );
  await addVideo(
    'unrelated',
    Array.from({ length: 10 }, () => near([0, 0, 0, 1, 0, 1, 0, 1], 0.2)),
    { path: '/archive/mine/unrelated.mp4', metadata: { collection: 'mine' } },
  );
  // Not ready (an ingest in progress): never selected.
  await store.beginVideo({
    contentHash: randomUUID(),
    path: '/archive/mine/busy.mp4',
    title: null,
    durationSec: 1,
    fps: 25,
    width: 320,
    height: 240,
    codec: 'h264',
    metadata: { collection: 'mine' },
  });
});

afterAll(async () => {
  await sql?.close();
  await db?.dispose();
});

const names = (rows: Array<{ id: string }>) => rows.map((r) => Object.keys(ids).find((n) => ids[n] === r.id)).sort();

describe(`filters in storage on ${TEST_DB_KIND}`, () => {
  it('videosWhere: title or metadata as text, any of a key’s values, every key, ready videos only', async () => {
    expect(names(await store.videosWhere([['collection', ['mine']]]))).toEqual(['mine', 'unrelated']);
    expect(names(await store.videosWhere([['title', ['Mine']]]))).toEqual(['mine']);
    // Numbers and booleans in metadata match their text.
    expect(names(await store.videosWhere([['year', ['1999']]]))).toEqual(['crowd1', 'crowd2', 'crowd3']);
    expect(names(await store.videosWhere([['restored', ['true']]]))).toEqual(['mine']);
    expect(names(await store.videosWhere([['year', ['2001', '1999']]]))).toHaveLength(4);
    expect(
      names(
        await store.videosWhere([
          ['collection', ['mine']],
          ['year', ['2001']],
        ]),
      ),
    ).toEqual(['mine']);
    expect(await store.videosWhere([['collection', ['nobody']]])).toEqual([]);
    expect(await store.videosWhere([])).toHaveLength(5);
  });

  it('the k nearest of the whole index hold none of the allowed video: a filter applied afterwards would lose it', async () => {
    const hits = await store.knn([unit(TARGET)], 0, 16);
    expect(hits).toHaveLength(16);
    expect(hits.some((h) => h.videoId === ids.mine)).toBe(false);
  });

  it.each([
    ['exhaustively (a small scope)', DEFAULT_ANN.exactScopeFrames],
    ['through the filtered HNSW scan (a large scope)', 0],
  ])('knn restricted to a scope finds the allowed video %s, and nothing else', async (_how, exactScopeFrames) => {
    const scoped = new FrameStore(sql, { ...DEFAULT_ANN, exactScopeFrames });
    await scoped.bindDescriptor('scope-test-8d', DIMS);
    const scope = { videoIds: [ids.mine, ids.unrelated], frames: 15 };
    const hits = await scoped.knn([unit(TARGET), unit(TARGET)], 0, 16, undefined, scope);
    expect(hits.every((h) => h.videoId === ids.mine || h.videoId === ids.unrelated)).toBe(true);
    for (const q of [0, 1]) {
      const mine = hits.filter((h) => h.query === q && h.videoId === ids.mine);
      expect(mine).toHaveLength(5);
      // Best first within a query's hits does not matter; each hit's similarity is its own.
      expect(Math.min(...mine.map((h) => h.similarity))).toBeGreaterThan(0.5);
    }
    expect(await scoped.knn([unit(TARGET)], 0, 16, undefined, { videoIds: [], frames: 0 })).toEqual([]);
  });
});

/**
 * `retrace dump` / `restore` (issue 18, part 6): one portable file moves an index between the
 * stores. With RETRACE_TEST_DB=pg the index goes PostgreSQL → PGlite → PostgreSQL; on the default
 * run PGlite → PGlite. Either way the restored index answers a search as the original did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Retrace } from '../../src/core/engine/retrace.js';
import { openDatabase } from '../../src/db/open-database.js';
import { dumpDatabase, restoreDatabase } from '../../src/db/dump.js';
import { JobStore } from '../../src/core/jobs/job-store.js';
import { createTestDatabase, isPglite, type TestDatabase } from '../helpers/test-database.js';
import { makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';

let tmp: TempDir;
let source: TestDatabase;
let target: TestDatabase;
let clip: string;
let query: string;

beforeAll(async () => {
  tmp = await makeTempDir('retrace-dump-');
  clip = await makeClip(tmp, 'dump-ref', { source: 'mandelbrot', durationSec: 6 });
  query = await makeClip(tmp, 'dump-other', { source: 'life', durationSec: 4 });
  source = await createTestDatabase();
  target = await createTestDatabase();
}, 120_000);

afterAll(async () => {
  await source?.dispose();
  await target?.dispose();
  await tmp?.cleanup();
});

async function summaryOf(db: string, search: string) {
  const engine = await Retrace.open({ db, create: false });
  try {
    const videos = await engine.list();
    const found = await engine.search(search);
    const stats = await engine.stats();
    return {
      videos: videos.map((v) => ({ id: v.id, title: v.title, frames: v.frameCount, status: v.status })),
      top: found.matches.map((m) => ({ videoId: m.videoId, segments: m.segments.length })),
      frames: stats.frames,
    };
  } finally {
    await engine.close();
  }
}

describe('dump and restore', () => {
  it('moves an index to the other store and back, and the copy answers searches as the original', async () => {
    const engine = await Retrace.open({ db: source.location });
    const indexed = await engine.index(clip, { title: 'Dumped', metadata: { shelf: 'A3' } });
    await engine.index(query, { title: 'Second' });
    await new JobStore(engine.sql).create('index', { path: '/some/upload.mp4' });
    await engine.close();
    const before = await summaryOf(source.location, clip);
    expect(before.top[0].videoId).toBe(indexed.videoId);

    const file1 = join(tmp.path, 'one.retrace-dump.gz');
    const src = await openDatabase(source.location, { create: false });
    const dumped = await dumpDatabase(src, file1);
    await src.close();
    expect(dumped.rows).toMatchObject({ videos: 2, frames: before.frames, jobs: 1 });

    // The other store: an embedded directory when the source is a server, else a fresh database of the same kind.
    const middle = isPglite ? target.location : join(tmp.path, 'embedded-copy');
    const mid = await openDatabase(middle);
    expect((await restoreDatabase(mid, file1)).rows).toEqual(dumped.rows);
    await mid.close();
    expect(await summaryOf(middle, clip)).toEqual(before);

    if (!isPglite) {
      // And back onto a server database.
      const file2 = join(tmp.path, 'two.retrace-dump.gz');
      const m = await openDatabase(middle, { create: false });
      await dumpDatabase(m, file2);
      await m.close();
      const back = await openDatabase(target.location);
      await restoreDatabase(back, file2);
      await back.close();
      expect(await summaryOf(target.location, clip)).toEqual(before);
    }

    // New frames after a restore get fresh ids: indexing more works.
    const again = await Retrace.open({ db: middle });
    const third = await again.index(await makeClip(tmp, 'dump-third', { source: 'cellauto', durationSec: 3 }));
    expect(third.status).toBe('indexed');
    await again.close();
  }, 180_000);

  it('refuses to restore into an index that holds videos, or from a file that is not there', async () => {
    const file = join(tmp.path, 'one.retrace-dump.gz');
    const db = isPglite ? target.location : join(tmp.path, 'embedded-copy');
    const sql = await openDatabase(db, { create: false });
    try {
      await expect(restoreDatabase(sql, file)).rejects.toMatchObject({ code: 'DB_NOT_EMPTY' });
      await expect(restoreDatabase(sql, join(tmp.path, 'no-such.gz'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    } finally {
      await sql.close();
    }
  });
});

/**
 * `engine.sync(dir)` keeps the videos indexed from under a folder in step with its files:
 * after files are deleted, renamed, moved into a subfolder, overwritten, copied and added, one
 * sync leaves the library holding exactly the folder's contents, a moved file keeps its video
 * (same id, not re-indexed), unchanged files are not even read, and videos indexed from
 * elsewhere are never touched. `engine.watch` does the same on every change, until stopped.
 */
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import type { SyncSummary } from '../../src/core/library/folder-sync.js';
import { makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase, TEST_DB_KIND } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';
import { expectRetraceError } from '../helpers/expect-error.js';

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;
/** Distinct short clips, made once and copied into the synced folder as each test needs. */
const clip: Record<string, string> = {};

beforeAll(async () => {
  dir = await makeTempDir('retrace-sync-');
  await mkdir(dir.file('made'));
  const small = { durationSec: 2, width: 160, height: 120 };
  const made = { ...dir, file: (n: string) => join(dir.path, 'made', n) };
  // Each test syncs content of its own (a 3 s clip's bytes are not a 2 s one's): the same
  // content already in the library from another test would be a duplicate of it.
  [clip.a, clip.b, clip.c, clip.d, clip.elsewhere, clip.s1, clip.s2, clip.s3, clip.s4, clip.w1, clip.w2, clip.fix] = await Promise.all([
    makeClip(made, 'a', { source: 'mandelbrot', ...small }),
    makeClip(made, 'b', { source: 'life', ...small }),
    makeClip(made, 'c', { source: 'rotatingPattern', ...small }),
    makeClip(made, 'd', { source: 'cellauto', ...small }),
    makeClip(made, 'elsewhere', { source: 'rotatingBars', ...small }),
    makeClip(made, 's1', { source: 'rotatingBars', ...small, durationSec: 3 }),
    makeClip(made, 's2', { source: 'cellauto', ...small, durationSec: 3 }),
    makeClip(made, 's3', { source: 'rotatingPattern', ...small, durationSec: 3 }),
    makeClip(made, 's4', { source: 'seahorse', ...small, durationSec: 3 }),
    makeClip(made, 'w1', { source: 'mandelbrot', ...small, durationSec: 3 }),
    makeClip(made, 'w2', { source: 'life', ...small, durationSec: 3 }),
    makeClip(made, 'fix', { source: 'staticBars', ...small }),
  ]);
  db = await createTestDatabase();
  engine = await Retrace.open({ db: db.location });
}, 300_000);

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

/** The library's paths under `folder` (absolute), sorted. */
async function libraryUnder(folder: string): Promise<string[]> {
  return (await engine.list())
    .map((v) => resolve(v.path))
    .filter((p) => p.startsWith(folder + '/'))
    .sort();
}

function counts(s: SyncSummary) {
  return {
    added: s.added.length,
    removed: s.removed.length,
    renamed: s.renamed.length,
    unchanged: s.unchanged,
    duplicates: s.duplicates.length,
    failed: s.failed.length,
  };
}

describe(`sync a folder on ${TEST_DB_KIND}`, () => {
  it('after deleting, renaming into a subfolder, copying and adding files, the summary and the library match the folder exactly', async () => {
    const lib = dir.file('library');
    await mkdir(lib);
    for (const n of ['a', 'b', 'c']) await copyFile(clip[n], join(lib, `${n}.mp4`));
    // Indexed from outside the folder: a sync of the folder must leave it alone.
    const outside = await engine.index(clip.elsewhere);

    const first = await engine.sync(lib);
    expect(counts(first)).toEqual({ added: 3, removed: 0, renamed: 0, unchanged: 0, duplicates: 0, failed: 0 });
    const idOf = new Map(first.added.map((x) => [x.path, x.videoId]));
    const bId = idOf.get(join(lib, 'b.mp4'))!;
    const bBefore = await engine.get(bId);

    // Nothing changed: every file is recognised by path, size and time, none is read.
    const again = await engine.sync(lib);
    expect(counts(again)).toEqual({ added: 0, removed: 0, renamed: 0, unchanged: 3, duplicates: 0, failed: 0 });
    expect(again.hashed).toBe(0);

    await rm(join(lib, 'a.mp4'));
    await mkdir(join(lib, 'sub'));
    await rename(join(lib, 'b.mp4'), join(lib, 'sub', 'b-moved.mp4'));
    await copyFile(clip.d, join(lib, 'd.mp4'));
    await copyFile(clip.c, join(lib, 'sub', 'c-copy.mp4'));
    await writeFile(join(lib, 'notes.mp4'), 'not a video\n'.repeat(50));

    const s = await engine.sync(lib);
    expect(counts(s)).toEqual({ added: 1, removed: 1, renamed: 1, unchanged: 1, duplicates: 1, failed: 1 });
    expect(s.removed).toEqual([{ path: join(lib, 'a.mp4'), videoId: idOf.get(join(lib, 'a.mp4')), reason: 'file gone' }]);
    expect(s.renamed).toEqual([{ from: join(lib, 'b.mp4'), to: join(lib, 'sub', 'b-moved.mp4'), videoId: bId }]);
    expect(s.added.map((x) => x.path)).toEqual([join(lib, 'd.mp4')]);
    expect(s.duplicates).toEqual([{ path: join(lib, 'sub', 'c-copy.mp4'), videoId: idOf.get(join(lib, 'c.mp4')), of: join(lib, 'c.mp4') }]);
    expect(s.failed).toEqual([{ path: join(lib, 'notes.mp4'), error: expect.objectContaining({ code: 'UNSUPPORTED_MEDIA' }) }]);

    // The library holds each content of the folder once, at a path where it is now.
    expect(await libraryUnder(lib)).toEqual([join(lib, 'c.mp4'), join(lib, 'd.mp4'), join(lib, 'sub', 'b-moved.mp4')]);
    // The moved file kept its video: same id, same frames, not indexed again.
    const bAfter = await engine.get(bId);
    expect(bAfter).toMatchObject({
      path: join(lib, 'sub', 'b-moved.mp4'),
      frameCount: bBefore.frameCount,
      createdAt: bBefore.createdAt,
      contentHash: bBefore.contentHash,
    });
    expect(await engine.get(outside.videoId)).toMatchObject({ path: clip.elsewhere, status: 'ready' });

    // And the next sync finds the folder in step: only the copy and the broken file are read again.
    const settled = await engine.sync(lib);
    expect(counts(settled)).toEqual({ added: 0, removed: 0, renamed: 0, unchanged: 3, duplicates: 1, failed: 1 });
    expect(settled.hashed).toBe(2);
  });

  it('a file overwritten with other content is indexed afresh, and two files swapped keep their videos', async () => {
    const lib = dir.file('swaps');
    await mkdir(lib);
    await copyFile(clip.s1, join(lib, 'one.mp4'));
    await copyFile(clip.s2, join(lib, 'two.mp4'));
    await copyFile(clip.s3, join(lib, 'three.mp4'));
    const first = await engine.sync(lib);
    expect(counts(first)).toMatchObject({ added: 3 });
    const idOf = new Map(first.added.map((x) => [x.path, x.videoId]));

    await rename(join(lib, 'one.mp4'), join(lib, 'tmp.mp4'));
    await rename(join(lib, 'two.mp4'), join(lib, 'one.mp4'));
    await rename(join(lib, 'tmp.mp4'), join(lib, 'two.mp4'));
    await copyFile(clip.s4, join(lib, 'three.mp4'));

    const s = await engine.sync(lib);
    expect(counts(s)).toEqual({ added: 1, removed: 1, renamed: 2, unchanged: 0, duplicates: 0, failed: 0 });
    expect(s.removed).toEqual([{ path: join(lib, 'three.mp4'), videoId: idOf.get(join(lib, 'three.mp4')), reason: 'content changed' }]);
    expect(new Map(s.renamed.map((r) => [r.videoId, r.to]))).toEqual(
      new Map([
        [idOf.get(join(lib, 'one.mp4')), join(lib, 'two.mp4')],
        [idOf.get(join(lib, 'two.mp4')), join(lib, 'one.mp4')],
      ]),
    );
    const three = (await engine.list()).find((v) => v.path === join(lib, 'three.mp4'))!;
    expect(three.id).toBe(s.added[0].videoId);
  });

  it('a watcher does not read a file that failed again until it changes', async () => {
    const lib = dir.file('failing');
    await mkdir(lib);
    await writeFile(join(lib, 'broken.mp4'), 'not a video\n'.repeat(50));
    const knownFailures = new Map();
    const first = await engine.sync(lib, { knownFailures });
    expect(first.failed).toEqual([{ path: join(lib, 'broken.mp4'), error: expect.objectContaining({ code: 'UNSUPPORTED_MEDIA' }) }]);
    expect(first.hashed).toBe(1);
    const again = await engine.sync(lib, { knownFailures });
    expect(again.failed).toEqual(first.failed);
    expect(again.hashed).toBe(0);
    // Replaced by a real video: read and indexed.
    await copyFile(clip.fix, join(lib, 'broken.mp4'));
    const fixed = await engine.sync(lib, { knownFailures });
    expect(counts(fixed)).toEqual({ added: 1, removed: 0, renamed: 0, unchanged: 0, duplicates: 0, failed: 0 });
    expect(fixed.hashed).toBe(1);
    expect(knownFailures.size).toBe(0);
  });

  it('refuses a folder that does not exist or is a file, with typed errors', async () => {
    await expectRetraceError(engine.sync(dir.file('no-such-folder')), 'FILE_NOT_FOUND');
    await expectRetraceError(engine.sync(clip.a), 'INVALID_ARGUMENT');
  });

  it('watch: syncs at start and after each change (a new subfolder included), and stops when told', async () => {
    const lib = dir.file('watched');
    await mkdir(lib);
    await copyFile(clip.w1, join(lib, 'a.mp4'));
    const syncs: SyncSummary[] = [];
    let wake: (() => void) | null = null;
    const nextSync = (n: number) =>
      new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no sync ${n} within 60 s (got ${syncs.length})`)), 60_000);
        wake = () => {
          if (syncs.length >= n) {
            clearTimeout(timer);
            res();
          }
        };
        wake();
      });
    const stop = new AbortController();
    const errors: unknown[] = [];
    const watching = engine.watch(lib, {
      signal: stop.signal,
      debounceMs: 300,
      onSync: (s) => {
        syncs.push(s);
        wake?.();
      },
      onError: (e) => errors.push(e),
    });
    await nextSync(1);
    expect(counts(syncs[0])).toEqual({ added: 1, removed: 0, renamed: 0, unchanged: 0, duplicates: 0, failed: 0 });
    await mkdir(join(lib, 'new', 'deeper'), { recursive: true });
    await copyFile(clip.w2, join(lib, 'new', 'deeper', 'd.mp4'));
    await rm(join(lib, 'a.mp4'));
    await nextSync(2);
    // Events may arrive in two bursts; whatever the split, the folder ends up in step.
    while (!(await libraryUnder(lib)).includes(join(lib, 'new', 'deeper', 'd.mp4')) || (await libraryUnder(lib)).includes(join(lib, 'a.mp4'))) {
      await nextSync(syncs.length + 1);
    }
    expect(await libraryUnder(lib)).toEqual([join(lib, 'new', 'deeper', 'd.mp4')]);
    const t = Date.now();
    stop.abort();
    await watching;
    expect(Date.now() - t).toBeLessThan(5000);
    expect(errors).toEqual([]);
  });
});

import { copyFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import { RetraceError } from '../../src/core/errors/retrace-error.js';
import { ingestManyDecoderThreads } from '../../src/core/engine/ingest.js';
import { decoderThreadsSideBySide } from '../../src/core/settings/media-settings.js';
import { makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase, TEST_DB_KIND } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;

beforeAll(async () => {
  dir = await makeTempDir('retrace-index-many-');
  db = await createTestDatabase();
  engine = await Retrace.open({ db: db.location });
});

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

describe(`indexMany (several files in flight) on ${TEST_DB_KIND}`, () => {
  it('indexes every file, reports each outcome once, returns them in input order, and never races two copies of one file', async () => {
    const a = await makeClip(dir, 'a', { source: 'mandelbrot', durationSec: 4 });
    const b = await makeClip(dir, 'b', { source: 'rotatingPattern', durationSec: 3 });
    const aCopy = dir.file('a-copy.mp4');
    await copyFile(a, aCopy);
    const paths = [a, aCopy, b, dir.file('missing.mp4')];
    const settled: number[] = [];
    const progressed = new Set<number>();
    const outcomes = await engine.indexMany(paths, { concurrency: 2, onSettled: (i) => settled.push(i), onProgress: (i) => progressed.add(i) });
    expect([...settled].sort()).toEqual([0, 1, 2, 3]);
    expect([...progressed]).toEqual(expect.arrayContaining([0, 1, 2]));
    const [ra, rCopy, rb, rMissing] = outcomes;
    expect(ra.ok && ra.result.status).toBe('indexed');
    // Same bytes, same size: started only once the first was done, so it is a plain duplicate.
    expect(rCopy.ok && rCopy.result.status).toBe('duplicate');
    expect(rCopy.ok && ra.ok && rCopy.result.videoId).toBe(ra.ok && ra.result.videoId);
    expect(rb.ok && rb.result.status).toBe('indexed');
    expect(rMissing.ok).toBe(false);
    expect(!rMissing.ok && rMissing.error instanceof RetraceError && rMissing.error.code).toBe('FILE_NOT_FOUND');
    const stats = await engine.stats();
    expect(stats).toMatchObject({ videos: 2 });
    expect((await engine.list()).every((v) => v.status === 'ready')).toBe(true);
  });
});

describe('decoder threads of files indexed side by side', () => {
  it('share the cores between the files in flight, keep the default for a file alone, and never go below 1', () => {
    expect(decoderThreadsSideBySide(2, 2, 2)).toBe(1);
    expect(decoderThreadsSideBySide(2, 1, 2)).toBe(2);
    expect(decoderThreadsSideBySide(2, 2, 8)).toBe(2);
    expect(decoderThreadsSideBySide(2, 4, 2)).toBe(1);
    expect(decoderThreadsSideBySide(2, 1, 1)).toBe(1);
    // A single file of a folder runs alone, whatever the concurrency asked for.
    expect(ingestManyDecoderThreads(1, 2, 2, 2)).toBe(2);
    expect(ingestManyDecoderThreads(37, 2, 2, 2)).toBe(1);
    expect(ingestManyDecoderThreads(37, 1, 2, 2)).toBe(2);
  });
});

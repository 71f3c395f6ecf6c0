import { copyFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import type { RetraceOptions } from '../../src/core/engine/retrace.js';
import type { Progress } from '../../src/core/engine/types.js';
import type { RetraceErrorCode } from '../../src/core/errors/retrace-error.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { makeClip, makeStill, makeTempDir, problemFiles } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase, TEST_DB_KIND } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;
const f: Record<string, string> = {};

/** Frames are committed in small batches so progress and abort happen mid-video. */
const ENGINE_OPTIONS: RetraceOptions = { batchSize: 4 };

async function reopen(options: RetraceOptions = ENGINE_OPTIONS): Promise<Retrace> {
  await engine.close();
  engine = await Retrace.open({ db: db.location, ...options });
  return engine;
}

/** What a user can see of the index: every record and the totals. */
async function snapshot(e: Retrace = engine) {
  const { databaseBytes: _b, bytesPerFrame: _p, ...stats } = await e.stats();
  return { videos: await e.list(), stats };
}

beforeAll(async () => {
  dir = await makeTempDir('retrace-indexing-');
  [db] = await Promise.all([
    createTestDatabase(),
    (async () => {
      [f.h264, f.vp8, f.mpeg4, f.mjpeg, f.progress, f.abort, f.removable, f.limits] = await Promise.all([
        makeClip(dir, 'zoom-h264', { source: 'mandelbrot', durationSec: 8, codec: 'h264' }),
        makeClip(dir, 'pattern-vp8', { source: 'rotatingPattern', durationSec: 7, codec: 'vp8' }),
        makeClip(dir, 'seahorse-mpeg4', { source: 'seahorse', durationSec: 6, codec: 'mpeg4' }),
        makeClip(dir, 'bars-mjpeg', { source: 'rotatingBars', durationSec: 6, codec: 'mjpeg' }),
        makeClip(dir, 'progress', { source: 'life', durationSec: 10, codec: 'h264', width: 192, height: 144 }),
        makeClip(dir, 'abort', { source: 'seahorse', durationSec: 12, codec: 'h264', width: 192, height: 144 }),
        makeClip(dir, 'removable', { source: 'rotatingBars', durationSec: 5, codec: 'h264', width: 192, height: 144 }),
        makeClip(dir, 'limits', { source: 'rotatingPattern', durationSec: 6, codec: 'h264', width: 192, height: 144 }),
      ]);
      [f.empty, f.text, f.audio, f.trunc, f.truncFast, f.zeroMp4, f.zeroAvi, f.tiny, f.rot90, f.vfr, f.webm, f.png] = await Promise.all([
        problemFiles.empty(dir),
        problemFiles.textAsMp4(dir),
        problemFiles.audioOnly(dir),
        problemFiles.truncatedMp4(dir, f.h264),
        problemFiles.truncatedFastStartMp4(dir, f.h264),
        problemFiles.zeroLengthMp4(dir),
        problemFiles.zeroLengthAvi(dir),
        problemFiles.tinyVideo(dir),
        problemFiles.rotated90(dir, f.h264),
        problemFiles.variableFrameRate(dir),
        problemFiles.webmWithoutDuration(dir, 6),
        makeStill(dir, 'picture.png'),
      ]);
    })(),
  ]);
  engine = await Retrace.open({ db: db.location, ...ENGINE_OPTIONS });
}, 300_000);

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

describe(`engine.index on ${TEST_DB_KIND}`, () => {
  const codecs = [
    { name: 'H.264/MP4', key: 'h264', duration: 8, codec: 'h264', container: /mp4/ },
    { name: 'VP8/WebM', key: 'vp8', duration: 7, codec: 'vp8', container: /webm/ },
    { name: 'MPEG-4/AVI', key: 'mpeg4', duration: 6, codec: 'mpeg4', container: /avi/ },
    { name: 'MJPEG/MOV', key: 'mjpeg', duration: 6, codec: 'mjpeg', container: /mov/ },
  ];
  const indexed: Record<string, { id: string; frames: number; duration: number }> = {};

  it.each(codecs)('indexes $name: status indexed, about one frame per second, a ready record', async (c) => {
    const r = await engine.index(f[c.key], { title: `clip ${c.key}`, metadata: { source: 'lavfi', n: 1 } });
    expect(r.status).toBe('indexed');
    expect(r.durationSec).toBeCloseTo(c.duration, 0);
    // One frame per second plus the occasional scene keyframe.
    expect(r.frames).toBeGreaterThanOrEqual(c.duration);
    expect(r.frames).toBeLessThanOrEqual(c.duration + 2);
    expect(r.video).toMatchObject({
      id: r.videoId,
      status: 'ready',
      path: f[c.key],
      title: `clip ${c.key}`,
      codec: c.codec,
      width: 320,
      height: 240,
      fps: 25,
      frameCount: r.frames,
      error: null,
    });
    expect(r.video.metadata).toMatchObject({ source: 'lavfi', n: 1 });
    expect(String(r.video.metadata.container)).toMatch(c.container);
    expect(r.video.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await engine.get(r.videoId)).toEqual(r.video);
    indexed[c.key] = { id: r.videoId, frames: r.frames, duration: r.durationSec };
  });

  it('counts what it indexed in stats()', async () => {
    const s = await engine.stats();
    const all = Object.values(indexed);
    expect(all).toHaveLength(4);
    expect(s.videos).toBe(4);
    expect(s.readyVideos).toBe(4);
    expect(s.frames).toBe(all.reduce((n, v) => n + v.frames, 0));
    expect(s.vectors).toBeGreaterThanOrEqual(s.frames);
    expect(s.totalDurationSec).toBeCloseTo(
      all.reduce((n, v) => n + v.duration, 0),
      1,
    );
    expect(s.databaseBytes).toBeGreaterThan(0);
    expect(s.bytesPerFrame).toBeGreaterThan(0);
    expect(s.descriptor).toBe(engine.descriptor.id);
    expect(s.store).toBe(TEST_DB_KIND === 'pg' ? 'postgres' : 'pglite');
    expect((await engine.list()).map((v) => v.id)).toEqual(['h264', 'vp8', 'mpeg4', 'mjpeg'].map((k) => indexed[k].id));
    expect(await engine.count()).toBe(4);
    expect(await engine.count('ready')).toBe(4);
  });

  it('reports the same file again as a duplicate, changing nothing', async () => {
    const before = await snapshot();
    const r = await engine.index(f.h264, { title: 'another title' });
    expect(r.status).toBe('duplicate');
    expect(r.videoId).toBe(indexed.h264.id);
    expect(r.frames).toBe(indexed.h264.frames);
    expect(r.video.title).toBe('clip h264');
    expect(await snapshot()).toEqual(before);
  });

  it('recognises a byte-identical copy under another name as a duplicate of the first', async () => {
    const copy = dir.file('renamed copy.mp4');
    await copyFile(f.vp8, copy);
    const before = await snapshot();
    const r = await engine.index(copy);
    expect(r.status).toBe('duplicate');
    expect(r.videoId).toBe(indexed.vp8.id);
    expect(r.video.path).toBe(f.vp8);
    expect(await snapshot()).toEqual(before);
  });

  it('records a display path in place of the path it read from', async () => {
    const r = await engine.index(f.limits, { displayPath: 'uploads/holiday.mp4' });
    expect(r.video.path).toBe('uploads/holiday.mp4');
    await engine.remove(r.videoId);
  });

  describe('awkward but valid videos are indexed', () => {
    it('a phone video rotated by 90°, with its display size', async () => {
      const r = await engine.index(f.rot90);
      expect(r.status).toBe('indexed');
      expect([r.video.width, r.video.height]).toEqual([240, 320]);
      expect(r.video.metadata).toMatchObject({ rotation: 90 });
      expect(r.frames).toBeGreaterThanOrEqual(5);
      await engine.remove(r.videoId);
    });

    it('a variable-frame-rate video', async () => {
      const r = await engine.index(f.vfr);
      expect(r.status).toBe('indexed');
      expect(r.video.metadata).toMatchObject({ variableFrameRate: true });
      expect(r.durationSec).toBeGreaterThan(7.5);
      expect(r.durationSec).toBeLessThan(8.5);
      expect(r.frames).toBeGreaterThanOrEqual(8);
      await engine.remove(r.videoId);
    });

    it('a WebM without a duration in its header, with its measured duration', async () => {
      const r = await engine.index(f.webm);
      expect(r.status).toBe('indexed');
      expect(r.durationSec).toBeGreaterThan(5.5);
      expect(r.durationSec).toBeLessThan(6.5);
      expect(r.video.durationSec).toBeCloseTo(r.durationSec, 5);
      expect(r.frames).toBeGreaterThanOrEqual(6);
      await engine.remove(r.videoId);
    });
  });

  describe('bad inputs give their typed error and leave the index as it was', () => {
    const bad: Array<{ what: string; key: string; code: RetraceErrorCode }> = [
      { what: 'an empty file', key: 'empty', code: 'EMPTY_FILE' },
      { what: 'a text file named .mp4', key: 'text', code: 'UNSUPPORTED_MEDIA' },
      { what: 'an audio-only file', key: 'audio', code: 'NO_VIDEO_STREAM' },
      { what: 'an MP4 cut in half', key: 'trunc', code: 'CORRUPT_MEDIA' },
      { what: 'a fast-start MP4 cut in half (index intact, frames missing)', key: 'truncFast', code: 'CORRUPT_MEDIA' },
      { what: 'a zero-length MP4', key: 'zeroMp4', code: 'CORRUPT_MEDIA' },
      { what: 'a zero-length AVI', key: 'zeroAvi', code: 'CORRUPT_MEDIA' },
      { what: 'an 8×8 video', key: 'tiny', code: 'INVALID_DIMENSIONS' },
      { what: 'a still image (images can be searched, not indexed)', key: 'png', code: 'INVALID_ARGUMENT' },
    ];

    it.each(bad)('$what → $code', async ({ key, code }) => {
      const before = await snapshot();
      await expectRetraceError(engine.index(f[key]), code);
      expect(await snapshot()).toEqual(before);
    });

    it('a missing file → FILE_NOT_FOUND', async () => {
      const before = await snapshot();
      await expectRetraceError(engine.index(dir.file('no-such-video.mp4')), 'FILE_NOT_FOUND');
      expect(await snapshot()).toEqual(before);
    });

    it('a file over the size limit → FILE_TOO_LARGE; a video over the duration limit → MEDIA_TOO_LONG; too many frames → TOO_MANY_FRAMES', async () => {
      const before = await snapshot();
      const small = await reopen({ ...ENGINE_OPTIONS, limits: { maxFileBytes: 1000 } });
      await expectRetraceError(small.index(f.limits), 'FILE_TOO_LARGE');
      const short = await reopen({ ...ENGINE_OPTIONS, limits: { maxDurationSec: 3 } });
      await expectRetraceError(short.index(f.limits), 'MEDIA_TOO_LONG');
      // The WebM's length is only known by measuring it.
      await expectRetraceError(short.index(f.webm), 'MEDIA_TOO_LONG');
      const few = await reopen({ ...ENGINE_OPTIONS, limits: { maxFramesPerVideo: 3 } });
      await expectRetraceError(few.index(f.limits), 'TOO_MANY_FRAMES');
      await reopen();
      expect(await snapshot()).toEqual(before);
    });
  });

  it('reports progress: increasing fractions from probing to done at 1', async () => {
    const events: Progress[] = [];
    const r = await engine.index(f.progress, { onProgress: (p) => events.push({ ...p }) });
    expect(r.status).toBe('indexed');
    expect(events[0]).toMatchObject({ stage: 'probing', fraction: 0 });
    expect(events.at(-1)).toMatchObject({ stage: 'done', fraction: 1, framesDone: r.frames });
    for (let i = 1; i < events.length; i++) {
      expect(events[i].fraction).toBeGreaterThanOrEqual(events[i - 1].fraction);
      if (events[i].framesDone !== undefined && events[i - 1].framesDone !== undefined) {
        expect(events[i].framesDone!).toBeGreaterThanOrEqual(events[i - 1].framesDone!);
      }
    }
    for (const e of events) {
      expect(e.fraction).toBeGreaterThanOrEqual(0);
      expect(e.fraction).toBeLessThanOrEqual(1);
    }
    // Frames are committed in batches of 4, so progress is reported along the way.
    const middle = events.filter((e) => e.fraction > 0.05 && e.fraction < 0.97);
    expect(middle.length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.stage === 'done')).toHaveLength(1);
    await engine.remove(r.videoId);
  });

  it('reports a duplicate as done at once', async () => {
    const events: Progress[] = [];
    const r = await engine.index(f.h264, { onProgress: (p) => events.push({ ...p }) });
    expect(r.status).toBe('duplicate');
    expect(events.at(-1)).toMatchObject({ stage: 'done', fraction: 1 });
  });

  it('an aborted ingest leaves nothing behind (ABORTED), and indexing the file again works', async () => {
    const before = await snapshot();
    const controller = new AbortController();
    let stored = 0;
    await expectRetraceError(
      engine.index(f.abort, {
        signal: controller.signal,
        onProgress: (p) => {
          // Abort once some batches are already committed.
          if (p.stage === 'describing' && (p.framesDone ?? 0) >= 4 && !controller.signal.aborted) {
            stored = p.framesDone ?? 0;
            controller.abort();
          }
        },
      }),
      'ABORTED',
    );
    expect(stored).toBeGreaterThanOrEqual(4);
    expect(await snapshot()).toEqual(before);
    expect(await engine.count('indexing')).toBe(0);
    const again = await engine.index(f.abort);
    expect(again.status).toBe('indexed');
    expect(again.frames).toBeGreaterThanOrEqual(12);
    await engine.remove(again.videoId);
    expect(await snapshot()).toEqual(before);
  });

  it('removes a video with its frames; it can then be indexed again', async () => {
    const before = await snapshot();
    const r = await engine.index(f.removable);
    const mid = await engine.stats();
    expect(mid.frames).toBe(before.stats.frames + r.frames);
    await engine.remove(r.videoId);
    await expectRetraceError(engine.get(r.videoId), 'NOT_FOUND');
    await expectRetraceError(engine.remove(r.videoId), 'NOT_FOUND');
    expect(await snapshot()).toEqual(before);
    const again = await engine.index(f.removable);
    expect(again.status).toBe('indexed');
    expect(again.videoId).not.toBe(r.videoId);
    await engine.remove(again.videoId);
  });

  it('reports NOT_FOUND for an unknown id', async () => {
    await expectRetraceError(engine.get('00000000-0000-4000-8000-000000000000'), 'NOT_FOUND');
    await expectRetraceError(engine.remove('nonsense'), 'NOT_FOUND');
  });

  it('keeps the index across close and reopen', async () => {
    const before = await snapshot();
    await reopen();
    expect(await snapshot()).toEqual(before);
  });
});

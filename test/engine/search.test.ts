import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEARCH, Retrace } from '../../src/core/engine/retrace.js';
import { BuiltinDescriptor } from '../../src/core/descriptors/builtin-descriptor.js';
import { prepareFrame } from '../../src/core/frames/prepared-frame.js';
import { sampleFrames } from '../../src/core/media/frame-sampler.js';
import { probeMedia } from '../../src/core/media/probe.js';
import { DEFAULT_LIMITS } from '../../src/core/settings/media-settings.js';
import type { MatchSegment, SearchResult } from '../../src/core/engine/types.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { CODECS, editClip, extractStill, ffmpeg, makeClip, makeTempDir, problemFiles, SOURCES } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase, TEST_DB_KIND } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';

/**
 * Four distinct 14-second references, one per codec/container, are indexed once. Queries are
 * 8-second excerpts (reference 3 s → 11 s) edited the way copies are edited in the wild.
 */
const REF_SEC = 14;
/** 15 fps keeps generation and decoding cheap on a 2-core machine; queries change the rate anyway. */
const RATE = 15;
const EXCERPT = { start: 3, duration: 8 };
const TOL = 1.5;

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;
const ref: Record<'zoom' | 'pattern' | 'seahorse' | 'bars', { path: string; id: string }> = {} as never;
const q: Record<string, string> = {};

/** `frameQuality` of a still as search sees it (decoded to the descriptor's input, borders removed). */
async function stillQuality(path: string): Promise<number> {
  const info = await probeMedia(path, DEFAULT_LIMITS);
  for await (const f of sampleFrames({ path, info, output: new BuiltinDescriptor().input })) return prepareFrame(f.raster).quality;
  throw new Error(`no frame decoded from ${path}`);
}

function best(seg: MatchSegment[]): MatchSegment {
  return [...seg].sort((a, b) => b.score - a.score)[0];
}

/** The result names exactly `videoId`, with a segment placed where the copy really came from. */
function expectCopyOf(result: SearchResult, videoId: string, truth: { queryStart: number; queryEnd: number; refStart: number; refEnd: number }): void {
  const names = result.matches.map((m) => `${m.path} (${m.score})`).join(', ') || 'no match';
  expect(result.matches.length, `matches: ${names}`).toBeGreaterThanOrEqual(1);
  expect(result.matches[0].videoId, `matches: ${names}`).toBe(videoId);
  // No other indexed video is claimed to contain the copy.
  expect(
    result.matches.map((m) => m.videoId),
    `matches: ${names}`,
  ).toEqual([videoId]);
  const s = best(result.matches[0].segments);
  const where = `segment query ${s.queryStart}–${s.queryEnd} ↔ ref ${s.refStart}–${s.refEnd}`;
  expect(Math.abs(s.refStart - truth.refStart), where).toBeLessThanOrEqual(TOL);
  expect(Math.abs(s.refEnd - truth.refEnd), where).toBeLessThanOrEqual(TOL);
  expect(Math.abs(s.queryStart - truth.queryStart), where).toBeLessThanOrEqual(TOL);
  expect(Math.abs(s.queryEnd - truth.queryEnd), where).toBeLessThanOrEqual(TOL);
  expect(s.matchedFrames).toBeGreaterThanOrEqual(3);
  expect(s.score).toBeGreaterThan(0);
  expect(s.score).toBeLessThanOrEqual(1);
  expect(result.matches[0].score).toBeGreaterThanOrEqual(s.score);
}

const EXCERPT_TRUTH = { queryStart: 0, queryEnd: EXCERPT.duration, refStart: EXCERPT.start, refEnd: EXCERPT.start + EXCERPT.duration };

beforeAll(async () => {
  dir = await makeTempDir('retrace-search-');
  const dbReady = createTestDatabase();
  const [zoom, pattern, seahorse, bars] = await Promise.all([
    makeClip(dir, 'zoom', { source: 'mandelbrot', durationSec: REF_SEC, codec: 'h264', rate: RATE }),
    makeClip(dir, 'pattern', { source: 'rotatingPattern', durationSec: REF_SEC, codec: 'vp8', rate: RATE }),
    makeClip(dir, 'seahorse', { source: 'seahorse', durationSec: REF_SEC, codec: 'mpeg4', rate: RATE }),
    makeClip(dir, 'bars', { source: 'rotatingBars', durationSec: REF_SEC, codec: 'mjpeg', rate: RATE }),
  ]);
  db = await dbReady;
  engine = await Retrace.open({ db: db.location });
  for (const [name, path] of Object.entries({ zoom, pattern, seahorse, bars })) {
    const r = await engine.index(path, { title: name });
    ref[name as keyof typeof ref] = { path, id: r.videoId };
  }

  const lowQuality = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '34', '-pix_fmt', 'yuv420p'];
  [q.reencodeUp, q.reencodeDown, q.cropSeahorse, q.cropPattern, q.flipSeahorse, q.flipZoom, q.unrelatedLife, q.unrelatedCells] = await Promise.all([
    // (a) low-quality re-encode, rescaled up and down, other codec/container than the source.
    editClip(zoom, dir, 'q-reencode-up', { ...EXCERPT, vf: 'scale=480:360', codecArgs: lowQuality }),
    editClip(pattern, dir, 'q-reencode-down', { ...EXCERPT, vf: 'scale=200:150', codecArgs: lowQuality }),
    // (b) 15 % cropped from every side, scaled back up.
    // (The rotating SMPTE bars are not cropped here: flat colour blocks and straight edges give
    // local features 9 inliers of 33 matches, and verification rejects such a copy.)
    editClip(seahorse, dir, 'q-crop-seahorse', { ...EXCERPT, vf: 'crop=iw*0.7:ih*0.7,scale=320:240' }),
    editClip(pattern, dir, 'q-crop-pattern', { ...EXCERPT, vf: 'crop=iw*0.7:ih*0.7,scale=320:240' }),
    // (c) mirrored.
    editClip(seahorse, dir, 'q-flip-seahorse', { ...EXCERPT, vf: 'hflip', codec: 'vp8' }),
    editClip(zoom, dir, 'q-flip-zoom', { ...EXCERPT, vf: 'hflip' }),
    // Never indexed.
    makeClip(dir, 'q-unrelated-life', { source: 'life', durationSec: 8, rate: RATE }),
    makeClip(dir, 'q-unrelated-cells', { source: 'cellauto', durationSec: 8, codec: 'mpeg4', rate: RATE }),
  ]);
  // A copy in the middle of unrelated footage: 4 s of life, reference 5–11 s, 4 s of cells.
  q.embedded = dir.file('q-embedded.mp4');
  const size = { width: 320, height: 240, rate: 25 };
  // The copied part comes from a 15-fps reference; the mix is 25 fps (a frame-rate change too).
  await ffmpeg([
    '-f',
    'lavfi',
    '-t',
    '4',
    '-i',
    SOURCES.life(size),
    '-ss',
    '5',
    '-t',
    '6',
    '-i',
    bars,
    '-f',
    'lavfi',
    '-t',
    '4',
    '-i',
    SOURCES.cellauto(size),
    '-filter_complex',
    '[0:v]setpts=PTS-STARTPTS,format=yuv420p[a];[1:v]scale=320:240,fps=25,setpts=PTS-STARTPTS,format=yuv420p[b];[2:v]setpts=PTS-STARTPTS,format=yuv420p[c];[a][b][c]concat=n=3:v=1:a=0[v]',
    '-map',
    '[v]',
    ...CODECS.h264.args,
    q.embedded,
  ]);
  // Contrast cut to a few per cent and darkened: stills with less information than any video
  // frame that is searched (frame quality 0.05–0.2), the way a fade or an underexposed grab is.
  const faded = (contrast: number) => `eq=contrast=${contrast}:brightness=-0.25`;
  [q.stillJpg, q.stillPng, q.stillWebp, q.stillFadedZoom, q.stillFadedPattern, q.stillFadedLife] = await Promise.all([
    extractStill(pattern, 6, dir.file('still-pattern-6s.jpg')),
    extractStill(seahorse, 9, dir.file('still-seahorse-9s.png'), 'scale=480:360'),
    extractStill(zoom, 4, dir.file('still-zoom-4s.webp')),
    extractStill(zoom, 4, dir.file('still-zoom-4s-faded.jpg'), faded(0.06)),
    extractStill(pattern, 6, dir.file('still-pattern-6s-faded.jpg'), faded(0.06)),
    extractStill(q.unrelatedLife, 4, dir.file('still-life-4s-faded.jpg'), faded(0.02)),
  ]);
  q.empty = await problemFiles.empty(dir);
  // Excerpts too short for temporal evidence.
  [q.oneSecond, q.fifthSecond] = await Promise.all([
    editClip(zoom, dir, 'q-zoom-1s', { start: 5, duration: 1 }),
    editClip(seahorse, dir, 'q-seahorse-0.2s', { start: 9, duration: 0.2 }),
  ]);
}, 300_000);

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

describe(`engine.search on ${TEST_DB_KIND}`, () => {
  describe('finds a copy, with the right video and segment, after', () => {
    it('a low-quality re-encode scaled up to 480×360', async () => {
      expectCopyOf(await engine.search(q.reencodeUp), ref.zoom.id, EXCERPT_TRUTH);
    });

    it('a low-quality re-encode scaled down to 200×150 (VP8/WebM source, H.264 copy)', async () => {
      expectCopyOf(await engine.search(q.reencodeDown), ref.pattern.id, EXCERPT_TRUTH);
    });

    it('a crop of 15 % from every side (seahorse, MPEG-4/AVI source)', async () => {
      expectCopyOf(await engine.search(q.cropSeahorse), ref.seahorse.id, EXCERPT_TRUTH);
    });

    it('a crop of 15 % from every side (rotating test pattern)', async () => {
      expectCopyOf(await engine.search(q.cropPattern), ref.pattern.id, EXCERPT_TRUTH);
    });

    it('a horizontal flip (MPEG-4/AVI source, VP8/WebM copy)', async () => {
      expectCopyOf(await engine.search(q.flipSeahorse), ref.seahorse.id, EXCERPT_TRUTH);
    });

    it('a horizontal flip (H.264 source and copy)', async () => {
      expectCopyOf(await engine.search(q.flipZoom), ref.zoom.id, EXCERPT_TRUTH);
    });

    it('being embedded in the middle of unrelated footage (query 4–10 s ↔ reference 5–11 s)', async () => {
      expectCopyOf(await engine.search(q.embedded), ref.bars.id, { queryStart: 4, queryEnd: 10, refStart: 5, refEnd: 11 });
    });
  });

  describe('reports no match', () => {
    it('for an unrelated clip (game of life)', async () => {
      const r = await engine.search(q.unrelatedLife);
      expect(r.matches).toEqual([]);
      expect(r.query.frames).toBeGreaterThan(0);
    });

    it('for an unrelated clip (cellular automaton, MPEG-4/AVI)', async () => {
      expect((await engine.search(q.unrelatedCells)).matches).toEqual([]);
    });

    it('for a dark, faded still of an unrelated clip', async () => {
      const r = await engine.search(q.stillFadedLife);
      expect(r.query.kind).toBe('image');
      expect(r.matches).toEqual([]);
    });
  });

  it('searches faded stills that carry less information than a searched video frame', async () => {
    // The precondition of the faded-still cases above: each is below the video frames' quality floor.
    for (const key of ['stillFadedZoom', 'stillFadedPattern', 'stillFadedLife']) {
      const quality = await stillQuality(q[key]);
      expect(quality, key).toBeGreaterThanOrEqual(DEFAULT_SEARCH.imageMinQuality);
      expect(quality, key).toBeLessThan(DEFAULT_SEARCH.evidence.minQuality);
    }
  });

  describe('finds the moment a still image comes from', () => {
    const cases = [
      { what: 'a JPEG frame', key: 'stillJpg', ref: 'pattern' as const, t: 6 },
      { what: 'a PNG frame rescaled to 480×360', key: 'stillPng', ref: 'seahorse' as const, t: 9 },
      { what: 'a WebP frame', key: 'stillWebp', ref: 'zoom' as const, t: 4 },
      { what: 'a dark, faded JPEG frame of the zoom (contrast 6 %)', key: 'stillFadedZoom', ref: 'zoom' as const, t: 4 },
      { what: 'a dark, faded JPEG frame of the test pattern (contrast 6 %)', key: 'stillFadedPattern', ref: 'pattern' as const, t: 6 },
    ];
    it.each(cases)('$what taken at $t s', async (c) => {
      const r = await engine.search(q[c.key]);
      expect(r.query.kind).toBe('image');
      expect(r.query.durationSec).toBe(0);
      expect(r.query.frames).toBe(1);
      expect(r.matches.length).toBeGreaterThanOrEqual(1);
      expect(r.matches[0].videoId).toBe(ref[c.ref].id);
      const s = best(r.matches[0].segments);
      expect(s.queryStart).toBe(0);
      expect(s.queryEnd).toBe(0);
      expect(s.refStart - TOL).toBeLessThanOrEqual(c.t);
      expect(s.refEnd + TOL).toBeGreaterThanOrEqual(c.t);
      expect(s.refEnd).toBeGreaterThanOrEqual(s.refStart);
    });
  });

  describe('finds excerpts too short for temporal evidence, as a still is found', () => {
    it.each([
      { what: 'a 1 s excerpt', key: 'oneSecond', ref: 'zoom' as const, t: 5 },
      { what: 'a 0.2 s excerpt', key: 'fifthSecond', ref: 'seahorse' as const, t: 9 },
    ])('$what (reference from $t s)', async (c) => {
      const r = await engine.search(q[c.key]);
      expect(r.query.kind).toBe('video');
      expect(r.matches.map((m) => m.videoId)).toEqual([ref[c.ref].id]);
      const s = best(r.matches[0].segments);
      expect(s.queryStart).toBe(0);
      expect(s.queryEnd).toBeCloseTo(r.query.durationSec, 2);
      expect(s.refStart - TOL).toBeLessThanOrEqual(c.t + 1);
      expect(s.refEnd + TOL).toBeGreaterThanOrEqual(c.t);
    });
  });

  describe('accepts the query as', () => {
    it('a Buffer of a video file', async () => {
      const r = await engine.search(await readFile(q.flipZoom));
      expect(r.query.path).toBe('<buffer>');
      expectCopyOf(r, ref.zoom.id, EXCERPT_TRUTH);
    });

    it('a readable stream of a video file', async () => {
      const r = await engine.search(createReadStream(q.reencodeDown), { displayPath: 'clip from a socket.mp4' });
      expect(r.query.path).toBe('clip from a socket.mp4');
      expectCopyOf(r, ref.pattern.id, EXCERPT_TRUTH);
    });

    it('a stream of an image', async () => {
      const r = await engine.search(createReadStream(q.stillJpg));
      expect(r.query.path).toBe('<stream>');
      expect(r.query.kind).toBe('image');
      expect(r.matches[0]?.videoId).toBe(ref.pattern.id);
    });
  });

  describe('the result', () => {
    it('describes the query, lists matches best first with their matched frames, and times each stage', async () => {
      const r = await engine.search(q.reencodeUp, { displayPath: 'query.mp4' });
      expect(r.query).toMatchObject({ path: 'query.mp4', kind: 'video' });
      expect(r.query.durationSec).toBeCloseTo(EXCERPT.duration, 0);
      expect(r.query.frames).toBeGreaterThanOrEqual(EXCERPT.duration);
      const m = r.matches[0];
      expect(m).toMatchObject({ videoId: ref.zoom.id, path: ref.zoom.path, title: 'zoom' });
      for (let i = 1; i < r.matches.length; i++) expect(r.matches[i].score).toBeLessThanOrEqual(r.matches[i - 1].score);
      const s = best(m.segments);
      expect(s.frames.length).toBeGreaterThanOrEqual(s.matchedFrames > 0 ? 3 : 0);
      for (const fr of s.frames) {
        expect(fr.queryTime).toBeGreaterThanOrEqual(s.queryStart - 1e-6);
        expect(fr.queryTime).toBeLessThanOrEqual(s.queryEnd + 1e-6);
        expect(fr.refTime).toBeGreaterThanOrEqual(s.refStart - 1e-6);
        expect(fr.refTime).toBeLessThanOrEqual(s.refEnd + 1e-6);
        expect(fr.similarity).toBeGreaterThan(0);
        expect(fr.similarity).toBeLessThanOrEqual(1 + 1e-6);
      }
      for (const key of ['decode', 'describe', 'knn', 'align', 'verify', 'total'] as const) expect(r.timingsMs[key]).toBeGreaterThanOrEqual(0);
      expect(r.timingsMs.total).toBeGreaterThanOrEqual(r.timingsMs.decode);
    });

    it('says each copy was verified with geometry, and how it was altered', async () => {
      const flipped = best((await engine.search(q.flipZoom)).matches[0].segments);
      expect(flipped.verified).toBe(true);
      expect(flipped.verification.status).toBe('confirmed');
      expect(flipped.verification.agreeing).toBeGreaterThanOrEqual(2);
      expect(flipped.transform).toMatchObject({ mirrored: true });
      expect(flipped.transform!.summary).toContain('mirrored');
      const plain = best((await engine.search(q.reencodeUp)).matches[0].segments);
      expect(plain.verified).toBe(true);
      expect(plain.transform!.mirrored).toBe(false);
      expect(plain.transform!.scale).toBeCloseTo(1, 1);
      expect(plain.transform!.speed).toBeCloseTo(1, 1);
      expect(plain.transform!.offsetSec).toBeCloseTo(EXCERPT.start, 0);
    });

    it('respects limit', async () => {
      const r = await engine.search(q.reencodeUp, { limit: 0 });
      expect(r.matches).toEqual([]);
    });

    it('reports progress ending in done', async () => {
      const stages: string[] = [];
      let last = -1;
      await engine.search(q.flipSeahorse, {
        onProgress: (p) => {
          expect(p.fraction).toBeGreaterThanOrEqual(last);
          last = p.fraction;
          stages.push(p.stage);
        },
      });
      expect(stages[0]).toBe('probing');
      expect(stages.at(-1)).toBe('done');
      expect(last).toBe(1);
    });
  });

  describe('bad queries', () => {
    it('an empty file → EMPTY_FILE', async () => {
      await expectRetraceError(engine.search(q.empty), 'EMPTY_FILE');
    });

    it('an empty Buffer → EMPTY_FILE', async () => {
      await expectRetraceError(engine.search(Buffer.alloc(0)), 'EMPTY_FILE');
    });

    it('a Buffer of text → UNSUPPORTED_MEDIA', async () => {
      await expectRetraceError(engine.search(Buffer.from('definitely not a video\n'.repeat(50))), 'UNSUPPORTED_MEDIA');
    });

    it('a missing file → FILE_NOT_FOUND', async () => {
      await expectRetraceError(engine.search(dir.file('nope.mp4')), 'FILE_NOT_FOUND');
    });

    it('an aborted search → ABORTED', async () => {
      const controller = new AbortController();
      controller.abort();
      await expectRetraceError(engine.search(q.reencodeUp, { signal: controller.signal }), 'ABORTED');
    });
  });
});

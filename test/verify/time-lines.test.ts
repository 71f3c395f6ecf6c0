import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Raster } from '../../src/core/frames/raster.js';
import { probeMedia } from '../../src/core/media/probe.js';
import { DEFAULT_SEARCH } from '../../src/core/settings/search-settings.js';
import { pixelAgreement } from '../../src/core/verify/time-lines.js';
import { verifySegments } from '../../src/core/verify/verify-segments.js';
import type { Affine } from '../../src/core/verify/local-features.js';
import { CODECS, ffmpeg, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';

const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

function raster(width: number, height: number, f: (x: number, y: number) => number): Raster {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = Math.max(0, Math.min(255, Math.round(f(x, y))));
  return { width, height, channels: 1, data };
}

describe('pixelAgreement', () => {
  const picture = raster(160, 90, (x, y) => 100 + 60 * Math.sin(x / 7 + (x * x) / 900) + 40 * Math.cos(y / 5) + 0.5 * x);

  it('is 1 for the same picture and −1 for its negative', () => {
    expect(pixelAgreement(picture, picture, IDENTITY)).toBeCloseTo(1, 5);
    const negative = { ...picture, data: picture.data.map((v) => 255 - v) };
    expect(pixelAgreement(picture, negative, IDENTITY)).toBeCloseTo(-1, 5);
  });

  it('looks through the model: a mirrored copy agrees through a mirroring model, not through the identity', () => {
    const mirrored = raster(160, 90, (x, y) => picture.data[y * 160 + (159 - x)]);
    expect(pixelAgreement(mirrored, picture, [-1, 0, 1, 0, 1, 0])).toBeGreaterThan(0.98);
    expect(pixelAgreement(mirrored, picture, IDENTITY)).toBeLessThan(0.5);
  });

  it('cannot say anything about a flat frame (a fade to black)', () => {
    expect(
      pixelAgreement(
        raster(160, 90, () => 12),
        picture,
        IDENTITY,
      ),
    ).toBeNaN();
  });
});

/**
 * A reference of a turning pattern, and two copies of its seconds 3–7: one played at 0.5× (8 s)
 * and one in real time (4 s). Verification, given the segment's line and another line, decodes
 * both lines' reference frames for its pairs; once the copy is confirmed, the copy's own line
 * must agree with the pixels better than the other drawn through the same start.
 */
describe('time lines compared during verification', () => {
  let dir: TempDir;
  const files = { ref: '', slow: '', real: '' };
  beforeAll(async () => {
    dir = await makeTempDir('retrace-lines-');
    files.ref = await makeClip(dir, 'ref', { source: 'rotatingPattern', durationSec: 12, rate: 15 });
    files.slow = dir.file('slow.mp4');
    files.real = dir.file('real.mp4');
    await Promise.all([
      ffmpeg(['-ss', '3', '-t', '4', '-i', files.ref, '-an', '-vf', 'setpts=(PTS-STARTPTS)/0.5', ...CODECS.h264.args, files.slow]),
      ffmpeg(['-ss', '3', '-t', '4', '-i', files.ref, '-an', ...CODECS.h264.args, files.real]),
    ]);
  });
  afterAll(async () => {
    await dir?.cleanup();
  });

  const media = async (path: string) => {
    const info = await probeMedia(path);
    return { path, width: info.width!, height: info.height!, durationSec: info.durationSec!, isImage: false };
  };
  const lineOf = (refStart: number, speed: number) => ({ queryStart: 0, refStart, speed, refDurationSec: 12 });
  /** Matched points on the copy's own line, a second of query apart. */
  const pointsOn = (querySec: number, speed: number) =>
    Array.from({ length: Math.floor(querySec) }, (_, i) => ({ tq: i + 0.5, tr: 3 + speed * (i + 0.5), similarity: 0.95 }));

  it("finds a slowed copy's own rate closer to its pixels than real time", async () => {
    const query = await media(files.slow);
    const ref = await media(files.ref);
    const [o] = await verifySegments(query, [{ ref, points: pointsOn(8, 0.5), line: lineOf(3, 0.5), otherLine: lineOf(3, 1) }], DEFAULT_SEARCH.verify);
    expect(o.status).toBe('confirmed');
    const c = (o as { timeLines?: { agreement: [number, number]; moments: number } }).timeLines;
    expect(c).toBeDefined();
    expect(c!.agreement[0]).toBeGreaterThan(0.9);
    expect(c!.agreement[0] - c!.agreement[1]).toBeGreaterThan(0.1);
  });

  it('finds real time closer to the pixels of a real-time copy than a line creeping through the same start', async () => {
    const query = await media(files.real);
    const ref = await media(files.ref);
    const [o] = await verifySegments(query, [{ ref, points: pointsOn(4, 1), line: lineOf(3, 1), otherLine: lineOf(3, 0.25) }], DEFAULT_SEARCH.verify);
    expect(o.status).toBe('confirmed');
    const c = (o as { timeLines?: { agreement: [number, number] } }).timeLines;
    expect(c).toBeDefined();
    expect(c!.agreement[0] - c!.agreement[1]).toBeGreaterThan(0.1);
  });

  it('compares nothing where the other line never parts from the line by the minimum gap, or when told not to', async () => {
    const query = await media(files.real);
    const ref = await media(files.ref);
    const near = { ref, points: pointsOn(4, 1), line: lineOf(3, 1), otherLine: lineOf(3.05, 1) };
    const [a] = await verifySegments(query, [near], DEFAULT_SEARCH.verify);
    expect(a.status).toBe('confirmed');
    expect((a as { timeLines?: unknown }).timeLines).toBeUndefined();
    const [b] = await verifySegments(query, [{ ...near, otherLine: lineOf(3, 0.25) }], { ...DEFAULT_SEARCH.verify, timeLineCheck: false });
    expect((b as { timeLines?: unknown }).timeLines).toBeUndefined();
  });
});

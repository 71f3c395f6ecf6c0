import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Raster } from '../../src/core/frames/raster.js';
import { probeMedia } from '../../src/core/media/probe.js';
import { DEFAULT_SEARCH } from '../../src/core/settings/search-settings.js';
import { compareTimeLines, pixelAgreement } from '../../src/core/verify/time-lines.js';
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
 * and one in real time (4 s). Each copy's own line must correlate better than the other line
 * drawn through the same start.
 */
describe('compareTimeLines', () => {
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

  it("prefers a slowed copy's own rate to real time", async () => {
    const query = await media(files.slow);
    const ref = await media(files.ref);
    const real = { queryStart: 0, queryEnd: 8, refStart: 3, refEnd: 11 };
    const slow = { queryStart: 0, queryEnd: 8, refStart: 3, refEnd: 7 };
    const c = await compareTimeLines(query, ref, [real, slow], IDENTITY, undefined, DEFAULT_SEARCH.verify);
    expect(c).not.toBeNull();
    expect(c!.moments).toBeGreaterThanOrEqual(3);
    expect(c!.agreement[1]).toBeGreaterThan(0.9);
    expect(c!.agreement[1] - c!.agreement[0]).toBeGreaterThan(0.1);
  });

  it('prefers real time for a real-time copy over a line creeping through the same start', async () => {
    const query = await media(files.real);
    const ref = await media(files.ref);
    const real = { queryStart: 0, queryEnd: 4, refStart: 3, refEnd: 7 };
    const creeping = { queryStart: 0, queryEnd: 4, refStart: 3, refEnd: 4 };
    const c = await compareTimeLines(query, ref, [real, creeping], IDENTITY, undefined, DEFAULT_SEARCH.verify);
    expect(c).not.toBeNull();
    expect(c!.agreement[0] - c!.agreement[1]).toBeGreaterThan(0.1);
  });

  it('has nothing to compare where the two lines never part by the minimum gap', async () => {
    const query = await media(files.real);
    const ref = await media(files.ref);
    const a = { queryStart: 0, queryEnd: 4, refStart: 3, refEnd: 7 };
    const b = { queryStart: 0, queryEnd: 4, refStart: 3.05, refEnd: 7.05 };
    await expect(compareTimeLines(query, ref, [a, b], IDENTITY, undefined, DEFAULT_SEARCH.verify)).resolves.toBeNull();
  });
});

import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grabLumaFrames, isKnownToSeekBadly } from '../../src/core/media/frame-grab.js';
import { resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { makeSeekClips, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';

let dir: TempDir;
let plain: string;
let intraRefresh: string;
const SIZE = { width: 320, displayWidth: 320, displayHeight: 240 };

/** The frame at `t`, decoded from the start of the file (no seek), as 320×240 luma. */
function exactFrame(path: string, t: number): Uint8Array {
  const r = spawnSync(
    resolveFfmpegPaths().ffmpeg,
    ['-v', 'error', '-i', path, '-ss', t.toFixed(3), '-frames:v', '1', '-vf', 'scale=320:240:flags=area,format=gray', '-f', 'rawvideo', 'pipe:1'],
    { maxBuffer: 1 << 24 },
  );
  return new Uint8Array(r.stdout);
}

function difference(a: Raster, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) sum += Math.abs(a.data[i] - b[i]);
  return sum / b.length;
}

beforeAll(async () => {
  dir = await makeTempDir('retrace-grab-');
  ({ plain, intraRefresh } = await makeSeekClips(dir));
}, 120_000);

afterAll(async () => {
  await dir?.cleanup();
});

describe('grabLumaFrames', () => {
  it('returns the frames at the times asked for, in order, at the size asked for', async () => {
    const frames = await grabLumaFrames(plain, [4.4, 1], SIZE);
    expect(frames.map((f) => [f.width, f.height, f.channels])).toEqual([
      [320, 240, 1],
      [320, 240, 1],
    ]);
    expect(difference(frames[0], exactFrame(plain, 4.4))).toBeLessThan(4);
    expect(difference(frames[1], exactFrame(plain, 1))).toBeLessThan(4);
    // Frames of other moments are far off, so the comparison can tell frames apart.
    expect(difference(frames[0], exactFrame(plain, 1))).toBeGreaterThan(10);
  });

  it('takes the frames around each time from the same seek, time-major', async () => {
    const frames = await grabLumaFrames(plain, [3, 6], { ...SIZE, offsets: [0, -1, 1] });
    expect(frames).toHaveLength(6);
    for (const [i, t] of [3, 2, 4, 6, 5, 7].entries()) expect(difference(frames[i], exactFrame(plain, t)), `frame ${i} (${t} s)`).toBeLessThan(4);
  });

  it('returns the right frame where a seek lands late (intra-refresh H.264)', async () => {
    const exact = exactFrame(intraRefresh, 4.4);
    // Precondition: a plain seek before decoding delivers a later frame here.
    const fast = spawnSync(resolveFfmpegPaths().ffmpeg, [
      '-v',
      'error',
      '-ss',
      '4.4',
      '-i',
      intraRefresh,
      '-frames:v',
      '1',
      '-vf',
      'scale=320:240:flags=area,format=gray',
      '-f',
      'rawvideo',
      'pipe:1',
    ]);
    expect(difference({ width: 320, height: 240, channels: 1, data: new Uint8Array(fast.stdout) }, exact)).toBeGreaterThan(10);

    const [frame] = await grabLumaFrames(intraRefresh, [4.4], SIZE);
    expect(difference(frame, exact)).toBeLessThan(4);
    // Remembered: the next grab of that file decodes from the start at once, and is as right.
    expect(isKnownToSeekBadly(intraRefresh)).toBe(true);
    expect(isKnownToSeekBadly(plain)).toBe(false);
    const [again, other] = await grabLumaFrames(intraRefresh, [4.4, 2], SIZE);
    expect(difference(again, exact)).toBeLessThan(4);
    expect(difference(other, exactFrame(intraRefresh, 2))).toBeLessThan(4);
  });
});

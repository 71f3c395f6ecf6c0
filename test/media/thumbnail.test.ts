import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFrameJpeg, judgeSeek } from '../../src/core/media/thumbnail.js';
import { ffmpeg, makeTempDir, SOURCES } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';

/**
 * A thumbnail must show the frame at the time asked for, also in files whose keyframe index
 * lists frames a decoder cannot start from. The reference for "the frame at t" is ffmpeg decoding
 * the file from its start (`-ss` after `-i`).
 */
let dir: TempDir;
let plain: string;
let intraRefresh: string;

/** Mean absolute difference of two JPEGs' grey levels at 64×48. */
async function difference(a: Buffer, b: Buffer): Promise<number> {
  const grey = (jpeg: Buffer) => sharp(jpeg).resize(64, 48, { fit: 'fill' }).greyscale().raw().toBuffer();
  const [x, y] = await Promise.all([grey(a), grey(b)]);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
  return sum / x.length;
}

/** The frame at `t`, decoded from the start of the file. */
async function exactFrame(path: string, t: number, name: string): Promise<Buffer> {
  const out = dir.file(`${name}.jpg`);
  await ffmpeg(['-i', path, '-ss', String(t), '-frames:v', '1', '-q:v', '2', out]);
  return readFile(out);
}

beforeAll(async () => {
  dir = await makeTempDir('retrace-thumbnail-');
  const zoom = SOURCES.mandelbrot({ width: 320, height: 240, rate: 15 });
  plain = dir.file('plain.mp4');
  intraRefresh = dir.file('intra-refresh.mp4');
  await Promise.all([
    ffmpeg(['-f', 'lavfi', '-i', zoom, '-t', '8', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', plain]),
    // Periodic intra refresh: after the first frame, every "keyframe" is a recovery point whose
    // picture is only complete a refresh wave (30 frames) later.
    ffmpeg(['-f', 'lavfi', '-i', zoom, '-t', '8', '-c:v', 'libx264', '-x264-params', 'intra-refresh=1:keyint=30', '-pix_fmt', 'yuv420p', intraRefresh]),
  ]);
}, 120_000);

afterAll(async () => {
  await dir?.cleanup();
});

describe('extractFrameJpeg', () => {
  it('returns the frame at the requested time from an ordinary file', async () => {
    const jpeg = await extractFrameJpeg(plain, 4.4, 320);
    expect(await difference(jpeg, await exactFrame(plain, 4.4, 'plain-4.4'))).toBeLessThan(4);
    // A different moment of the zoom is far off, so the comparison can tell frames apart.
    expect(await difference(jpeg, await exactFrame(plain, 6.4, 'plain-6.4'))).toBeGreaterThan(10);
  });

  it('returns the frame at the requested time from intra-refresh H.264, where a plain seek delivers a later one', async () => {
    const exact = await exactFrame(intraRefresh, 4.4, 'ir-4.4');
    // Precondition: seeking before decoding, as a plain extraction does, lands seconds late here.
    const fast = dir.file('ir-fast.jpg');
    await ffmpeg(['-ss', '4.4', '-i', intraRefresh, '-frames:v', '1', '-q:v', '2', fast]);
    expect(await difference(await readFile(fast), exact)).toBeGreaterThan(10);

    const jpeg = await extractFrameJpeg(intraRefresh, 4.4, 320);
    expect(await difference(jpeg, exact)).toBeLessThan(4);
  });

  it('keeps the display width asked for and never upscales', async () => {
    expect((await sharp(await extractFrameJpeg(plain, 1, 160)).metadata()).width).toBe(160);
    expect((await sharp(await extractFrameJpeg(plain, 1, 1280)).metadata()).width).toBe(320);
  });
});

describe('judgeSeek (reading the log of a fast extraction)', () => {
  // Lines as ffmpeg 5.1 printed them for a real clip whose frames reference pictures before
  // their "keyframe": every seek decoded garbage.
  const garbled = [
    '  Stream #0:0[0x1](und): Video: h264 (High 4:4:4 Predictive) (avc1 / 0x31637661), yuv444p(progressive), 640x480, 225 kb/s, 30 fps, 30 tbr, 1000k tbn (default)',
    '[h264 @ 0x55f81e40b400] error while decoding MB 2 0, bytestream 7691',
    '[h264 @ 0x55f81e40b400] concealing 1200 DC, 1200 AC, 1200 MV errors in I frame',
    '[Parsed_showinfo_0 @ 0x5622b3df0240] n:   0 pts:      0 pts_time:0       pos:   236759 fmt:yuv420p sar:1/1 s:640x480 i:P iskey:0 type:P',
  ].join('\n');

  it('flags decoder errors even when the frame is on time', () => {
    expect(judgeSeek(garbled)).toEqual({ decodeErrors: true, landedAfterSec: 0, fps: 30 });
  });

  it("reads how far past the requested time the frame landed, and the stream's frame rate", () => {
    const late = [
      '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 552 kb/s, 15 fps, 15 tbr, 15360 tbn',
      '[Parsed_showinfo_0 @ 0x564a89cd3400] n:   0 pts:  36864 pts_time:2.4     pos:   466290 fmt:yuv420p sar:1/1 s:320x240 i:P iskey:0 type:B',
      '  Stream #0:0(und): Video: mjpeg, yuvj420p(pc, progressive), 160x120 [SAR 1:1 DAR 4:3], q=2-31, 200 kb/s, 12 fps, 15 tbn (default)',
    ].join('\n');
    expect(judgeSeek(late)).toEqual({ decodeErrors: false, landedAfterSec: 2.4, fps: 15 });
  });

  it('says nothing it cannot read', () => {
    expect(judgeSeek('')).toEqual({ decodeErrors: false, landedAfterSec: null, fps: null });
  });
});

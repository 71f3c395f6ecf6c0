import { mkdir, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src/core/media/probe.js';
import { DEFAULT_LIMITS } from '../../src/core/settings/media-settings.js';
import { sampleFrames } from '../../src/core/media/frame-sampler.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { ffmpeg, ffprobeJson, h264Args, makeClip, makeStill, makeTempDir, problemFiles, SOURCES } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';

let dir: TempDir;
const f: Record<string, string> = {};

beforeAll(async () => {
  dir = await makeTempDir('retrace-probe-');
  // Distinct sizes, rates and lengths per container so every reported fact is really read.
  [f.h264, f.vp8, f.mpeg4, f.mjpeg] = await Promise.all([
    makeClip(dir, 'h264', { source: 'mandelbrot', durationSec: 6, codec: 'h264' }),
    makeClip(dir, 'vp8', { source: 'rotatingPattern', durationSec: 7, codec: 'vp8', width: 256, height: 144, rate: 24 }),
    makeClip(dir, 'mpeg4', { source: 'life', durationSec: 5, codec: 'mpeg4', width: 352, height: 288, rate: 30 }),
    makeClip(dir, 'mjpeg', { source: 'rotatingBars', durationSec: 4, codec: 'mjpeg', width: 320, height: 240, rate: 15 }),
  ]);
  f.withAudio = dir.file('with-audio.mp4');
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    SOURCES.mandelbrot({ width: 320, height: 240, rate: 25 }),
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=300',
    '-t',
    '3',
    // x264's default CRF, which this file had before: the same video.
    ...h264Args(23),
    '-c:a',
    'aac',
    f.withAudio,
  ]);
  const [rot90, vfr, webm, empty, text, audio, trunc, zeroMp4, zeroAvi, tiny] = await Promise.all([
    problemFiles.rotated90(dir, f.h264),
    problemFiles.variableFrameRate(dir),
    problemFiles.webmWithoutDuration(dir, 6),
    problemFiles.empty(dir),
    problemFiles.textAsMp4(dir),
    problemFiles.audioOnly(dir),
    problemFiles.truncatedMp4(dir, f.h264),
    problemFiles.zeroLengthMp4(dir),
    problemFiles.zeroLengthAvi(dir),
    problemFiles.tinyVideo(dir),
  ]);
  Object.assign(f, { rot90, vfr, webm, empty, text, audio, trunc, zeroMp4, zeroAvi, tiny });
  f.rot270 = dir.file('rotated-270.mp4');
  await ffmpeg(['-i', f.h264, '-c', 'copy', '-metadata:s:v:0', 'rotate=270', f.rot270]);
  f.rot180 = dir.file('rotated-180.mp4');
  await ffmpeg(['-i', f.h264, '-c', 'copy', '-metadata:s:v:0', 'rotate=180', f.rot180]);
  [f.png, f.jpg, f.webp] = await Promise.all([
    makeStill(dir, 'still.png', 'mandelbrot', { width: 400, height: 300 }),
    makeStill(dir, 'still.jpg', 'rotatingBars', { width: 320, height: 240 }),
    makeStill(dir, 'still.webp', 'life', { width: 200, height: 200 }),
  ]);
}, 300_000);

afterAll(async () => {
  await dir?.cleanup();
});

describe('probeMedia on well-formed videos', () => {
  const cases = [
    { name: 'H.264 in MP4', key: 'h264', duration: 6, fps: 25, width: 320, height: 240, codec: 'h264', container: /mp4/ },
    { name: 'VP8 in WebM', key: 'vp8', duration: 7, fps: 24, width: 256, height: 144, codec: 'vp8', container: /webm/ },
    { name: 'MPEG-4 Part 2 in AVI', key: 'mpeg4', duration: 5, fps: 30, width: 352, height: 288, codec: 'mpeg4', container: /avi/ },
    { name: 'Motion JPEG in QuickTime MOV', key: 'mjpeg', duration: 4, fps: 15, width: 320, height: 240, codec: 'mjpeg', container: /mov/ },
  ];

  it.each(cases)('reports duration, frame rate, size and codec of $name', async (c) => {
    const info = await probeMedia(f[c.key]);
    expect(info.kind).toBe('video');
    expect(info.durationSec).toBeCloseTo(c.duration, 0);
    expect(Math.abs(info.durationSec - c.duration)).toBeLessThan(0.15);
    expect(info.fps).not.toBeNull();
    expect(info.fps!).toBeCloseTo(c.fps, 2);
    expect(info.width).toBe(c.width);
    expect(info.height).toBe(c.height);
    expect(info.codec).toBe(c.codec);
    expect(info.container).toMatch(c.container);
    expect(info.rotation).toBe(0);
    expect(info.variableFrameRate).toBe(false);
    expect(info.hasAudio).toBe(false);
    expect(info.sizeBytes).toBe((await stat(f[c.key])).size);
  });

  it('notices an audio track next to the video', async () => {
    const info = await probeMedia(f.withAudio);
    expect(info.kind).toBe('video');
    expect(info.hasAudio).toBe(true);
  });

  it('reports a phone video rotated by 90° with its display size (width and height swapped) and rotation 90', async () => {
    const info = await probeMedia(f.rot90);
    expect(info.rotation).toBe(90);
    expect(info.width).toBe(240);
    expect(info.height).toBe(320);
    expect(info.durationSec).toBeCloseTo(6, 0);
  });

  it('reports rotation 270 with swapped size, and rotation 180 with the coded size', async () => {
    const r270 = await probeMedia(f.rot270);
    expect(r270.rotation).toBe(270);
    expect([r270.width, r270.height]).toEqual([240, 320]);
    const r180 = await probeMedia(f.rot180);
    expect(r180.rotation).toBe(180);
    expect([r180.width, r180.height]).toEqual([320, 240]);
  });

  it('probes a variable-frame-rate video (10 fps then 30 fps) and samples it at one frame per second', async () => {
    const info = await probeMedia(f.vfr);
    expect(info.kind).toBe('video');
    expect(info.variableFrameRate).toBe(true);
    expect(info.durationSec).toBeGreaterThan(7.5);
    expect(info.durationSec).toBeLessThan(8.5);
    const times: number[] = [];
    for await (const frame of sampleFrames({ path: f.vfr, info, output: { width: 32, height: 32, channels: 1 } })) {
      times.push(frame.timestampSec);
    }
    // Both halves are covered at about one frame per second, in order.
    expect(times.length).toBeGreaterThanOrEqual(8);
    expect(times.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]);
    expect(times[0]).toBeLessThan(0.2);
    expect(times.at(-1)!).toBeGreaterThan(6.5);
  });

  it('measures the duration of a WebM whose header has none (written to a pipe)', async () => {
    // Precondition: the container really carries no duration.
    const raw = await ffprobeJson(f.webm);
    expect(raw.format.duration).toBeUndefined();
    const info = await probeMedia(f.webm);
    expect(info.kind).toBe('video');
    expect(info.durationSec).toBeGreaterThan(5.7);
    expect(info.durationSec).toBeLessThan(6.3);
  });
});

describe('probeMedia on still images', () => {
  it.each([
    { key: 'png', width: 400, height: 300, codec: 'png' },
    { key: 'jpg', width: 320, height: 240, codec: 'mjpeg' },
    { key: 'webp', width: 200, height: 200, codec: 'webp' },
  ])('reports a $key picture as kind "image" with its size and no duration', async (c) => {
    const info = await probeMedia(f[c.key]);
    expect(info.kind).toBe('image');
    expect(info.durationSec).toBe(0);
    expect(info.fps).toBeNull();
    expect(info.width).toBe(c.width);
    expect(info.height).toBe(c.height);
    expect(info.codec).toBe(c.codec);
  });
});

describe('probeMedia rejects what cannot be indexed with a typed error', () => {
  it('a missing file is FILE_NOT_FOUND', async () => {
    await expectRetraceError(probeMedia(dir.file('does-not-exist.mp4')), 'FILE_NOT_FOUND');
  });

  it('a directory is FILE_NOT_FOUND (not a regular file)', async () => {
    const sub = dir.file('a-folder.mp4');
    await mkdir(sub, { recursive: true });
    await expectRetraceError(probeMedia(sub), 'FILE_NOT_FOUND');
  });

  it('an empty file is EMPTY_FILE', async () => {
    await expectRetraceError(probeMedia(f.empty), 'EMPTY_FILE');
  });

  it('a text file named .mp4 is UNSUPPORTED_MEDIA, not a damaged video', async () => {
    await expectRetraceError(probeMedia(f.text), 'UNSUPPORTED_MEDIA');
  });

  it('an audio-only file is NO_VIDEO_STREAM', async () => {
    await expectRetraceError(probeMedia(f.audio), 'NO_VIDEO_STREAM');
  });

  it('an MP4 cut in half (index lost) is CORRUPT_MEDIA', async () => {
    await expectRetraceError(probeMedia(f.trunc), 'CORRUPT_MEDIA');
  });

  it('an MP4 written from zero frames is CORRUPT_MEDIA', async () => {
    await expectRetraceError(probeMedia(f.zeroMp4), 'CORRUPT_MEDIA');
  });

  it('an AVI with a video stream but not one frame is CORRUPT_MEDIA', async () => {
    await expectRetraceError(probeMedia(f.zeroAvi), 'CORRUPT_MEDIA');
  });

  it('an 8×8 video is INVALID_DIMENSIONS (below the 16-pixel minimum)', async () => {
    expect(DEFAULT_LIMITS.minDimension).toBe(16);
    const err = await expectRetraceError(probeMedia(f.tiny), 'INVALID_DIMENSIONS');
    expect(err.message).toMatch(/8×8|8x8/);
  });

  it('honours a configured maximum dimension', async () => {
    await expectRetraceError(probeMedia(f.h264, { ...DEFAULT_LIMITS, maxDimension: 300 }), 'INVALID_DIMENSIONS');
  });
});

describe('probeMedia applies the configured limits', () => {
  it('refuses a file over maxFileBytes with FILE_TOO_LARGE and accepts one exactly at the limit', async () => {
    const size = (await stat(f.h264)).size;
    const err = await expectRetraceError(probeMedia(f.h264, { ...DEFAULT_LIMITS, maxFileBytes: size - 1 }), 'FILE_TOO_LARGE');
    expect(err.details).toMatchObject({ bytes: size, limit: size - 1 });
    await expect(probeMedia(f.h264, { ...DEFAULT_LIMITS, maxFileBytes: size })).resolves.toMatchObject({ kind: 'video' });
  });

  it('checks the size before looking inside the file', async () => {
    // Garbage that is too large is reported as too large, without running ffprobe on it.
    await expectRetraceError(probeMedia(f.text, { ...DEFAULT_LIMITS, maxFileBytes: 10 }), 'FILE_TOO_LARGE');
  });

  it('refuses a video longer than maxDurationSec with MEDIA_TOO_LONG', async () => {
    const err = await expectRetraceError(probeMedia(f.h264, { ...DEFAULT_LIMITS, maxDurationSec: 3 }), 'MEDIA_TOO_LONG');
    expect(err.details).toMatchObject({ limit: 3 });
    await expect(probeMedia(f.h264, { ...DEFAULT_LIMITS, maxDurationSec: 7 })).resolves.toMatchObject({ kind: 'video' });
  });

  it('applies maxDurationSec to a WebM without a duration in its header too', async () => {
    await expectRetraceError(probeMedia(f.webm, { ...DEFAULT_LIMITS, maxDurationSec: 3 }), 'MEDIA_TOO_LONG');
  });

  it('has defaults that allow two-hour films', () => {
    expect(DEFAULT_LIMITS.maxDurationSec).toBeGreaterThanOrEqual(2 * 3600);
    expect(DEFAULT_LIMITS.maxFramesPerVideo).toBeGreaterThanOrEqual(2 * 3600);
    expect(DEFAULT_LIMITS.maxFileBytes).toBeGreaterThanOrEqual(4 * 1024 ** 3);
  });
});

import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src/core/media/probe.js';
import { DEFAULT_SAMPLING, sampleFrames } from '../../src/core/media/frame-sampler.js';
import type { SampleRequest, SampledFrame } from '../../src/core/media/frame-sampler.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { makeClip, makeCutClip, makeStill, makeTempDir, problemFiles } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';

let dir: TempDir;
let smooth: string; // 10 s of a steady zoom: no scene changes
let cut: string; // 5.3 s of one source, then a hard cut to another
let base: string; // 6 s H.264, for the rotated copy
let rotated: string;
let still: string;
let truncatedFastStart: string;
const CUT_AT = 5.3;

const GRAY64 = { width: 64, height: 48, channels: 1 as const };
/** Frames big enough (48 KiB) that ffmpeg soon blocks on a full pipe instead of finishing early. */
const RGB128 = { width: 128, height: 128, channels: 3 as const };

async function collect(req: SampleRequest): Promise<SampledFrame[]> {
  const out: SampledFrame[] = [];
  for await (const fr of sampleFrames(req)) out.push(fr);
  return out;
}

async function sample(path: string, extra: Partial<SampleRequest> = {}): Promise<SampledFrame[]> {
  const info = await probeMedia(path);
  return collect({ path, info, output: GRAY64, ...extra });
}

/** Pids of running ffmpeg processes whose command line mentions `needle` (Linux /proc). */
async function ffmpegProcessesFor(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      // The sampler names its input as `file:<absolute path>`.
      if (state !== 'Z' && /ffmpeg$/.test(cmd[0] ?? '') && cmd.some((a) => a === needle || a === `file:${needle}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function expectNoFfmpegFor(path: string): Promise<void> {
  // SIGKILL is asynchronous: give the kernel a moment to reap.
  for (let i = 0; i < 20; i++) {
    if ((await ffmpegProcessesFor(path)).length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await ffmpegProcessesFor(path)).toEqual([]);
}

function rotate90(r: Raster, clockwise: boolean): Raster {
  // Only for square single-channel rasters.
  const n = r.width;
  const out = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const v = r.data[y * n + x];
      if (clockwise) out[x * n + (n - 1 - y)] = v;
      else out[(n - 1 - x) * n + y] = v;
    }
  }
  return { ...r, data: out };
}

function meanAbsDiff(a: Raster, b: Raster): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

beforeAll(async () => {
  dir = await makeTempDir('retrace-sampler-');
  [smooth, cut, base, still] = await Promise.all([
    makeClip(dir, 'smooth', { source: 'mandelbrot', durationSec: 10, width: 240, height: 180 }),
    makeCutClip(dir, 'cut', [
      { source: 'mandelbrot', durationSec: CUT_AT },
      { source: 'rotatingBars', durationSec: 10 - CUT_AT },
    ]),
    makeClip(dir, 'base', { source: 'rotatingBars', durationSec: 6 }),
    makeStill(dir, 'still.png', 'mandelbrot'),
  ]);
  [rotated, truncatedFastStart] = await Promise.all([problemFiles.rotated90(dir, base), problemFiles.truncatedFastStartMp4(dir, smooth)]);
});

afterAll(async () => {
  await dir?.cleanup();
});

describe('sampleFrames', () => {
  it('samples one frame per second by default, with increasing timestamps from the start', async () => {
    expect(DEFAULT_SAMPLING.intervalSec).toBe(1);
    const frames = await sample(smooth);
    expect(frames.length).toBeGreaterThanOrEqual(10);
    expect(frames.length).toBeLessThanOrEqual(11);
    expect(frames[0].timestampSec).toBeLessThan(0.05);
    for (let i = 1; i < frames.length; i++) {
      const step = frames[i].timestampSec - frames[i - 1].timestampSec;
      expect(step).toBeGreaterThan(0.9);
      expect(step).toBeLessThan(1.1);
    }
    expect(frames.at(-1)!.timestampSec).toBeGreaterThan(8.9);
    // Frame numbers follow the timestamps at the stream's 25 fps.
    for (const fr of frames) expect(fr.frameNumber).toBe(Math.round(fr.timestampSec * 25));
    // A steady zoom has no scene change.
    expect(frames.filter((fr) => fr.isKeyframe)).toEqual([]);
  });

  it('samples at a configured interval', async () => {
    const frames = await sample(smooth, { sampling: { intervalSec: 0.5 } });
    expect(frames.length).toBeGreaterThanOrEqual(19);
    expect(frames.length).toBeLessThanOrEqual(21);
    for (let i = 1; i < frames.length; i++) {
      expect(frames[i].timestampSec - frames[i - 1].timestampSec).toBeCloseTo(0.5, 1);
    }
  });

  it('adds a keyframe at a hard scene cut, between the regular samples', async () => {
    const frames = await sample(cut);
    const keys = frames.filter((fr) => fr.isKeyframe);
    expect(keys.length).toBeGreaterThanOrEqual(1);
    // Every keyframe sits at the cut (the first frame of the new shot), nowhere else.
    for (const k of keys) {
      expect(k.timestampSec).toBeGreaterThanOrEqual(CUT_AT - 0.05);
      expect(k.timestampSec).toBeLessThan(CUT_AT + 0.5);
    }
    // Regular sampling goes on around it.
    expect(frames.filter((fr) => !fr.isKeyframe).length).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < frames.length; i++) expect(frames[i].timestampSec).toBeGreaterThan(frames[i - 1].timestampSec);
  });

  it('delivers frames at exactly the requested raster size and channel count', async () => {
    const info = await probeMedia(smooth);
    for (const output of [
      { width: 64, height: 48, channels: 1 as const },
      { width: 32, height: 32, channels: 3 as const },
    ]) {
      const frames = await collect({ path: smooth, info, output, sampling: { intervalSec: 3 } });
      expect(frames.length).toBeGreaterThanOrEqual(3);
      for (const fr of frames) {
        expect(fr.raster.width).toBe(output.width);
        expect(fr.raster.height).toBe(output.height);
        expect(fr.raster.channels).toBe(output.channels);
        expect(fr.raster.data.length).toBe(output.width * output.height * output.channels);
      }
      // Real picture content, not a blank buffer.
      const d = frames[1].raster.data;
      expect(Math.max(...d) - Math.min(...d)).toBeGreaterThan(50);
    }
  });

  it('decodes a rotated phone video upright, in its display orientation', async () => {
    const square = { width: 48, height: 48, channels: 1 as const };
    const [upright] = await collect({ path: base, info: await probeMedia(base), output: square, sampling: { intervalSec: 10 } });
    const [turned] = await collect({ path: rotated, info: await probeMedia(rotated), output: square, sampling: { intervalSec: 10 } });
    const asIs = meanAbsDiff(upright.raster, turned.raster);
    const rotatedBack = Math.min(meanAbsDiff(rotate90(upright.raster, true), turned.raster), meanAbsDiff(rotate90(upright.raster, false), turned.raster));
    expect(rotatedBack).toBeLessThan(asIs * 0.5);
  });

  it('gives a still image as one frame at time 0', async () => {
    const frames = await sample(still);
    expect(frames).toHaveLength(1);
    expect(frames[0].timestampSec).toBe(0);
    expect(frames[0].isKeyframe).toBe(false);
  });

  it('stops with TOO_MANY_FRAMES when a video yields more than maxFrames', async () => {
    await expectRetraceError(sample(smooth, { maxFrames: 4 }), 'TOO_MANY_FRAMES');
    await expectNoFfmpegFor(smooth);
  });

  it('stops with MEDIA_TOO_LONG when decoding passes maxDurationSec (for headers that lie or say nothing)', async () => {
    await expectRetraceError(sample(smooth, { maxDurationSec: 3.5 }), 'MEDIA_TOO_LONG');
    await expectNoFfmpegFor(smooth);
  });

  it('ends a truncated file whose index survived (fast-start MP4 cut in half) with CORRUPT_MEDIA', async () => {
    await expectRetraceError(sample(truncatedFastStart), 'CORRUPT_MEDIA');
  });

  it('stops ffmpeg when the abort signal fires mid-stream, and reports ABORTED', async () => {
    const info = await probeMedia(smooth);
    const controller = new AbortController();
    let seen = 0;
    const run = (async () => {
      for await (const _ of sampleFrames({ path: smooth, info, output: RGB128, sampling: { intervalSec: 0.2 }, signal: controller.signal })) {
        seen++;
        if (seen === 1) {
          // ffmpeg is running now; the consumer is slow and the caller gives up.
          expect((await ffmpegProcessesFor(smooth)).length).toBe(1);
          controller.abort();
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    await expectRetraceError(run, 'ABORTED');
    // No frame is delivered after the abort, even one ffmpeg had already written.
    expect(seen).toBe(1);
    await expectNoFfmpegFor(smooth);
  });

  it('does not start ffmpeg at all for a signal that is already aborted', async () => {
    const info = await probeMedia(smooth);
    const controller = new AbortController();
    controller.abort();
    const frames = sampleFrames({ path: smooth, info, output: GRAY64, signal: controller.signal });
    // The first pull fails before any process is spawned.
    await expectRetraceError(frames.next(), 'ABORTED');
    expect(await ffmpegProcessesFor(smooth)).toEqual([]);
  });

  it('reports ffmpeg killed by a signal from outside as DECODER_KILLED (a passing failure), not as a corrupt file', async () => {
    const info = await probeMedia(smooth);
    let seen = 0;
    const run = (async () => {
      for await (const _ of sampleFrames({ path: smooth, info, output: RGB128, sampling: { intervalSec: 0.2 } })) {
        if (++seen === 1) {
          // ffmpeg is running now (one process, this test's): kill it as the OOM killer would.
          const [pid] = await ffmpegProcessesFor(smooth);
          process.kill(pid, 'SIGKILL');
        }
      }
    })();
    const err = await expectRetraceError(run, 'DECODER_KILLED');
    expect(err.message).toContain('SIGKILL');
    await expectNoFfmpegFor(smooth);
  });

  it('stops ffmpeg when the consumer stops reading early', async () => {
    const info = await probeMedia(smooth);
    let n = 0;
    for await (const _ of sampleFrames({ path: smooth, info, output: RGB128, sampling: { intervalSec: 0.2 } })) {
      if (++n === 2) break;
    }
    expect(n).toBe(2);
    await expectNoFfmpegFor(smooth);
  });

  // Bounded memory is a property of the design (a pipe, one frame at a time), not something a
  // timing test can show reliably on a shared 2-core machine; it is not tested here.
});

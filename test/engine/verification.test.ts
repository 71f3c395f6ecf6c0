import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import { resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';
import { makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { seededRng } from '../helpers/seeded-rng.js';

/**
 * Look-alike footage: a camera pans across a wide picture whose layout (a bright band over a
 * left-to-right gradient) is the same in every clip, while its fine detail (faint rectangles and
 * discs) comes from a seed. Descriptors and timing alone take two such clips for copies of each
 * other; their keypoints share no geometry.
 */
const W = 320;
const H = 240;
const CANVAS_W = 640;
const RATE = 15;

function canvas(seed: number): Uint8Array {
  const r = seededRng(seed);
  const d = new Uint8Array(CANVAS_W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < CANVAS_W; x++) d[y * CANVAS_W + x] = 40 + 120 * Math.exp(-(((y - 80) / 50) ** 2)) + (60 * x) / CANVAS_W;
  for (let i = 0; i < 500; i++) {
    const cx = r() * CANVAS_W, cy = r() * H, size = 3 + r() * 14, v = Math.round(r() * 255), disc = r() < 0.5;
    for (let y = Math.max(0, Math.floor(cy - size)); y < Math.min(H, cy + size); y++) {
      for (let x = Math.max(0, Math.floor(cx - size)); x < Math.min(CANVAS_W, cx + size); x++) {
        if (!disc || (x - cx) ** 2 + (y - cy) ** 2 <= size * size) d[y * CANVAS_W + x] = (d[y * CANVAS_W + x] * 7 + v) >> 3;
      }
    }
  }
  return d;
}

/** A 12 s pan across the canvas of `seed`, encoded as H.264 from frames piped to ffmpeg. */
async function pan(seed: number, out: string, sec = 12): Promise<string> {
  const c = canvas(seed);
  const ff = spawn(resolveFfmpegPaths().ffmpeg, ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${W}x${H}`, '-r', String(RATE), '-i', 'pipe:0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'veryfast', out], { stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise<number | null>((resolve) => ff.on('close', resolve));
  for (let f = 0; f < sec * RATE; f++) {
    const off = Math.round((f / (sec * RATE)) * (CANVAS_W - W));
    const frame = Buffer.alloc(W * H);
    for (let y = 0; y < H; y++) frame.set(c.subarray(y * CANVAS_W + off, y * CANVAS_W + off + W), y * W);
    if (!ff.stdin.write(frame)) await new Promise((resolve) => ff.stdin.once('drain', resolve));
  }
  ff.stdin.end();
  expect(await done).toBe(0);
  return out;
}

let dir: TempDir;
let withVerification: Retrace;
let descriptorsOnly: Retrace;
const clip: Record<'reference' | 'lookAlike' | 'copy', string> = {} as never;

beforeAll(async () => {
  dir = await makeTempDir('retrace-verify-');
  [clip.reference, clip.lookAlike, clip.copy] = await Promise.all([pan(1, dir.file('reference.mp4')), pan(2, dir.file('look-alike.mp4')), pan(1, dir.file('copy.mp4'))]);
  withVerification = await Retrace.open({ db: 'memory://' });
  descriptorsOnly = await Retrace.open({ db: 'memory://', search: { verify: { enabled: false } } });
  for (const e of [withVerification, descriptorsOnly]) await e.index(clip.reference);
}, 120_000);

afterAll(async () => {
  await withVerification?.close();
  await descriptorsOnly?.close();
  await dir?.cleanup();
});

describe('verification of matches', () => {
  it('rejects an unrelated look-alike that descriptors and timing alone report as a copy', async () => {
    // The precondition: without verification the look-alike is a confident match.
    const unverified = await descriptorsOnly.search(clip.lookAlike);
    expect(unverified.matches.length).toBe(1);
    expect(unverified.matches[0].segments[0].verification.status).toBe('unverified');
    expect((await withVerification.search(clip.lookAlike)).matches).toEqual([]);
  });

  it('confirms the real copy of the same footage with geometry', async () => {
    const r = await withVerification.search(clip.copy);
    expect(r.matches.length).toBe(1);
    const s = r.matches[0].segments[0];
    expect(s.verified).toBe(true);
    expect(s.verification.agreeing).toBeGreaterThanOrEqual(2);
    expect(s.transform).toMatchObject({ mirrored: false });
    expect(s.transform!.scale).toBeCloseTo(1, 1);
  });
});

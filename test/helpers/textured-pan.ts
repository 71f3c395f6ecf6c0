import { spawn } from 'node:child_process';
import { resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';
import { seededRng } from './seeded-rng.js';

/**
 * Textured footage whose frames keypoints can match (and whose look-alikes they can tell apart):
 * a camera pans across a wide picture whose layout (a bright band over a
 * left-to-right gradient) is the same in every clip, while its fine detail (faint rectangles and
 * discs) comes from a seed. Descriptors and timing alone take two such clips for copies of each
 * other; their keypoints share no geometry.
 */
const W = 320;
const H = 240;
const CANVAS_W = 640;
const RATE = 15;

export function canvas(seed: number): Uint8Array {
  const r = seededRng(seed);
  const d = new Uint8Array(CANVAS_W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < CANVAS_W; x++) d[y * CANVAS_W + x] = 40 + 120 * Math.exp(-(((y - 80) / 50) ** 2)) + (60 * x) / CANVAS_W;
  for (let i = 0; i < 500; i++) {
    const cx = r() * CANVAS_W,
      cy = r() * H,
      size = 3 + r() * 14,
      v = Math.round(r() * 255),
      disc = r() < 0.5;
    for (let y = Math.max(0, Math.floor(cy - size)); y < Math.min(H, cy + size); y++) {
      for (let x = Math.max(0, Math.floor(cx - size)); x < Math.min(CANVAS_W, cx + size); x++) {
        if (!disc || (x - cx) ** 2 + (y - cy) ** 2 <= size * size) d[y * CANVAS_W + x] = (d[y * CANVAS_W + x] * 7 + v) >> 3;
      }
    }
  }
  return d;
}

/** A 12 s pan across the canvas of `seed`, encoded as H.264 from frames piped to ffmpeg. */
export async function pan(seed: number, out: string, sec = 12): Promise<string> {
  const c = canvas(seed);
  const ff = spawn(
    resolveFfmpegPaths().ffmpeg,
    [
      '-v',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      '-s',
      `${W}x${H}`,
      '-r',
      String(RATE),
      '-i',
      'pipe:0',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-preset',
      'veryfast',
      out,
    ],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  const done = new Promise<number | null>((resolve) => ff.on('close', resolve));
  for (let f = 0; f < sec * RATE; f++) {
    const off = Math.round((f / (sec * RATE)) * (CANVAS_W - W));
    const frame = Buffer.alloc(W * H);
    for (let y = 0; y < H; y++) frame.set(c.subarray(y * CANVAS_W + off, y * CANVAS_W + off + W), y * W);
    if (!ff.stdin.write(frame)) await new Promise((resolve) => ff.stdin.once('drain', resolve));
  }
  ff.stdin.end();
  const code = await done;
  if (code !== 0) throw new Error(`ffmpeg exited with ${code} while encoding ${out}`);
  return out;
}

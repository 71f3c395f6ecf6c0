import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectContentRect, DEFAULT_BORDER_OPTIONS } from '../../src/core/frames/border-detection.js';
import { frameQuality } from '../../src/core/frames/frame-quality.js';
import { crop } from '../../src/core/frames/raster.js';
import type { Raster, Rect } from '../../src/core/frames/raster.js';
import { probeMedia } from '../../src/core/media/probe.js';
import { sampleFrames } from '../../src/core/media/frame-sampler.js';
import { makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { seededRng } from '../helpers/seeded-rng.js';

// ---- synthetic pictures ------------------------------------------------------------------

/** Textured "footage": overlapping waves and blobs, clearly not a solid colour anywhere. */
function textured(seed = 1): (x: number, y: number) => [number, number, number] {
  const r = seededRng(seed);
  const fx = 0.15 + r() * 0.2;
  const fy = 0.1 + r() * 0.2;
  return (x, y) => {
    const v = 128 + 70 * Math.sin(x * fx + y * 0.05) * Math.cos(y * fy) + 40 * Math.sin((x + 2 * y) / 9);
    return [v, v * 0.8 + 20, 255 - v];
  };
}

/** An RGB raster: `inner` draws the picture inside `rect`, everything outside is `pad`. */
function padded(width: number, height: number, rect: Rect, pad: [number, number, number], inner = textured(), noise = 0): Raster {
  const r = seededRng(99);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height;
      const px = inside ? inner(x, y) : pad;
      for (let k = 0; k < 3; k++) {
        const n = noise ? (r() * 2 - 1) * noise : 0;
        data[(y * width + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(px[k] + n)));
      }
    }
  }
  return { width, height, channels: 3, data };
}

function solid(width: number, height: number, value: number): Raster {
  return { width, height, channels: 1, data: new Uint8Array(width * height).fill(value) };
}

function expectRectNear(actual: Rect, expected: Rect, tol = 1): void {
  expect(Math.abs(actual.x - expected.x), `x ${actual.x} vs ${expected.x}`).toBeLessThanOrEqual(tol);
  expect(Math.abs(actual.y - expected.y), `y ${actual.y} vs ${expected.y}`).toBeLessThanOrEqual(tol);
  expect(Math.abs(actual.width - expected.width), `width ${actual.width} vs ${expected.width}`).toBeLessThanOrEqual(tol * 2);
  expect(Math.abs(actual.height - expected.height), `height ${actual.height} vs ${expected.height}`).toBeLessThanOrEqual(tol * 2);
}

const W = 128;
const H = 128;
const FULL: Rect = { x: 0, y: 0, width: W, height: H };

describe('detectContentRect', () => {
  it('strips a flat sky the same way with pillarbox bars as without them', () => {
    // A faint sky gradient (row std about 2) over textured ground; the copy adds bars with a
    // column blended half-way into the picture on each side, as scaling and compression do.
    const sky = 30;
    const ground = textured();
    const picture = (x: number, y: number): [number, number, number] => (y < sky ? [170 + x / 20, 190 + x / 20, 230] : ground(x, y));
    const source = padded(W, H, FULL, [0, 0, 0], picture);
    const bars = { x: 20, y: 0, width: W - 40, height: H };
    const copy = padded(W, H, bars, [0, 0, 0], (x, y) => {
      const [r, g, b] = picture(x, y);
      const edge = x === bars.x || x === bars.x + bars.width - 1 ? 0.5 : 1;
      return [r * edge, g * edge, b * edge];
    });
    const s = detectContentRect(source);
    const c = detectContentRect(copy);
    expectRectNear(s, { x: 0, y: sky, width: W, height: H - sky });
    expectRectNear(c, { x: bars.x, y: sky, width: bars.width, height: H - sky });
  });

  it('finds the picture between black letterbox bars', () => {
    const inner = { x: 0, y: 18, width: W, height: H - 36 };
    expectRectNear(detectContentRect(padded(W, H, inner, [0, 0, 0])), inner);
  });

  it('finds the picture between coloured pillarbox bars', () => {
    const inner = { x: 22, y: 0, width: W - 44, height: H };
    expectRectNear(detectContentRect(padded(W, H, inner, [30, 60, 150])), inner);
  });

  it('finds a window-boxed picture (bars on all four sides, grey)', () => {
    const inner = { x: 14, y: 10, width: W - 28, height: H - 20 };
    expectRectNear(detectContentRect(padded(W, H, inner, [90, 90, 90])), inner);
  });

  it('finds asymmetric bars (a picture placed off centre)', () => {
    const inner = { x: 8, y: 30, width: W - 8 - 20, height: H - 30 - 6 };
    expectRectNear(detectContentRect(padded(W, H, inner, [0, 0, 0])), inner);
  });

  it('still finds bars that carry compression noise', () => {
    const inner = { x: 0, y: 16, width: W, height: H - 32 };
    expectRectNear(detectContentRect(padded(W, H, inner, [16, 16, 16], textured(), 2)), inner, 2);
  });

  it('keeps the full rectangle of a frame without bars', () => {
    expect(detectContentRect(padded(W, H, FULL, [0, 0, 0]))).toEqual(FULL);
  });

  it('keeps the full rectangle of a black frame (there is no picture to find)', () => {
    expect(detectContentRect(solid(W, H, 0))).toEqual(FULL);
    expect(detectContentRect(solid(W, H, 16))).toEqual(FULL);
  });

  it('keeps the full rectangle of a near-uniform frame (a fade)', () => {
    const fade = padded(W, H, { x: 60, y: 60, width: 8, height: 8 }, [12, 12, 12], () => [20, 20, 20]);
    expect(detectContentRect(fade)).toEqual(FULL);
  });

  it('never removes more than maxFraction of a side', () => {
    // A thin strip of picture in a sea of black: bars would be 45 % each side.
    const inner = { x: 0, y: Math.round(H * 0.45), width: W, height: H - 2 * Math.round(H * 0.45) };
    const rect = detectContentRect(padded(W, H, inner, [0, 0, 0]));
    const maxBar = Math.floor(H * DEFAULT_BORDER_OPTIONS.maxFraction);
    expect(rect.y).toBeLessThanOrEqual(maxBar);
    expect(H - rect.y - rect.height).toBeLessThanOrEqual(maxBar);
  });

  it('works on luma rasters as well as RGB', () => {
    const inner = { x: 0, y: 20, width: W, height: H - 40 };
    const rgb = padded(W, H, inner, [0, 0, 0]);
    const luma = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) luma[i] = Math.round((rgb.data[i * 3] + rgb.data[i * 3 + 1] + rgb.data[i * 3 + 2]) / 3);
    expectRectNear(detectContentRect({ width: W, height: H, channels: 1, data: luma }), inner);
  });
});

describe('detectContentRect on decoded video', () => {
  let dir: TempDir;
  let letterboxed: string;
  let unpadded: string;
  let pillarboxed: string;

  beforeAll(async () => {
    dir = await makeTempDir('retrace-borders-');
    [letterboxed, unpadded, pillarboxed] = await Promise.all([
      // 320×160 picture in a 320×240 frame: 40-pixel black bars top and bottom.
      makeClip(dir, 'letterbox', { source: 'mandelbrot', durationSec: 3, width: 320, height: 160, vf: 'pad=320:240:0:40:black' }),
      makeClip(dir, 'source', { source: 'mandelbrot', durationSec: 3, width: 320, height: 160 }),
      // 240×240 picture (textured up to its edges) in a 320×240 frame: 40-pixel dark-blue bars left and right.
      makeClip(dir, 'pillarbox', { source: 'life', durationSec: 3, width: 240, height: 240, vf: 'pad=320:240:40:0:0x202060' }),
    ]);
  });

  afterAll(async () => {
    await dir?.cleanup();
  });

  async function firstFrames(path: string): Promise<Raster[]> {
    const info = await probeMedia(path);
    const out: Raster[] = [];
    for await (const fr of sampleFrames({ path, info, output: { width: 128, height: 128, channels: 1 } })) out.push(fr.raster);
    return out;
  }

  it('removes the letterbox of an encoded H.264 frame and keeps the crop its source gets', async () => {
    const copies = await firstFrames(letterboxed);
    const sources = await firstFrames(unpadded);
    expect(copies.length).toBeGreaterThan(0);
    copies.forEach((frame, i) => {
      const c = detectContentRect(frame);
      const s = detectContentRect(sources[i]);
      // 40/240 of 128 rows are bars on each side; inside them, the copy loses what its source
      // loses (the fractal's flat outer columns), so both are described from the same crop.
      expect(c.y).toBeGreaterThanOrEqual(20);
      expect(c.y + c.height).toBeLessThanOrEqual(108);
      expectRectNear(c, { x: s.x, y: 21.3 + (s.y * 85.3) / 128, width: s.width, height: (s.height * 85.3) / 128 }, 2);
    });
  });

  it('removes coloured pillarbox bars of an encoded H.264 frame', async () => {
    for (const frame of await firstFrames(pillarboxed)) {
      expectRectNear(detectContentRect(frame), { x: 16, y: 0, width: 96, height: 128 }, 2);
    }
  });
});

describe('frameQuality', () => {
  it('scores black and flat frames at about 0', () => {
    expect(frameQuality(solid(W, H, 0))).toBeLessThan(0.02);
    expect(frameQuality(solid(W, H, 128))).toBeLessThan(0.02);
    expect(frameQuality(solid(W, H, 255))).toBeLessThan(0.02);
  });

  it('scores a faded, near-uniform frame low (below the 0.2 used to drop query frames)', () => {
    // A faint gradient spanning 6 grey levels: what is left of a picture during a fade to black.
    const data = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = 10 + Math.round((6 * x) / W);
    expect(frameQuality({ width: W, height: H, channels: 1, data })).toBeLessThan(0.2);
  });

  it('scores a frame of faint noise low: per-pixel noise is not information', () => {
    const r = seededRng(5);
    const data = new Uint8Array(W * H).map(() => 20 + Math.round(r() * 4));
    expect(frameQuality({ width: W, height: H, channels: 1, data })).toBeLessThan(0.2);
  });

  it('scores textured frames high', () => {
    expect(frameQuality(padded(W, H, FULL, [0, 0, 0]))).toBeGreaterThan(0.8);
    expect(frameQuality(padded(W, H, FULL, [0, 0, 0], textured(7)))).toBeGreaterThan(0.8);
  });

  it('scores a letterboxed picture, once its bars are removed, like the picture itself', () => {
    const inner = { x: 0, y: 24, width: W, height: H - 48 };
    const boxed = padded(W, H, inner, [0, 0, 0]);
    const content = crop(boxed, detectContentRect(boxed));
    expect(frameQuality(content)).toBeGreaterThan(0.8);
  });

  it('stays within 0..1', () => {
    const r = seededRng(3);
    const noisy: Raster = { width: W, height: H, channels: 1, data: new Uint8Array(W * H).map(() => Math.round(r() * 255)) };
    const q = frameQuality(noisy);
    expect(q).toBeGreaterThanOrEqual(0);
    expect(q).toBeLessThanOrEqual(1);
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_INSET, detectInset, detectInsets } from '../../src/core/frames/inset-detection.js';
import type { Raster, Rect } from '../../src/core/frames/raster.js';
import { seededRng } from '../helpers/seeded-rng.js';

/**
 * Moving footage: every frame a different smooth pattern (random frequencies and phases), so
 * ordinary edges move from frame to frame. An inset, when given, shows its own independent
 * pattern inside a fixed rectangle: its border is the only edge that stays put.
 */
function footage(frames: number, inset: Rect | null, seed = 1): Raster[] {
  const r = seededRng(seed);
  const pattern = () => {
    const [a, b, p, q] = [0.05 + r() * 0.15, 0.05 + r() * 0.15, r() * 6.3, r() * 6.3];
    const level = 60 + r() * 120;
    return (x: number, y: number) => level + 50 * Math.sin(a * x + p) * Math.cos(b * y + q);
  };
  const out: Raster[] = [];
  for (let f = 0; f < frames; f++) {
    const bg = pattern();
    const fg = pattern();
    const data = new Uint8Array(128 * 128);
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 128; x++) {
        const inside = inset !== null && x >= inset.x && x < inset.x + inset.width && y >= inset.y && y < inset.y + inset.height;
        data[y * 128 + x] = Math.max(0, Math.min(255, Math.round((inside ? fg : bg)(x, y))));
      }
    }
    out.push({ width: 128, height: 128, channels: 1, data });
  }
  return out;
}

function expectNear(found: Rect | null, want: Rect, tol = 3): void {
  expect(found).not.toBeNull();
  const f = found!;
  for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(f[k] - want[k]), `${k}: ${JSON.stringify(f)}`).toBeLessThanOrEqual(tol);
}

describe('detectInset', () => {
  it('finds a picture pasted into a corner of other footage', () => {
    const inset = { x: 70, y: 60, width: 50, height: 56 };
    expectNear(detectInset(footage(20, inset)), inset);
  });

  it("finds an inset pinned to the frame's edge (two drawn sides are enough)", () => {
    const inset = { x: 0, y: 0, width: 64, height: 60 };
    expectNear(detectInset(footage(20, inset, 2)), inset);
  });

  it("finds a wide, flat inset (a fifth of the frame's height) in a second pass", () => {
    // A 16:9 picture pasted small into a taller frame: 47 × 20 of 128 × 128.
    const inset = { x: 53, y: 58, width: 47, height: 20 };
    expectNear(detectInset(footage(20, inset, 3)), inset);
    // The first pass alone (sides of at least a quarter of the frame) cannot see it.
    expect(detectInset(footage(20, inset, 3), { ...DEFAULT_INSET, fallbackMinFraction: DEFAULT_INSET.minFraction })).toBeNull();
  });

  it('also offers the rectangle with a side on a steady edge of the footage beside the inset, and the other way round', () => {
    const inset = { x: 20, y: 40, width: 50, height: 60 };
    // A static bright post in the footage, 12 px right of the inset's right side; that side is
    // lost for a quarter of its length where both pictures are the same grey.
    const frames = footage(20, inset, 5).map((f) => {
      const data = Uint8Array.from(f.data);
      for (let y = 0; y < 128; y++) for (let x = 82; x < 86; x++) data[y * 128 + x] = 250;
      for (let y = 40; y < 55; y++) for (let x = 64; x < 76; x++) data[y * 128 + x] = 128;
      return { ...f, data };
    });
    const found = detectInsets(frames);
    expect(found.length).toBeGreaterThan(1);
    expect(found.length).toBeLessThanOrEqual(1 + DEFAULT_INSET.alternatives);
    // The true rectangle is among them, whichever scored best.
    expect(found.some((r) => Object.entries(inset).every(([k, v]) => Math.abs(r[k as keyof Rect] - v) <= 3))).toBe(true);
  });

  it('finds nothing in footage without an inset, and nothing from fewer than three frames', () => {
    expect(detectInset(footage(20, null, 4))).toBeNull();
    expect(detectInset(footage(2, { x: 70, y: 60, width: 50, height: 56 }))).toBeNull();
  });
});

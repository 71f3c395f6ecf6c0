import { describe, expect, it } from 'vitest';
import { BuiltinDescriptor } from '../../src/core/descriptors/builtin-descriptor.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { flipHorizontal } from '../../src/core/frames/raster.js';

const d = new BuiltinDescriptor();
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

function raster(w: number, h: number, f: (x: number, y: number) => number): Raster {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = Math.max(0, Math.min(255, Math.round(f(x / w, y / h))));
  return { width: w, height: h, channels: 1, data };
}

// Sky above a field: the layout both test scenes share.
const layout = (x: number, y: number) => (y < 0.45 ? 190 - 40 * y : 90 + 30 * Math.sin(3 * x));
// Fine texture above the DCT's band (a 6×6 block of a 32×32 thumbnail stops at 3 cycles per side).
const stripes = (x: number, y: number, vertical: boolean) => 25 * Math.sin(2 * Math.PI * 9 * (vertical ? x : y));

describe('BuiltinDescriptor', () => {
  it("computes a mirror image's vector from the vector alone, as describing the mirrored picture gives", () => {
    for (const [w, h] of [
      [128, 128],
      [97, 61],
    ]) {
      const pic = raster(w, h, (x, y) => layout(x, y) + stripes(x, y, true) + 40 * Math.sin(7 * x * x + 3 * y) + 30 * x);
      const v = d.describeOne(pic);
      const mirrored = d.describeOne(flipHorizontal(pic));
      expect(dot(d.mirror(v), mirrored)).toBeGreaterThan(0.999);
      // The picture is not symmetric: its mirror image is another vector.
      expect(dot(v, mirrored)).toBeLessThan(0.9);
    }
  });

  it('gives a unit vector of its declared size, named after its version', () => {
    const v = d.describeOne(raster(128, 128, (x, y) => layout(x, y) + stripes(x, y, true)));
    expect(v).toHaveLength(d.dimensions);
    expect(d.dimensions).toBe(51);
    expect(d.id).toBe('builtin-dct-grad-v3');
    expect(Math.abs(dot(v, v) - 1)).toBeLessThan(1e-5);
  });

  it('ignores brightness and contrast changes', () => {
    const f = (x: number, y: number) => layout(x, y) + stripes(x, y, false) + 20 * Math.cos(5 * x * y);
    const a = d.describeOne(raster(128, 128, f));
    const b = d.describeOne(raster(128, 128, (x, y) => 0.7 * f(x, y) + 30));
    expect(dot(a, b)).toBeGreaterThan(0.98);
  });

  it('tells apart two scenes with the same layout but edges running another way', () => {
    const a = d.describeOne(raster(128, 128, (x, y) => layout(x, y) + stripes(x, y, true)));
    const b = d.describeOne(raster(128, 128, (x, y) => layout(x, y) + stripes(x, y, false)));
    // The low frequencies alone (the first 35 values) find them nearly identical.
    const lowA = a.slice(0, 35);
    const lowB = b.slice(0, 35);
    const lowCos = dot(lowA, lowB) / Math.sqrt(dot(lowA, lowA) * dot(lowB, lowB));
    expect(lowCos).toBeGreaterThan(0.95);
    expect(dot(a, b)).toBeLessThan(lowCos - 0.15);
  });

  it('describes a flat frame without NaN', () => {
    const v = d.describeOne(raster(64, 64, () => 128));
    expect(v.every((x) => Number.isFinite(x))).toBe(true);
  });
});

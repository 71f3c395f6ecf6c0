import { describe, expect, it } from 'vitest';
import { resizeArea } from '../../src/core/frames/raster.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { seededRng } from '../helpers/seeded-rng.js';

function noise(width: number, height: number, channels: 1 | 3, seed: number): Raster {
  const rng = seededRng(seed);
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256);
  return { width, height, channels, data };
}

describe('resizeArea', () => {
  it('averages whole blocks exactly when the size divides (the indexing fast path)', () => {
    for (const [w, h, c, tw, th] of [
      [128, 128, 1, 32, 32],
      [64, 64, 1, 32, 32],
      [96, 64, 3, 32, 16],
    ] as const) {
      const r = noise(w, h, c, w + h + c);
      const out = resizeArea(r, tw, th);
      const fx = w / tw;
      const fy = h / th;
      for (let ty = 0; ty < th; ty++) {
        for (let tx = 0; tx < tw; tx++) {
          for (let k = 0; k < c; k++) {
            let sum = 0;
            for (let y = ty * fy; y < (ty + 1) * fy; y++) for (let x = tx * fx; x < (tx + 1) * fx; x++) sum += r.data[(y * w + x) * c + k];
            expect(out[(ty * tw + tx) * c + k]).toBe(Math.fround(sum / (fx * fy)));
          }
        }
      }
    }
  });

  it('weights partly covered pixels when the size does not divide', () => {
    const r: Raster = { width: 3, height: 1, channels: 1, data: new Uint8Array([0, 90, 180]) };
    const out = resizeArea(r, 2, 1);
    // Target pixel 0 covers source 0 and half of 1: (0 + 0.5·90) / 1.5 = 30.
    expect(out[0]).toBeCloseTo(30, 5);
    expect(out[1]).toBeCloseTo(150, 5);
  });
});

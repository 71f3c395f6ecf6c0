import type { Raster } from './raster.js';
import { resizeArea, toLuma } from './raster.js';

/**
 * Information score 0–1 of a frame: mean absolute luma gradient at 32×32, scaled so that
 * ordinary footage reaches 1. Black, flat, faded and near-uniform frames score near 0 and
 * are never used to drive a match (PDQ drops frames with quality < 50 for the same reason).
 *
 * @example
 * if (frameQuality(raster) < 0.2) skip();
 */
export function frameQuality(r: Raster): number {
  const n = 32;
  const g = resizeArea(toLuma(r), n, n);
  let sum = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const v = g[y * n + x];
      if (x + 1 < n) sum += Math.abs(g[y * n + x + 1] - v);
      if (y + 1 < n) sum += Math.abs(g[(y + 1) * n + x] - v);
    }
  }
  const meanGrad = sum / (2 * n * (n - 1));
  // Measured on real footage: typical frames have a mean gradient of 4–20 grey levels at
  // 32×32; below ~1 the frame is visually flat.
  return Math.max(0, Math.min(1, meanGrad / 6));
}

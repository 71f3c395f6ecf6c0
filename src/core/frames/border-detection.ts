import type { Raster, Rect } from './raster.js';
import { toLuma } from './raster.js';

export interface BorderOptions {
  /** A line is part of a bar when its luma standard deviation is below this (0–255 scale). */
  maxLineStd: number;
  /** Never remove more than this fraction of a side. */
  maxFraction: number;
}

export const DEFAULT_BORDER_OPTIONS: BorderOptions = { maxLineStd: 5, maxFraction: 0.4 };

function lineStats(l: Raster, horizontal: boolean, index: number): { mean: number; std: number } {
  const n = horizontal ? l.width : l.height;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const v = horizontal ? l.data[index * l.width + i] : l.data[i * l.width + index];
    s += v;
    s2 += v * v;
  }
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) };
}

/**
 * Count uniform lines from an edge inwards. Any run of flat lines goes, whatever its colour:
 * a pad bar followed by a flat sky must be stripped the same way as the same sky without the
 * bar in the source, or the copy and its source would be described from different crops.
 */
function scan(l: Raster, horizontal: boolean, from: number, step: 1 | -1, limit: number, o: BorderOptions): number {
  let k = 0;
  while (k < limit && lineStats(l, horizontal, from + step * k).std <= o.maxLineStd) k++;
  return k;
}

/**
 * Find the picture inside letterbox/pillarbox bars of any solid colour, so a padded copy
 * describes like its source. A frame that is uniform almost everywhere (a black frame, a
 * fade) keeps its full rectangle: there is no picture to find and quality scoring drops it.
 *
 * @example
 * const content = detectContentRect(raster); // { x, y, width, height }
 */
export function detectContentRect(r: Raster, options: BorderOptions = DEFAULT_BORDER_OPTIONS): Rect {
  const l = toLuma(r);
  const maxY = Math.floor(l.height * options.maxFraction);
  const maxX = Math.floor(l.width * options.maxFraction);
  const top = scan(l, true, 0, 1, maxY, options);
  const bottom = scan(l, true, l.height - 1, -1, maxY, options);
  const left = scan(l, false, 0, 1, maxX, options);
  const right = scan(l, false, l.width - 1, -1, maxX, options);
  const full = { x: 0, y: 0, width: l.width, height: l.height };
  // Bars as deep as allowed on two opposite sides: no picture edge was found, the frame is
  // (nearly) uniform. Without this a black frame came out as its centre fifth.
  if ((top >= maxY && bottom >= maxY) || (left >= maxX && right >= maxX)) return full;
  const width = l.width - left - right;
  const height = l.height - top - bottom;
  if (width < l.width * 0.2 || height < l.height * 0.2) return full;
  return { x: left, y: top, width, height };
}

import type { Raster, Rect } from './raster.js';
import { toLuma } from './raster.js';
import type { BorderOptions } from '../settings/frame-settings.js';
import { DEFAULT_BORDER_OPTIONS } from '../settings/frame-settings.js';
import { EDGE_BLEND, MIN_PAD_FRACTION } from '../settings/frame-settings.js';
export type { BorderOptions } from '../settings/frame-settings.js';
export { DEFAULT_BORDER_OPTIONS } from '../settings/frame-settings.js';

/** Luma standard deviation of line `index` over positions [from, to) along it. */
function lineStd(l: Raster, horizontal: boolean, index: number, from: number, to: number): number {
  let s = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const v = horizontal ? l.data[index * l.width + i] : l.data[i * l.width + index];
    s += v;
    s2 += v * v;
  }
  const n = to - from;
  const mean = s / n;
  return Math.sqrt(Math.max(0, s2 / n - mean * mean));
}

/**
 * Count uniform lines from an edge inwards, each line measured over [lo, hi) only. Any run of
 * flat lines goes, whatever its colour: a pad bar followed by a flat sky must be stripped the
 * same way as the same sky without the bar in the source, or the copy and its source would be
 * described from different crops.
 */
function scan(l: Raster, horizontal: boolean, from: number, step: 1 | -1, limit: number, lo: number, hi: number, o: BorderOptions): number {
  let k = 0;
  while (k < limit && lineStd(l, horizontal, from + step * k, lo, hi) <= o.maxLineStd) k++;
  return k;
}

/**
 * Find the picture inside letterbox/pillarbox bars of any solid colour, so a padded copy
 * describes like its source. A frame that is uniform almost everywhere (a black frame, a fade)
 * keeps its full rectangle: there is no picture to find and quality scoring drops it.
 *
 * Where one axis has true pad bars (solid lines, see `padLineStd`), the other axis is measured
 * again between them: otherwise pillarbox bars make every row of a flat sky look busy, and the
 * copy keeps the sky its source lost. Only solid bars trigger this; re-measuring inside any flat
 * run shrank low-contrast footage (an insect arena, a terminal) pass after pass and made chance
 * matches (accuracy benchmark: 3 false positives against none).
 *
 * @example
 * const content = detectContentRect(raster); // { x, y, width, height }
 */
export function detectContentRect(r: Raster, options: BorderOptions = DEFAULT_BORDER_OPTIONS): Rect {
  const l = toLuma(r);
  const maxY = Math.floor(l.height * options.maxFraction);
  const maxX = Math.floor(l.width * options.maxFraction);
  const full = { x: 0, y: 0, width: l.width, height: l.height };
  const solid = { ...options, maxLineStd: options.padLineStd };
  let top = scan(l, true, 0, 1, maxY, 0, l.width, options);
  let bottom = scan(l, true, l.height - 1, -1, maxY, 0, l.width, options);
  let left = scan(l, false, 0, 1, maxX, 0, l.height, options);
  let right = scan(l, false, l.width - 1, -1, maxX, 0, l.height, options);
  // Bars as deep as allowed on two opposite sides: no picture edge was found, the frame is
  // (nearly) uniform. Without this a black frame came out as its centre fifth.
  if ((top >= maxY && bottom >= maxY) || (left >= maxX && right >= maxX)) return full;
  // Lines are measured a little inside the solid bars of the other axis: the picture's edge
  // next to a bar is blended with it by scaling and compression.
  const padOf = (n: number, min: number) => (n >= min ? n + EDGE_BLEND : 0);
  const padL = padOf(scan(l, false, 0, 1, maxX, 0, l.height, solid), l.width * MIN_PAD_FRACTION);
  const padR = padOf(scan(l, false, l.width - 1, -1, maxX, 0, l.height, solid), l.width * MIN_PAD_FRACTION);
  const padT = padOf(scan(l, true, 0, 1, maxY, 0, l.width, solid), l.height * MIN_PAD_FRACTION);
  const padB = padOf(scan(l, true, l.height - 1, -1, maxY, 0, l.width, solid), l.height * MIN_PAD_FRACTION);
  if (padL || padR) {
    top = Math.max(top, scan(l, true, 0, 1, maxY, padL, l.width - padR, options));
    bottom = Math.max(bottom, scan(l, true, l.height - 1, -1, maxY, padL, l.width - padR, options));
  }
  if (padT || padB) {
    left = Math.max(left, scan(l, false, 0, 1, maxX, padT, l.height - padB, options));
    right = Math.max(right, scan(l, false, l.width - 1, -1, maxX, padT, l.height - padB, options));
  }
  if ((top >= maxY && bottom >= maxY) || (left >= maxX && right >= maxX)) return full;
  const width = l.width - left - right;
  const height = l.height - top - bottom;
  if (width < l.width * 0.2 || height < l.height * 0.2) return full;
  return { x: left, y: top, width, height };
}

/**
 * Which of a confirmed segment's two time lines shows the copy, by its pixels.
 *
 * Refinement weighs real time against the rate fitted through the chain, by descriptor
 * similarity. On footage that barely changes (a static camera with small moving subjects) the
 * two compare alike: a real-time copy was reported as a 0.26× chain creeping along it, and true
 * 1.2× copies as real time. Once geometry has confirmed the copy, its model says where each query
 * pixel lies in the reference: the query frame, and the reference frame each line names for the
 * same moment, are compared pixel by pixel through that model. The frames are those of
 * verification's pairs, the other line's decoded beside the line's in the same ffmpeg process. The right line's frames correlate
 * at 0.95–1.0 on moving footage; the wrong line's at 0.3–0.9 (tuning split, RESULTS.md,
 * session 12). On static footage both correlate alike, and real time stands.
 */
import type { NormRect, Raster } from '../frames/raster.js';
import type { Affine } from './local-features.js';
import { applyAffine } from './local-features.js';
import type { TimeLine } from './segment-verification.js';

/** The frames of one verified pair for the comparison: the query's, the line's reference frame and the other line's. */
export interface LinePair {
  query: Raster;
  line: Raster;
  other: Raster;
}

/** Mean pixel agreement of a segment's line (0) and its other line (1) over the pairs compared. */
export interface TimeLineComparison {
  /** Mean normalised cross-correlation of the query's frames with each line's reference frames. */
  agreement: [number, number];
  moments: number;
}

/** The reference instant a time line names for query time t. */
export function refAtLine(line: TimeLine, t: number): number {
  return line.refStart + line.speed * (t - line.queryStart);
}

/**
 * Normalised cross-correlation of the query frame with the reference frame seen through `model`
 * (query 0–1 → reference 0–1), over the query pixels inside `window` (fractions of the query
 * frame; the whole frame by default) that land inside the reference frame. NaN when fewer than
 * 200 pixels do, or either side is flat.
 *
 * @example
 * const ncc = pixelAgreement(queryFrame, refFrame, [1, 0, 0, 0, 1, 0]); // 1 for the same picture
 */
export function pixelAgreement(query: Raster, ref: Raster, model: Affine, window?: NormRect): number {
  const w = window ?? { x: 0, y: 0, width: 1, height: 1 };
  const x0 = Math.max(0, Math.floor(w.x * query.width));
  const x1 = Math.min(query.width, Math.ceil((w.x + w.width) * query.width));
  const y0 = Math.max(0, Math.floor(w.y * query.height));
  const y1 = Math.min(query.height, Math.ceil((w.y + w.height) * query.height));
  // Every second pixel each way: the frames are 320 px wide, and neighbours say the same.
  const step = 2;
  let n = 0;
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  const rw = ref.width;
  const rd = ref.data;
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const [u, v] = applyAffine(model, (x + 0.5) / query.width, (y + 0.5) / query.height);
      const rx = u * rw - 0.5;
      const ry = v * ref.height - 0.5;
      if (rx < 0 || ry < 0 || rx >= rw - 1 || ry >= ref.height - 1) continue;
      const ix = Math.floor(rx);
      const iy = Math.floor(ry);
      const fx = rx - ix;
      const fy = ry - iy;
      const k = iy * rw + ix;
      const b = (rd[k] * (1 - fx) + rd[k + 1] * fx) * (1 - fy) + (rd[k + rw] * (1 - fx) + rd[k + rw + 1] * fx) * fy;
      const a = query.data[y * query.width + x];
      n++;
      sa += a;
      sb += b;
      saa += a * a;
      sbb += b * b;
      sab += a * b;
    }
  }
  if (n < 200) return NaN;
  const va = saa / n - (sa / n) ** 2;
  const vb = sbb / n - (sb / n) ** 2;
  // A flat side (a black frame, a fade) correlates with nothing: it cannot tell the lines apart.
  if (va < 4 || vb < 4) return NaN;
  return (sab / n - (sa / n) * (sb / n)) / Math.sqrt(va * vb);
}

/**
 * How each line's reference frames agree with the query's frames through the verified model
 * (query 0–1 → reference 0–1), over the pairs where both sides have texture; null when none has.
 * The frames come from verification's own decode (verify-segments.ts): no decode here.
 *
 * @example
 * const c = compareLines(pairs, model);
 * if (c && 1 - c.agreement[1] <= 0.75 * (1 - c.agreement[0])) useTheOtherLine();
 */
export function compareLines(pairs: readonly LinePair[], model: Affine): TimeLineComparison | null {
  const sums: [number, number] = [0, 0];
  let n = 0;
  for (const p of pairs) {
    const a = pixelAgreement(p.query, p.line, model);
    const b = pixelAgreement(p.query, p.other, model);
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    sums[0] += a;
    sums[1] += b;
    n++;
  }
  return n ? { agreement: [sums[0] / n, sums[1] / n], moments: n } : null;
}

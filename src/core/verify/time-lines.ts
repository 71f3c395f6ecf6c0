/**
 * Which of a confirmed segment's two time lines shows the copy, by its pixels.
 *
 * Refinement weighs real time against the rate fitted through the chain, by descriptor
 * similarity. On footage that barely changes (a static camera with small moving subjects) the
 * two compare alike: a real-time copy was reported as a 0.26× chain creeping along it, and true
 * 1.2× copies as real time. Once geometry has confirmed the copy, its model says where each query
 * pixel lies in the reference: the query frame, and the reference frame each line names for the
 * same moment, are compared pixel by pixel through that model. The right line's frames correlate
 * at 0.95–1.0 on moving footage; the wrong line's at 0.3–0.9 (tuning split, RESULTS.md,
 * session 12). On static footage both correlate alike, and real time stands.
 */
import type { Raster } from '../frames/raster.js';
import type { NormRect } from '../frames/raster.js';
import { grabLumaFrames } from '../media/frame-grab.js';
import { AbortedError } from '../errors/retrace-error.js';
import type { Affine } from './local-features.js';
import { applyAffine } from './local-features.js';
import type { QueryMedia, VerifyCandidate } from './verify-segments.js';
import type { VerifySettings } from '../settings/verify-settings.js';

/** A time line: the reference instant shown at query time t is `refAt(t)`. */
export interface LineOfSegment {
  queryStart: number;
  queryEnd: number;
  refStart: number;
  refEnd: number;
}

/** Mean pixel agreement of each line at the moments where they part, or null when none could be compared. */
export interface TimeLineComparison {
  /** Mean normalised cross-correlation of the query's frames with each line's reference frames. */
  agreement: [number, number];
  moments: number;
}

const refAt = (l: LineOfSegment, t: number): number => {
  const span = l.queryEnd - l.queryStart;
  return span > 0 ? l.refStart + ((l.refEnd - l.refStart) * (t - l.queryStart)) / span : l.refStart;
};

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
 * Compare two lines of one segment at up to `s.timeLineMoments` query moments spread over the
 * stretch both cover, where their reference instants lie at least `s.timeLineMinGapSec` apart.
 * One decode of the query and one of the reference (fast seeks), at the verification width.
 *
 * @example
 * const c = await compareTimeLines(query, ref, [realTimeSeg, fittedSeg], model, undefined, DEFAULT_SEARCH.verify);
 * if (c && c.agreement[1] > c.agreement[0] + 0.02) useFitted();
 */
export async function compareTimeLines(
  query: QueryMedia,
  ref: VerifyCandidate['ref'],
  lines: readonly [LineOfSegment, LineOfSegment],
  model: Affine,
  window: NormRect | undefined,
  s: Pick<VerifySettings, 'widthPx' | 'timeLineMoments' | 'timeLineMinGapSec'>,
  signal?: AbortSignal,
): Promise<TimeLineComparison | null> {
  const [a, b] = lines;
  const lastQuery = query.durationSec && query.durationSec > 0 ? query.durationSec - 0.1 : Infinity;
  const from = Math.max(a.queryStart, b.queryStart, 0);
  const to = Math.min(a.queryEnd, b.queryEnd, lastQuery);
  if (!(to > from) || s.timeLineMoments <= 0) return null;
  const lastRef = Math.max(0, ref.durationSec - 0.1);
  const moments: number[] = [];
  for (let i = 0; i < s.timeLineMoments; i++) {
    const t = from + ((i + 0.5) * (to - from)) / s.timeLineMoments;
    const ra = refAt(a, t);
    const rb = refAt(b, t);
    if (Math.abs(ra - rb) < s.timeLineMinGapSec) continue;
    if (ra < 0 || rb < 0 || ra > lastRef || rb > lastRef) continue;
    moments.push(Math.round(t * 1000) / 1000);
  }
  if (!moments.length) return null;
  if (signal?.aborted) throw new AbortedError();
  const refTimes = moments.flatMap((t) => [refAt(a, t), refAt(b, t)].map((x) => Math.round(x * 1000) / 1000));
  // Both decodes at once, each sorted for its seeks; a failure (a file that no longer decodes) leaves the line as refined.
  const order = refTimes.map((t, i) => ({ t, i })).sort((x, y) => x.t - y.t);
  let queryFrames: Raster[];
  let sortedRefs: Raster[];
  try {
    [queryFrames, sortedRefs] = await Promise.all([
      grabLumaFrames(query.path, moments, { width: s.widthPx, displayWidth: query.width, displayHeight: query.height, signal }),
      grabLumaFrames(
        ref.path,
        order.map((o) => o.t),
        { width: s.widthPx, displayWidth: ref.width, displayHeight: ref.height, signal },
      ),
    ]);
  } catch (e) {
    if (e instanceof AbortedError) throw e;
    return null;
  }
  const refFrames: Raster[] = new Array(refTimes.length);
  order.forEach((o, k) => (refFrames[o.i] = sortedRefs[k]));
  const sums: [number, number] = [0, 0];
  let n = 0;
  for (let m = 0; m < moments.length; m++) {
    const ca = pixelAgreement(queryFrames[m], refFrames[2 * m], model, window);
    const cb = pixelAgreement(queryFrames[m], refFrames[2 * m + 1], model, window);
    if (Number.isNaN(ca) || Number.isNaN(cb)) continue;
    sums[0] += ca;
    sums[1] += cb;
    n++;
  }
  return n ? { agreement: [sums[0] / n, sums[1] / n], moments: n } : null;
}

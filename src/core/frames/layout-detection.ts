import type { Raster, Rect } from './raster.js';
import { toLuma } from './raster.js';
import type { LayoutOptions, PortraitGuessOptions } from '../settings/frame-settings.js';
import { DEFAULT_LAYOUT, PORTRAIT_GUESS } from '../settings/frame-settings.js';
export type { LayoutOptions } from '../settings/frame-settings.js';
export { DEFAULT_LAYOUT } from '../settings/frame-settings.js';

/**
 * How a query frame is laid out when it carries more than one picture:
 * - `blur-surround`: one sharp picture inside a blurred, enlarged copy of itself (the vertical
 *   repost of a landscape clip, or a portrait clip in a landscape canvas);
 * - `split`: two pictures side by side or one above the other (reaction and comparison videos).
 */
export type LayoutKind = 'blur-surround' | 'split';

export interface Layout {
  kind: LayoutKind;
  /** The panels that carry a picture of their own, in raster pixels of the frames given. */
  panels: Rect[];
  /** Not found in the frames but assumed from the query's shape (see `guessPortraitLayout`). */
  guessed?: boolean;
}

/**
 * The layout a portrait query most likely has when none was found in its frames: a landscape
 * picture fitted to the canvas's width and centred, over a blurred copy too soft or too flat to
 * tell from the picture (a bokeh flower, a grey arena). One panel per usual source shape; each
 * is searched as a picture besides the whole frame, and verification judges what it finds.
 * Null for a query wider than `maxAspect`.
 *
 * @example
 * guessPortraitLayout(128, 128, 9 / 16); // panels: the 16:9 band (y 44–84) and the 4:3 band
 */
export function guessPortraitLayout(width: number, height: number, displayAspect: number, o: PortraitGuessOptions = PORTRAIT_GUESS): Layout | null {
  if (displayAspect > o.maxAspect) return null;
  const panels = o.sourceAspects.map((a) => {
    const h = Math.round((height * displayAspect) / a);
    return { x: 0, y: Math.round((height - h) / 2), width, height: h };
  });
  return { kind: 'blur-surround', panels, guessed: true };
}

/**
 * Find the parts of a query that carry a picture of their own, from several of its frames (at
 * least 3: one frame cannot tell a split line from an edge in one scene). Returns null for an
 * ordinary frame. A blurred surround is looked for first (its sharp picture's edges would also
 * pass for split lines), then a split along either axis.
 *
 * @example
 * const layout = detectLayout(frames.map((f) => f.raster));
 * // { kind: 'blur-surround', panels: [{ x: 0, y: 44, width: 128, height: 40 }] }
 */
export function detectLayout(frames: readonly Raster[], o: LayoutOptions = DEFAULT_LAYOUT): Layout | null {
  if (frames.length < 3) return null;
  const lumas = frames.map(toLuma);
  const { width: W, height: H } = lumas[0];
  if (W < 16 || H < 16) return null;
  const rows = sharpBand(lumas, 'rows', o);
  const cols = sharpBand(lumas, 'cols', o);
  const band = rows && cols ? (rows.score >= cols.score ? rows : cols) : (rows ?? cols);
  if (band) {
    const rect =
      band.axis === 'rows' ? { x: 0, y: band.from, width: W, height: band.to - band.from } : { x: band.from, y: 0, width: band.to - band.from, height: H };
    return { kind: 'blur-surround', panels: [rect] };
  }
  const split = splitLine(lumas, o);
  if (split) {
    const { axis, at } = split;
    // One pixel off each side of the line: its own pixels mix the two pictures.
    const panels: Rect[] =
      axis === 'cols'
        ? [
            { x: 0, y: 0, width: at - 1, height: H },
            { x: at + 1, y: 0, width: W - at - 1, height: H },
          ]
        : [
            { x: 0, y: 0, width: W, height: at - 1 },
            { x: 0, y: at + 1, width: W, height: H - at - 1 },
          ];
    return { kind: 'split', panels };
  }
  return null;
}

type Axis = 'rows' | 'cols';

/**
 * Per line across the axis (each row for 'rows'), fine and coarse gradient energy summed over
 * the frames, measured along the line: fine = |second difference|, coarse = |difference over 8 px|.
 */
function lineEnergies(lumas: readonly Raster[], axis: Axis): { fine: Float64Array; coarse: Float64Array; across: Float64Array; len: number } {
  const { width: W, height: H } = lumas[0];
  const n = axis === 'rows' ? H : W;
  const len = axis === 'rows' ? W : H;
  const fine = new Float64Array(n);
  const coarse = new Float64Array(n);
  const across = new Float64Array(n);
  for (const l of lumas) {
    const d = l.data;
    const at = axis === 'rows' ? (line: number, a: number) => d[line * W + a] : (line: number, a: number) => d[a * W + line];
    for (let line = 0; line < n; line++) {
      let f = 0;
      let c = 0;
      let x = 0;
      const before = Math.max(0, line - 4);
      const after = Math.min(n - 1, line + 4);
      for (let a = 4; a < len - 4; a++) {
        const v = at(line, a);
        f += Math.abs(2 * v - at(line, a - 1) - at(line, a + 1));
        c += Math.abs(at(line, a + 4) - at(line, a - 4));
        x += Math.abs(at(after, a) - at(before, a));
      }
      fine[line] += f;
      coarse[line] += c;
      across[line] += x;
    }
  }
  const norm = lumas.length * Math.max(1, len - 8);
  for (let i = 0; i < n; i++) {
    fine[i] /= norm;
    coarse[i] /= norm;
    across[i] /= norm;
  }
  return { fine, coarse, across, len };
}

/**
 * The band of lines whose picture is sharp between margins that show a picture (coarse
 * gradients) without fine detail: the blurred surround of a re-framed repost. The band's bounds
 * are the best fit of a margin–band–margin step to the lines' fine energy; the fit must then
 * show margins on both sides, each a blurred picture and not bars, with much less fine detail
 * than the band. (Fine over coarse energy, which ignores how busy a line is, separated less:
 * a blurred margin keeps little coarse gradient either, 0.12 against 0.25–0.3 in the band of a
 * generated repost, where fine energy alone gave 0.7 against 2–3.5.)
 */
function sharpBand(lumas: readonly Raster[], axis: Axis, o: LayoutOptions): { axis: Axis; from: number; to: number; score: number } | null {
  const { fine, coarse, across } = lineEnergies(lumas, axis);
  const n = fine.length;
  const cx = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) cx[i + 1] = cx[i] + across[i];
  // Sums of fine energy and its square, for the step fit.
  const cf = new Float64Array(n + 1);
  const cf2 = new Float64Array(n + 1);
  const cw = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    cf[i + 1] = cf[i] + fine[i];
    cf2[i + 1] = cf2[i] + fine[i] * fine[i];
    cw[i + 1] = cw[i] + coarse[i];
  }
  const sse = (a: number, b: number) => (b > a ? cf2[b] - cf2[a] - (cf[b] - cf[a]) ** 2 / (b - a) : 0);
  const mean = (a: number, b: number) => (cf[b] - cf[a]) / Math.max(1, b - a);
  // Coarse gradient along and across the lines: a blurred picture keeps some, bars have none.
  const gradient = (a: number, b: number) => (cw[b] - cw[a] + cx[b] - cx[a]) / Math.max(1, b - a);
  const minMargin = Math.max(2, Math.round(0.06 * n));
  const minLen = Math.ceil(o.minSharpFraction * n);
  const maxLen = Math.floor(o.maxSharpFraction * n);
  let fit: { from: number; to: number; err: number } | null = null;
  for (let from = minMargin; from <= n - minMargin - minLen; from++) {
    for (let to = from + minLen; to <= Math.min(n - minMargin, from + maxLen); to++) {
      const err = sse(0, from) + sse(from, to) + sse(to, n);
      if (!fit || err < fit.err) fit = { from, to, err };
    }
  }
  if (!fit) return null;
  const { from, to } = fit;
  // Re-framed reposts centre the picture; a sharp panel at one side is a screen's layout.
  if (Math.abs((from + to) / 2 / n - 0.5) > o.bandCentreSlack) return null;
  // Measured a little away from the bounds: the picture's own edge is sharp, and a bound may be off by a line.
  const gap = Math.max(1, Math.round(n * 0.02));
  const margins: Array<[number, number]> = [
    [0, from - gap],
    [to + gap, n],
  ];
  if (margins.some(([a, b]) => b - a < 2 || gradient(a, b) < o.minMarginGradient)) return null;
  const inside = mean(from + gap, to - gap);
  const outside = Math.max(...margins.map(([a, b]) => mean(a, b)));
  if (!(inside > 0) || outside > o.maxBlurRatio * inside) return null;
  // And blurred, not merely calmer: fine detail per coarse gradient must drop too. A calm floor
  // under a busy scene has little fine energy but keeps its sharpness.
  const sharpness = (a: number, b: number) => (cf[b] - cf[a]) / Math.max(1e-6, cw[b] - cw[a]);
  const inSharp = sharpness(from + gap, to - gap);
  if (margins.some(([a, b]) => sharpness(a, b) > o.maxSharpnessRatio * inSharp)) return null;
  return { axis, from, to, score: inside / Math.max(1e-6, outside) };
}

/** A straight line near the frame's centre, an edge along nearly its whole length, between unrelated pictures. */
function splitLine(lumas: readonly Raster[], o: LayoutOptions): { axis: Axis; at: number } | null {
  const { width: W, height: H } = lumas[0];
  let best: { axis: Axis; at: number; coverage: number } | null = null;
  for (const axis of ['cols', 'rows'] as const) {
    const n = axis === 'cols' ? W : H;
    const len = axis === 'cols' ? H : W;
    const px = (l: Raster, line: number, a: number) => (axis === 'cols' ? l.data[a * W + line] : l.data[line * W + a]);
    // Time-summed absolute difference across the boundary before position p, per pixel along it.
    const diff = (p: number, a: number) => lumas.reduce((s, l) => s + Math.abs(px(l, p, a) - px(l, p - 1, a)), 0);
    // Position p also looks at the boundary after it (p + 1), hence the upper bound's − 1.
    const lo = Math.max(3, Math.round((0.5 - o.splitCentreSlack) * n));
    const hi = Math.min(n - 4, Math.round((0.5 + o.splitCentreSlack) * n) - 1);
    for (let p = lo; p <= hi; p++) {
      let covered = 0;
      for (let a = 0; a < len; a++) {
        // An edge can fall between two output pixels and split over two positions.
        const s = Math.max(diff(p, a), diff(p + 1, a));
        const around = (diff(p - 2, a) + diff(p + 3, a)) / 2;
        if (s > o.splitMinContrast * around + lumas.length * 1.5) covered++;
      }
      const coverage = covered / len;
      if (coverage >= o.splitMinCoverageUncorrelated && (!best || coverage > best.coverage)) best = { axis, at: p, coverage };
    }
  }
  if (!best) return null;
  // The sides must be different pictures: correlate the luma two pixels either side over
  // every frame and position along the line.
  const { axis, at, coverage } = best;
  const px = (l: Raster, line: number, a: number) => (axis === 'cols' ? l.data[a * W + line] : l.data[line * W + a]);
  const len = axis === 'cols' ? H : W;
  const left: number[] = [];
  const right: number[] = [];
  for (const l of lumas) {
    for (let a = 0; a < len; a++) {
      left.push(px(l, at - 2, a));
      right.push(px(l, Math.min((axis === 'cols' ? W : H) - 1, at + 2), a));
    }
  }
  // A flat side (the bar of a panel letterboxed within its half) shares nothing with the other:
  // a correlation with it is undefined, not high.
  const r = Math.min(deviation(left), deviation(right)) < o.splitFlatDeviation ? 0 : correlation(left, right);
  if (coverage >= o.splitMinCoverage) return r <= o.splitMaxCorrelation ? { axis, at } : null;
  return Math.abs(r) <= o.splitMaxCorrelationWeakEdge ? { axis, at } : null;
}

/** Standard deviation of the values. */
function deviation(a: readonly number[]): number {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return Math.sqrt(s / a.length);
}

function correlation(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 1;
}

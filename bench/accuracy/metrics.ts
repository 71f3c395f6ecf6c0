/**
 * Pure metric functions of the accuracy benchmark.
 *
 * Segment precision/recall follow VCSL (He et al., CVPR 2022, `vcsl/metric.py`):
 * a copied segment is a box [queryStart, queryEnd] × [refStart, refEnd]. For one
 * (query, reference) pair with predicted boxes P and ground-truth boxes G, every
 * P×G pair that overlaps on both axes contributes its intersection box; the
 * x-projections (query axis) and y-projections (reference axis) of those
 * intersection boxes are unioned:
 *   precision = |∪ inter_q| / |∪ P_q| · |∪ inter_r| / |∪ P_r|
 *   recall    = |∪ inter_q| / |∪ G_q| · |∪ inter_r| / |∪ G_r|
 * With predictions but no ground truth: P = 0, R = 1; ground truth but no
 * prediction: P = 1, R = 0 (VCSL's conventions); F is their harmonic mean.
 */

export interface Segment2D {
  queryStart: number;
  queryEnd: number;
  refStart: number;
  refEnd: number;
}

export interface Interval {
  start: number;
  end: number;
}

/** Total length covered by a set of intervals (overlaps counted once; empty/reversed intervals ignored). */
export function unionLength(intervals: readonly Interval[]): number {
  const iv = intervals.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  let total = 0;
  let curS = -Infinity;
  let curE = -Infinity;
  for (const { start, end } of iv) {
    if (start > curE) {
      if (curE > curS) total += curE - curS;
      curS = start;
      curE = end;
    } else if (end > curE) {
      curE = end;
    }
  }
  if (curE > curS) total += curE - curS;
  return total;
}

export function fScore(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

export interface SegmentScores {
  precision: number;
  recall: number;
  f: number;
}

/** VCSL segment precision / recall / F for one (query, reference) pair. */
export function segmentPrecisionRecall(pred: readonly Segment2D[], gt: readonly Segment2D[]): SegmentScores {
  const valid = (s: Segment2D): boolean => s.queryEnd > s.queryStart && s.refEnd > s.refStart;
  const P = pred.filter(valid);
  const G = gt.filter(valid);
  if (P.length === 0 && G.length === 0) return { precision: 1, recall: 1, f: 1 };
  if (P.length === 0) return { precision: 1, recall: 0, f: 0 };
  if (G.length === 0) return { precision: 0, recall: 1, f: 0 };
  const interQ: Interval[] = [];
  const interR: Interval[] = [];
  for (const p of P) {
    for (const g of G) {
      const qs = Math.max(p.queryStart, g.queryStart);
      const qe = Math.min(p.queryEnd, g.queryEnd);
      const rs = Math.max(p.refStart, g.refStart);
      const re = Math.min(p.refEnd, g.refEnd);
      if (qe > qs && re > rs) {
        interQ.push({ start: qs, end: qe });
        interR.push({ start: rs, end: re });
      }
    }
  }
  const iq = unionLength(interQ);
  const ir = unionLength(interR);
  const pq = unionLength(P.map((s) => ({ start: s.queryStart, end: s.queryEnd })));
  const pr = unionLength(P.map((s) => ({ start: s.refStart, end: s.refEnd })));
  const gq = unionLength(G.map((s) => ({ start: s.queryStart, end: s.queryEnd })));
  const gr = unionLength(G.map((s) => ({ start: s.refStart, end: s.refEnd })));
  const precision = (iq / pq) * (ir / pr);
  const recall = (iq / gq) * (ir / gr);
  return { precision, recall, f: fScore(precision, recall) };
}

// ---------------------------------------------------------------------------
// Ground-truth transforms

/** A rectangle as fractions (0–1) of a frame; the engine's `NormRect`. */
export interface NormRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * How a query's copy was altered, from its drawn parameters, in the units of the engine's
 * `MatchTransform` (src/core/verify/segment-verification.ts).
 */
export interface TruthTransform {
  /** The copy is the reference mirrored left–right (flip, and combos with flip). */
  mirrored: boolean;
  /** Reference seconds per query second (2 = the copy plays twice as fast); 1 for stills. */
  speed: number;
  /**
   * The part of the reference frame the copy shows, as fractions of the reference frame: the
   * crop rectangle of crop families, the whole frame where nothing is cut. Absent where it is no
   * single rectangle (rotations; a panning reframe, see `refRectPath`).
   */
  refRect?: NormRect;
  /** A panning reframe: the window at the start and at the end of the query (it moves linearly between). */
  refRectPath?: { from: NormRect; to: NormRect };
  /** Where the copy lies in the query frame (pad, pip, inset, split, blurred-background vertical), as fractions of the query frame. */
  queryRect: NormRect;
}

// ---------------------------------------------------------------------------
// Per-query evaluation

/** The part of an engine match the metrics need. */
export interface PredictedMatch {
  /** Reference clip the matched video corresponds to (resolved by the caller), or null if unknown. */
  source: string | null;
  score: number;
  segments: Segment2D[];
}

export interface QueryTruth {
  kind: 'video' | 'image';
  positive: boolean;
  /** Reference clip the query copies (null for negatives). */
  source: string | null;
  /** Video positives: ground-truth boxes against `source`. */
  truth: Segment2D[];
  /** Image positives: timestamp of the frame in `source`. */
  imageTime?: number;
}

export interface QueryOutcome {
  /** Top-1 match is the right source (positives only). */
  top1Correct: boolean;
  /** The right source appears anywhere in the list (positives only). */
  found: boolean;
  /** Rank (1-based) of the right source, or null. */
  rank: number | null;
  /** Any match returned (for negatives this is a false positive). */
  anyMatch: boolean;
  /** Positives: matches for other sources returned alongside. */
  extraMatches: number;
  /** Video positives: VCSL scores against the right source's predicted segments. */
  segment: SegmentScores | null;
  /** Image positives whose top-1 is right: timestamp error in seconds. */
  timestampError: number | null;
}

/** Distance from a reference bracket to the true time: 0 inside it, else |midpoint − time|. */
export function timestampError(bracket: { refStart: number; refEnd: number }, time: number): number {
  const lo = Math.min(bracket.refStart, bracket.refEnd);
  const hi = Math.max(bracket.refStart, bracket.refEnd);
  if (time >= lo && time <= hi) return 0;
  return Math.abs((lo + hi) / 2 - time);
}

export function evaluateQuery(q: QueryTruth, matches: readonly PredictedMatch[]): QueryOutcome {
  const anyMatch = matches.length > 0;
  if (!q.positive || q.source === null) {
    return { top1Correct: false, found: false, rank: null, anyMatch, extraMatches: matches.length, segment: null, timestampError: null };
  }
  const idx = matches.findIndex((m) => m.source === q.source);
  const rank = idx >= 0 ? idx + 1 : null;
  const top1Correct = idx === 0;
  const extraMatches = matches.filter((m) => m.source !== q.source).length;
  let segment: SegmentScores | null = null;
  let tsErr: number | null = null;
  if (q.kind === 'video') {
    const pred = idx >= 0 ? (matches[idx] as PredictedMatch).segments : [];
    segment = segmentPrecisionRecall(pred, q.truth);
  } else if (top1Correct && q.imageTime !== undefined) {
    const best = (matches[0] as PredictedMatch).segments[0];
    tsErr = best ? timestampError(best, q.imageTime) : null;
  }
  return { top1Correct, found: idx >= 0, rank, anyMatch, extraMatches, segment, timestampError: tsErr };
}

// ---------------------------------------------------------------------------
// Aggregation

/** Linear-interpolated percentile (p in 0–100) of a list; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (v[lo] as number) + ((v[hi] as number) - (v[lo] as number)) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Fraction of negative outcomes with any match. */
export function falsePositiveRate(negatives: readonly Pick<QueryOutcome, 'anyMatch'>[]): number {
  return negatives.length === 0 ? NaN : negatives.filter((o) => o.anyMatch).length / negatives.length;
}

/** Fraction of positive outcomes whose top-1 is the right source. */
export function recallAt1(positives: readonly Pick<QueryOutcome, 'top1Correct'>[]): number {
  return positives.length === 0 ? NaN : positives.filter((o) => o.top1Correct).length / positives.length;
}

export interface EvaluatedQuery {
  kind: 'video' | 'image';
  positive: boolean;
  outcome: QueryOutcome;
  latencyMs: number;
  /** The search threw (counted as "no match"). */
  error: boolean;
}

export interface GroupMetrics {
  queries: number;
  positives: number;
  negatives: number;
  errors: number;
  /** Video positives: top-1 is the right source. */
  recallAt1: number;
  /** Video positives: right source anywhere in the list. */
  recallAny: number;
  /** VCSL segment measures, averaged over video positives (misses count as P=1, R=0, F=0). */
  segmentPrecision: number;
  segmentRecall: number;
  segmentF: number;
  /** Negatives (video and image) with any match. */
  falsePositiveRate: number;
  /** Positives that also listed some other (wrong) video. */
  extraMatchRate: number;
  /** Image positives: top-1 is the right source. */
  imageRecallAt1: number;
  /** Image positives with a right top-1: timestamp error (s). */
  timestampErrorMean: number;
  timestampErrorMedian: number;
  /** Share of image positives with a right top-1 and timestamp error ≤ 1 s. */
  timestampWithin1s: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
}

export function aggregate(items: readonly EvaluatedQuery[]): GroupMetrics {
  const vidPos = items.filter((i) => i.positive && i.kind === 'video');
  const imgPos = items.filter((i) => i.positive && i.kind === 'image');
  const pos = items.filter((i) => i.positive);
  const neg = items.filter((i) => !i.positive);
  const seg = vidPos.map((i) => i.outcome.segment ?? { precision: 1, recall: 0, f: 0 });
  const ts = imgPos.map((i) => i.outcome.timestampError).filter((x): x is number => x !== null);
  const lat = items.map((i) => i.latencyMs);
  return {
    queries: items.length,
    positives: pos.length,
    negatives: neg.length,
    errors: items.filter((i) => i.error).length,
    recallAt1: recallAt1(vidPos.map((i) => i.outcome)),
    recallAny: vidPos.length === 0 ? NaN : vidPos.filter((i) => i.outcome.found).length / vidPos.length,
    segmentPrecision: mean(seg.map((s) => s.precision)),
    segmentRecall: mean(seg.map((s) => s.recall)),
    segmentF: mean(seg.map((s) => s.f)),
    falsePositiveRate: falsePositiveRate(neg.map((i) => i.outcome)),
    extraMatchRate: pos.length === 0 ? NaN : pos.filter((i) => i.outcome.extraMatches > 0).length / pos.length,
    imageRecallAt1: recallAt1(imgPos.map((i) => i.outcome)),
    timestampErrorMean: mean(ts),
    timestampErrorMedian: percentile(ts, 50),
    timestampWithin1s: imgPos.length === 0 ? NaN : ts.filter((e) => e <= 1).length / imgPos.length,
    latencyP50Ms: percentile(lat, 50),
    latencyP95Ms: percentile(lat, 95),
  };
}

// ---------------------------------------------------------------------------
// Rates with a confidence bound

/** P(X ≤ k) for X ~ Binomial(n, p), summed in log space (no underflow at n in the thousands). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const logRatio = Math.log(p) - Math.log1p(-p);
  let logTerm = n * Math.log1p(-p);
  let maxLog = logTerm;
  const logs = [logTerm];
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log((n - i + 1) / i) + logRatio;
    logs.push(logTerm);
    if (logTerm > maxLog) maxLog = logTerm;
  }
  let sum = 0;
  for (const l of logs) sum += Math.exp(l - maxLog);
  return Math.min(1, Math.exp(maxLog) * sum);
}

/**
 * One-sided upper confidence bound of a binomial proportion k/n, exact (Clopper–Pearson): the p
 * at which P(X ≤ k) = 1 − level. With k = 0 this is 1 − (1 − level)^(1/n), ≈ 3/n at 95 %
 * (the rule of three). NaN for n = 0.
 */
export function binomialUpperBound(k: number, n: number, level = 0.95): number {
  if (n <= 0) return NaN;
  if (k >= n) return 1;
  const alpha = 1 - level;
  if (k <= 0) return 1 - alpha ** (1 / n);
  let lo = k / n;
  let hi = 1;
  for (let it = 0; it < 200 && hi - lo > 1e-12; it++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface RateWithBound {
  n: number;
  matched: number;
  /** matched / n (NaN when n = 0). */
  rate: number;
  /** One-sided 95 % upper bound of the rate (Clopper–Pearson; ≈ 3/n when nothing matched). */
  upper95: number;
}

export function rateWithBound(matched: number, n: number): RateWithBound {
  return { n, matched, rate: n === 0 ? NaN : matched / n, upper95: binomialUpperBound(matched, n) };
}

// ---------------------------------------------------------------------------
// Transform accuracy (issue 14: "the transform's mirror flag right on ≥ 0.98 of verified flip /
// non-flip positives; speed within 10 % on the speed family; crop rectangle IoU ≥ 0.8 on the crop
// family")

/** Speed counts as right within this relative error. */
export const SPEED_TOLERANCE = 0.1;
/** A crop rectangle counts as right from this IoU. */
export const CROP_IOU_THRESHOLD = 0.8;
/** A copy counts as cropped (scored on IoU) when its refRect keeps less of the frame than this. */
export const CROPPED_MAX_AREA = 0.98;

/** The part of an engine segment's `transform` the scoring reads (units of `MatchTransform`). */
export interface PredictedTransform {
  mirrored: boolean;
  /** Reference seconds per query second. */
  speed: number;
  /** The part of the reference frame the query shows, fractions of the reference frame. */
  refRect: NormRect;
}

/** A predicted segment with what verification said of it. */
export interface TransformedSegment extends Segment2D {
  /** Verification confirmed it with geometry (the engine's `verified`). */
  verified: boolean;
  /** Null unless verified. */
  transform: PredictedTransform | null;
  score?: number;
}

/** Intersection over union of two rectangles; 0 when they do not overlap or either is empty. */
export function rectIoU(a: NormRect, b: NormRect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Query-axis overlap of a segment with the ground-truth boxes. */
function queryOverlap(s: Segment2D, truth: readonly Segment2D[]): number {
  let sum = 0;
  for (const t of truth) sum += Math.max(0, Math.min(s.queryEnd, t.queryEnd) - Math.max(s.queryStart, t.queryStart));
  return sum;
}

/**
 * The segment whose transform is scored: among the right video's verified segments that carry a
 * transform, the one overlapping the true copy most on the query axis, then the best scored, then
 * the first (stills: the best scored). Null when none is verified.
 */
export function pickTransformSegment<S extends TransformedSegment>(segments: readonly S[], truth: readonly Segment2D[]): S | null {
  let best: S | null = null;
  let bestKey: [number, number] = [-1, -Infinity];
  for (const s of segments) {
    if (!s.verified || !s.transform) continue;
    const key: [number, number] = [queryOverlap(s, truth), s.score ?? 0];
    if (key[0] > bestKey[0] || (key[0] === bestKey[0] && key[1] > bestKey[1])) {
      best = s;
      bestKey = key;
    }
  }
  return best;
}

/** Relative speed error |predicted / truth − 1|. */
export function speedError(predicted: number, truth: number): number {
  return Math.abs(predicted / truth - 1);
}

/** The copy's speed was changed (so the query is scored on speed). */
export function isSpeedChanged(t: TruthTransform): boolean {
  return Math.abs(t.speed - 1) > 0.01;
}

/** The copy is a crop with a known rectangle (so the query is scored on IoU). */
export function isCropped(t: TruthTransform): boolean {
  return t.refRect !== undefined && t.refRect.width * t.refRect.height < CROPPED_MAX_AREA;
}

export interface TransformOutcome {
  /** The right video came back with a verified segment carrying a transform (the one scored). */
  verified: boolean;
  mirrored: { truth: boolean; predicted: boolean | null; right: boolean | null };
  speed: { truth: number; predicted: number | null; relError: number | null; within: boolean | null };
  /** IoU only where the truth has a rectangle (absent after rotations and on panning reframes). */
  refRect: { truth: NormRect | null; predicted: NormRect | null; iou: number | null };
}

/** Score one positive's transform: `segment` is the right video's scored segment (pickTransformSegment), or null. */
export function evaluateTransform(truth: TruthTransform, segment: TransformedSegment | null): TransformOutcome {
  const t = segment?.transform ?? null;
  const truthRect = truth.refRect ?? null;
  const relError = t ? speedError(t.speed, truth.speed) : null;
  return {
    verified: t !== null,
    mirrored: { truth: truth.mirrored, predicted: t ? t.mirrored : null, right: t ? t.mirrored === truth.mirrored : null },
    speed: { truth: truth.speed, predicted: t ? t.speed : null, relError, within: relError === null ? null : relError <= SPEED_TOLERANCE + 1e-9 },
    refRect: { truth: truthRect, predicted: t ? t.refRect : null, iou: t && truthRect ? rectIoU(t.refRect, truthRect) : null },
  };
}

/** hits of n (rate NaN when n = 0). */
export interface Share {
  n: number;
  hits: number;
  rate: number;
}

const share = (hits: number, n: number): Share => ({ n, hits, rate: n === 0 ? NaN : hits / n });

export interface TransformMetrics {
  /** Positives with a ground-truth transform. */
  positives: number;
  /** Of which the right video came back with a verified segment carrying a transform. */
  verified: number;
  /** Mirror flag right, over the verified positives; `flip`: those whose copy is mirrored, `nonFlip`: the others. */
  mirror: Share;
  flip: Share;
  nonFlip: Share;
  /** Speed within 10 % of the truth, over the verified positives whose speed was changed (`positives`: all such positives). */
  speed: Share & { positives: number; medianRelError: number };
  /** Crop rectangle IoU ≥ 0.8, over the verified positives whose copy is a crop (`positives`: all such positives). */
  crop: Share & { positives: number; medianIoU: number };
}

export interface TransformItem {
  positive: boolean;
  truth: TruthTransform | null;
  outcome: TransformOutcome | null;
}

export function aggregateTransforms(items: readonly TransformItem[]): TransformMetrics {
  const scored = items.filter((i): i is TransformItem & { truth: TruthTransform } => i.positive && i.truth !== null);
  const verified = scored.filter((i) => i.outcome?.verified === true);
  const right = (list: typeof verified): number => list.filter((i) => i.outcome?.mirrored.right === true).length;
  const flips = verified.filter((i) => i.truth.mirrored);
  const nonFlips = verified.filter((i) => !i.truth.mirrored);
  const speedAll = scored.filter((i) => isSpeedChanged(i.truth));
  const speedVer = speedAll.filter((i) => i.outcome?.verified === true);
  const speedErrs = speedVer.map((i) => i.outcome?.speed.relError ?? NaN).filter(Number.isFinite);
  const cropAll = scored.filter((i) => isCropped(i.truth));
  const cropVer = cropAll.filter((i) => i.outcome?.verified === true);
  const ious = cropVer.map((i) => i.outcome?.refRect.iou ?? NaN).filter(Number.isFinite);
  return {
    positives: scored.length,
    verified: verified.length,
    mirror: share(right(verified), verified.length),
    flip: share(right(flips), flips.length),
    nonFlip: share(right(nonFlips), nonFlips.length),
    speed: {
      ...share(speedVer.filter((i) => i.outcome?.speed.within === true).length, speedVer.length),
      positives: speedAll.length,
      medianRelError: percentile(speedErrs, 50),
    },
    crop: {
      ...share(ious.filter((x) => x >= CROP_IOU_THRESHOLD).length, cropVer.length),
      positives: cropAll.length,
      medianIoU: percentile(ious, 50),
    },
  };
}

/**
 * Segment refinement: a chain found from k-nearest-neighbour hits is only as good as the hits.
 * Frames that an overlay, a crop or a caption pushed below the similarity floor, or out of the
 * top k, leave holes at the ends of a copy, and on a slow or static shot the chain may pick a
 * compressed path (many query frames against a few reference frames). Refinement compares the
 * query frames *densely* with the candidate reference's stored frames around the chain:
 *
 * 1. fit the chain's time line tr = offset + rate·tq; on footage where real time fits as well as
 *    the fitted rate (within `realTimeSlack` of mean similarity), real time wins, because a copy
 *    played at another speed shows it along the whole segment, and a static shot does not;
 * 2. extend the segment outwards along the line while frames stay above a lower extension floor,
 *    tolerating a few misses (a cut to a black frame, a burst of noise), and stop where they fall
 *    to what unrelated footage scores.
 *
 * Everything here is arithmetic on vectors already fetched: no database, no I/O.
 */
import type { AlignedSegment, MatchPoint } from './temporal-chains.js';
import { dot } from '../descriptors/frame-descriptor.js';

/** One sampled query frame as refinement sees it. */
export interface RefineQueryFrame {
  q: number;
  tq: number;
  /**
   * One vector per way the chain's frames were compared (a query region against a stored
   * variant), null where this frame has none; all null if the frame is unusable.
   */
  vectors: ReadonlyArray<Float32Array | null>;
  /** Similarity floor of this frame's region (from its background); evidence starts above it. */
  floor: number;
}

/** One stored reference frame: time and, for each way of comparing, the stored variant's vector. */
export interface RefineRefFrame {
  tr: number;
  vectors: ReadonlyArray<Float32Array | null>;
}

export interface RefineOptions {
  /** Extension continues while a frame's best similarity on the line is at least max(this, floor − extendDrop). */
  extendMinSimilarity: number;
  extendDrop: number;
  /** Consecutive query frames below the extension floor that end an extension. */
  maxMisses: number;
  /** Real time is kept over the fitted rate when its mean similarity is at most this much lower. */
  realTimeSlack: number;
  /** Reference frames this far (s) from the line's prediction count as on the line. */
  lineToleranceSec: number;
  minRate: number;
  maxRate: number;
  queryIntervalSec: number;
  /** Reference duration, to clamp the reference interval. */
  refDurationSec: number;
}

export const DEFAULT_REFINE: Omit<RefineOptions, 'queryIntervalSec' | 'refDurationSec' | 'minRate' | 'maxRate' | 'lineToleranceSec'> = {
  extendMinSimilarity: 0.6,
  extendDrop: 0.12,
  maxMisses: 2,
  realTimeSlack: 0.01,
};

interface Line {
  offset: number;
  rate: number;
}

/** Least-squares line through the chain, rate clamped to the allowed range. */
function fitLine(points: readonly MatchPoint[], minRate: number, maxRate: number): Line {
  const n = points.length;
  const mq = points.reduce((s, p) => s + p.tq, 0) / n;
  const mr = points.reduce((s, p) => s + p.tr, 0) / n;
  let sqq = 0;
  let sqr = 0;
  for (const p of points) {
    sqq += (p.tq - mq) ** 2;
    sqr += (p.tq - mq) * (p.tr - mr);
  }
  const rate = sqq > 1e-9 ? Math.min(maxRate, Math.max(minRate, sqr / sqq)) : 1;
  return { rate, offset: mr - rate * mq };
}

/** Offset of a line of the given rate through the chain (median, so one stray point can't move it). */
function offsetFor(points: readonly MatchPoint[], rate: number): number {
  const offs = points.map((p) => p.tr - rate * p.tq).sort((a, b) => a - b);
  const m = offs.length >> 1;
  return offs.length % 2 ? offs[m] : (offs[m - 1] + offs[m]) / 2;
}

/**
 * Refine one segment against the reference's frames. `ref` must be sorted by time and hold
 * the frames around the segment (the caller fetches a window wide enough for the extension).
 *
 * @example
 * const better = refineSegment(seg, queryFrames, refFrames, { ...DEFAULT_REFINE, minRate: 0.4, maxRate: 2.5,
 *   lineToleranceSec: 0.6, queryIntervalSec: 0.5, refDurationSec: 120 });
 */
export function refineSegment(seg: AlignedSegment, query: readonly RefineQueryFrame[], ref: readonly RefineRefFrame[], o: RefineOptions): AlignedSegment {
  if (!ref.length || seg.points.length < 2) return seg;
  const frames = [...query].sort((a, b) => a.tq - b.tq);
  const byQ = new Map(frames.map((f, i) => [f.q, i]));

  // Best similarity of query frame i to a reference frame on the line, and that frame's time.
  const cache = new Map<string, { s: number; tr: number }>();
  const onLine = (i: number, line: Line): { s: number; tr: number } | null => {
    const f = frames[i];
    if (!f.vectors.some(Boolean)) return null;
    const want = line.offset + line.rate * f.tq;
    const key = `${i}:${want.toFixed(3)}`;
    const hit = cache.get(key);
    if (hit) return hit;
    let best: { s: number; tr: number } | null = null;
    // Binary search the first reference frame within tolerance, then scan the few inside it.
    let lo = 0;
    let hi = ref.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ref[mid].tr < want - o.lineToleranceSec) lo = mid + 1;
      else hi = mid;
    }
    for (let j = lo; j < ref.length && ref[j].tr <= want + o.lineToleranceSec; j++) {
      // The best of the ways the chain compared frames: a caption may hide the whole picture's
      // match on some frames and the centre's on others.
      let s = -1;
      for (let k = 0; k < f.vectors.length; k++) {
        const a = f.vectors[k];
        const b = ref[j].vectors[k];
        if (a && b) s = Math.max(s, dot(a, b));
      }
      if (!best || s > best.s) best = { s, tr: ref[j].tr };
    }
    if (best) cache.set(key, best);
    return best;
  };

  const chainIdx = seg.points.map((p) => byQ.get(p.q)).filter((i): i is number => i !== undefined);
  if (chainIdx.length < 2) return seg;
  const first = Math.min(...chainIdx);
  const last = Math.max(...chainIdx);
  const onLineStats = (line: Line): { mean: number; n: number } => {
    let sum = 0;
    let n = 0;
    for (let i = first; i <= last; i++) {
      const m = onLine(i, line);
      if (m) {
        sum += m.s;
        n++;
      }
    }
    return { mean: n ? sum / n : -1, n };
  };
  // The chain's own line, or real time if that fits as well: on a slow or static shot the chain
  // may creep at a fraction of real time, while a copy really played at another speed shows it
  // along the whole segment. Real time runs through the chain's median offset, or through the
  // offset of one of its points if that fits better while comparing as many frames: a chain
  // that crept along footage whose frames all look alike (a dashcam's road) has a median offset
  // far from the copy's start. (Searching offsets and a grid of rates by mean similarity was
  // tried: it prefers slow lines through "average" frames of a pan.)
  const fitted = fitLine(seg.points, o.minRate, o.maxRate);
  let realTime: Line = { rate: 1, offset: offsetFor(seg.points, 1) };
  let realStats = onLineStats(realTime);
  for (const candidate of new Set(seg.points.map((p) => Math.round((p.tr - p.tq) * 100) / 100))) {
    // One point's offset carries its sampling jitter: take the median of the points near it.
    const near = seg.points.filter((p) => Math.abs(p.tr - p.tq - candidate) <= o.lineToleranceSec);
    const offset = offsetFor(near, 1);
    const stats = onLineStats({ rate: 1, offset });
    if (stats.n >= realStats.n && stats.mean > realStats.mean) {
      realTime = { rate: 1, offset };
      realStats = stats;
    }
  }
  const line = realStats.mean >= onLineStats(fitted).mean - o.realTimeSlack ? realTime : fitted;

  const extendFloor = (i: number) => Math.max(o.extendMinSimilarity, frames[i].floor - o.extendDrop);
  const inRef = (i: number) => {
    const t = line.offset + line.rate * frames[i].tq;
    return t >= -o.lineToleranceSec && t <= o.refDurationSec + o.lineToleranceSec;
  };
  // Walk outwards from the chain's ends while the line keeps finding the copy. If nothing but
  // unusable (flat, dark) frames lies between the last hit and the end of the query or of the
  // reference, nothing contradicts the copy there either: it runs to that end (a plane in an
  // empty sky, lava at night).
  const walk = (from: number, step: 1 | -1): number => {
    let edge = from;
    let misses = 0;
    let i = from + step;
    for (; i >= 0 && i < frames.length && inRef(i); i += step) {
      const m = onLine(i, line);
      if (!m) continue; // an unusable (flat) frame neither extends nor ends the copy
      if (m.s >= extendFloor(i)) {
        edge = i;
        misses = 0;
      } else if (++misses > o.maxMisses) break;
    }
    // No miss since the last hit: every frame after it could not be compared.
    const open = misses === 0 && (i < 0 || i >= frames.length || !inRef(i));
    return open ? i - step : edge;
  };
  const start = walk(first, -1);
  const end = walk(last, 1);

  const queryStart = Math.min(frames[start].tq, seg.queryStart);
  const queryEnd = Math.max(frames[end].tq + o.queryIntervalSec, seg.queryEnd);
  const clampRef = (t: number) => Math.min(o.refDurationSec, Math.max(0, t));
  // The line passes within sampling jitter of the chain's points, not through them: the segment
  // still covers every frame it reports as matched (a decoder that stamps the first frame a few
  // hundredths later would otherwise leave that frame outside its own segment).
  const chainRef = seg.points.map((p) => p.tr);
  return {
    queryStart,
    queryEnd,
    refStart: clampRef(Math.min(line.offset + line.rate * queryStart, ...chainRef)),
    refEnd: clampRef(Math.max(line.offset + line.rate * queryEnd, ...chainRef)),
    // Boundaries only: counting the frames on the line as evidence was measured to turn a
    // negative query into a match (static footage lines up just above the floor for many frames).
    evidence: seg.evidence,
    points: seg.points,
  };
}

/**
 * Segment refinement: a chain found from k-nearest-neighbour hits is only as good as the hits.
 * Frames that an overlay, a crop or a caption pushed below the similarity floor, or out of the
 * top k, leave holes at the ends of a copy, and on a slow or static shot the chain may pick a
 * compressed path (many query frames against a few reference frames). Refinement compares the
 * query frames *densely* with the candidate reference's stored frames around the chain:
 *
 * 1. fit the chain's time line tr = offset + rate·tq (0.25×–4×), each chain frame placed between
 *    the stored frames by its similarities to them; on footage where real time fits as well as
 *    the fitted rate (within `realTimeSlack` of mean similarity), real time wins, because a copy
 *    played at another speed shows it along the whole segment, and a static shot does not;
 * 2. extend the segment outwards along the line while frames stay above a lower extension floor,
 *    tolerating a few misses (a cut to a black frame, a burst of noise), and stop where they fall
 *    to what unrelated footage scores;
 * 3. report the segment on the line, so that its reference interval and its speed (reference
 *    length over query length) follow the fitted rate.
 *
 * Everything here is arithmetic on vectors already fetched: no database, no I/O.
 */
import type { AlignedSegment, MatchPoint } from './temporal-chains.js';
import { dot } from '../descriptors/frame-descriptor.js';
import { MAX_NEIGHBOUR_SEC, COVER_SLACK_SEC, REAL_TIME_SLACK_SHARE, RATE_MIN_SPAN_SEC, ALTERNATIVE_MIN_RATE_GAP } from '../settings/search-settings.js';

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
  /** Compare the lines by similarities less each stored frame's mean similarity to the chain's frames. */
  hubCorrection: boolean;
  /** Reference frames this far (s) from the line's prediction count as on the line. */
  lineToleranceSec: number;
  minRate: number;
  maxRate: number;
  queryIntervalSec: number;
  /** Reference duration, to clamp the reference interval. */
  refDurationSec: number;
}

interface Line {
  offset: number;
  rate: number;
}

/**
 * Least-squares line through the chain, rate clamped to the allowed range; with `weighted`, each
 * point counts by its `w`.
 */
function fitLine(points: readonly MatchPoint[], minRate: number, maxRate: number, weighted = false): Line {
  const wt = (p: MatchPoint) => (weighted ? p.w : 1);
  const total = points.reduce((s, p) => s + wt(p), 0);
  const mq = points.reduce((s, p) => s + wt(p) * p.tq, 0) / total;
  const mr = points.reduce((s, p) => s + wt(p) * p.tr, 0) / total;
  let sqq = 0;
  let sqr = 0;
  for (const p of points) {
    sqq += wt(p) * (p.tq - mq) ** 2;
    sqr += wt(p) * (p.tq - mq) * (p.tr - mr);
  }
  const rate = sqq > 1e-12 ? Math.min(maxRate, Math.max(minRate, sqr / sqq)) : 1;
  return { rate, offset: mr - rate * mq };
}

/** Offset of a line of the given rate through the chain (median, so one stray point can't move it). */
function offsetFor(points: readonly MatchPoint[], rate: number): number {
  const offs = points.map((p) => p.tr - rate * p.tq).sort((a, b) => a - b);
  const m = offs.length >> 1;
  return offs.length % 2 ? offs[m] : (offs[m - 1] + offs[m]) / 2;
}

/**
 * Where between the stored frames a query frame's moment lies, from its similarity to stored
 * frame `j` and that frame's neighbours: similarity falls off about linearly with the time
 * between two frames of moving footage, so a cone through the three similarities peaks at the
 * query frame's moment (equiangular fit). `k`, the cone's slope (similarity per second), says how
 * sharply the footage tells one moment from the next: near zero on a static shot. Null without a
 * neighbour on each side, or where a neighbour is the more similar: a moment past the
 * reference's last stored frame would be placed on it, and a copy that runs to the reference's
 * end would come out slower than it is.
 */
function subFrameTime(ref: readonly RefineRefFrame[], j: number, sim: (j: number) => number): { t: number; k: number } | null {
  const t0 = ref[j].tr;
  const s0 = sim(j);
  if (j === 0 || j + 1 >= ref.length) return null;
  const tb = ref[j - 1].tr;
  const ta = ref[j + 1].tr;
  if (t0 - tb > MAX_NEIGHBOUR_SEC || ta - t0 > MAX_NEIGHBOUR_SEC) return null;
  const sb = sim(j - 1);
  const sa = sim(j + 1);
  if (sb > s0 || sa > s0) return null;
  // The lower neighbour lies on the far side of the peak: its drop gives the cone's slope.
  if (sa >= sb) {
    const k = (s0 - sb) / (t0 - tb);
    if (k <= 1e-6) return null;
    const t = (t0 + ta) / 2 + (sa - s0) / (2 * k);
    return { t: Math.min((t0 + ta) / 2, Math.max(t0, t)), k };
  }
  const k = (s0 - sa) / (ta - t0);
  if (k <= 1e-6) return null;
  const t = (t0 + tb) / 2 - (sb - s0) / (2 * k);
  return { t: Math.max((t0 + tb) / 2, Math.min(t0, t)), k };
}

/** Index of the stored frame nearest to `t` (`ref` sorted by time, not empty). */
function nearestRef(ref: readonly RefineRefFrame[], t: number): number {
  let lo = 0;
  let hi = ref.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ref[mid].tr < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - ref[lo - 1].tr < ref[lo].tr - t ? lo - 1 : lo;
}

/**
 * Refine one segment against the reference's frames. `ref` must be sorted by time and hold
 * the frames around the segment (the caller fetches a window wide enough for the extension).
 *
 * @example
 * const better = refineSegment(seg, queryFrames, refFrames, { ...DEFAULT_SEARCH.refine, minRate: 0.25, maxRate: 4,
 *   lineToleranceSec: 0.6, queryIntervalSec: 0.5, refDurationSec: 120 });
 */
export function refineSegment(seg: AlignedSegment, query: readonly RefineQueryFrame[], ref: readonly RefineRefFrame[], o: RefineOptions): AlignedSegment {
  if (!ref.length || seg.points.length < 2) return seg;
  const frames = [...query].sort((a, b) => a.tq - b.tq);
  const byQ = new Map(frames.map((f, i) => [f.q, i]));

  // Similarity of query frame i to reference frame j: the best of the ways the chain compared
  // frames (a caption may hide the whole picture's match on some frames and the centre's on others).
  const sims = new Map<number, number>();
  const simAt = (i: number, j: number): number => {
    const key = i * ref.length + j;
    const hit = sims.get(key);
    if (hit !== undefined) return hit;
    const f = frames[i];
    let s = -1;
    for (let k = 0; k < f.vectors.length; k++) {
      const a = f.vectors[k];
      const b = ref[j].vectors[k];
      if (a && b) s = Math.max(s, dot(a, b));
    }
    sims.set(key, s);
    return s;
  };
  // Best similarity of query frame i to a reference frame on the line, and that frame.
  const onLine = (i: number, line: Line): { s: number; tr: number; j: number } | null => {
    const f = frames[i];
    if (!f.vectors.some(Boolean)) return null;
    const want = line.offset + line.rate * f.tq;
    let best: { s: number; tr: number; j: number } | null = null;
    // Binary search the first reference frame within tolerance, then scan the few inside it.
    let lo = 0;
    let hi = ref.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ref[mid].tr < want - o.lineToleranceSec) lo = mid + 1;
      else hi = mid;
    }
    for (let j = lo; j < ref.length && ref[j].tr <= want + o.lineToleranceSec; j++) {
      const s = simAt(i, j);
      if (!best || s > best.s) best = { s, tr: ref[j].tr, j };
    }
    return best;
  };
  const extendFloor = (i: number) => Math.max(o.extendMinSimilarity, frames[i].floor - o.extendDrop);

  const chainIdx = seg.points.map((p) => byQ.get(p.q)).filter((i): i is number => i !== undefined);
  if (chainIdx.length < 2) return seg;
  const first = Math.min(...chainIdx);
  const last = Math.max(...chainIdx);
  // How alike each stored frame is to the chain's query frames on average. A frame of a pan
  // that looks like every other ("average" framing, the same field) scores high against all of
  // them and draws a slow line through itself; subtracting its mean (hubness reduction, as
  // CSLS does for word vectors) compares lines by what is specific to each moment instead.
  const hub = new Float64Array(ref.length);
  if (o.hubCorrection) {
    for (let j = 0; j < ref.length; j++) {
      let sum = 0;
      let n = 0;
      for (let i = first; i <= last; i++) {
        if (!frames[i].vectors.some(Boolean)) continue;
        sum += simAt(i, j);
        n++;
      }
      hub[j] = n ? sum / n : 0;
    }
  }
  const onLineStats = (line: Line): { mean: number; n: number } => {
    let sum = 0;
    let n = 0;
    for (let i = first; i <= last; i++) {
      const m = onLine(i, line);
      if (m) {
        sum += o.hubCorrection ? bestCorrected(i, line) : m.s;
        n++;
      }
    }
    return { mean: n ? sum / n : -1, n };
  };
  // The best hub-corrected similarity of query frame i to a reference frame on the line.
  const bestCorrected = (i: number, line: Line): number => {
    const want = line.offset + line.rate * frames[i].tq;
    let best = -Infinity;
    for (let j = 0; j < ref.length; j++) {
      if (Math.abs(ref[j].tr - want) <= o.lineToleranceSec) best = Math.max(best, simAt(i, j) - hub[j]);
    }
    return best;
  };
  // The chain's points sit on the reference's sampling grid (1 s): at 0.3× a 6 s copy spans
  // two or three stored frames, and a line through them misses the rate by up to a quarter. Each
  // point is moved between its stored frame and the neighbours by its similarities to them (after
  // one step to a more similar neighbour), and the line fitted through those moments, each
  // weighted by how sharply its footage tells moments apart (a static stretch says little about
  // the rate). Only the chain's own frames, at their own matches: fitting the best frame near the
  // line again and again (tried) drifted away from fast copies, whose frames lie seconds apart in
  // the reference, and from slow ones towards a slower rate.
  const subFramePoints: MatchPoint[] = [];
  for (const p of seg.points) {
    const i = byQ.get(p.q);
    if (i === undefined || !frames[i].vectors.some(Boolean)) continue;
    let j = nearestRef(ref, p.tr);
    if (Math.abs(ref[j].tr - p.tr) > 0.05) continue;
    const sj = simAt(i, j);
    const sb = j > 0 ? simAt(i, j - 1) : -2;
    const sa = j + 1 < ref.length ? simAt(i, j + 1) : -2;
    if (sb > sj && sb >= sa) j--;
    else if (sa > sj) j++;
    const placed = subFrameTime(ref, j, (k) => simAt(i, k));
    if (placed) subFramePoints.push({ ...p, tr: placed.t, w: placed.k });
  }
  const spread = subFramePoints.length ? subFramePoints[subFramePoints.length - 1].tq - subFramePoints[0].tq : 0;
  const fitted = subFramePoints.length >= 3 && spread >= 1 ? fitLine(subFramePoints, o.minRate, o.maxRate, true) : fitLine(seg.points, o.minRate, o.maxRate);
  // The chain's own line, or real time if that fits as well: on a slow or static shot the chain
  // may creep at a fraction of real time, while a copy really played at another speed shows it
  // along the whole segment. Real time runs through the chain's median offset, or through the
  // offset of one of its points if that fits better while comparing as many frames: a chain
  // that crept along footage whose frames all look alike (a dashcam's road) has a median offset
  // far from the copy's start. (Searching offsets and a grid of rates by mean similarity was
  // tried: it prefers slow lines through "average" frames of a pan.)
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
  // The slack shrinks where the fitted line matches almost perfectly: a clean 1.3× copy compares
  // at 0.991 on its line and 0.985 on real time, which a fixed 0.01 would call as good.
  const fittedMean = onLineStats(fitted).mean;
  const slack = Math.min(o.realTimeSlack, REAL_TIME_SLACK_SHARE * (1 - fittedMean));
  // A chain over less than RATE_MIN_SPAN_SEC of query cannot show a rate: three hits within a
  // second, on stored frames a second apart, fit 0.25× as well as 1× (a captioned field, the
  // tuning split's overlay-03, was reported at 0.25× over 7 s of query).
  const chainSpan = seg.points.length ? Math.max(...seg.points.map((p) => p.tq)) - Math.min(...seg.points.map((p) => p.tq)) : 0;
  const line = (o.hubCorrection && chainSpan < RATE_MIN_SPAN_SEC) || realStats.mean >= fittedMean - slack ? realTime : fitted;
  // The segment on a line: extended outwards along it, its bounds on it.
  const segmentOn = (line: Line): AlignedSegment => {
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

    // The segment lies on the line, so its reference interval follows the fitted rate (the speed
    // reported is its reference length over its query length).
    let queryStart = Math.min(frames[start].tq, seg.queryStart);
    let queryEnd = Math.max(frames[end].tq + o.queryIntervalSec, seg.queryEnd);
    const at = (tq: number) => line.offset + line.rate * tq;
    const inverse = (tr: number) => (tr - line.offset) / line.rate;
    // Where the line leaves the reference, the query bound moves with it (clamping only the
    // reference bound would change the segment's speed), but not past a matched frame.
    const firstTq = Math.min(...seg.points.map((p) => p.tq));
    const lastTq = Math.max(...seg.points.map((p) => p.tq));
    if (line.rate > 0 && at(queryStart) < 0) queryStart = Math.min(firstTq, Math.max(queryStart, inverse(0)));
    if (line.rate > 0 && at(queryEnd) > o.refDurationSec) queryEnd = Math.max(lastTq, Math.min(queryEnd, inverse(o.refDurationSec)));
    const clampRef = (t: number) => Math.min(o.refDurationSec, Math.max(0, t));
    let refStart = clampRef(at(queryStart));
    let refEnd = clampRef(at(queryEnd));
    // The line passes within sampling jitter of the chain's points, not through them: the segment
    // stretches to take in a frame it reports as matched that lies just outside (a decoder that
    // stamps the first frame a few hundredths later), while a frame further outside is no longer
    // reported: the stored frame next to a moment of a slowed copy, up to half a sampling interval
    // away, would otherwise stretch a 0.3× copy's 2-second reference interval by a quarter.
    let points = seg.points.filter((p) => p.tr >= refStart - COVER_SLACK_SEC && p.tr <= refEnd + COVER_SLACK_SEC);
    if (!points.length) points = [...seg.points];
    refStart = clampRef(Math.min(refStart, ...points.map((p) => p.tr)));
    refEnd = clampRef(Math.max(refEnd, ...points.map((p) => p.tr)));
    return {
      queryStart,
      queryEnd,
      refStart,
      refEnd,
      // Boundaries only: counting the frames on the line as evidence was measured to turn a
      // negative query into a match (static footage lines up just above the floor for many frames).
      evidence: seg.evidence,
      points,
    };
  };
  const segment = segmentOn(line);
  // Where the two lines part (a rate other than real time), the one not chosen goes along:
  // verification compares both against the pixels, which tell a slowed copy from a chain
  // creeping along static footage where the descriptor cannot (RESULTS.md, session 12).
  const other = line === realTime ? fitted : realTime;
  return Math.abs(fitted.rate - 1) >= ALTERNATIVE_MIN_RATE_GAP ? { ...segment, alternative: segmentOn(other) } : segment;
}

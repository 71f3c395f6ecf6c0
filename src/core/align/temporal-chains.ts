/**
 * Temporal alignment: from scattered frame matches between a query and one reference video,
 * find the copied segments (query interval ↔ reference interval).
 *
 * Matches are points (tq, tr, w) with w > 0 the evidence a frame pair gives. A copied
 * segment is a chain of points that moves forward in both videos at a plausible, steady speed.
 * The best chain is found by dynamic programming over the points sorted by query time (a
 * longest-path search like VCSL's temporal network, but on timestamps rather than frame
 * indices, so different frame rates, keyframe sampling and dropped or duplicated frames need no
 * special case), taken out, and the search repeats for further segments (re-cuts, several
 * copies). Unlike plain Hough voting over the offset, a chain need not be straight: a copy
 * played at 0.25×–4× keeps one chain (several query frames on one stored reference frame at
 * 0.25×, stored frames skipped at 4×), while each step keeps to the chain's rate so far within a
 * factor of two, so chance matches cannot zigzag across that band. Unlike the temporal network,
 * a static shot or a loop cannot make a long chain out of one query frame: each query frame
 * counts once per chain, and a chain whose query interval mostly repeats an accepted segment's
 * is dropped.
 */
import type { RegionPair } from '../candidates/region-pair.js';
import type { AlignOptions } from '../settings/search-settings.js';
import { STEADY_RATE_FACTOR, STEADY_MIN_SPAN_SEC } from '../settings/search-settings.js';
export type { AlignOptions } from '../settings/search-settings.js';

export interface MatchPoint {
  /** Query frame index (one frame can have several candidate reference times). */
  q: number;
  tq: number;
  tr: number;
  /** Raw cosine similarity, reported to users. */
  similarity: number;
  /** Evidence weight in (0, 1] after normalisation; what the chain search maximises. */
  w: number;
  /**
   * Which query region matched which stored variant (e.g. the mirror image against the whole
   * picture): refinement compares more frames the same way. Opaque to alignment.
   */
  pair?: RegionPair;
  /**
   * Query time between the frames searched the way this point was found, when sparser than the
   * query's sampling (the second tier searches a few frames spread over the query). Density is
   * measured against it: otherwise a long query could never show a dense second-tier chain.
   */
  spacingSec?: number;
}

export interface AlignedSegment {
  queryStart: number;
  queryEnd: number;
  refStart: number;
  refEnd: number;
  /**
   * Sum over the distinct reference frames of the chain of their best weight. Counting
   * reference frames, not query frames, stops a near-static query from piling up evidence
   * by matching many of its frames to the same few reference frames.
   */
  evidence: number;
  points: MatchPoint[];
  /**
   * The same chain on the other time line refinement weighed (real time, or the fitted rate),
   * where the two part: verification keeps whichever the pixels agree with.
   */
  alternative?: AlignedSegment;
  /**
   * Found only through the stored windows (strips, quadrants; align/window-chains.ts): one point
   * per cycle of stored frames is thin temporal evidence, so such a segment is reported only when
   * verification confirms it.
   */
  windowsOnly?: boolean;
}

/**
 * `chainRate`: the chain's rate so far (from its start), which scales the longest jump on the
 * reference axis: a 4× copy that misses two seconds of query frames skips eight of reference.
 */
function stepOk(a: MatchPoint, b: MatchPoint, o: AlignOptions, chainRate = 1): boolean {
  const dq = b.tq - a.tq;
  const dr = b.tr - a.tr;
  if (dq <= 0 || b.q === a.q) return false;
  if (dr < -o.jitterSec * 0.5 || dr > o.maxGapSec * Math.max(1, chainRate) + o.jitterSec) return false;
  return dr >= o.minRate * dq - o.jitterSec && dr <= o.maxRate * dq + o.jitterSec;
}

/** The chain's rate from `start` to `p`, once it spans at least `minSpan` seconds of query (else 1). */
function rateFrom(start: MatchPoint, p: MatchPoint, minSpan: number): number {
  const span = p.tq - start.tq;
  return span >= minSpan ? (p.tr - start.tr) / span : 1;
}

/**
 * The rate is also checked from the chain's first point, with the jitter allowed once: checked
 * per step only, a chain on a static shot could creep along at rate 0 (each step within jitter)
 * and end up spanning seconds of query against one reference instant.
 */
function spanOk(start: MatchPoint, b: MatchPoint, o: AlignOptions): boolean {
  const dq = b.tq - start.tq;
  const dr = b.tr - start.tr;
  return dr >= o.minRate * dq - o.jitterSec && dr <= o.maxRate * dq + o.jitterSec;
}

/**
 * A step keeps to the chain's rate so far, within a factor of `STEADY_RATE_FACTOR` (and the
 * jitter): a copy plays at one speed, while chance points over a 0.25×–4× band can zigzag (slow
 * for five seconds, then 4× for two) and line up from one random match per query frame. Checked
 * once the chain spans `STEADY_MIN_SPAN_SEC`, from its rate then known to within the jitter.
 */
function steadyOk(start: MatchPoint, a: MatchPoint, b: MatchPoint, o: AlignOptions): boolean {
  const span = a.tq - start.tq;
  if (span < STEADY_MIN_SPAN_SEC) return true;
  const dr = a.tr - start.tr;
  const lo = Math.max(o.minRate, (dr - o.jitterSec) / span) / STEADY_RATE_FACTOR;
  const hi = Math.min(o.maxRate, Math.max(o.minRate, (dr + o.jitterSec) / span)) * STEADY_RATE_FACTOR;
  const dq = b.tq - a.tq;
  const step = b.tr - a.tr;
  return step >= lo * dq - o.jitterSec && step <= hi * dq + o.jitterSec;
}

/** Best chain among `pts` (sorted by tq, tr); returns point indices in order. */
function bestChain(pts: readonly MatchPoint[], o: AlignOptions): number[] {
  const n = pts.length;
  const score = new Float64Array(n);
  const prev = new Int32Array(n).fill(-1);
  const start = new Int32Array(n);
  let best = -1;
  for (let j = 0; j < n; j++) {
    const pj = pts[j];
    score[j] = pj.w;
    start[j] = j;
    for (let i = j - 1; i >= 0; i--) {
      const pi = pts[i];
      if (pj.tq - pi.tq > o.maxGapSec) break;
      const st = pts[start[i]];
      if (!stepOk(pi, pj, o, rateFrom(st, pi, 2)) || !spanOk(st, pj, o) || !steadyOk(st, pi, pj, o)) continue;
      // Gaps are counted in query time: at 4× consecutive query frames skip reference frames
      // without missing anything, at 0.25× several query frames share one reference frame.
      const skipped = Math.max(0, pj.tq - pi.tq - o.queryIntervalSec * 1.5);
      const rate = rateFrom(st, pj, 1);
      // Penalised by its ratio to real time, so that 4× and 0.25× cost the same.
      const s = score[i] + pj.w - o.gapPenaltyPerSec * skipped - o.ratePenalty * Math.abs(Math.log(Math.max(rate, 0.1)));
      if (s > score[j]) {
        score[j] = s;
        prev[j] = i;
        start[j] = start[i];
      }
    }
    if (best < 0 || score[j] > score[best]) best = j;
  }
  const chain: number[] = [];
  for (let k = best; k >= 0; k = prev[k]) chain.push(k);
  return chain.reverse();
}

function evidenceOf(chain: readonly MatchPoint[]): number {
  const best = new Map<number, number>();
  for (const p of chain) best.set(p.tr, Math.max(best.get(p.tr) ?? 0, p.w));
  let e = 0;
  for (const w of best.values()) e += w;
  return e;
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/**
 * Find up to `maxSegments` copied segments between a query and one reference.
 *
 * @example
 * const segs = alignMatches(points, { ...DEFAULT_SEARCH.align, queryIntervalSec: 0.5 });
 */
export function alignMatches(points: readonly MatchPoint[], o: AlignOptions): AlignedSegment[] {
  let pts = [...points].filter((p) => p.w > 0).sort((a, b) => a.tq - b.tq || a.tr - b.tr);
  const out: AlignedSegment[] = [];
  // Each pass removes a chain's points; bound the passes so adversarial input stays cheap.
  for (let pass = 0; pass < o.maxSegments * 4 && pts.length && out.length < o.maxSegments; pass++) {
    const idx = bestChain(pts, o);
    if (!idx.length) break;
    const chain = idx.map((i) => pts[i]);
    const qs = chain[0].tq;
    const qe = chain[chain.length - 1].tq;
    const rs = Math.min(...chain.map((p) => p.tr));
    const re = Math.max(...chain.map((p) => p.tr));
    // Remove the chain and everything inside its box (alternative matches of the same frames).
    const used = new Set(idx);
    pts = pts.filter((p, i) => !used.has(i) && !(p.tq >= qs && p.tq <= qe && p.tr >= rs - o.jitterSec && p.tr <= re + o.jitterSec));
    const distinct = new Set(chain.map((p) => p.q)).size;
    if (distinct < o.minMatchedFrames) continue;
    // Against the densest search among the chain's points: one point of the full search means
    // every frame of the span was searched. Short chains stay measured against the query's own
    // sampling: among a sparse search's few frames, five can line up by chance.
    const spacing =
      distinct < o.shortChainFrames ? o.queryIntervalSec : Math.max(o.queryIntervalSec, Math.min(...chain.map((p) => p.spacingSec ?? o.queryIntervalSec)));
    const density = distinct / ((qe - qs) / spacing + 1);
    const evidence = evidenceOf(chain);
    const strong = evidence >= o.strongChainEvidence && density >= o.strongChainMinDensity;
    if (!strong && density < (distinct < o.shortChainFrames ? o.shortChainMinDensity : o.minDensity)) continue;
    const rate = qe > qs ? (re - rs) / (qe - qs) : 1;
    if (qe > qs && (rate < o.minRate * 0.8 || rate > o.maxRate * 1.25)) continue;
    // Each sampled frame stands for the interval until the next sample.
    const seg: AlignedSegment = {
      queryStart: qs,
      queryEnd: qe + o.queryIntervalSec,
      refStart: rs,
      refEnd: re + Math.max(o.refIntervalSec * 0.5, o.queryIntervalSec * Math.min(Math.max(rate, o.minRate), o.maxRate)),
      evidence,
      points: chain,
    };
    const len = seg.queryEnd - seg.queryStart;
    if (out.some((a) => overlap(a.queryStart, a.queryEnd, seg.queryStart, seg.queryEnd) > o.maxQueryOverlap * Math.min(len, a.queryEnd - a.queryStart)))
      continue;
    out.push(seg);
  }
  return out.sort((a, b) => b.evidence - a.evidence);
}

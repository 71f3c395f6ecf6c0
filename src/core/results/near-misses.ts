/**
 * `search --top N`, for exploration: when fewer than N videos match, the best of the rest fill
 * the list, whatever their score, each flagged `belowThreshold`. They come from what a normal
 * search drops: segments below the score floor, candidates that verification did not confirm
 * (with its verdict), and videos whose hits formed no chain that alignment would accept (chained
 * again with no length or density rule). Normal matches are never changed by this.
 */
import type { AlignedSegment, MatchPoint } from '../align/temporal-chains.js';
import type { JudgedSegment, ScoredSegment } from '../verify/judge-segments.js';
import type { RankedVideo } from './match-results.js';
import { rankVideos } from './match-results.js';

/** A segment dropped before verification, as reported below the threshold. */
export function unjudged(c: ScoredSegment, reason: string): JudgedSegment {
  return { ...c, verification: { status: 'unverified', pairs: 0, voting: 0, agreeing: 0, inliers: 0, reason }, transform: null };
}

/**
 * The best videos not among `reported`, with their best `maxSegments` segments, best first, each
 * video and segment flagged below the threshold; at most `count`.
 */
export function nearMisses(
  dropped: readonly JudgedSegment[],
  reported: ReadonlySet<string>,
  count: number,
  maxSegments: number,
  query: { single: boolean; isImage: boolean; durationSec: number },
): RankedVideo[] {
  if (count <= 0) return [];
  const byVideo = new Map<string, JudgedSegment[]>();
  for (const j of dropped) {
    if (reported.has(j.videoId)) continue;
    byVideo.set(j.videoId, [...(byVideo.get(j.videoId) ?? []), j]);
  }
  for (const [id, segs] of byVideo) byVideo.set(id, [...segs].sort((a, b) => b.score - a.score).slice(0, maxSegments));
  return rankVideos(byVideo, query)
    .slice(0, count)
    .map((v) => ({ ...v, belowThreshold: true, segments: v.segments.map((s) => ({ ...s, belowThreshold: true })) }));
}

/**
 * A near miss's segments: its chains under the relaxed rules, or, when not even those hold (the
 * few matched frames run at an implausible rate), its single best matched frame.
 */
export function nearMissSegments(
  points: readonly MatchPoint[],
  chains: (pts: readonly MatchPoint[]) => AlignedSegment[],
  intervals: { queryIntervalSec: number; refIntervalSec: number },
): AlignedSegment[] {
  const segs = chains(points);
  if (segs.length || !points.length) return segs;
  const best = points.reduce((a, b) => (b.w > a.w || (b.w === a.w && b.similarity > a.similarity) ? b : a));
  return [
    {
      queryStart: best.tq,
      queryEnd: best.tq + intervals.queryIntervalSec,
      refStart: best.tr,
      refEnd: best.tr + intervals.refIntervalSec,
      evidence: best.w,
      points: [best],
    },
  ];
}

/** Alignment rules relaxed for near misses: any chain of matched frames counts. */
export function relaxedChains<T extends { minMatchedFrames: number; minDensity: number; shortChainMinDensity: number; strongChainMinDensity: number }>(
  o: T,
): T {
  return { ...o, minMatchedFrames: 1, minDensity: 0, shortChainMinDensity: 0, strongChainMinDensity: 0 };
}

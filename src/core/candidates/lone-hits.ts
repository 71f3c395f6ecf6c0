/**
 * Second chances for a video query that found nothing: a reference that one query frame matched
 * strongly, once, through a narrow or off-centre region, becomes a candidate on the real-time
 * line through that hit, which only geometry can turn into a match.
 *
 * Why: a crop keeping half the picture, off-centre, meets a stored quadrant inside it once per
 * cycle of four stored frames, and a 5–10 s copy may show one such hit (0.98 for the tuning
 * split's crop-heavy-00) and nothing a chain could be made of. Verification decodes frames either
 * side of the hit along the line and needs two of them to agree on one model, as for any video
 * segment, so a look-alike frame of unrelated footage is not enough.
 */
import type { MatchPoint, AlignedSegment } from '../align/temporal-chains.js';
import type { LoneHitSettings } from '../settings/search-settings.js';

/** A lone hit's candidate: the video and a real-time segment through its hit. */
export interface LoneHitCandidate {
  videoId: string;
  seg: AlignedSegment;
}

/**
 * The candidates of the strongest lone hits: for each of the `maxVideos` videos whose best point
 * reaches `minSimilarity`, a segment of `spanSec` either side of it on the real-time line,
 * with the query frames at its ends as points (the verifier compares the frames its points name).
 * Only for `windowsOnly` use: such a segment is reported only when confirmed.
 *
 * @param points each video's match points (align/match-points.ts)
 * @param queryTimes the query frames' times, by index
 */
export function loneHitCandidates(
  points: ReadonlyMap<string, ReadonlyMap<string, MatchPoint>>,
  queryTimes: readonly number[],
  queryDurationSec: number,
  s: LoneHitSettings,
): LoneHitCandidate[] {
  const best: Array<{ videoId: string; p: MatchPoint }> = [];
  for (const [videoId, pts] of points) {
    let top: MatchPoint | undefined;
    for (const p of pts.values()) if (!top || p.similarity > top.similarity) top = p;
    if (top && top.similarity >= s.minSimilarity) best.push({ videoId, p: top });
  }
  best.sort((a, b) => b.p.similarity - a.p.similarity);
  return best.slice(0, s.maxVideos).map(({ videoId, p }) => {
    const offset = p.tr - p.tq;
    const nearest = (t: number) => queryTimes.reduce((bi, x, i) => (Math.abs(x - t) < Math.abs(queryTimes[bi] - t) ? i : bi), 0);
    // Ends within the query and the reference (offset ≥ −tq keeps the reference time ≥ 0).
    const lo = nearest(Math.max(0, -offset, p.tq - s.spanSec));
    const hi = nearest(Math.min(queryDurationSec, p.tq + s.spanSec));
    const at = (q: number, rank: number): MatchPoint => ({ ...p, q, tq: queryTimes[q], tr: queryTimes[q] + offset, similarity: p.similarity - rank * 1e-3 });
    const ends = [lo, hi].filter((q) => q !== p.q).map((q, i) => at(q, i + 1));
    const pts = [p, ...ends].sort((a, b) => a.tq - b.tq);
    const queryStart = pts[0].tq;
    const queryEnd = pts[pts.length - 1].tq;
    return {
      videoId,
      seg: { queryStart, queryEnd, refStart: queryStart + offset, refEnd: queryEnd + offset, evidence: 0, points: pts, windowsOnly: true },
    };
  });
}

/**
 * The alignment step of a search, on candidate hits already retrieved: evidence weighting
 * against each region's background, grouping by video, temporal-chain alignment, segment and
 * video scoring. It follows `matchAll` in src/core/engine/search.ts step by step with the same
 * exported functions (weighHits, alignMatches, segmentScore, videoScore), so the benchmark times
 * it apart from candidate retrieval.
 */
import { DEFAULT_SEARCH } from '../../src/index.js';
import type { SearchSettings } from '../../src/index.js';
import type { KnnHit } from '../../src/db/frame-store.js';
import { weighHits } from '../../src/core/candidates/evidence.js';
import type { WeightedHit } from '../../src/core/candidates/evidence.js';
import { alignMatches } from '../../src/core/align/temporal-chains.js';
import { matchPointsByVideo } from '../../src/core/align/match-points.js';
import type { AlignedSegment } from '../../src/core/align/temporal-chains.js';
import { segmentScore, videoScore } from '../../src/core/align/segment-scoring.js';

export interface VariantHits {
  hits: KnnHit[];
  /** Query frame of every query vector of this call, by position. */
  regionFrame: number[];
}

export interface AlignedVideo {
  videoId: string;
  score: number;
  segments: Array<{ queryStart: number; queryEnd: number; refStart: number; refEnd: number; score: number; matchedFrames: number }>;
}

/**
 * Score candidates of a video query whose frame `i` is at `frameTimes[i]` seconds.
 *
 * @example
 * const found = alignCandidates([{ hits: h0, regionFrame }, { hits: h1, regionFrame }], times);
 */
export function alignCandidates(
  calls: readonly VariantHits[],
  frameTimes: readonly number[],
  settings: SearchSettings = DEFAULT_SEARCH,
  queryIntervalSec = DEFAULT_SEARCH.queryIntervalSec,
  refIntervalSec = 1,
): AlignedVideo[] {
  const weighted: WeightedHit[] = [];
  for (const c of calls) weighted.push(...weighHits(c.hits, c.regionFrame, settings.evidence));
  // The same grouping the engine's search uses, so the timed step is the production code.
  const byVideo = matchPointsByVideo(weighted, frameTimes);
  const align = { ...settings.align, queryIntervalSec, refIntervalSec };
  const out: AlignedVideo[] = [];
  for (const [videoId, pts] of byVideo) {
    const segs: AlignedSegment[] = alignMatches([...pts.values()], align);
    const scored = segs
      .map((seg) => ({
        queryStart: seg.queryStart,
        queryEnd: seg.queryEnd,
        refStart: seg.refStart,
        refEnd: seg.refEnd,
        score: segmentScore(seg, settings.evidenceScale),
        matchedFrames: new Set(seg.points.map((p) => `${p.q}:${p.tr}`)).size,
      }))
      .filter((m) => m.score >= settings.minSegmentScore);
    if (scored.length) out.push({ videoId, segments: scored, score: videoScore(scored.map((m) => m.score)) });
  }
  return out.sort((a, b) => b.score - a.score);
}

/**
 * Second chances for a still (or a clip searched as one) that found nothing: the videos its
 * raw nearest neighbours rank first, whatever their evidence, become candidates that only
 * geometry can turn into matches.
 *
 * Why: a frame taken between two of the reference's once-a-second samples on a moving shot, or
 * a heavily rescaled one, can rank its source first by raw similarity and still not rise above
 * the background of the other videos' hits, so no candidate reaches verification (three tuning
 * stills, RESULTS.md session 10). Local features see the same picture where the global
 * descriptor is unsure; the search then verifies these few candidates under a stricter rule
 * (`StillRescueSettings.minInliers`) than ordinary ones.
 */
import type { KnnHit } from '../../db/frame-store.js';
import type { AlignedSegment, MatchPoint } from '../align/temporal-chains.js';
import type { StillRescueSettings } from '../settings/search-settings.js';

/** A still's candidate from its raw hits: the video and the moments to compare. */
export interface RescueCandidate {
  videoId: string;
  seg: AlignedSegment;
}

/**
 * The rescue candidates of a still's raw hits: for each of the `maxVideos` videos with the
 * best raw similarity (at least `minSimilarity`), a one-moment segment at its best hit, with
 * the instants half a sampling interval either side: the still may show a moment between two
 * stored frames, and the verifier compares the frames around each instant as well.
 *
 * @param queryTimeOf the query time a raw hit's query frame stands for (0 for an image).
 */
export function rescueCandidates(
  raw: ReadonlyArray<KnnHit & { frame: number }>,
  s: StillRescueSettings,
  refIntervalSec: number,
  queryTimeOf: (frame: number) => number,
): RescueCandidate[] {
  const best = new Map<string, KnnHit & { frame: number }>();
  for (const h of raw) {
    const b = best.get(h.videoId);
    if (!b || h.similarity > b.similarity) best.set(h.videoId, h);
  }
  const chosen = [...best.values()]
    .filter((h) => h.similarity >= s.minSimilarity)
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, s.maxVideos);
  return chosen.map((h) => {
    const tq = queryTimeOf(h.frame);
    const half = refIntervalSec / 2;
    // The best hit first (the verifier takes points by similarity), then the moments between it
    // and its stored neighbours.
    const points: MatchPoint[] = [
      { q: h.frame, tq, tr: h.timestampSec, similarity: h.similarity, w: h.similarity },
      { q: h.frame, tq, tr: h.timestampSec + half, similarity: h.similarity - 1e-3, w: h.similarity },
      { q: h.frame, tq, tr: Math.max(0, h.timestampSec - half), similarity: h.similarity - 2e-3, w: h.similarity },
    ];
    return {
      videoId: h.videoId,
      seg: { queryStart: tq, queryEnd: tq, refStart: h.timestampSec, refEnd: h.timestampSec, evidence: 0, points },
    };
  });
}

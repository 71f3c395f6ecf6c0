import type { WeightedHit } from '../candidates/evidence.js';
import type { RegionPair } from '../candidates/region-pair.js';
import type { AlignedSegment, MatchPoint } from './temporal-chains.js';
import { isStoredWindowVariant } from '../frames/region-variants.js';

/**
 * Group weighted hits into alignment points per reference video, keeping for each (query frame,
 * reference frame) pair its strongest region: a frame and its mirror image, or a crop guess,
 * are alternatives for one pair, not extra evidence.
 */
export function matchPointsByVideo(
  weighted: ReadonlyArray<WeightedHit & { pair?: RegionPair; spacingSec?: number }>,
  queryTimes: readonly number[],
): Map<string, Map<string, MatchPoint>> {
  const byVideo = new Map<string, Map<string, MatchPoint>>();
  for (const h of weighted) {
    let pts = byVideo.get(h.videoId);
    if (!pts) byVideo.set(h.videoId, (pts = new Map()));
    // Hits through the stored windows are chained on their own (align/window-chains.ts): they
    // must not take a pair's place in the other regions' chain.
    const key = `${h.frame}:${h.frameId}${h.pair && isStoredWindowVariant(h.pair.variant) ? ':w' : ''}`;
    const prev = pts.get(key);
    if (!prev || h.w > prev.w)
      pts.set(key, { q: h.frame, tq: queryTimes[h.frame], tr: h.timestampSec, similarity: h.similarity, w: h.w, pair: h.pair, spacingSec: h.spacingSec });
  }
  return byVideo;
}

/**
 * An image query has one frame: its "segments" are the stretches of the reference where that
 * picture appears, found by grouping matched reference times that lie within two sampling
 * intervals of each other.
 */
export function imageSegments(points: MatchPoint[], refIntervalSec: number): AlignedSegment[] {
  const pts = [...points].sort((a, b) => a.tr - b.tr);
  const out: AlignedSegment[] = [];
  let cur: MatchPoint[] = [];
  const close = () => {
    if (!cur.length) return;
    out.push({
      queryStart: 0,
      queryEnd: 0,
      refStart: cur[0].tr,
      refEnd: cur[cur.length - 1].tr,
      // An image has one frame of evidence however long it stays on screen: the best pair decides.
      evidence: Math.max(...cur.map((p) => p.w)),
      points: cur,
    });
    cur = [];
  };
  // Only reference frames nearly as close as the best one bracket where the picture appears;
  // on a slowly changing shot the weaker neighbours would stretch the bracket to the whole shot.
  const bestW = Math.max(...pts.map((p) => p.w));
  for (const p of pts) {
    if (p.w < 0.8 * bestW) continue;
    if (cur.length && p.tr - cur[cur.length - 1].tr > 2 * refIntervalSec + 1e-6) close();
    cur.push(p);
  }
  close();
  return out.sort((a, b) => b.evidence - a.evidence);
}

/**
 * Alignment of hits found through the stored windows (strips and quadrants of an index built with
 * them). A stored frame holds its strips and quadrant at one of `STORED_WINDOWS.phases` places,
 * so a fixed window of the reference (a vertical reframe, an off-centre crop) meets a stored
 * region lying inside it only once per cycle of stored frames, and each hit lands on the nearest
 * stored frame holding such a region, up to half a cycle from the query frame's moment. These
 * hits are chained on their own, with the cycle as their sampling interval; the chains of the
 * other regions are unchanged.
 */
import { isStoredWindowVariant } from '../frames/region-variants.js';
import type { AlignOptions, AlignedSegment, MatchPoint } from './temporal-chains.js';
import { alignMatches } from './temporal-chains.js';

/** Whether a point was found through a stored strip or quadrant. */
export function isWindowPoint(p: Pick<MatchPoint, 'pair'>): boolean {
  return p.pair !== undefined && isStoredWindowVariant(p.pair.variant);
}

/**
 * Align a reference's points, those found through the stored windows apart (see the module's
 * comment). A window chain of near real-time rate is put on the real-time line through its
 * points' median offset: each point is up to half a cycle off the copy's line, and verification
 * decodes the reference where the line says. Window segments are `windowsOnly`: reported only
 * when verification confirms them. Segments of both kinds that overlap in the query by
 * more than `maxQueryOverlap` are alternatives: the stronger is kept.
 *
 * @example
 * const segs = alignWithWindows(points, align, 4 * refIntervalSec, queryDurationSec);
 */
export function alignWithWindows(points: readonly MatchPoint[], align: AlignOptions, cycleSec: number, queryDurationSec: number): AlignedSegment[] {
  const windowPts = points.filter(isWindowPoint);
  if (!windowPts.length) return alignMatches([...points], align);
  const plain = alignMatches(
    points.filter((p) => !isWindowPoint(p)),
    align,
  );
  const windowSegs: AlignedSegment[] = [];
  const spacing = Math.max(align.queryIntervalSec, cycleSec);
  for (const w of alignMatches(windowPts, { ...align, queryIntervalSec: spacing })) {
    const qe = Math.max(...w.points.map((p) => p.tq));
    const re = Math.max(...w.points.map((p) => p.tr));
    const rate = qe > w.queryStart ? (re - w.refStart) / (qe - w.queryStart) : 1;
    // One point per cycle (or per searched query frame, if sparser): the copy may run up to that
    // far before its first hit and after its last; half of it is the expected overhang.
    const half = Math.max(spacing, ...w.points.map((p) => p.spacingSec ?? 0)) / 2;
    const queryEnd = queryDurationSec > qe ? Math.min(queryDurationSec, qe + half) : qe + align.queryIntervalSec;
    // Each point lies up to half a cycle off the copy's line, so over a short query a fitted rate
    // can be far from a real-time copy's 1 (0.73 for a vertical reframe of the tuning split):
    // points whose offsets all fit within one cycle are real time as well.
    const offsets = w.points.map((p) => p.tr - p.tq).sort((a, b) => a - b);
    if ((rate > 0.75 && rate < 1.33) || offsets[offsets.length - 1] - offsets[0] <= cycleSec) {
      const offset = offsets[offsets.length >> 1];
      const queryStart = Math.max(0, -offset, w.queryStart - half);
      windowSegs.push({ ...w, queryStart, queryEnd, refStart: queryStart + offset, refEnd: queryEnd + offset, windowsOnly: true });
      continue;
    }
    const r = Math.min(Math.max(rate, align.minRate), align.maxRate);
    const queryStart = Math.max(0, w.queryStart - half, w.queryStart - w.refStart / r);
    windowSegs.push({
      ...w,
      queryStart,
      queryEnd,
      refStart: w.refStart - (w.queryStart - queryStart) * r,
      refEnd: re + (queryEnd - qe) * r,
      windowsOnly: true,
    });
  }
  // Window segments compete among themselves only: one that overlaps a segment of the other
  // regions is weighed against it once both are scored (search.ts: a segment of the others below
  // the floor must not hide a window segment that verification could confirm).
  const kept: AlignedSegment[] = [];
  for (const seg of windowSegs.sort((a, b) => b.evidence - a.evidence)) {
    if (!kept.some((a) => clashes(a, seg, align.maxQueryOverlap)) && kept.length < align.maxSegments) kept.push(seg);
  }
  return [...plain, ...kept];
}

/** Whether two segments cover the same query stretch (overlap above `maxOverlap` of the shorter). */
export function clashes(a: AlignedSegment, b: AlignedSegment, maxOverlap: number): boolean {
  const len = Math.min(a.queryEnd - a.queryStart, b.queryEnd - b.queryStart);
  return Math.min(a.queryEnd, b.queryEnd) - Math.max(a.queryStart, b.queryStart) > maxOverlap * len;
}

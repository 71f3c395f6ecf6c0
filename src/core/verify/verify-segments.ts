/**
 * The verification stage of a search: frames of the query and of each candidate reference are
 * decoded at the matched times (one ffmpeg process per file, a fast seek per frame) and judged
 * pair by pair (segment-verification.ts).
 */
import { access } from 'node:fs/promises';
import type { Raster } from '../frames/raster.js';
import { grabLumaFrames } from '../media/frame-grab.js';
import { AbortedError, RetraceError } from '../errors/retrace-error.js';
import type { SegmentVerdict, TimeLine } from './segment-verification.js';
import { pickPairs, verifyFramePairs } from './segment-verification.js';
import type { VerifySettings } from './verify-settings.js';

/** A segment to verify: its matched points and where its reference's media is. */
export interface VerifyCandidate {
  ref: { path: string; width: number; height: number; durationSec: number };
  points: ReadonlyArray<{ tq: number; tr: number; similarity: number }>;
  /** The segment's temporal line (video queries): references are decoded where it says. */
  line?: TimeLine;
  /** The descriptor matched the query's mirror image: try the mirrored comparison first. */
  mirroredHint?: boolean;
}

export interface QueryMedia {
  path: string;
  width: number;
  height: number;
  isImage: boolean;
}

/** A verdict, or `unavailable` when the reference's file is gone or cannot be decoded. */
export type VerifyOutcome = (SegmentVerdict & { timeMs: number }) | { status: 'unavailable'; reason: string; timeMs: number };

/**
 * Verify candidate segments. Outcomes come back in the order of `candidates`.
 *
 * @example
 * const [outcome] = await verifySegments(query, [{ ref, points }], DEFAULT_SEARCH.verify);
 */
export async function verifySegments(query: QueryMedia, candidates: readonly VerifyCandidate[], s: VerifySettings, signal?: AbortSignal): Promise<VerifyOutcome[]> {
  const t0 = performance.now();
  const pairs = candidates.map((c) => pickPairs(c.points, s.pairsPerSegment, c.line));
  // All query frames at once, each time decoded once.
  const queryTimes = [...new Set(pairs.flat().map((p) => p.queryTime))].sort((a, b) => a - b);
  // The query's decode runs beside the references' (two processes at a time on two cores).
  const queryGrab = grabLumaFrames(query.path, queryTimes, { width: s.widthPx, displayWidth: query.width, displayHeight: query.height, isImage: query.isImage, signal });
  queryGrab.catch(() => undefined);

  // Reference frames, one decode per reference file.
  const byRef = new Map<string, { ref: VerifyCandidate['ref']; times: Set<number> }>();
  candidates.forEach((c, i) => {
    const entry = byRef.get(c.ref.path) ?? { ref: c.ref, times: new Set<number>() };
    for (const p of pairs[i]) entry.times.add(p.refTime);
    byRef.set(c.ref.path, entry);
  });
  const refFrames = new Map<string, Map<number, Raster[]> | string>();
  for (const [path, { ref, times }] of byRef) {
    if (signal?.aborted) throw new AbortedError();
    try {
      await access(path);
    } catch {
      refFrames.set(path, 'reference file not found');
      continue;
    }
    const sorted = [...times].sort((a, b) => a - b);
    // The instant a query frame shows is known to within the line's jitter (a fraction of the
    // 1 s sampling), and moving pictures change within it: frames just before and after are
    // taken from the same seek, and tried when the first does not fit.
    const slack = s.timeSlackSec;
    const offsets = slack > 0 ? [0, -slack, slack] : [0];
    const clamp = (t: number) => Math.min(Math.max(0, ref.durationSec - slack - 0.1), t);
    try {
      const grabbed = await grabLumaFrames(path, sorted.map(clamp), { width: s.widthPx, displayWidth: ref.width, displayHeight: ref.height, offsets, signal });
      refFrames.set(path, new Map(sorted.map((t, i) => [t, grabbed.slice(i * offsets.length, (i + 1) * offsets.length)])));
    } catch (e) {
      if (e instanceof AbortedError) throw e;
      // A reference that no longer decodes is reported unverified, never fails the search.
      refFrames.set(path, e instanceof RetraceError ? e.code : 'decode failed');
    }
  }

  const grabbedQuery = await queryGrab;
  const queryFrames = new Map<number, Raster>(queryTimes.map((t, i) => [t, grabbedQuery[i]]));
  const out: VerifyOutcome[] = [];
  for (const [i, c] of candidates.entries()) {
    const t = performance.now();
    const frames = refFrames.get(c.ref.path);
    if (typeof frames === 'string' || !frames) {
      out.push({ status: 'unavailable', reason: frames ?? 'no frames', timeMs: 0 });
      continue;
    }
    const { verdict } = await verifyFramePairs(
      pairs[i].map((p) => ({ query: queryFrames.get(p.queryTime)!, refs: frames.get(p.refTime)! })),
      s,
      c.mirroredHint ?? false,
    );
    out.push({ ...verdict, timeMs: performance.now() - t });
  }
  // Decoding is shared: spread its time over the candidates.
  const decodeShare = (performance.now() - t0 - out.reduce((a, o) => a + o.timeMs, 0)) / Math.max(1, out.length);
  return out.map((o) => ({ ...o, timeMs: Math.round(o.timeMs + decodeShare) }));
}

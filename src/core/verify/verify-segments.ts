/**
 * The verification stage of a search: frames of the query and of each candidate reference are
 * decoded at the matched times (one ffmpeg process per file, a fast seek per frame) and judged
 * pair by pair (segment-verification.ts).
 */
import { access } from 'node:fs/promises';
import type { Raster } from '../frames/raster.js';
import { crop } from '../frames/raster.js';
import { grabLumaFrames } from '../media/frame-grab.js';
import { AbortedError, RetraceError } from '../errors/retrace-error.js';
import type { Affine, PairFit } from './local-features.js';
import { FeatureCache } from './local-features.js';
import type { NormRect, SegmentVerdict, TimeLine, VerifyPair } from './segment-verification.js';
import { judgeFits, pickPairs, verifyFramePairs } from './segment-verification.js';
import type { VerifySettings } from '../settings/verify-settings.js';
import { MAX_SLACK_SPEED, MAX_WINDOW_DECODE_PX, MAX_WINDOW_REF_SCALE } from '../settings/verify-settings.js';
import type { LinePair, TimeLineComparison } from './time-lines.js';
import { compareLines, refAtLine } from './time-lines.js';

/** A segment to verify: its matched points and where its reference's media is. */
export interface VerifyCandidate {
  ref: { path: string; width: number; height: number; durationSec: number };
  points: ReadonlyArray<{ tq: number; tr: number; similarity: number }>;
  /** The segment's temporal line (video queries): references are decoded where it says. */
  line?: TimeLine;
  /**
   * The segment's other time line (real time, or the rate fitted through its chain, where the
   * two part): its reference frames are decoded beside the line's, and once the copy is
   * confirmed both are compared with the query's frames by pixels (`timeLines` in the outcome).
   */
  otherLine?: TimeLine;
  /** The descriptor matched the query's mirror image: try the mirrored comparison first. */
  mirroredHint?: boolean;
  /**
   * The part of the query frame (fractions) that matched: a layout's panel or an inset. It is
   * compared on its own, decoded larger so that it is about `widthPx` wide: at 320 px for the
   * whole frame, a quarter-width inset would be 80 px, too few for keypoints. Models come back
   * in whole-frame coordinates all the same.
   */
  queryWindow?: NormRect;
  /**
   * Decode the reference this many times wider than `widthPx` (at most `MAX_WINDOW_DECODE_PX`):
   * the query shows a narrow window of it (a vertical reframe, a heavy crop), which at the
   * working width would be a third of the query's size, beyond what keypoints match across.
   */
  refScale?: number;
}

export interface QueryMedia {
  path: string;
  width: number;
  height: number;
  isImage: boolean;
  /** Video: its duration. A segment may run past the last frame (by up to a sampling interval); its frames are taken before the end. */
  durationSec?: number;
}

/** The reason given when a reference's file is gone (the one unavailability that keeps the old rule). */
export const REFERENCE_GONE = 'reference file not found';

/** A verdict, or `unavailable` when the reference's file is gone or cannot be decoded. */
export type VerifyOutcome =
  | (SegmentVerdict & {
      timeMs: number;
      /** A confirmed segment with an `otherLine`: how its line and the other agree with the pixels (time-lines.ts). */
      timeLines?: TimeLineComparison;
    })
  | { status: 'unavailable'; reason: string; timeMs: number };

/**
 * Verify candidate segments. Outcomes come back in the order of `candidates`.
 *
 * @example
 * const [outcome] = await verifySegments(query, [{ ref, points }], DEFAULT_SEARCH.verify);
 */
export async function verifySegments(
  query: QueryMedia,
  candidates: readonly VerifyCandidate[],
  s: VerifySettings,
  signal?: AbortSignal,
): Promise<VerifyOutcome[]> {
  const t0 = performance.now();
  // The first and last of the spread pairs first: most copies are confirmed by those two, and
  // the others are decoded only for the segments they do not settle.
  const pairs = candidates.map((c) => firstAndLastFirst(pickPairs(c.points, s.pairsPerSegment, c.line)));
  const fits: PairFit[][] = candidates.map(() => []);
  // Per candidate with another line: query frame, the line's reference frame, the other line's.
  const linePairs: LinePair[][] = candidates.map(() => []);
  // A still, or a clip searched by one frame: every pair shows the same query moment.
  const oneMoment = pairs.map((p) => new Set(p.map((x) => x.queryTime)).size === 1);
  const unavailable = new Map<number, string>();
  const cache = new FeatureCache();
  try {
    for (const round of [pairs.map((p) => p.slice(0, 2)), pairs.map((p) => p.slice(2))]) {
      const todo = candidates.map((_, i) => i).filter((i) => round[i].length && !unavailable.has(i) && !settled(fits[i], s, oneMoment[i]));
      if (!todo.length) break;
      const frames = await decodeRound(
        query,
        todo.map((i) => ({
          ref: candidates[i].ref,
          pairs: round[i],
          window: candidates[i].queryWindow,
          speed: candidates[i].line?.speed ?? 1,
          otherLine: candidates[i].otherLine,
          refScale: candidates[i].refScale,
        })),
        s,
        signal,
      );
      for (const [k, i] of todo.entries()) {
        const got = frames[k];
        if (typeof got === 'string') {
          unavailable.set(i, got);
          continue;
        }
        for (const g of got) if (g.other) linePairs[i].push({ query: g.query, line: g.refs[0], other: g.other });
        const { fits: more } = await verifyFramePairs(got, s, candidates[i].mirroredHint ?? false, fits[i], oneMoment[i], cache);
        fits[i] = more;
      }
    }
  } finally {
    cache.dispose();
  }
  const timeMs = Math.round((performance.now() - t0) / Math.max(1, candidates.length));
  return candidates.map((c, i) => {
    if (unavailable.has(i)) return { status: 'unavailable', reason: unavailable.get(i)!, timeMs };
    const verdict = judgeFits(fits[i], s, oneMoment[i]);
    // The pairs' query frames are the compared window's, so the window's own model reads them.
    const timeLines = verdict.status === 'confirmed' && verdict.model && linePairs[i].length ? compareLines(linePairs[i], verdict.model) : null;
    return {
      ...verdict,
      model: verdict.model && c.queryWindow ? fromWindow(verdict.model, c.queryWindow) : verdict.model,
      ...(timeLines ? { timeLines } : {}),
      timeMs,
    };
  });
}

/**
 * A model fitted on a window of the query (window 0–1 → reference 0–1) as a model of the whole
 * query frame: x in the window is (X − window.x) / window.width of the frame's X.
 */
function fromWindow(m: Affine, w: NormRect): Affine {
  const [a, b, c, d, e, f] = m;
  const sx = 1 / w.width;
  const sy = 1 / w.height;
  return [a * sx, b * sy, c - a * w.x * sx - b * w.y * sy, d * sx, e * sy, f - d * w.x * sx - e * w.y * sy];
}

/** Enough agreement that more pairs cannot change the verdict. */
function settled(fits: readonly PairFit[], s: VerifySettings, oneMoment: boolean): boolean {
  const v = judgeFits(fits, s, oneMoment);
  return v.status === 'confirmed' && (oneMoment || v.agreeing >= 2);
}

function firstAndLastFirst<T>(xs: readonly T[]): T[] {
  return xs.length <= 2 ? [...xs] : [xs[0], xs[xs.length - 1], ...xs.slice(1, -1)];
}

/**
 * Decode the frames of some pairs: the query's in one process, each reference file's in one
 * process (beside the query's). A reference that is gone or no longer decodes yields a reason
 * instead of frames: it is reported unverified, never fails the search.
 */
async function decodeRound(
  query: QueryMedia,
  jobs: ReadonlyArray<{ ref: VerifyCandidate['ref']; pairs: readonly VerifyPair[]; window?: NormRect; speed: number; otherLine?: TimeLine; refScale?: number }>,
  s: VerifySettings,
  signal?: AbortSignal,
): Promise<Array<Array<{ query: Raster; refs: Raster[]; other?: Raster }> | string>> {
  // A segment's end can lie past the query's last frame (a video of 7.54 s reported to 8.0 s):
  // asking for a frame there fails the whole decode, so times are kept a frame's length inside.
  const lastQueryTime = query.durationSec && query.durationSec > 0 ? Math.max(0, query.durationSec - 0.1) : Infinity;
  const queryTimeOf = (p: VerifyPair) => Math.min(p.queryTime, lastQueryTime);
  const queryTimes = [...new Set(jobs.flatMap((j) => j.pairs.map(queryTimeOf)))].sort((a, b) => a - b);
  // Whole-frame comparisons at the working width; windows from one larger decode, sized for the narrowest window.
  const narrowest = Math.min(1, ...jobs.map((j) => j.window?.width ?? 1));
  const windowWidth = Math.min(query.width, MAX_WINDOW_DECODE_PX, Math.round(s.widthPx / narrowest));
  const grab = (width: number) => {
    const g = grabLumaFrames(query.path, queryTimes, { width, displayWidth: query.width, displayHeight: query.height, isImage: query.isImage, signal });
    g.catch(() => undefined);
    return g;
  };
  const queryGrab = jobs.some((j) => !j.window) ? grab(s.widthPx) : null;
  const windowGrab = jobs.some((j) => j.window) ? grab(Math.max(s.widthPx, windowWidth)) : null;

  // The other line's instant for a pair, where it lies far enough from the line's to tell them apart.
  const otherTime = (j: (typeof jobs)[number], p: VerifyPair): number | undefined => {
    if (!j.otherLine || !s.timeLineCheck) return undefined;
    const t = Math.round(refAtLine(j.otherLine, queryTimeOf(p)) * 1000) / 1000;
    // Past either end of the reference the frame taken would be another instant's.
    if (t < 0 || t > j.ref.durationSec - 1) return undefined;
    return Math.abs(t - p.refTime) >= s.timeLineMinGapSec ? t : undefined;
  };
  // One decode per reference file and width.
  const refWidth = (j: (typeof jobs)[number]) =>
    Math.round(Math.min(MAX_WINDOW_DECODE_PX, s.widthPx * Math.min(MAX_WINDOW_REF_SCALE, Math.max(1, j.refScale ?? 1))));
  const refKey = (j: (typeof jobs)[number]) => `${refWidth(j)}|${j.ref.path}`;
  const byRef = new Map<string, { ref: VerifyCandidate['ref']; times: Set<number>; speed: number; width: number }>();
  for (const j of jobs) {
    const entry = byRef.get(refKey(j)) ?? { ref: j.ref, times: new Set<number>(), speed: 1, width: refWidth(j) };
    entry.speed = Math.max(entry.speed, j.speed);
    for (const p of j.pairs) {
      entry.times.add(p.refTime);
      if (p.altRefTime !== undefined) entry.times.add(p.altRefTime);
      const o = otherTime(j, p);
      if (o !== undefined) entry.times.add(o);
    }
    byRef.set(refKey(j), entry);
  }
  // The instant a query frame shows is known to within the line's jitter (a fraction of the
  // 1 s sampling), and moving pictures change within it: frames just before and after are
  // taken from the same seek, and tried when the first does not fit. On a fast copy the jitter
  // is in reference time, which runs `speed` times faster: a 3× copy's line was 0.5–0.8 s off.
  const refFrames = new Map<string, Map<number, Raster[]> | string>();
  for (const [key, { ref, times, speed, width }] of byRef) {
    const path = ref.path;
    const slack = s.timeSlackSec * Math.min(MAX_SLACK_SPEED, Math.max(1, speed));
    const offsets = slack > 0 ? [0, -slack, slack] : [0];
    if (signal?.aborted) throw new AbortedError();
    try {
      await access(path);
    } catch {
      refFrames.set(key, REFERENCE_GONE);
      continue;
    }
    const sorted = [...times].sort((a, b) => a - b);
    const clamp = (t: number) => Math.min(Math.max(0, ref.durationSec - slack - 0.1), t);
    try {
      const grabbed = await grabLumaFrames(path, sorted.map(clamp), { width, displayWidth: ref.width, displayHeight: ref.height, offsets, signal });
      refFrames.set(key, new Map(sorted.map((t, i) => [t, grabbed.slice(i * offsets.length, (i + 1) * offsets.length)])));
    } catch (e) {
      if (e instanceof AbortedError) throw e;
      refFrames.set(key, e instanceof RetraceError ? e.code : 'decode failed');
    }
  }
  let grabbedQuery: Raster[] = [];
  let grabbedLarge: Raster[] = [];
  try {
    if (queryGrab) grabbedQuery = await queryGrab;
    if (windowGrab) grabbedLarge = await windowGrab;
  } catch (e) {
    if (e instanceof AbortedError) throw e;
    // The query's own frames failed to decode again (a timeout on a loaded machine, a file
    // that decodes once but not twice): every segment stays unverified, the search goes on.
    const reason = `query frames: ${e instanceof RetraceError ? e.code : 'decode failed'}`;
    return jobs.map(() => reason);
  }
  const queryFrames = new Map<number, Raster>(queryTimes.map((t, i) => [t, grabbedQuery[i]]));
  const largeFrames = new Map<number, Raster>(queryTimes.map((t, i) => [t, grabbedLarge[i]]));
  const cut = (r: Raster, w: NormRect) => crop(r, { x: w.x * r.width, y: w.y * r.height, width: w.width * r.width, height: w.height * r.height });
  return jobs.map((j) => {
    const frames = refFrames.get(refKey(j));
    if (typeof frames === 'string' || !frames) return frames ?? 'no frames';
    return j.pairs.map((p) => {
      const o = otherTime(j, p);
      return {
        query: j.window ? cut(largeFrames.get(queryTimeOf(p))!, j.window) : queryFrames.get(queryTimeOf(p))!,
        at: queryTimeOf(p),
        refs: [...frames.get(p.refTime)!, ...(p.altRefTime !== undefined ? frames.get(p.altRefTime)! : [])],
        ...(o !== undefined ? { other: frames.get(o)![0] } : {}),
      };
    });
  });
}

import { resolve as resolvePath } from 'node:path';
import { isStoredWindowVariant } from '../frames/region-variants.js';
import type { FrameStore } from '../../db/frame-store.js';
import type { NormRect } from '../frames/raster.js';
import type { AlignedSegment, MatchPoint } from '../align/temporal-chains.js';
import type { QueryWindows } from '../query/query-plan.js';
import type { MatchTransform, SegmentVerification, TimeLine } from './segment-verification.js';
import { describeGeometry } from './segment-verification.js';
import type { QueryMedia, VerifyCandidate, VerifyOutcome } from './verify-segments.js';
import type { TimeLineComparison } from './time-lines.js';
import { refAtLine } from './time-lines.js';
import { REFERENCE_GONE, verifySegments } from './verify-segments.js';
import type { VerifySettings } from '../settings/verify-settings.js';

/** The reason given with a `no-media` verification. */
export const NO_MEDIA = 'no media to compare: a signature on one side';
/** Outcomes of segments verified earlier in one search (see `judgeCandidates`' `memo`). */
export type VerificationMemo = Array<{ videoId: string; seg: AlignedSegment; outcome: VerifyOutcome }>;

/**
 * The outcome of an earlier verification of the same copy: the same video and kind, query spans
 * overlapping by 80 % of the shorter, on lines within 1 s of each other at both ends of the
 * overlap. Refined again with the second tier's hits, a segment's bounds move by a fraction of a
 * second; its frames, and so its verdict, are those already compared.
 */
function earlierOutcome(memo: VerificationMemo, c: ScoredSegment): VerifyOutcome | undefined {
  // The reference instant each segment's line names at query time t (a still's segment: its start).
  const at = (seg: AlignedSegment, t: number) => {
    const line = lineOf(seg, Infinity);
    return line ? refAtLine(line, t) : seg.refStart;
  };
  for (const m of memo) {
    if (m.videoId !== c.videoId || !!m.seg.windowsOnly !== !!c.seg.windowsOnly) continue;
    const lo = Math.max(m.seg.queryStart, c.seg.queryStart);
    const hi = Math.min(m.seg.queryEnd, c.seg.queryEnd);
    const shorter = Math.min(m.seg.queryEnd - m.seg.queryStart, c.seg.queryEnd - c.seg.queryStart);
    if (hi - lo < 0.8 * shorter) continue;
    if (Math.abs(at(m.seg, lo) - at(c.seg, lo)) <= 1 && Math.abs(at(m.seg, hi) - at(c.seg, hi)) <= 1) return m.outcome;
  }
  return undefined;
}

/** Why a segment found only through the stored windows was not reported. */
export const WINDOWS_UNCONFIRMED = 'found through narrow windows only, and not confirmed by geometry';

/** An aligned segment of a reference video with its temporal score. */
export interface ScoredSegment {
  videoId: string;
  seg: AlignedSegment;
  /** Temporal score (segmentScore). */
  score: number;
}

/** A segment after verification: its score (geometry's confidence added when confirmed), verdict and transform. */
export interface JudgedSegment extends ScoredSegment {
  verification: SegmentVerification;
  transform: MatchTransform | null;
}

/**
 * Whether geometry may reject a query's segments. A query with far fewer pixels than a 16:9
 * frame at the verification width (a 200×150 re-encode) is upscaled for keypoints, which then
 * cannot say no any more than a faded still's can. Pixels, not width: a 204×360 portrait still
 * carries more than a 320×180 frame, and letting every narrow portrait still abstain let one
 * through (RESULTS.md, session 9).
 */
export function verificationCanReject(
  query: { width: number; height: number; lowInformation: boolean },
  s: Pick<VerifySettings, 'widthPx' | 'smallQueryPixelShare'>,
): boolean {
  const workingPixels = s.widthPx * s.widthPx * (9 / 16);
  return !query.lowInformation && query.width * query.height >= workingPixels * s.smallQueryPixelShare;
}

/**
 * The least temporal score of a segment that verification could not judge. A reference whose
 * file is gone keeps the rule that held before verification. A decode that fails now — the
 * query's own frames, or a reference that times out on a loaded machine (a file whose seeks
 * land on undecodable keyframes is decoded from its start, 15 s at load 17) or no longer
 * decodes — says nothing about the copy, and every candidate would pass alike, chance ones
 * included: only temporal evidence strong enough to stand alone is reported.
 */
export function unverifiableFloor(reason: string, minSegmentScore: number, s: Pick<VerifySettings, 'abstainMinScore'>): number {
  return reason === REFERENCE_GONE ? minSegmentScore : Math.max(minSegmentScore, s.abstainMinScore);
}

/**
 * The panel or inset (fractions of the query frame) whose regions carried most of a segment's
 * evidence, widened a little; undefined when the whole frame did. Verification compares that
 * part on its own, at a size keypoints can work with.
 */
export function matchedWindow(points: ReadonlyArray<Pick<MatchPoint, 'w' | 'pair'>>, windows: QueryWindows | undefined): NormRect | undefined {
  const r = windowOfEvidence(points, windows);
  if (!r) return undefined;
  const mx = r.width * 0.03;
  const my = r.height * 0.03;
  const x = Math.max(0, r.x - mx);
  const y = Math.max(0, r.y - my);
  return { x, y, width: Math.min(1, r.x + r.width + mx) - x, height: Math.min(1, r.y + r.height + my) - y };
}

/**
 * How much wider than the working width to decode the reference of a segment found through the
 * stored windows, so that the query's picture and the window of the reference it shows come out
 * about the same size: a strip spans the reference's full height, so the query shows all of it;
 * a quadrant region `quadrant fy @…` says the query shows `fy` of it. Widths are the same
 * otherwise (1).
 */
export function windowRefScale(points: ReadonlyArray<Pick<MatchPoint, 'w' | 'pair'>>, queryAspect: number, refAspect: number): number {
  const weight = new Map<string, number>();
  for (const p of points) if (p.pair && isStoredWindowVariant(p.pair.variant)) weight.set(p.pair.key, (weight.get(p.pair.key) ?? 0) + p.w);
  const key = [...weight.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!key) return 1;
  const fy = key.startsWith('quadrant ') ? Number(key.split(' ')[1]) : 1;
  return Math.max(1, refAspect / (queryAspect * (Number.isFinite(fy) && fy > 0 ? fy : 1)));
}

/** The panel or inset (fractions of the query frame) whose regions carried most of a segment's evidence, as detected. */
export function windowOfEvidence(points: ReadonlyArray<Pick<MatchPoint, 'w' | 'pair'>>, windows: QueryWindows | undefined): NormRect | undefined {
  if (!windows) return undefined;
  const weight = new Map<string, number>();
  let total = 0;
  for (const p of points) {
    total += p.w;
    const win = p.pair?.window;
    if (!win) continue;
    const id = win.kind === 'inset' ? (win.alternative !== undefined ? `inset ${win.alternative}` : 'inset') : `panel ${win.index}`;
    weight.set(id, (weight.get(id) ?? 0) + p.w);
  }
  const best = [...weight.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!best || best[1] < total / 2) return undefined;
  const [kind, index] = best[0].split(' ');
  if (kind === 'inset') return (index === undefined ? windows.inset : windows.insetAlternatives?.[Number(index)]) ?? undefined;
  return windows.panels[Number(index)] ?? undefined;
}

/** The window that carried a segment's evidence, else a found layout's panels (never an inset or a guessed panel that did not). */
function evidenceWindowOrPanels(points: ReadonlyArray<Pick<MatchPoint, 'w' | 'pair'>>, windows: QueryWindows | undefined): NormRect[] {
  const w = windowOfEvidence(points, windows);
  return w ? [w] : windows?.panelsGuessed ? [] : [...(windows?.panels ?? [])];
}

/**
 * The verification stage's rules: a segment is reported when geometry confirms it; where the
 * frames had too little texture to judge, only when its temporal score alone reaches
 * `verify.abstainMinScore`; where they had texture and no consistent model fits, never;
 * unverifiable (file gone, verification off), by the temporal floor as before. A confirmed
 * segment's score adds the geometry's confidence to the temporal one.
 */
export async function judgeCandidates(
  store: FrameStore,
  /** Null: the query has no media (a signature), so nothing can be verified. */
  query: (QueryMedia & { windows?: QueryWindows; referenceBaseDir?: string }) | null,
  candidates: ScoredSegment[],
  minSegmentScore: number,
  cannotReject: boolean,
  settings: VerifySettings,
  signal?: AbortSignal,
  /** Receives the candidates not reported, with their verdict (for `search --top`). */
  dropped?: JudgedSegment[],
  /**
   * Outcomes of segments verified earlier in the same search (appended to): a search that goes
   * on to its second tier judges the first tier's candidates again, refined with more hits, and
   * the same copy need not be decoded and compared twice (a rejected look-alike cost 3 s again).
   */
  memo?: VerificationMemo,
): Promise<Map<string, JudgedSegment[]>> {
  const v = settings;
  const out = new Map<string, JudgedSegment[]>();
  const keep = (j: JudgedSegment) => {
    const list = out.get(j.videoId) ?? [];
    list.push(j);
    out.set(j.videoId, list);
  };
  const unverified = (c: ScoredSegment, reason: string): JudgedSegment => ({
    ...c,
    verification: { status: 'unverified', pairs: 0, voting: 0, agreeing: 0, inliers: 0, reason },
    transform: null,
  });
  const noMedia = (c: ScoredSegment): JudgedSegment => ({
    ...c,
    verification: { status: 'no-media', pairs: 0, voting: 0, agreeing: 0, inliers: 0, reason: NO_MEDIA },
    transform: null,
  });
  // Without pixels on one side there is no geometry to confirm or reject a copy: only temporal
  // evidence strong enough to stand alone is reported, as for frames too flat to judge.
  const judgeWithoutMedia = (c: ScoredSegment) => {
    if (c.score >= Math.max(minSegmentScore, v.abstainMinScore) && !c.seg.windowsOnly) keep(noMedia(c));
    else dropped?.push(noMedia(c));
  };
  if (!query) {
    for (const c of candidates) judgeWithoutMedia(c);
    return out;
  }
  if (!v.enabled) {
    for (const c of candidates) {
      if (c.score >= minSegmentScore && !c.seg.windowsOnly) keep(unverified(c, 'verification disabled'));
      else dropped?.push(unverified(c, 'verification disabled'));
    }
    return out;
  }
  const records = await store.getMany([...new Set(candidates.map((c) => c.videoId))]);
  const withMedia = (c: ScoredSegment) => records.get(c.videoId)?.metadata.media !== false;
  for (const c of candidates) if (!withMedia(c)) judgeWithoutMedia(c);
  const ranked = candidates.filter(withMedia).sort((a, b) => b.score - a.score);
  const toVerify = ranked.slice(0, v.maxSegments);
  const verifiable = toVerify.filter((c) => records.has(c.videoId));
  const verifyCandidates = verifiable.map((c): VerifyCandidate => {
    const r = records.get(c.videoId)!;
    const { seg } = c;
    const line = query.isImage ? undefined : lineOf(seg, r.durationSec);
    const otherLine = line && seg.alternative ? lineOf(seg.alternative, r.durationSec) : undefined;
    const queryWindow = matchedWindow(seg.points, query.windows);
    const flipWeight = seg.points.reduce((w, p) => w + (p.pair?.mirrored ? p.w : 0), 0);
    const mirroredHint = flipWeight > seg.points.reduce((w, p) => w + p.w, 0) / 2;
    return {
      ref: { path: resolvePath(query.referenceBaseDir ?? '', r.path), width: r.width, height: r.height, durationSec: r.durationSec },
      points: seg.points,
      line,
      ...(otherLine ? { otherLine } : {}),
      mirroredHint,
      queryWindow,
      // The compared picture (the query, or the panel the evidence came from) against the reference.
      ...(seg.windowsOnly
        ? { refScale: windowRefScale(seg.points, (query.width * (queryWindow?.width ?? 1)) / (query.height * (queryWindow?.height ?? 1)), r.width / r.height) }
        : {}),
    };
  });
  const earlier = verifiable.map((c) => (memo ? earlierOutcome(memo, c) : undefined));
  const fresh = await verifySegments(
    query,
    verifyCandidates.filter((_, i) => !earlier[i]),
    v,
    signal,
  );
  let f = 0;
  const outcomes = earlier.map((o) => o ?? fresh[f++]);
  verifiable.forEach((c, i) => memo?.push({ videoId: c.videoId, seg: c.seg, outcome: outcomes[i] }));
  const confirmedVideos = new Set<string>();
  for (const [i, c] of verifiable.entries()) {
    // A dark or faded still (below the video frames' quality floor) has too little information
    // for keypoints to say no: JPEG blocks amplified by contrast normalisation are not a picture.
    // It can still be confirmed; otherwise it stands only on its (stricter) similarity.
    const o = cannotReject && outcomes[i].status === 'rejected' ? { ...outcomes[i], status: 'abstained' as const } : outcomes[i];
    // Found only through the stored windows: thin temporal evidence, reported only when confirmed.
    if (c.seg.windowsOnly && o.status !== 'confirmed') {
      dropped?.push(
        o.status === 'unavailable'
          ? unverified(c, o.reason)
          : {
              ...c,
              verification: { status: 'unconfirmed', pairs: o.pairs, voting: o.voting, agreeing: o.agreeing, inliers: o.inliers, reason: WINDOWS_UNCONFIRMED },
              transform: null,
            },
      );
      continue;
    }
    if (o.status === 'unavailable') {
      if (c.score >= unverifiableFloor(o.reason, minSegmentScore, v)) keep(unverified(c, o.reason));
      else dropped?.push(unverified(c, o.reason));
      continue;
    }
    const verification: SegmentVerification = {
      status: o.status === 'confirmed' ? 'confirmed' : 'unconfirmed',
      pairs: o.pairs,
      voting: o.voting,
      agreeing: o.agreeing,
      inliers: o.inliers,
      ...(o.status === 'abstained' ? { reason: 'too little texture to compare' } : {}),
    };
    if (o.status === 'confirmed' && o.model) {
      confirmedVideos.add(c.videoId);
      const seg = lineByPixels(c.seg, o.timeLines, v);
      const span = seg.queryEnd - seg.queryStart;
      const speed = query.isImage || span <= 0 ? 1 : (seg.refEnd - seg.refStart) / span;
      const transform = describeGeometry(
        o.model,
        o.mirrored,
        { query: query.width / query.height, ref: records.get(c.videoId)!.width / records.get(c.videoId)!.height },
        { speed, offsetSec: seg.refStart - speed * seg.queryStart },
        // The copy is confined to the panel or inset that carried its evidence. A detected inset
        // that did not (a caption box, a logo: overlay copies of the tuning split) says nothing
        // of the copy: taken as its bounds, full-frame copies were described as "inset 3 %".
        evidenceWindowOrPanels(seg.points, query.windows),
      );
      const geometry = 1 - Math.exp(-o.inliers / v.inlierScale);
      keep({ ...c, seg, score: 1 - (1 - c.score) * (1 - geometry), verification, transform });
    } else if (o.status === 'abstained' && c.score >= v.abstainMinScore && !(query.isImage && !cannotReject)) {
      // A still's one frame is all the evidence there is. Where keypoints could judge it and
      // still abstained, one of the two frames is flat ground (text on a plain screen), where the
      // global descriptor is no surer: such a still is reported only when confirmed. Tuning
      // split, seed 1, 16 stills per image family (RESULTS.md, session 11): 61 of 64 found with
      // the rule as without, negatives 0 of 32. Faded and tiny stills, which keypoints cannot
      // reject, keep the abstain rule.
      keep({ ...c, verification, transform: null });
    } else {
      dropped?.push({ ...c, verification: o.status === 'rejected' ? { ...verification, reason: 'no consistent geometry' } : verification, transform: null });
    }
    // Rejected: the frames had texture and no consistent model fits. Temporal evidence cannot
    // overrule that: look-alike footage (the same layout, other detail, the same pan) chains at
    // scores near 1 (test/engine/verification.test.ts).
  }
  // Segments beyond the verified ones stand only beside a confirmed segment of the same video.
  for (const c of ranked.slice(v.maxSegments)) {
    if (c.score >= minSegmentScore && confirmedVideos.has(c.videoId) && !c.seg.windowsOnly)
      keep(unverified(c, 'not verified: beyond the segments verified per query'));
    else dropped?.push(unverified(c, 'not verified: beyond the segments verified per query'));
  }
  return out;
}

/**
 * A segment's time line, for verification to take each reference frame at the instant the
 * query frame shows; undefined for a segment with no query span (no rate to speak of).
 */
function lineOf(seg: Pick<AlignedSegment, 'queryStart' | 'queryEnd' | 'refStart' | 'refEnd'>, refDurationSec: number): TimeLine | undefined {
  const span = seg.queryEnd - seg.queryStart;
  return span <= 0 ? undefined : { queryStart: seg.queryStart, refStart: seg.refStart, speed: (seg.refEnd - seg.refStart) / span, refDurationSec };
}

/**
 * A confirmed segment on the time line its pixels agree with: real time, or the rate fitted
 * through its chain, where refinement passed both (`seg.alternative`; verification compared
 * them, `timeLines`). The fitted rate must come closer to a perfect correlation, by
 * `timeLineResidualRatio`: where the frames correlate alike (static footage) real time wins.
 * Where they could not be compared, refinement's choice stands.
 */
function lineByPixels(seg: AlignedSegment, compared: TimeLineComparison | undefined, v: VerifySettings): AlignedSegment {
  const { alternative, ...chosen } = seg;
  if (!alternative || !compared || !v.timeLineCheck) return chosen;
  const rateOf = (x: AlignedSegment) => (x.queryEnd > x.queryStart ? (x.refEnd - x.refStart) / (x.queryEnd - x.queryStart) : 1);
  const chosenIsReal = Math.abs(rateOf(chosen) - 1) <= Math.abs(rateOf(alternative) - 1);
  const [realAgreement, fittedAgreement] = chosenIsReal ? compared.agreement : [compared.agreement[1], compared.agreement[0]];
  const fittedWins = 1 - fittedAgreement <= v.timeLineResidualRatio * (1 - realAgreement);
  return fittedWins === chosenIsReal ? alternative : chosen;
}

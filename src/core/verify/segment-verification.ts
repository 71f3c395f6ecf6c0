/**
 * Verification of aligned segments: several of a segment's matched frame pairs are compared
 * with local features (local-features.ts), and the segment is confirmed only when at least two
 * pairs fit *one* geometric model — a copy keeps the same crop, scale and mirror over its whole
 * length, while chance fits between unrelated frames give a different model for every pair.
 * Frames without texture cannot vote; when too few pairs can, verification abstains.
 */
import type { NormRect, Raster } from '../frames/raster.js';
import type { Affine, Box, PairFit } from './local-features.js';
import { applyAffine, comparePair, decompose, invertAffine } from './local-features.js';
import type { FeatureCache } from './local-features.js';
import type { VerifySettings } from '../settings/verify-settings.js';
import { ALT_REF_MIN_GAP_SEC, IN_PLACE_TOLERANCE } from '../settings/verify-settings.js';
import { refAtLine } from './time-lines.js';

/** How a copy was altered, from the fitted geometry and the temporal fit. */
export interface MatchTransform {
  /** The copy is the reference mirrored left–right. */
  mirrored: boolean;
  /**
   * Size of the reference's picture in the query relative to the query frame, along the width:
   * above 1 the query shows an enlarged part (a crop), below 1 a reduced whole (an inset).
   */
  scale: number;
  /** Rotation of the picture in degrees, counter-clockwise positive. */
  rotationDeg: number;
  /** The part of the reference frame the query shows, as fractions of the reference frame (0–1). */
  refRect: NormRect;
  /** Where the reference's picture lies in the query frame, as fractions of the query frame (0–1). */
  queryRect: NormRect;
  /** Reference seconds per query second (2 = the copy plays twice as fast). */
  speed: number;
  /** Reference time at query time 0: refTime = offsetSec + speed · queryTime. */
  offsetSec: number;
  /** The same in words, for people: "mirrored · centre 49 % · 1.5× speed" (see `describeTransform`). */
  summary: string;
}

export type { NormRect } from '../frames/raster.js';

/**
 * What the verification stage said of a segment (see src/core/verify).
 * - `confirmed`: local features of two or more frame pairs (one strong pair for a still) fit one
 *   geometric model; the score combines the temporal evidence with that geometry.
 * - `unconfirmed`: the frames had too little texture for geometry to judge (sky, a bare wall,
 *   darkness); the segment is reported only because its temporal evidence alone is strong, and
 *   its score is that evidence. (Frames with texture that fit no consistent model are rejected:
 *   such a segment is never reported.)
 * - `unverified`: the reference's file is gone or cannot be decoded, verification is switched off,
 *   or the segment was beyond the verified ones; the score is the temporal evidence alone.
 * - `no-media`: the query or the reference is a signature without media (`retrace signatures`),
 *   so there are no pixels to compare; like `unconfirmed`, the segment is reported only when its
 *   temporal evidence alone reaches `verify.abstainMinScore`.
 */
export interface SegmentVerification {
  status: 'confirmed' | 'unconfirmed' | 'unverified' | 'no-media';
  /** Frame pairs compared, pairs with enough texture to vote, pairs agreeing on one model. */
  pairs: number;
  voting: number;
  agreeing: number;
  /** Keypoint matches consistent with the model, in the strongest agreeing pair. */
  inliers: number;
  /** Why a segment is not confirmed. */
  reason?: string;
}

/** What verification said of one segment. */
export interface SegmentVerdict {
  /**
   * `confirmed`: two or more pairs (one strong pair for a still) agree on one model;
   * `rejected`: enough pairs had texture to judge and no consistent model fits;
   * `abstained`: too few pairs had texture to judge.
   */
  status: 'confirmed' | 'rejected' | 'abstained';
  /** Pairs compared, pairs that could vote (had texture), pairs agreeing on the model. */
  pairs: number;
  voting: number;
  agreeing: number;
  /** Inliers of the strongest agreeing pair. */
  inliers: number;
  model: Affine | null;
  mirrored: boolean;
}

/** A frame pair picked for verification. */
export interface VerifyPair {
  queryTime: number;
  refTime: number;
  /**
   * The stored frame the query frame matched, when the segment's line puts the reference's
   * instant elsewhere: a line fitted at the wrong rate (1.2× for a real-time copy was seen)
   * drifts seconds from the copy, and the matched frame is then the better guess.
   */
  altRefTime?: number;
}

/** A segment's temporal line: the reference time shown at query time t is refStart + speed·(t − queryStart). */
export interface TimeLine {
  queryStart: number;
  refStart: number;
  speed: number;
  refDurationSec: number;
}

/**
 * Pick up to `n` pairs spread over a segment's matched points: the most similar point of each
 * of `n` equal stretches of query time (for a still, the `n` most similar reference times).
 * With a `line`, the reference is taken at the instant the query frame shows rather than at the
 * stored frame it matched, which can be up to half a sampling interval away: in a fast pan or a
 * spinning picture that half second is a different geometry.
 */
export function pickPairs(points: ReadonlyArray<{ tq: number; tr: number; similarity: number }>, n: number, line?: TimeLine): VerifyPair[] {
  if (!points.length || n <= 0) return [];
  const sorted = [...points].sort((a, b) => a.tq - b.tq);
  const lo = sorted[0].tq;
  const hi = sorted[sorted.length - 1].tq;
  const picked: VerifyPair[] = [];
  const seen = new Set<string>();
  const add = (p: { tq: number; tr: number }) => {
    const refTime = line ? Math.round(Math.min(line.refDurationSec, Math.max(0, refAtLine(line, p.tq))) * 1000) / 1000 : p.tr;
    const key = `${p.tq}|${refTime}`;
    if (seen.has(key)) return;
    seen.add(key);
    picked.push({ queryTime: p.tq, refTime, ...(line && Math.abs(p.tr - refTime) > ALT_REF_MIN_GAP_SEC ? { altRefTime: p.tr } : {}) });
  };
  if (hi - lo < 1e-9) {
    for (const p of [...points].sort((a, b) => b.similarity - a.similarity)) {
      if (picked.length >= n) break;
      add(p);
    }
    return picked;
  }
  for (let b = 0; b < n; b++) {
    const from = lo + ((hi - lo) * b) / n;
    const to = b === n - 1 ? Infinity : lo + ((hi - lo) * (b + 1)) / n;
    const inBucket = sorted.filter((p) => p.tq >= from && p.tq < to);
    if (inBucket.length) add(inBucket.reduce((x, y) => (y.similarity > x.similarity ? y : x)));
  }
  return picked;
}

/** Two models agree when they place the area both saw at the same spot of the reference. */
export function modelsAgree(a: PairFit, b: PairFit, tolerance: number): boolean {
  if (!a.model || !b.model || a.mirrored !== b.mirrored) return false;
  const box = unionBox(a.queryBox, b.queryBox);
  const pts: Array<[number, number]> = [
    [box.x0, box.y0],
    [box.x1, box.y0],
    [box.x0, box.y1],
    [box.x1, box.y1],
    [(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2],
  ];
  for (const [x, y] of pts) {
    const [ax, ay] = applyAffine(a.model, x, y);
    const [bx, by] = applyAffine(b.model, x, y);
    if (Math.hypot(ax - bx, ay - by) > tolerance) return false;
  }
  return true;
}

function unionBox(a: Box | null, b: Box | null): Box {
  const boxes = [a, b].filter((x): x is Box => x !== null);
  if (!boxes.length) return { x0: 0, y0: 0, x1: 1, y1: 1 };
  return {
    x0: Math.min(...boxes.map((x) => x.x0)),
    y0: Math.min(...boxes.map((x) => x.y0)),
    x1: Math.max(...boxes.map((x) => x.x1)),
    y1: Math.max(...boxes.map((x) => x.y1)),
  };
}

function pairRank(p: PairFit): number {
  return (p.status === 'match' ? 1e6 : p.status === 'nomatch' ? 1e3 : 0) + p.inliers;
}

/** A pair's plausible fits: its own and its alternatives' (none unless it matched). */
function options(p: PairFit): readonly PairFit[] {
  return p.status === 'match' ? [p, ...(p.alternatives ?? [])] : [];
}

/**
 * The largest set of pairs that agree on one model: for each plausible fit (a lead), each
 * other pair contributes its strongest fit that agrees with the lead. Ties go to the strongest lead.
 */
function largestAgreement(fits: readonly PairFit[], tolerance: number): PairFit[] {
  const matches = fits.filter((f) => f.status === 'match');
  let group: PairFit[] = [];
  for (const pair of matches) {
    for (const lead of options(pair)) {
      const g = [lead];
      for (const other of matches) {
        if (other === pair) continue;
        const agreeing = options(other).filter((o) => modelsAgree(lead, o, tolerance));
        if (agreeing.length) g.push(agreeing.reduce((x, y) => (y.inliers > x.inliers ? y : x)));
      }
      if (g.length > group.length || (g.length === group.length && lead.inliers > (group[0]?.inliers ?? -1))) group = g;
    }
  }
  return group;
}

/** Where a model puts a query point, and how it maps the box's half-extents (its linear part). */
function linearAgree(a: Affine, b: Affine, box: Box, tolerance: number): boolean {
  const hx = (box.x1 - box.x0) / 2;
  const hy = (box.y1 - box.y0) / 2;
  for (const [x, y] of [
    [hx, hy],
    [hx, -hy],
  ]) {
    const dx = (a[0] - b[0]) * x + (a[1] - b[1]) * y;
    const dy = (a[3] - b[3]) * x + (a[4] - b[4]) * y;
    if (Math.hypot(dx, dy) > tolerance) return false;
  }
  return true;
}

/**
 * Whether fits at three or more query times show one panning window: the same mirror, scale and
 * rotation (the models' linear parts agree on the area they saw), and a position in the
 * reference that moves along a straight line at a steady pace (the box centre's reference
 * position is linear in query time, within `tolerance`). A vertical 9:16 reframe often pans
 * across its 16:9 source; chance fits between unrelated frames agree neither in shape nor in path.
 */
export function panAgrees(group: readonly PairFit[], tolerance: number): boolean {
  const times = group.map((f) => f.at);
  if (group.length < MIN_PAN_PAIRS || times.some((t) => t === undefined) || new Set(times).size < MIN_PAN_PAIRS) return false;
  if (group.some((f) => !f.model || f.mirrored !== group[0].mirrored)) return false;
  const box = group.reduce<Box>((b, f) => unionBox(b, f.queryBox), group[0].queryBox ?? { x0: 0, y0: 0, x1: 1, y1: 1 });
  if (group.some((f) => !linearAgree(f.model!, group[0].model!, box, tolerance))) return false;
  const cx = (box.x0 + box.x1) / 2;
  const cy = (box.y0 + box.y1) / 2;
  const pts = group.map((f) => ({ t: f.at!, p: applyAffine(f.model!, cx, cy) }));
  const mt = pts.reduce((s, q) => s + q.t, 0) / pts.length;
  const stt = pts.reduce((s, q) => s + (q.t - mt) ** 2, 0);
  for (const axis of [0, 1] as const) {
    const m = pts.reduce((s, q) => s + q.p[axis], 0) / pts.length;
    const slope = pts.reduce((s, q) => s + (q.t - mt) * (q.p[axis] - m), 0) / stt;
    if (pts.some((q) => Math.abs(m + slope * (q.t - mt) - q.p[axis]) > tolerance)) return false;
  }
  return true;
}

/** A pan is only told from chance by three or more moments (any two positions lie on a line). */
const MIN_PAN_PAIRS = 3;

/** The largest set of three or more pairs that show one panning window (see `panAgrees`), strongest fits first. */
function largestPan(fits: readonly PairFit[], tolerance: number): PairFit[] {
  const choices = fits.filter((f) => f.status === 'match' && f.at !== undefined).map(options);
  let best: PairFit[] = [];
  const chosen: PairFit[] = [];
  // A handful of pairs with a few alternatives each: every choice can be tried.
  const visit = (i: number) => {
    if (chosen.length + (choices.length - i) <= best.length) return;
    if (i === choices.length) {
      if (chosen.length > best.length && panAgrees(chosen, tolerance)) best = [...chosen];
      return;
    }
    for (const o of choices[i]) {
      chosen.push(o);
      visit(i + 1);
      chosen.pop();
    }
    visit(i + 1);
  };
  visit(0);
  return best;
}

/** The verdict on a segment from its pairs' fits. */
export function judgeFits(fits: readonly PairFit[], s: VerifySettings, oneMoment = false): SegmentVerdict {
  const voting = fits.filter((f) => f.status !== 'flat');
  const matches = fits.filter((f) => f.status === 'match');
  // The largest group of pairs that agree with one of them (its strongest member leads); where
  // none do, the largest that show one panning window.
  const rigid = largestAgreement(fits, s.agreement);
  const pan = rigid.length < 2 && !oneMoment ? largestPan(fits, s.agreement) : [];
  const group = pan.length > rigid.length ? pan : rigid;
  const strongest = group.reduce<PairFit | null>((x, y) => (!x || y.inliers > x.inliers ? y : x), null);
  const base = {
    pairs: fits.length,
    voting: voting.length,
    agreeing: group.length,
    inliers: strongest?.inliers ?? 0,
    model: strongest?.model ?? null,
    mirrored: strongest?.mirrored ?? false,
  };
  // A still (or a clip searched by one frame) shows one moment: the reference frames tried are
  // candidates for that moment, and one that fits confirms it — on the tuning corpus no pair of
  // frames of different clips (0 of 1022) gave a plausible fit. For a video segment, one pair
  // carries it on its own only strongly, and when no other pair fits a different model (a
  // low-texture shot may show its geometry in one frame of four).
  const single = strongest !== null && (oneMoment || (group.length === 1 && matches.length === 1 && strongest.inliers >= s.singlePairMinInliers));
  if (group.length >= 2 || single) return { status: 'confirmed', ...base };
  if (voting.length >= 2 || (voting.length === 1 && (fits.length === 1 || oneMoment))) return { status: 'rejected', ...base };
  return { status: 'abstained', ...base };
}

/**
 * Compare pairs of frames and judge the segment. Each query frame is compared with the
 * reference at the expected instant first, then with the frames around it until one fits.
 * Comparing stops once two pairs agree: more agreement cannot change a confirmation, and each
 * pair costs tens of milliseconds. When pairs fit but disagree, the instant may be off (a fast
 * copy's line, a pan): every reference frame of those pairs is then compared, and the segment
 * is judged on the fits that agree best.
 */
export async function verifyFramePairs(
  frames: ReadonlyArray<{ query: Raster; refs: readonly Raster[]; at?: number }>,
  s: VerifySettings,
  mirroredFirst = false,
  earlier: readonly PairFit[] = [],
  oneMoment = false,
  /** Keypoints and fits already computed in this verification (see `FeatureCache`). */
  cache?: FeatureCache,
): Promise<{ verdict: SegmentVerdict; fits: PairFit[] }> {
  const fits: PairFit[] = [...earlier];
  const confirmed = () => judgeFits(fits, s, oneMoment).status === 'confirmed' && (oneMoment || fits.length >= 2);
  // Pairs of this call whose first fit ended the comparing: their other reference frames are left.
  const partial: Array<{ at: number; frame: { query: Raster; refs: readonly Raster[]; at?: number }; compared: number }> = [];
  for (const f of frames) {
    let best: PairFit | null = null;
    let compared = 0;
    for (const ref of f.refs) {
      const fit = { ...(await comparePair(f.query, ref, s, mirroredFirst, cache)), ...(f.at !== undefined ? { at: f.at } : {}) };
      compared++;
      if (!best || pairRank(fit) > pairRank(best)) best = fit;
      if (best.status === 'match') break;
    }
    fits.push(best!);
    if (compared < f.refs.length) partial.push({ at: fits.length - 1, frame: f, compared });
    if (confirmed()) break;
  }
  if (!oneMoment && !confirmed() && fits.filter((f) => f.status === 'match').length >= 2) {
    for (const p of partial) {
      const more: PairFit[] = [];
      for (const ref of p.frame.refs.slice(p.compared)) {
        const fit = await comparePair(p.frame.query, ref, s, mirroredFirst, cache);
        if (fit.status === 'match') more.push({ ...fit, ...(p.frame.at !== undefined ? { at: p.frame.at } : {}) });
      }
      if (more.length) fits[p.at] = { ...fits[p.at], alternatives: [...(fits[p.at].alternatives ?? []), ...more] };
    }
  }
  return { verdict: judgeFits(fits, s, oneMoment), fits };
}

function clipRect(pts: Array<[number, number]>): NormRect {
  const xs = pts.map((p) => Math.min(1, Math.max(0, p[0])));
  const ys = pts.map((p) => Math.min(1, Math.max(0, p[1])));
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x: round(x), y: round(y), width: round(Math.max(...xs) - x), height: round(Math.max(...ys) - y) };
}

const CORNERS: Array<[number, number]> = [
  [0, 0],
  [1, 0],
  [0, 1],
  [1, 1],
];

/**
 * The transform of a verified segment: the geometry of its model and its temporal line
 * (`speed`, `offsetSec`). Widths are in each frame's own fractions, so `scale` compares the
 * reference's picture width with the query frame's width.
 */
export function describeGeometry(
  model: Affine,
  mirrored: boolean,
  aspect: { query: number; ref: number },
  time: { speed: number; offsetSec: number },
  queryPanels: readonly NormRect[] = [],
): MatchTransform {
  const inv = invertAffine(model);
  let queryRect = inv ? clipRect(CORNERS.map(([x, y]) => applyAffine(inv, x, y))) : { x: 0, y: 0, width: 1, height: 1 };
  // In a layout (a split screen's half, a sharp picture in a blurred surround) only the panel
  // that shows the reference shows it: beyond the panel's edge is other footage.
  // A model that leaves the picture where it was (same place, same size) describes a full-frame
  // copy with something laid over it: a real inset or panel shows the reference moved and
  // scaled. A caption band found as an inset and compared alone fits that way (overlay copies of
  // the tuning split read "centre 25 % · inset 25 % of the frame").
  const inPlace = IDENTITY.every((v, i) => Math.abs(model[i] - v) <= IN_PLACE_TOLERANCE);
  const panel = inPlace
    ? null
    : queryPanels.reduce<NormRect | null>((best, p) => (overlap(p, queryRect) > (best ? overlap(best, queryRect) : 0) ? p : best), null);
  if (panel) queryRect = intersect(queryRect, panel);
  const seen: Array<[number, number]> = panel
    ? [
        [panel.x, panel.y],
        [panel.x + panel.width, panel.y],
        [panel.x, panel.y + panel.height],
        [panel.x + panel.width, panel.y + panel.height],
      ]
    : CORNERS;
  const refRect = clipRect(seen.map(([x, y]) => applyAffine(model, x, y)));
  // Normalised coordinates stretch each frame to a square: undo that for angles and sizes.
  const px: Affine = [(model[0] * aspect.ref) / aspect.query, model[1] * aspect.ref, 0, model[3] / aspect.query, model[4], 0];
  const unmirrored: Affine = mirrored ? [-px[0], px[1], 0, -px[3], px[4], 0] : px;
  const g = decompose(unmirrored);
  const t: Omit<MatchTransform, 'summary'> = {
    mirrored,
    scale: round(1 / Math.max(1e-9, Math.sqrt(Math.abs(model[0] * model[4] - model[1] * model[3])))),
    rotationDeg: Math.round(g.rotationDeg * 10) / 10,
    refRect,
    queryRect,
    speed: round(time.speed),
    offsetSec: round(time.offsetSec),
  };
  return { ...t, summary: describeTransform(t) };
}

const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

function intersect(a: NormRect, b: NormRect): NormRect {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const width = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - x);
  const height = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - y);
  return { x: round(x), y: round(y), width: round(width), height: round(height) };
}

function overlap(a: NormRect, b: NormRect): number {
  const i = intersect(a, b);
  return i.width * i.height;
}

/**
 * The transform in words, for people: "mirrored · centre 70 % · 1.5× speed".
 *
 * @example
 * describeTransform(t); // 'mirrored · centre 70 % · 1.5× speed'
 */
export function describeTransform(t: Omit<MatchTransform, 'summary'>): string {
  const parts: string[] = [];
  if (t.mirrored) parts.push('mirrored');
  const r = t.refRect;
  const area = r.width * r.height;
  if (area < 0.9) {
    const cx = r.x + r.width / 2;
    const cy = r.y + r.height / 2;
    const h = cx < 0.4 ? 'left' : cx > 0.6 ? 'right' : '';
    const v = cy < 0.4 ? 'top' : cy > 0.6 ? 'bottom' : '';
    const where = v || h ? [v, h].filter(Boolean).join(' ') : 'centre';
    parts.push(`${where} ${Math.round(area * 100)} %`);
  }
  const q = t.queryRect;
  if (q.width * q.height < 0.85) parts.push(`inset ${Math.round(q.width * q.height * 100)} % of the frame`);
  if (Math.abs(t.rotationDeg) >= 1.5) parts.push(`rotated ${Math.round(t.rotationDeg)}°`);
  if (Math.abs(t.speed - 1) >= 0.05) parts.push(`${Math.round(t.speed * 100) / 100}× speed`);
  return parts.length ? parts.join(' · ') : 'as is';
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Local-feature comparison of one query frame with one reference frame: keypoints, matching
 * and a geometric model fitted robustly. This is evidence independent of the global
 * descriptor: two frames with the same colour layout share no keypoint geometry unless one is
 * a copy of the other.
 *
 * OpenCV's WebAssembly build does the keypoints (ORB), the matching (Hamming brute force with
 * a ratio test) and the fitting (RANSAC affine). It loads in about 0.4 s, once per process,
 * and only when something is verified.
 */
import { createRequire } from 'node:module';
import type { Raster } from '../frames/raster.js';
import type { VerifySettings } from '../settings/verify-settings.js';

// The package's module namespace types name its classes and functions (Mat, ORB, …).
type Cv = typeof import('@techstark/opencv-js');
// Emscripten objects live in the WebAssembly heap and must be freed by hand.
interface Deletable {
  delete(): void;
}

// The OpenCV module is a thenable (Emscripten's `then`), so it must never be returned from an
// async function or awaited itself: it travels boxed.
let loading: Promise<{ cv: Cv }> | null = null;

/** OpenCV, loaded on first use; later calls share the same instance. Boxed: see above. */
export function loadOpenCv(): Promise<{ cv: Cv }> {
  loading ??= (async () => {
    // Emscripten's Node glue installs process-wide handlers (an unhandled rejection anywhere
    // would abort the process): the ones it adds are taken off again.
    const events: Array<'uncaughtException' | 'unhandledRejection'> = ['uncaughtException', 'unhandledRejection'];
    const listeners = (e: 'uncaughtException' | 'unhandledRejection') => process.listeners(e as 'uncaughtException') as Array<(...args: unknown[]) => void>;
    const before = events.map((e) => new Set(listeners(e)));
    // require, not import(): an ESM namespace wrapping a thenable is itself awaited by loaders.
    const exported = createRequire(import.meta.url)('@techstark/opencv-js') as Cv & { Mat?: unknown; onRuntimeInitialized?: () => void };
    events.forEach((e, i) => {
      for (const l of listeners(e)) if (!before[i].has(l)) process.removeListener(e, l);
    });
    if (!exported.Mat) {
      await new Promise<void>((resolve) => {
        exported.onRuntimeInitialized = () => resolve();
      });
    }
    return { cv: exported };
  })();
  return loading;
}

/**
 * A 2×3 affine map `[a, b, c, d, e, f]`: x' = a·x + b·y + c, y' = d·x + e·y + f, from the query
 * frame to the reference frame, both in coordinates normalised to 0–1 across each frame.
 */
export type Affine = [number, number, number, number, number, number];

/** What comparing one pair of frames found. */
export interface PairFit {
  /**
   * `match`: a plausible model with enough inliers; `nomatch`: there were enough candidate
   * correspondences to test a model and no plausible one fits; `flat`: too few keypoints or
   * correspondences to say either (sky, a bare wall, black, a caption over sky) — verification
   * abstains on such pairs.
   */
  status: 'match' | 'nomatch' | 'flat';
  mirrored: boolean;
  model: Affine | null;
  inliers: number;
  /** Ratio-test matches the model was fitted to. */
  matches: number;
  keypoints: { query: number; ref: number };
  /** Bounding boxes of the inliers, normalised, in each frame. */
  queryBox: Box | null;
  refBox: Box | null;
  /**
   * Other plausible fits of the same query frame, against the reference frames just before and
   * after the expected instant (set by segment verification when the first fit disagrees with
   * the segment's other pairs): the instant is only known to a fraction of a second.
   */
  alternatives?: readonly PairFit[];
  /** Query time of the pair's frame (set by segment verification): a panning copy's crop moves with it. */
  at?: number;
}

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

interface Features extends Deletable {
  points: Float32Array;
  descriptors: InstanceType<Cv['Mat']>;
  count: number;
}

function toMat(cv: Cv, r: Raster): InstanceType<Cv['Mat']> {
  const mat = new cv.Mat(r.height, r.width, cv.CV_8UC1);
  mat.data.set(r.data.subarray(0, r.width * r.height));
  return mat;
}

/** Keypoints after contrast normalisation (CLAHE), so dark and faded copies still show theirs. */
function features(cv: Cv, r: Raster, mirror: boolean, s: VerifySettings): Features {
  const src = toMat(cv, r);
  const eq = new cv.Mat();
  const clahe = new cv.CLAHE(Math.max(s.claheClipLimit, 0.01), new cv.Size(s.claheTiles, s.claheTiles));
  if (s.claheClipLimit > 0) clahe.apply(src, eq);
  else src.copyTo(eq);
  if (mirror) cv.flip(eq, eq, 1);
  const orb = new cv.ORB(s.orbFeatures, 1.2, 8, s.orbPatchSize, 0, 2, 0 /* HARRIS_SCORE */, s.orbPatchSize, s.orbFastThreshold);
  const kp = new cv.KeyPointVector();
  const descriptors = new cv.Mat();
  const none = new cv.Mat();
  orb.detectAndCompute(eq, none, kp, descriptors);
  const count = kp.size();
  const points = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) {
    const p = kp.get(i).pt;
    points[2 * i] = p.x;
    points[2 * i + 1] = p.y;
  }
  for (const d of [src, eq, none, kp, orb, clahe] as Deletable[]) d.delete();
  return { points, descriptors, count, delete: () => descriptors.delete() };
}

/**
 * Keypoints and fits kept for the span of one verification: a query frame meets several
 * reference frames (the instant's neighbours, other candidates), a reference frame several
 * query frames, and a pair may be compared again (its alternatives). On a vertical reframe of
 * the tuning split, 254 keypoint extractions covered 56 distinct frames. It holds WebAssembly
 * memory: `dispose()` when the verification is done.
 *
 * @example
 * const cache = new FeatureCache();
 * try { await comparePair(q, r, s, false, cache); } finally { cache.dispose(); }
 */
export class FeatureCache {
  private readonly features = new Map<Raster, Map<string, Features>>();
  private readonly fits = new Map<Raster, Map<Raster, Map<string, PairFit>>>();

  /** The frame's keypoints in one orientation with one budget, extracted once. */
  featuresOf(cv: Cv, r: Raster, mirror: boolean, s: VerifySettings): Features {
    const key = `${mirror}|${s.orbFeatures}|${s.orbPatchSize}|${s.orbFastThreshold}|${s.claheClipLimit}|${s.claheTiles}`;
    let byKey = this.features.get(r);
    if (!byKey) this.features.set(r, (byKey = new Map()));
    let f = byKey.get(key);
    if (!f) byKey.set(key, (f = features(cv, r, mirror, s)));
    return f;
  }

  /** A pair's fit, computed once per pair, settings and orientation tried first. */
  async fit(query: Raster, ref: Raster, key: string, compute: () => Promise<PairFit>): Promise<PairFit> {
    let byRef = this.fits.get(query);
    if (!byRef) this.fits.set(query, (byRef = new Map()));
    let byKey = byRef.get(ref);
    if (!byKey) byRef.set(ref, (byKey = new Map()));
    let f = byKey.get(key);
    if (!f) byKey.set(key, (f = await compute()));
    return f;
  }

  dispose(): void {
    for (const byKey of this.features.values()) for (const f of byKey.values()) f.delete();
    this.features.clear();
    this.fits.clear();
  }
}

/** Ratio-test matches from query features to reference features, as index pairs. */
function ratioMatches(cv: Cv, q: Features, r: Features, ratio: number): Array<[number, number]> {
  if (q.count < 2 || r.count < 2) return [];
  const matcher = new cv.BFMatcher(cv.NORM_HAMMING, false);
  const knn = new cv.DMatchVectorVector();
  matcher.knnMatch(q.descriptors, r.descriptors, knn, 2);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < knn.size(); i++) {
    const pair = knn.get(i);
    if (pair.size() >= 2) {
      const a = pair.get(0);
      const b = pair.get(1);
      if (a.distance < ratio * b.distance) out.push([a.queryIdx, a.trainIdx]);
    }
    pair.delete();
  }
  knn.delete();
  matcher.delete();
  return out;
}

interface Fitted {
  model: Affine;
  inlierIdx: number[];
}

/** RANSAC affine from query pixels to reference pixels over the given matches. */
function fitAffine(cv: Cv, q: Features, r: Features, pairs: Array<[number, number]>, s: VerifySettings): Fitted | null {
  if (pairs.length < s.minInliers) return null;
  const src = cv.matFromArray(
    pairs.length,
    1,
    cv.CV_32FC2,
    pairs.flatMap(([a]) => [q.points[2 * a], q.points[2 * a + 1]]),
  );
  const dst = cv.matFromArray(
    pairs.length,
    1,
    cv.CV_32FC2,
    pairs.flatMap(([, b]) => [r.points[2 * b], r.points[2 * b + 1]]),
  );
  const mask = new cv.Mat();
  let fitted: Fitted | null = null;
  try {
    const m = cv.estimateAffine2D(src, dst, mask, cv.RANSAC, s.ransacThresholdPx, 2000, 0.995, 10) as InstanceType<Cv['Mat']>;
    if (m && !m.empty() && m.rows === 2 && m.cols === 3) {
      const d = m.data64F;
      const inlierIdx: number[] = [];
      for (let i = 0; i < pairs.length; i++) if (mask.data[i]) inlierIdx.push(i);
      fitted = { model: [d[0], d[1], d[2], d[3], d[4], d[5]], inlierIdx };
    }
    m?.delete();
  } finally {
    src.delete();
    dst.delete();
    mask.delete();
  }
  return fitted;
}

/** Scale (geometric mean of the singular values), anisotropy and rotation of an affine's linear part. */
export function decompose(m: Affine): { scale: number; anisotropy: number; rotationDeg: number; det: number } {
  const [a, b, , d, e] = m;
  const det = a * e - b * d;
  // Singular values of [[a b][d e]].
  const s1 = Math.hypot(a + e, d - b) / 2 + Math.hypot(a - e, d + b) / 2;
  const s2 = Math.abs(Math.hypot(a + e, d - b) / 2 - Math.hypot(a - e, d + b) / 2);
  const rotationDeg = (Math.atan2(d - b, a + e) * 180) / Math.PI;
  return { scale: Math.sqrt(s1 * s2), anisotropy: s2 > 0 ? s1 / s2 : Infinity, rotationDeg, det };
}

function boxOf(points: Float32Array, idx: readonly number[], w: number, h: number): Box {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const i of idx) {
    x0 = Math.min(x0, points[2 * i] / w);
    x1 = Math.max(x1, points[2 * i] / w);
    y0 = Math.min(y0, points[2 * i + 1] / h);
    y1 = Math.max(y1, points[2 * i + 1] / h);
  }
  return { x0, y0, x1, y1 };
}

export function boxArea(b: Box): number {
  return Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
}

/** Rotations a real copy shows: a few degrees, or a quarter turn of a phone picture. */
function plausibleRotation(deg: number, maxTiltDeg: number): boolean {
  const off = Math.abs((((deg % 90) + 135) % 90) - 45);
  return Math.abs(deg) <= maxTiltDeg || off <= maxTiltDeg / 2;
}

/** ORB returns slightly fewer keypoints than its budget when the budget binds (duplicates dropped across levels). */
const SATURATED_SHARE = 0.95;

/**
 * Compare a query frame with a reference frame, as given and mirrored, and keep the better fit
 * (once one orientation fits, the other is not tried).
 * Models are returned in normalised coordinates (query 0–1 → reference 0–1), mirror included.
 */
export async function comparePair(query: Raster, ref: Raster, s: VerifySettings, mirroredFirst = false, cache?: FeatureCache): Promise<PairFit> {
  if (!cache) {
    const own = new FeatureCache();
    try {
      return await comparePair(query, ref, s, mirroredFirst, own);
    } finally {
      own.dispose();
    }
  }
  const once = (settings: VerifySettings) =>
    cache.fit(query, ref, `${mirroredFirst}|${settings.orbFeatures}`, () => compareOnce(query, ref, settings, mirroredFirst, cache));
  const first = await once(s);
  if (first.status === 'match' || s.orbFeaturesRetry <= s.orbFeatures) return first;
  // Captions and logos are all corners: when they used up the keypoint budget of either frame
  // and nothing fit, the picture around them went unseen. One more try with a larger budget;
  // only such pairs pay for it (matching is quadratic in the keypoints).
  if (Math.max(first.keypoints.query, first.keypoints.ref) < SATURATED_SHARE * s.orbFeatures) return first;
  const second = await once({ ...s, orbFeatures: s.orbFeaturesRetry });
  return second.status === 'match' ? second : first;
}

async function compareOnce(query: Raster, ref: Raster, s: VerifySettings, mirroredFirst: boolean, cache: FeatureCache): Promise<PairFit> {
  const { cv } = await loadOpenCv();
  const r = cache.featuresOf(cv, ref, false, s);
  const flat = (q: number) => q < s.minKeypoints || r.count < s.minKeypoints;
  let best: PairFit | null = null;
  let settled = false;
  // The orientation the descriptor matched in is tried first; the other only if it fails.
  for (const mirrored of mirroredFirst ? [true, false] : [false, true]) {
    if (settled) break;
    const q = cache.featuresOf(cv, query, mirrored, s);
    const keypoints = { query: q.count, ref: r.count };
    if (flat(q.count)) {
      best ??= { status: 'flat', mirrored: false, model: null, inliers: 0, matches: 0, keypoints, queryBox: null, refBox: null };
      continue;
    }
    const pairs = ratioMatches(cv, q, r, s.ratio);
    const fit = fitAffine(cv, q, r, pairs, s);
    const candidate: PairFit = {
      status: 'nomatch',
      mirrored,
      model: null,
      inliers: fit?.inlierIdx.length ?? 0,
      matches: pairs.length,
      keypoints,
      queryBox: null,
      refBox: null,
    };
    if (fit) {
      // Pixel model → normalised model, undoing the mirror: a query x of the mirrored
      // picture is (1 − x) of the picture as given.
      const [a, b, c, d, e, f] = fit.model;
      const qw = query.width,
        qh = query.height,
        rw = ref.width,
        rh = ref.height;
      let m: Affine = [(a * qw) / rw, (b * qh) / rw, c / rw, (d * qw) / rh, (e * qh) / rh, f / rh];
      // Scale, stretch and tilt are judged on the fit as found, in pixels (frames are decoded
      // at their display shape): in normalised coordinates a 16:9 picture inside a 9:16
      // canvas would look stretched 3.2 times.
      const g = decompose(fit.model);
      if (mirrored) m = [-m[0], m[1], m[0] + m[2], -m[3], m[4], m[3] + m[5]];
      const qIdx = fit.inlierIdx.map((i) => pairs[i][0]);
      const rIdx = fit.inlierIdx.map((i) => pairs[i][1]);
      let queryBox = boxOf(q.points, qIdx, qw, qh);
      if (mirrored) queryBox = { x0: 1 - queryBox.x1, x1: 1 - queryBox.x0, y0: queryBox.y0, y1: queryBox.y1 };
      const refBox = boxOf(r.points, rIdx, rw, rh);
      candidate.model = m;
      candidate.queryBox = queryBox;
      candidate.refBox = refBox;
      const ok =
        fit.inlierIdx.length >= s.minInliers &&
        fit.inlierIdx.length >= s.minInlierRatio * pairs.length &&
        // A mirrored picture is handled by flipping the query; a fit that mirrors on its own is chance.
        g.det > 0 &&
        g.scale >= s.minScale &&
        g.scale <= s.maxScale &&
        g.anisotropy <= s.maxAnisotropy &&
        plausibleRotation(g.rotationDeg, s.maxTiltDeg);
      // Inliers bunched in a small area may be a repeated texture, or the only detail there
      // is (a plane in an empty sky, one line of text on a terminal): such a fit neither
      // confirms nor contradicts, so the pair abstains.
      if (ok) {
        candidate.status = Math.max(boxArea(queryBox), boxArea(refBox)) >= s.minInlierArea ? 'match' : 'flat';
        // A plausible fit in this orientation: the other one cannot say more.
        settled = true;
      }
    }
    // Too few correspondences to test any model (a caption over sky against the sky, a
    // dark frame): the pair cannot say no, so it abstains like a flat one.
    if (pairs.length < s.minInliers) candidate.status = 'flat';
    if (settled || !best || rank(candidate) > rank(best)) best = candidate;
  }
  return best!;
}

function rank(p: PairFit): number {
  return (p.status === 'match' ? 1e6 : p.status === 'nomatch' ? 1e3 : 0) + p.inliers;
}

/** Where a point of the query frame lands in the reference frame. */
export function applyAffine(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/** The inverse map (reference → query), or null for a degenerate model. */
export function invertAffine(m: Affine): Affine | null {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) return null;
  const ia = e / det,
    ib = -b / det,
    id = -d / det,
    ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

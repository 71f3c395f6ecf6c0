import type { FrameDescriptor } from '../descriptors/frame-descriptor.js';
import type { FrameStore, KnnHit } from '../../db/frame-store.js';
import type { MediaLimits } from '../media/limits.js';
import type { SamplingOptions } from '../media/frame-sampler.js';
import { sampleFrames } from '../media/frame-sampler.js';
import { probeMedia } from '../media/probe.js';
import { STORED_VARIANT, TRIM_KEYS, queryRegions } from '../frames/region-variants.js';
import type { QueryRegion } from '../frames/region-variants.js';
import { describeAll, prepareFrame } from './frame-describer.js';
import { detectInset } from '../frames/inset-detection.js';
import { detectLayout } from '../frames/layout-detection.js';
import type { PreparedFrame } from './frame-describer.js';
import type { EvidenceOptions, WeightedHit } from '../search/evidence.js';
import { weighHits } from '../search/evidence.js';
import { DEFAULT_REFINE, refineSegment } from '../align/segment-refinement.js';
import type { RefineQueryFrame, RefineRefFrame } from '../align/segment-refinement.js';
import type { AlignOptions, AlignedSegment, MatchPoint } from '../align/temporal-chains.js';
import { alignMatches } from '../align/temporal-chains.js';
import { segmentScore, videoScore } from '../search/segment-scoring.js';
import type { MatchSegment, QueryLayout, SearchOptions, SearchResult, SegmentVerification, VideoMatch } from './types.js';
import type { QueryInput } from './query-input.js';
import { withQueryFile } from './query-input.js';
import { AbortedError } from '../errors/retrace-error.js';
import { resolve as resolvePath } from 'node:path';
import type { MatchTransform } from '../verify/segment-verification.js';
import { describeGeometry } from '../verify/segment-verification.js';
import type { QueryMedia } from '../verify/verify-segments.js';
import { verifySegments } from '../verify/verify-segments.js';
import { loadOpenCv } from '../verify/local-features.js';
import type { VerifySettings } from '../verify/verify-settings.js';

export interface SearchSettings {
  /** Seconds between sampled query frames (denser than indexing: more chances to meet a stored frame). */
  queryIntervalSec: number;
  /** Longer queries are sampled more sparsely to stay under this many frames. */
  maxQueryFrames: number;
  /** Neighbours fetched per query region. */
  k: number;
  /** Neighbours per region for image queries: one frame is cheap to search widely, and a wide list gives a reliable background. */
  imageK: number;
  /** Query frames given the costly second tier (crops, windows) when the first finds nothing. */
  tier2MaxFrames: number;
  /**
   * Look for layouts in video queries (a sharp picture in a blurred surround, split screens) and
   * search their panels as pictures of their own (see `detectLayout`).
   */
  detectLayouts: boolean;
  /**
   * Added to the similarity floor of guessed regions — second-tier crops and windows, and
   * detected insets (screen recordings are full of rectangles that are not insets): the best of
   * many guesses against unrelated footage scores higher than one honest comparison does.
   */
  guessExtraFloor: number;
  minSegmentScore: number;
  /**
   * Minimum score of an image match. An image is one frame of evidence, with nothing temporal to
   * confirm it, so it needs more than a video segment: measured on the accuracy benchmark, the
   * best unrelated image matches reach 0.55–0.63 while most true ones score above 0.65.
   */
  minImageScore: number;
  /**
   * Image queries: how far above its background (the n-th best distinct video) a pair must be.
   * Larger than for video (`evidence.backgroundMargin`): one frame must stand out from the
   * other videos on its own, as a ratio test does.
   */
  imageBackgroundMargin: number;
  /** Image queries: the rise above the floor at which an image match's confidence reaches 0.63. */
  imageEvidenceScale: number;
  /**
   * Image queries: the least information (`frameQuality`) a picture needs to be searched at all.
   * Lower than for video frames (`evidence.minQuality`): a dark, faded or hazy still has nothing
   * else to be found by, and a near-exact match to it is still evidence.
   */
  imageMinQuality: number;
  /**
   * Image queries with less information than `evidence.minQuality`: pairs below this similarity
   * are dropped. Quantisation noise dominates such pictures, so chance matches run higher.
   */
  lowInformationMinSimilarity: number;
  /** Evidence at which a segment's confidence reaches 0.63. */
  evidenceScale: number;
  /** Video queries shorter than this (seconds) are searched by their best frame, as a still. */
  shortClipSec: number;
  evidence: EvidenceOptions;
  align: AlignOptions;
  refine: RefineSettings;
  verify: VerifySettings;
}

/** Dense refinement of found segments against the candidate reference's stored frames. */
export interface RefineSettings {
  enabled: boolean;
  /** Candidate videos refined per query, strongest first. */
  maxVideos: number;
  /** See `RefineOptions` in align/segment-refinement. */
  extendMinSimilarity: number;
  extendDrop: number;
  maxMisses: number;
  realTimeSlack: number;
}

export const DEFAULT_REFINE_SETTINGS: RefineSettings = { enabled: true, maxVideos: 8, ...DEFAULT_REFINE };

export interface SearchContext {
  store: FrameStore;
  descriptor: FrameDescriptor;
  limits: MediaLimits;
  sampling: SamplingOptions;
  settings: SearchSettings;
}

interface QueryFrame extends PreparedFrame {
  timestampSec: number;
}

type NormalisedRect = QueryLayout['panels'][number];

/** A query's layout panels and inset, as fractions of its frame. */
interface QueryWindows {
  panels: NormalisedRect[];
  inset: NormalisedRect | null;
}

/**
 * The panel or inset (fractions of the query frame) whose regions carried most of a segment's
 * evidence, widened a little; undefined when the whole frame did. Verification compares that
 * part on its own, at a size keypoints can work with.
 */
function matchedWindow(points: ReadonlyArray<{ w: number; pair?: string }>, windows: QueryWindows | undefined): NormalisedRect | undefined {
  if (!windows) return undefined;
  const weight = new Map<string, number>();
  let total = 0;
  for (const p of points) {
    total += p.w;
    // Region specs: `1:panel 0 centre>1`, `1:inset/flip>0` (see region-variants).
    const m = /^1:(panel \d+|inset)/.exec(p.pair ?? '');
    if (m) weight.set(m[1], (weight.get(m[1]) ?? 0) + p.w);
  }
  const best = [...weight.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!best || best[1] < total / 2) return undefined;
  const r = best[0] === 'inset' ? windows.inset : windows.panels[Number(best[0].slice(6))];
  if (!r) return undefined;
  const mx = r.width * 0.03;
  const my = r.height * 0.03;
  const x = Math.max(0, r.x - mx);
  const y = Math.max(0, r.y - my);
  return { x, y, width: Math.min(1, r.x + r.width + mx) - x, height: Math.min(1, r.y + r.height + my) - y };
}

/**
 * First-tier regions that are guesses rather than the picture as given: a detected inset (screen
 * recordings are full of rectangles that are not insets) and the picture with one-sided flat
 * runs kept (usually a flat sky, rarely a shadow clipped to black).
 */
const GUESSED_KINDS: ReadonlySet<QueryRegion['kind']> = new Set(['inset', 'unstripped']);

interface RegionRef {
  frame: number;
  region: QueryRegion;
  /** Which region of its frame this is (`tier:key`, see `QueryRegion.key`), the same for every frame. */
  spec: string;
  /** Stored variant this region is compared with. */
  against: number;
}

function now(): number {
  return performance.now();
}

/** Spread `n` picks evenly over `items`. */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / n)]);
}

/**
 * Search the index for copies of a video or image.
 * Returns matches best first; an empty list means no copy was found.
 */
export async function searchMedia(ctx: SearchContext, input: QueryInput, opts: SearchOptions = {}): Promise<SearchResult> {
  const t0 = now();
  const timings = { decode: 0, describe: 0, knn: 0, align: 0, verify: 0, total: 0 };
  const s = ctx.settings;
  const baseEvidence: EvidenceOptions = { ...s.evidence, ...(opts.minFrameSimilarity !== undefined ? { minFrameSimilarity: opts.minFrameSimilarity } : {}) };
  const minVideoSegmentScore = opts.minSegmentScore ?? s.minSegmentScore;
  const displayPath = opts.displayPath ?? (typeof input === 'string' ? input : Buffer.isBuffer(input) || input instanceof Uint8Array ? '<buffer>' : '<stream>');
  const report = opts.onProgress ?? (() => undefined);

  return withQueryFile(input, async (path) => {
    report({ stage: 'probing', fraction: 0 });
    const info = await probeMedia(path, ctx.limits);
    // OpenCV (about 0.3 s of CPU to load, once per process) is loaded while ffmpeg decodes the
    // query in its own process, rather than after the nearest-neighbour search when a candidate
    // needs verifying; a failure to load is reported where verification uses it.
    if (s.verify.enabled) loadOpenCv().catch(() => undefined);
    // A clip too short for temporal evidence (under `shortClipSec`) is searched by its best
    // frame, under the rules of a still: `single` covers both, `isImage` only real pictures.
    const isImage = info.kind === 'image';
    const shortClip = !isImage && info.durationSec > 0 && info.durationSec < s.shortClipSec;
    const single = isImage || shortClip;
    const evidence: EvidenceOptions = single ? { ...baseEvidence, backgroundMargin: s.imageBackgroundMargin } : baseEvidence;
    const minSegmentScore = single ? (opts.minSegmentScore ?? s.minImageScore) : minVideoSegmentScore;
    let interval = s.queryIntervalSec;
    if (!isImage && info.durationSec / interval > s.maxQueryFrames) interval = info.durationSec / s.maxQueryFrames;

    // Query clips are short and capped in frame count, so their small frames are kept in memory.
    report({ stage: 'sampling', fraction: 0.05 });
    let t = now();
    const frames: QueryFrame[] = [];
    for await (const f of sampleFrames({
      path,
      info,
      output: ctx.descriptor.input,
      sampling: { ...ctx.sampling, intervalSec: interval },
      maxDurationSec: ctx.limits.maxDurationSec,
      maxFrames: s.maxQueryFrames * 2,
      signal: opts.signal,
    })) {
      frames.push({ ...prepareFrame(f.raster), timestampSec: f.timestampSec });
      if (info.durationSec > 0)
        report({
          stage: 'sampling',
          fraction: 0.05 + 0.4 * Math.min(1, f.timestampSec / info.durationSec),
          mediaTimeSec: f.timestampSec,
          framesDone: frames.length,
        });
    }
    timings.decode = now() - t;
    if (shortClip && frames.length > 1) {
      const bestFrame = frames.reduce((a, b) => (b.quality > a.quality ? b : a));
      frames.splice(0, frames.length, bestFrame);
    }
    const durationSec = isImage ? 0 : info.durationSec > 0 ? info.durationSec : (frames.at(-1)?.timestampSec ?? 0) + interval;
    const minQueryQuality = single ? s.imageMinQuality : evidence.minQuality;
    const good = frames.map((_, i) => i).filter((i) => frames[i].quality >= minQueryQuality);
    // Only a still is searched with less information than a video frame needs; it must then match nearly exactly.
    const lowInformation = single && frames.some((f) => f.quality < evidence.minQuality);
    const frameEvidence: EvidenceOptions = lowInformation ? { ...evidence, minPairSimilarity: s.lowInformationMinSimilarity } : evidence;

    const align: AlignOptions = {
      ...s.align,
      minMatchedFrames: single ? 1 : (opts.minMatchedFrames ?? s.align.minMatchedFrames),
      queryIntervalSec: interval,
      refIntervalSec: ctx.sampling.intervalSec,
    };

    const weighted: PairedHit[] = [];
    // Query region vectors by `frame|spec`, and each searched region's floor by `frame|spec>variant`:
    // refinement compares more frames the way the chain's frames were compared.
    const regionVectors = new Map<string, Float32Array>();
    const pairFloors = new Map<string, number>();
    // Edges that stay put across the query reveal a picture-in-picture inset. Finding one costs
    // a few milliseconds, and the inset may hold a second source besides the footage around it,
    // so it is searched in the first tier, in every frame, like the whole picture.
    // Frames are stretched to a square raster; regions that rotate need the picture's true shape.
    const aspect = info.width / info.height;
    // A layout (a sharp picture in a blurred surround, a split screen) is looked for first: a
    // split line would pass for an inset's edge. An inset may still sit on a blurred surround, or
    // on footage soft enough to pass for one (a flower over an old film).
    const layoutFrames = single ? [] : spread(good, 24).map((i) => frames[i].raster);
    const layout = s.detectLayouts ? detectLayout(layoutFrames) : null;
    const inset = single || layout?.kind === 'split' ? null : detectInset(layoutFrames);
    const fractions = (p: { x: number; y: number; width: number; height: number }) => {
      const r = frames[0].raster;
      return { x: round(p.x / r.width), y: round(p.y / r.height), width: round(p.width / r.width), height: round(p.height / r.height) };
    };
    // The parts verification compares on their own when their regions matched (see `matchedWindow`).
    const windows: QueryWindows = { panels: layout?.panels.map(fractions) ?? [], inset: inset ? fractions(inset) : null };
    const describeLayout = (): { layout?: QueryLayout } =>
      layout ? { layout: { kind: layout.kind, panels: windows.panels } } : windows.inset ? { layout: { kind: 'inset', panels: [windows.inset] } } : {};
    const regionsOf = (fi: number, tier: 1 | 2 | 3, only?: (key: string) => boolean): QueryRegion[] =>
      queryRegions(frames[fi].raster, frames[fi].content, tier, {
        inset: tier === 1 ? inset : null,
        panels: tier === 1 ? layout?.panels : undefined,
        displayAspect: aspect,
        windows: !single,
        rotations: !single,
        only,
      });
    const runTier = async (tier: 1 | 2, frameIdx: readonly number[]) => {
      // The query time each searched frame stands for: the second tier searches a spread few.
      const spacingSec = good.length > frameIdx.length ? (interval * good.length) / Math.max(1, frameIdx.length) : undefined;
      const regions: RegionRef[] = [];
      for (const fi of frameIdx) {
        for (const region of regionsOf(fi, tier)) {
          for (const against of region.against) regions.push({ frame: fi, region, spec: `${tier}:${region.key}`, against });
        }
      }
      let tt = now();
      // A region compared with both stored variants is described once and searched twice.
      const unique = [...new Set(regions.map((r) => r.region))];
      const vecs = await describeAll(
        ctx.descriptor,
        unique.map((r) => r.raster),
      );
      const vecOf = new Map(unique.map((r, i) => [r, vecs[i]]));
      for (const r of regions) regionVectors.set(`${r.frame}|${r.spec}`, vecOf.get(r.region)!);
      timings.describe += now() - tt;
      tt = now();
      // Both variants' scans at once: on a server they run on two pooled connections (image
      // query at 1M: 48 → 19 ms); PGlite queues them, at no cost.
      const variants = [STORED_VARIANT.whole, STORED_VARIANT.centre].map((variant) => ({ variant, sel: regions.filter((r) => r.against === variant) }));
      const found = await Promise.all(
        variants.map(({ variant, sel }) =>
          sel.length
            ? ctx.store.knn(
                sel.map((r) => vecOf.get(r.region)!),
                variant,
                single ? s.imageK : s.k,
              )
            : Promise.resolve([]),
        ),
      );
      for (const [vi, { variant, sel }] of variants.entries()) {
        if (!sel.length) continue;
        const hits: KnnHit[] = found[vi];
        const guessed = (h: KnnHit) => tier === 2 || GUESSED_KINDS.has(sel[h.query].region.kind);
        const guessEvidence = { ...frameEvidence, minFrameSimilarity: frameEvidence.minFrameSimilarity + s.guessExtraFloor };
        const regionFrame = sel.map((r) => r.frame);
        const floors = new Map<number, number>();
        const pairOf = (h: WeightedHit) => ({ ...h, pair: `${sel[h.query].spec}>${variant}`, spacingSec });
        weighted.push(
          ...weighHits(
            hits.filter((h) => !guessed(h)),
            regionFrame,
            frameEvidence,
            floors,
          ).map(pairOf),
        );
        weighted.push(...weighHits(hits.filter(guessed), regionFrame, guessEvidence, floors).map(pairOf));
        for (const [ri, floor] of floors) pairFloors.set(`${sel[ri].frame}|${sel[ri].spec}>${variant}`, floor);
      }
      timings.knn += now() - tt;
      if (opts.signal?.aborted) throw new AbortedError();
    };

    /** Vectors of some region specs for every usable query frame (describing the ones not yet described). */
    const specVectors = async (specs: readonly string[]): Promise<Map<string, Map<number, Float32Array>>> => {
      const missing: Array<{ key: string; raster: QueryRegion['raster'] }> = [];
      const byTier = new Map<1 | 2 | 3, Set<string>>();
      for (const spec of specs) {
        const cut = spec.indexOf(':');
        const tier = Number(spec.slice(0, cut)) as 1 | 2 | 3;
        if (!byTier.has(tier)) byTier.set(tier, new Set());
        byTier.get(tier)!.add(spec.slice(cut + 1));
      }
      for (const fi of good) {
        for (const [tier, keys] of byTier) {
          const want = (key: string) => keys.has(key) && !regionVectors.has(`${fi}|${tier}:${key}`);
          for (const region of regionsOf(fi, tier, want)) missing.push({ key: `${fi}|${tier}:${region.key}`, raster: region.raster });
        }
      }
      const vecs = await describeAll(
        ctx.descriptor,
        missing.map((m) => m.raster),
      );
      missing.forEach((m, i) => regionVectors.set(m.key, vecs[i]));
      const out = new Map<string, Map<number, Float32Array>>();
      for (const spec of specs) {
        const bySpec = new Map<number, Float32Array>();
        for (const fi of good) {
          const v = regionVectors.get(`${fi}|${spec}`);
          if (v) bySpec.set(fi, v);
        }
        out.set(spec, bySpec);
      }
      return out;
    };

    const refineVideo = async (videoId: string, segs: AlignedSegment[], refDurationSec: number): Promise<AlignedSegment[]> => {
      if (!segs.length) return segs;
      const window = segs.reduce(
        (w, seg) => ({
          lo: Math.min(w.lo, seg.refStart - (seg.queryStart + 2) * align.maxRate),
          hi: Math.max(w.hi, seg.refEnd + (durationSec - seg.queryEnd + 2) * align.maxRate),
        }),
        { lo: Infinity, hi: -Infinity },
      );
      const stored = await ctx.store.framesOf(videoId, Math.max(0, window.lo), window.hi);
      const out: AlignedSegment[] = [];
      for (const seg of segs) {
        // The region/variant pairs that carried the chain's evidence, strongest first; the floor
        // is the strongest one's.
        const byPair = new Map<string, number>();
        for (const p of seg.points) if (p.pair) byPair.set(p.pair, (byPair.get(p.pair) ?? 0) + p.w);
        const ranked = [...byPair.entries()].sort((a, b) => b[1] - a[1]);
        const pairs = ranked
          .filter(([, w]) => w >= ranked[0][1] * REFINE_PAIR_SHARE)
          .slice(0, REFINE_MAX_PAIRS)
          .map(([p]) => p);
        if (!pairs.length) {
          out.push(seg);
          continue;
        }
        const pair = pairs[0];
        const ways = pairs.map((p) => {
          const [spec, variant] = p.split('>');
          return { spec, variant: Number(variant) };
        });
        // A chain found with the picture as a whole may lose its reference where border
        // stripping took a flat sky or floor off the reference's frames and not the query's:
        // the picture's trims are compared with the stored whole pictures too.
        const [strongestSpec] = pair.split('>');
        if (TRIMMED_SPECS.has(strongestSpec.replace('/flip', ''))) {
          const flip = strongestSpec.endsWith('/flip') ? '/flip' : '';
          for (const key of TRIM_KEYS) ways.push({ spec: `3:${key}${flip}`, variant: STORED_VARIANT.whole });
        }
        const vectorsBySpec = await specVectors([...new Set(ways.map((w) => w.spec))]);
        const known = [...pairFloors.entries()]
          .filter(([k]) => k.endsWith(`|${pair}`))
          .map(([, f]) => f)
          .sort((a, b) => a - b);
        const typicalFloor = known.length ? known[known.length >> 1] : evidence.minFrameSimilarity;
        const query: RefineQueryFrame[] = frames.map((f, fi) => ({
          q: fi,
          tq: f.timestampSec,
          vectors: ways.map((w) => vectorsBySpec.get(w.spec)?.get(fi) ?? null),
          floor: pairFloors.get(`${fi}|${pair}`) ?? typicalFloor,
        }));
        const ref: RefineRefFrame[] = [];
        for (const f of stored) {
          if (f.quality < evidence.minQuality) continue;
          const vectors = ways.map((w) => f.vectors.get(w.variant) ?? null);
          if (vectors.some(Boolean)) ref.push({ tr: f.timestampSec, vectors });
        }
        out.push(
          refineSegment(seg, query, ref, {
            ...s.refine,
            minRate: align.minRate,
            maxRate: align.maxRate,
            lineToleranceSec: ctx.sampling.intervalSec * 0.6 + 0.1,
            queryIntervalSec: interval,
            refDurationSec,
          }),
        );
      }
      // Extended segments of one reference may now cover the same query stretch: keep the stronger.
      const kept: AlignedSegment[] = [];
      for (const seg of out.sort((a, b) => b.evidence - a.evidence)) {
        const len = seg.queryEnd - seg.queryStart;
        const clash = kept.some(
          (k) => Math.min(k.queryEnd, seg.queryEnd) - Math.max(k.queryStart, seg.queryStart) > align.maxQueryOverlap * Math.min(len, k.queryEnd - k.queryStart),
        );
        if (!clash) kept.push(seg);
      }
      return kept;
    };

    const matchAll = async (): Promise<Array<{ videoId: string; segments: MatchSegment[]; score: number }>> => {
      let tt = now();
      const byVideo = matchPointsByVideo(weighted, isImage ? frames.map(() => 0) : frames.map((f) => f.timestampSec));
      const aligned = new Map<string, AlignedSegment[]>();
      for (const [videoId, pts] of byVideo) {
        aligned.set(videoId, single ? imageSegments([...pts.values()], ctx.sampling.intervalSec) : alignMatches([...pts.values()], align));
      }
      if (!single && s.refine.enabled) {
        const strongest = [...aligned.entries()]
          .filter(([, segs]) => segs.length)
          .sort((a, b) => Math.max(...b[1].map((x) => x.evidence)) - Math.max(...a[1].map((x) => x.evidence)))
          .slice(0, s.refine.maxVideos);
        const records = await ctx.store.getMany(strongest.map(([id]) => id));
        for (const [videoId, segs] of strongest) {
          const rec = records.get(videoId);
          if (rec) aligned.set(videoId, await refineVideo(videoId, segs, rec.durationSec));
        }
      }
      const candidates: ScoredSegment[] = [];
      for (const [videoId, segs] of aligned) {
        for (const seg of segs) {
          const score = segmentScore(seg, single ? s.imageEvidenceScale : s.evidenceScale);
          if (score >= Math.min(minSegmentScore, s.verify.enabled ? s.verify.candidateMinScore : Infinity)) candidates.push({ videoId, seg, score });
        }
      }
      timings.align += now() - tt;
      tt = now();
      // A query much smaller than the verification size (a 200 px re-encode) is upscaled for
      // keypoints, which then cannot say no any more than a faded still's can.
      const cannotReject = lowInformation || Math.min(info.width, info.height * (16 / 9)) < s.verify.widthPx * 0.75;
      const judged = await judgeCandidates(
        ctx,
        { path, width: info.width, height: info.height, isImage, durationSec: info.durationSec, windows },
        candidates,
        minSegmentScore,
        cannotReject,
        opts.signal,
      );
      timings.verify += now() - tt;
      const out: Array<{ videoId: string; segments: MatchSegment[]; score: number }> = [];
      for (const [videoId, segs] of judged) {
        const scored = segs.map((j) => toMatchSegment(j, single ? [0, isImage ? 0 : durationSec] : null));
        // Several places where one picture appears are not independent evidence: an image
        // query's video scores as its best place.
        const score = single ? Math.max(...scored.map((m) => m.score)) : videoScore(scored.map((m) => m.score));
        if (scored.length) out.push({ videoId, segments: scored.sort((a, b) => b.score - a.score), score });
      }
      return out.sort((a, b) => b.score - a.score);
    };

    report({ stage: 'matching', fraction: 0.5 });
    await runTier(1, good);
    let found = await matchAll();
    if (!found.length && good.length) {
      report({ stage: 'matching', fraction: 0.7 });
      // Nothing plain matched: try the regions that undo crops and picture-in-picture.
      await runTier(2, spread(good, s.tier2MaxFrames));
      found = await matchAll();
    }

    const limit = opts.limit ?? 10;
    const top = found.slice(0, limit);
    const records = await ctx.store.getMany(top.map((m) => m.videoId));
    const matches: VideoMatch[] = top
      .filter((m) => records.has(m.videoId))
      .map((m) => {
        const v = records.get(m.videoId)!;
        return { videoId: m.videoId, path: v.path, title: v.title, score: round(m.score), segments: m.segments };
      });
    timings.total = now() - t0;
    report({ stage: 'done', fraction: 1 });
    return {
      query: { path: displayPath, kind: info.kind, durationSec: round(durationSec), frames: frames.length, ...describeLayout() },
      matches,
      timingsMs: {
        decode: Math.round(timings.decode),
        describe: Math.round(timings.describe),
        knn: Math.round(timings.knn),
        align: Math.round(timings.align),
        verify: Math.round(timings.verify),
        total: Math.round(timings.total),
      },
    };
  });
}

/**
 * First-tier regions of the picture as a whole, whose trims refinement compares too. Measured on
 * the accuracy benchmark (seeds 1–6): segment F 0.903 → 0.912 (seed 6, with a dashcam whose sky
 * is stripped on some frames only: 0.860 → 0.883), trims of top and bottom only 0.911; about
 * 60 ms per query to describe the trims.
 */
const TRIMMED_SPECS: ReadonlySet<string> = new Set(['1:whole', '1:unstripped', '1:centre']);

/** Refinement compares frames in each way that carried at least this share of the strongest way's evidence… */
const REFINE_PAIR_SHARE = 0.25;
/** …and in at most this many ways. */
const REFINE_MAX_PAIRS = 3;

/** A weighted hit with the region/variant pair that produced it (see `MatchPoint.pair`). */
export type PairedHit = WeightedHit & { pair?: string; spacingSec?: number };

/**
 * Group weighted hits into alignment points per reference video, keeping for each (query frame,
 * reference frame) pair its strongest region: a frame and its mirror image, or a crop guess,
 * are alternatives for one pair, not extra evidence.
 */
export function matchPointsByVideo(weighted: readonly PairedHit[], queryTimes: readonly number[]): Map<string, Map<string, MatchPoint>> {
  const byVideo = new Map<string, Map<string, MatchPoint>>();
  for (const h of weighted) {
    let pts = byVideo.get(h.videoId);
    if (!pts) byVideo.set(h.videoId, (pts = new Map()));
    const key = `${h.frame}:${h.frameId}`;
    const prev = pts.get(key);
    if (!prev || h.w > prev.w)
      pts.set(key, { q: h.frame, tq: queryTimes[h.frame], tr: h.timestampSec, similarity: h.similarity, w: h.w, pair: h.pair, spacingSec: h.spacingSec });
  }
  return byVideo;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `queryRange`: the whole query, for a still (0–0) or a clip searched by one frame. */
function toMatchSegment(j: JudgedSegment, queryRange: [number, number] | null): MatchSegment {
  const { seg } = j;
  const frames = [...seg.points]
    .sort((a, b) => a.tq - b.tq || a.tr - b.tr)
    .map((p) => ({ queryTime: round(p.tq), refTime: round(p.tr), similarity: round(p.similarity) }));
  return {
    queryStart: queryRange ? queryRange[0] : round(seg.queryStart),
    queryEnd: queryRange ? round(queryRange[1]) : round(seg.queryEnd),
    refStart: round(seg.refStart),
    refEnd: round(seg.refEnd),
    score: round(j.score),
    verified: j.verification.status === 'confirmed',
    verification: j.verification,
    transform: j.transform,
    matchedFrames: new Set(seg.points.map((p) => `${p.q}:${p.tr}`)).size,
    frames,
  };
}

interface ScoredSegment {
  videoId: string;
  seg: AlignedSegment;
  /** Temporal score (segmentScore). */
  score: number;
}

interface JudgedSegment extends ScoredSegment {
  verification: SegmentVerification;
  transform: MatchTransform | null;
}

/**
 * The verification stage's rules: a segment is reported when geometry confirms it; where the
 * frames had too little texture to judge, only when its temporal score alone reaches
 * `verify.abstainMinScore`; where they had texture and no consistent model fits, never;
 * unverifiable (file gone, verification off), by the temporal floor as before. A confirmed
 * segment's score adds the geometry's confidence to the temporal one.
 */
async function judgeCandidates(
  ctx: SearchContext,
  query: QueryMedia & { windows?: QueryWindows },
  candidates: ScoredSegment[],
  minSegmentScore: number,
  cannotReject: boolean,
  signal?: AbortSignal,
): Promise<Map<string, JudgedSegment[]>> {
  const v = ctx.settings.verify;
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
  if (!v.enabled) {
    for (const c of candidates) if (c.score >= minSegmentScore) keep(unverified(c, 'verification disabled'));
    return out;
  }
  const ranked = [...candidates].sort((a, b) => b.score - a.score);
  const toVerify = ranked.slice(0, v.maxSegments);
  const records = await ctx.store.getMany([...new Set(toVerify.map((c) => c.videoId))]);
  const verifiable = toVerify.filter((c) => records.has(c.videoId));
  const outcomes = await verifySegments(
    query,
    verifiable.map((c) => {
      const r = records.get(c.videoId)!;
      const { seg } = c;
      const span = seg.queryEnd - seg.queryStart;
      const line =
        query.isImage || span <= 0
          ? undefined
          : { queryStart: seg.queryStart, refStart: seg.refStart, speed: (seg.refEnd - seg.refStart) / span, refDurationSec: r.durationSec };
      // Region specs of mirrored query regions end in `/flip` (see region-variants).
      const flipWeight = seg.points.reduce((w, p) => w + (p.pair?.split('>')[0].endsWith('/flip') ? p.w : 0), 0);
      const mirroredHint = flipWeight > seg.points.reduce((w, p) => w + p.w, 0) / 2;
      return {
        ref: { path: resolvePath(r.path), width: r.width, height: r.height, durationSec: r.durationSec },
        points: seg.points,
        line,
        mirroredHint,
        queryWindow: matchedWindow(seg.points, query.windows),
      };
    }),
    v,
    signal,
  );
  const confirmedVideos = new Set<string>();
  for (const [i, c] of verifiable.entries()) {
    // A dark or faded still (below the video frames' quality floor) has too little information
    // for keypoints to say no: JPEG blocks amplified by contrast normalisation are not a picture.
    // It can still be confirmed; otherwise it stands only on its (stricter) similarity.
    const o = cannotReject && outcomes[i].status === 'rejected' ? { ...outcomes[i], status: 'abstained' as const } : outcomes[i];
    if (o.status === 'unavailable') {
      // A reference whose file is gone keeps the rule that held before verification. When the
      // query's own frames fail to decode again, every candidate is unverified alike, chance
      // ones included: only temporal evidence strong enough to stand alone is reported.
      const floor = o.reason.startsWith('query frames') ? Math.max(minSegmentScore, v.abstainMinScore) : minSegmentScore;
      if (c.score >= floor) keep(unverified(c, o.reason));
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
      const { seg } = c;
      const span = seg.queryEnd - seg.queryStart;
      const speed = query.isImage || span <= 0 ? 1 : (seg.refEnd - seg.refStart) / span;
      const transform = describeGeometry(
        o.model,
        o.mirrored,
        { query: query.width / query.height, ref: records.get(c.videoId)!.width / records.get(c.videoId)!.height },
        { speed, offsetSec: seg.refStart - speed * seg.queryStart },
        [...(query.windows?.panels ?? []), ...(query.windows?.inset ? [query.windows.inset] : [])],
      );
      const geometry = 1 - Math.exp(-o.inliers / v.inlierScale);
      keep({ ...c, score: 1 - (1 - c.score) * (1 - geometry), verification, transform });
    } else if (o.status === 'abstained' && c.score >= v.abstainMinScore) {
      keep({ ...c, verification, transform: null });
    }
    // Rejected: the frames had texture and no consistent model fits. Temporal evidence cannot
    // overrule that: look-alike footage (the same layout, other detail, the same pan) chains at
    // scores near 1 (test/engine/verification.test.ts).
  }
  // Segments beyond the verified ones stand only beside a confirmed segment of the same video.
  for (const c of ranked.slice(v.maxSegments)) {
    if (c.score >= minSegmentScore && confirmedVideos.has(c.videoId)) keep(unverified(c, 'not verified: beyond the segments verified per query'));
  }
  return out;
}

/**
 * An image query has one frame: its "segments" are the stretches of the reference where that
 * picture appears, found by grouping matched reference times that lie within two sampling
 * intervals of each other.
 */
function imageSegments(points: MatchPoint[], refIntervalSec: number): AlignedSegment[] {
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

/**
 * A search, stage by stage: the query's frames and layout (query/), candidates from the stored
 * frames' vectors (candidates/), temporal alignment and refinement (align/), verification by
 * local features (verify/), and the reported matches (results/). This module only runs them in
 * order; the second tier of candidates runs when the first finds nothing.
 */
import type { FrameDescriptor } from '../descriptors/frame-descriptor.js';
import type { FrameStore, VideoScope } from '../../db/frame-store.js';
import type { MediaLimits } from '../settings/media-settings.js';
import type { SamplingOptions } from '../media/frame-sampler.js';
import { probeMedia } from '../media/probe.js';
import type { QueryPlan } from '../query/query-plan.js';
import { planQuery, spread } from '../query/query-plan.js';
import type { EvidenceOptions } from '../candidates/evidence.js';
import { RegionSearch } from '../candidates/region-search.js';
import { rescueCandidates } from '../candidates/still-rescue.js';
import { loneHitCandidates } from '../candidates/lone-hits.js';
import { imageSegments, matchPointsByVideo } from '../align/match-points.js';
import { refineVideoSegments } from '../align/refine-candidates.js';
import type { AlignOptions, AlignedSegment } from '../align/temporal-chains.js';
import { alignMatches } from '../align/temporal-chains.js';
import { alignWithWindows, clashes } from '../align/window-chains.js';
import { STORED_WINDOWS } from '../settings/frame-settings.js';
import { segmentScore } from '../align/segment-scoring.js';
import type { ScoredSegment, VerificationMemo } from '../verify/judge-segments.js';
import { judgeCandidates, verificationCanReject } from '../verify/judge-segments.js';
import { loadOpenCv } from '../verify/local-features.js';
import type { RankedVideo } from '../results/match-results.js';
import { describeMatches, rankVideos, round } from '../results/match-results.js';
import type { JudgedSegment } from '../verify/judge-segments.js';
import { nearMisses, nearMissSegments, relaxedChains, unjudged } from '../results/near-misses.js';
import { resolveScope } from '../library/search-filter.js';
import { recurringFilter, recurringSegments } from '../library/recurring-segments.js';
import { InvalidArgumentError } from '../errors/retrace-error.js';
import type { SearchSettings } from '../settings/search-settings.js';
import type { QueryLayout, SearchOptions, SearchResult } from './types.js';
import type { QueryInput } from './query-input.js';
import { withQueryFile } from './query-input.js';

export type { RefineSettings, SearchSettings } from '../settings/search-settings.js';

export interface SearchContext {
  store: FrameStore;
  descriptor: FrameDescriptor;
  limits: MediaLimits;
  sampling: SamplingOptions;
  settings: SearchSettings;
  /** The index stores narrow windows (strips, quadrants; `RetraceOptions.storedWindows`). */
  storedWindows?: boolean;
}

/**
 * Search the index for copies of a video or image.
 * Returns matches best first; an empty list means no copy was found.
 */
export async function searchMedia(ctx: SearchContext, input: QueryInput, opts: SearchOptions = {}): Promise<SearchResult> {
  const t0 = performance.now();
  const timings = { decode: 0, describe: 0, knn: 0, align: 0, verify: 0, total: 0 };
  const s = ctx.settings;
  const displayPath = opts.displayPath ?? (typeof input === 'string' ? input : Buffer.isBuffer(input) || input instanceof Uint8Array ? '<buffer>' : '<stream>');
  const report = opts.onProgress ?? (() => undefined);
  if (opts.top !== undefined && (!Number.isInteger(opts.top) || opts.top < 1)) throw new InvalidArgumentError('top must be a positive whole number');
  // Resolved before the query is decoded: a bad filter fails at once.
  const scope = await resolveScope(ctx.store, opts);
  const ignore = opts.ignoreRecurring ? recurringFilter(await recurringSegments(ctx.store, ctx.sampling.intervalSec), ctx.sampling.intervalSec) : undefined;

  return withQueryFile(input, async (path) => {
    report({ stage: 'probing', fraction: 0 });
    const info = await probeMedia(path, ctx.limits);
    // OpenCV (about 0.3 s of CPU to load, once per process) is loaded while ffmpeg decodes the
    // query in its own process, rather than after the nearest-neighbour search when a candidate
    // needs verifying; a failure to load is reported where verification uses it.
    if (s.verify.enabled) loadOpenCv().catch(() => undefined);
    report({ stage: 'sampling', fraction: 0.05 });
    let t = performance.now();
    const evidence: EvidenceOptions = { ...s.evidence, ...(opts.minFrameSimilarity !== undefined ? { minFrameSimilarity: opts.minFrameSimilarity } : {}) };
    const plan = await planQuery({
      path,
      info,
      output: ctx.descriptor.input,
      sampling: ctx.sampling,
      limits: ctx.limits,
      settings: s,
      evidence,
      signal: opts.signal,
      onFrame: (timeSec, framesDone) => {
        if (info.durationSec > 0)
          report({ stage: 'sampling', fraction: 0.05 + 0.4 * Math.min(1, timeSec / info.durationSec), mediaTimeSec: timeSec, framesDone });
      },
    });
    timings.decode = performance.now() - t;

    const canReject = verificationCanReject({ width: info.width, height: info.height, lowInformation: plan.lowInformation }, s.verify);
    const rescueStills = plan.single && s.verify.enabled && s.stillRescue.enabled;
    const regions = new RegionSearch(plan, ctx.store, ctx.descriptor, s, opts.signal, {
      scope,
      keepRaw: opts.top !== undefined || rescueStills,
      storedWindows: ctx.storedWindows,
    });
    const query = {
      path,
      width: info.width,
      height: info.height,
      isImage: plan.isImage,
      durationSec: info.durationSec,
      windows: plan.windows,
      referenceBaseDir: opts.referenceBaseDir,
    };
    /** Verification outcomes of this search's earlier rounds (the second tier judges the first's candidates again). */
    const verified: VerificationMemo = [];
    /** With `top`: what the last round did not report, for the near misses. */
    let dropped: JudgedSegment[] = [];
    const match = async (): Promise<RankedVideo[]> => {
      t = performance.now();
      const { candidates, belowFloor, fallbacks } = await alignCandidates(ctx, plan, regions, opts, ignore);
      timings.align += performance.now() - t;
      t = performance.now();
      const minSegmentScore = minScoreOf(plan, s, opts);
      dropped = belowFloor.map((c) => unjudged(c, 'below the match threshold: not verified'));
      const judged = await judgeCandidates(
        ctx.store,
        query,
        candidates,
        minSegmentScore,
        !canReject,
        s.verify,
        opts.signal,
        opts.top ? dropped : undefined,
        verified,
      );
      // A window segment set aside for a clashing segment of the other regions is judged when
      // verification reported nothing of that video (a look-alike chain at another rate must not
      // hide the copy the windows found).
      const second = fallbacks.filter((c) => !judged.get(c.videoId)?.length);
      if (second.length) {
        for (const [videoId, segs] of await judgeCandidates(ctx.store, query, second, minSegmentScore, !canReject, s.verify, opts.signal, undefined, verified))
          if (segs.length) judged.set(videoId, segs);
      }
      timings.verify += performance.now() - t;
      return rankVideos(judged, plan);
    };

    report({ stage: 'matching', fraction: 0.5 });
    await regions.searchTier(1, plan.good);
    let found = await match();
    if (!found.length && plan.good.length) {
      report({ stage: 'matching', fraction: 0.7 });
      // Nothing plain matched: try the regions that undo crops and picture-in-picture, and the
      // narrow windows against the stored strips (on more frames: see `windowMaxFrames`) and quadrants.
      await regions.searchTier(2, spread(plan.good, s.tier2MaxFrames), (kind) => kind !== 'strip' && kind !== 'quadrant');
      if (ctx.storedWindows && !plan.single) {
        await regions.searchTier(2, spread(plan.good, s.windowMaxFrames), (kind) => kind === 'strip');
        await regions.searchTier(2, spread(plan.good, s.quadrantMaxFrames), (kind) => kind === 'quadrant');
      }
      found = await match();
    }
    if (!found.length && !plan.single && s.verify.enabled && s.loneHits.enabled) {
      t = performance.now();
      found = rankVideos(await rescueLoneHits(ctx, plan, regions, query, verified, ignore, opts.signal), plan);
      timings.verify += performance.now() - t;
    }
    if (!found.length && rescueStills) {
      t = performance.now();
      const rescued = await rescueStill(ctx, plan, regions, query, opts.signal);
      timings.verify += performance.now() - t;
      found = rankVideos(rescued, plan);
    }
    if (opts.top)
      dropped.push(...(await reachMoreVideos(ctx, plan, regions, opts.top, scope)).map((c) => unjudged(c, 'below the match threshold: not verified')));
    timings.describe = regions.timings.describe;
    timings.knn = regions.timings.knn;

    const limit = opts.top ?? opts.limit ?? 10;
    const listed = opts.top ? [...found, ...nearMisses(dropped, new Set(found.map((v) => v.videoId)), limit - found.length, s.align.maxSegments, plan)] : found;
    const matches = await describeMatches(ctx.store, listed, limit);
    timings.total = performance.now() - t0;
    report({ stage: 'done', fraction: 1 });
    return {
      query: { path: displayPath, kind: info.kind, durationSec: round(plan.durationSec), frames: plan.frames.length, ...queryLayout(plan) },
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
 * A still that found nothing: the videos its raw neighbours rank first are verified, and a
 * match is reported only where one pair fits with `stillRescue.minInliers` inliers or more
 * (candidates/still-rescue.ts). Its score is the geometry's confidence alone.
 */
async function rescueStill(
  ctx: SearchContext,
  plan: QueryPlan,
  regions: RegionSearch,
  query: Parameters<typeof judgeCandidates>[1],
  signal?: AbortSignal,
): Promise<Map<string, JudgedSegment[]>> {
  const s = ctx.settings;
  const candidates = rescueCandidates(regions.raw, s.stillRescue, ctx.sampling.intervalSec, (f) => (plan.isImage ? 0 : plan.frames[f].timestampSec));
  return confirmedOnly(ctx, query, candidates, signal, undefined, (j) =>
    j.verification.inliers >= s.stillRescue.minInliers
      ? { ...j, verification: { ...j.verification, reason: 'found by geometry: the descriptor alone did not single this video out' } }
      : null,
  );
}

/**
 * A video query that found nothing: the references its strongest lone hits point to are
 * verified on the real-time line through the hit (candidates/lone-hits.ts), and reported only
 * where geometry confirms them.
 */
async function rescueLoneHits(
  ctx: SearchContext,
  plan: QueryPlan,
  regions: RegionSearch,
  query: Parameters<typeof judgeCandidates>[1],
  verified: VerificationMemo,
  /** Reference frames for which this says true give no evidence (recurring segments). */
  ignore: ((videoId: string, timeSec: number) => boolean) | undefined,
  signal?: AbortSignal,
): Promise<Map<string, JudgedSegment[]>> {
  const queryTimes = plan.frames.map((f) => f.timestampSec);
  const hits = ignore ? regions.hits.filter((h) => !ignore(h.videoId, h.timestampSec)) : regions.hits;
  const candidates = loneHitCandidates(matchPointsByVideo(hits, queryTimes), queryTimes, plan.durationSec, ctx.settings.loneHits);
  return confirmedOnly(ctx, query, candidates, signal, verified);
}

/**
 * Second chances (still rescue, lone hits) have no temporal score: verified against an
 * unreachable floor, only confirmations are kept, and `keep` may refuse or relabel one.
 */
async function confirmedOnly(
  ctx: SearchContext,
  query: Parameters<typeof judgeCandidates>[1],
  candidates: ReadonlyArray<Omit<ScoredSegment, 'score'>>,
  signal: AbortSignal | undefined,
  verified?: VerificationMemo,
  keep: (j: JudgedSegment) => JudgedSegment | null = (j) => j,
): Promise<Map<string, JudgedSegment[]>> {
  const out = new Map<string, JudgedSegment[]>();
  if (!candidates.length) return out;
  const scored = candidates.map((c) => ({ ...c, score: 0 }));
  for (const [videoId, segs] of await judgeCandidates(ctx.store, query, scored, Infinity, false, ctx.settings.verify, signal, undefined, verified)) {
    const kept = segs.flatMap((j) => (j.verification.status === 'confirmed' ? (keep(j) ?? []) : []));
    if (kept.length) out.set(videoId, kept);
  }
  return out;
}

/** The least score a segment is reported with (stricter for a query searched by one frame). */
function minScoreOf(plan: QueryPlan, s: SearchSettings, opts: SearchOptions): number {
  return plan.single ? (opts.minSegmentScore ?? s.minImageScore) : (opts.minSegmentScore ?? s.minSegmentScore);
}

/**
 * The alignment stage: the hits found so far become points per reference video, chained in
 * time into segments (a still's into the places its picture appears), the strongest videos'
 * segments refined densely, and each scored; those worth verifying are the candidates.
 */
async function alignCandidates(
  ctx: SearchContext,
  plan: QueryPlan,
  regions: RegionSearch,
  opts: SearchOptions,
  /** Reference frames for which this says true give no evidence (recurring segments). */
  ignore?: (videoId: string, timeSec: number) => boolean,
): Promise<{ candidates: ScoredSegment[]; belowFloor: ScoredSegment[]; fallbacks: ScoredSegment[] }> {
  const s = ctx.settings;
  const align: AlignOptions = {
    ...s.align,
    minMatchedFrames: plan.single ? 1 : (opts.minMatchedFrames ?? s.align.minMatchedFrames),
    queryIntervalSec: plan.intervalSec,
    refIntervalSec: ctx.sampling.intervalSec,
  };
  const queryTimes = plan.isImage ? plan.frames.map(() => 0) : plan.frames.map((f) => f.timestampSec);
  const aligned = new Map<string, AlignedSegment[]>();
  /** `top` only: videos whose hits formed no acceptable chain, chained without the rules, never reported as matches. */
  const loose = new Map<string, AlignedSegment[]>();
  const hits = ignore ? regions.hits.filter((h) => !ignore(h.videoId, h.timestampSec)) : regions.hits;
  for (const [videoId, pts] of matchPointsByVideo(hits, queryTimes)) {
    aligned.set(
      videoId,
      plan.single
        ? imageSegments([...pts.values()], ctx.sampling.intervalSec)
        : alignWithWindows([...pts.values()], align, STORED_WINDOWS.phases * ctx.sampling.intervalSec, plan.durationSec),
    );
    if (opts.top && !aligned.get(videoId)!.length)
      loose.set(videoId, plan.single ? [] : nearMissSegments([...pts.values()], (p) => alignMatches(p, relaxedChains(align)), align));
  }
  if (!plan.single && s.refine.enabled) {
    const strongest = [...aligned.entries()]
      .filter(([, segs]) => segs.length)
      .sort((a, b) => Math.max(...b[1].map((x) => x.evidence)) - Math.max(...a[1].map((x) => x.evidence)))
      .slice(0, s.refine.maxVideos);
    const records = await ctx.store.getMany(strongest.map(([id]) => id));
    const refine = { plan, regions, store: ctx.store, align, settings: s.refine, refIntervalSec: ctx.sampling.intervalSec };
    for (const [videoId, segs] of strongest) {
      const rec = records.get(videoId);
      if (rec) aligned.set(videoId, await refineVideoSegments(refine, videoId, segs, rec.durationSec));
    }
  }
  const floor = Math.min(minScoreOf(plan, s, opts), s.verify.enabled ? s.verify.candidateMinScore : Infinity);
  const candidates: ScoredSegment[] = [];
  const belowFloor: ScoredSegment[] = [];
  /** Segments over their floor set aside for a clashing one of the other kind: judged if that one is not reported. */
  const fallbacks: ScoredSegment[] = [];
  const scale = plan.single ? s.imageEvidenceScale : s.evidenceScale;
  // Window-only segments need a confirmation, so without verification they are never candidates.
  // A window segment and another covering the same query stretch are alternatives: the one with
  // more evidence is verified, unless it is under its floor (then the other may still be).
  const windowFloor = s.verify.enabled ? Math.min(floor, s.windowCandidateMinScore) : Infinity;
  for (const [videoId, segs] of aligned) {
    const taken: AlignedSegment[] = [];
    for (const seg of [...segs].sort((a, b) => b.evidence - a.evidence)) {
      const score = segmentScore(seg, scale);
      const overFloor = score >= (seg.windowsOnly ? windowFloor : floor);
      const clash = taken.some((t) => !!t.windowsOnly !== !!seg.windowsOnly && clashes(t, seg, s.align.maxQueryOverlap));
      if (overFloor && !clash) {
        taken.push(seg);
        candidates.push({ videoId, seg, score });
      } else if (overFloor) fallbacks.push({ videoId, seg, score });
      else if (opts.top) belowFloor.push({ videoId, seg, score });
    }
  }
  for (const [videoId, segs] of loose) for (const seg of segs) belowFloor.push({ videoId, seg, score: segmentScore(seg, scale) });
  if (opts.top)
    belowFloor.push(
      ...faintSegments(
        ctx,
        plan,
        regions.raw.filter((h) => !aligned.has(h.videoId)),
      ),
    );
  return { candidates, belowFloor, fallbacks };
}

/**
 * `top` only: segments of videos whose hits never rose above their region's background, chained
 * by raw similarity with a vanishing weight, so they rank after every video with evidence,
 * closest first (their score rounds to 0).
 */
function faintSegments(ctx: SearchContext, plan: QueryPlan, raw: RegionSearch['raw']): ScoredSegment[] {
  const s = ctx.settings;
  const align: AlignOptions = { ...s.align, queryIntervalSec: plan.intervalSec, refIntervalSec: ctx.sampling.intervalSec };
  const queryTimes = plan.isImage ? plan.frames.map(() => 0) : plan.frames.map((f) => f.timestampSec);
  const scale = plan.single ? s.imageEvidenceScale : s.evidenceScale;
  const out: ScoredSegment[] = [];
  const faint = raw.map((h) => ({ ...h, w: Math.max(0, h.similarity) * 1e-6 }));
  for (const [videoId, pts] of matchPointsByVideo(faint, queryTimes)) {
    const segs = plan.single
      ? imageSegments([...pts.values()], ctx.sampling.intervalSec)
      : nearMissSegments([...pts.values()], (p) => alignMatches(p, relaxedChains(align)), align);
    for (const seg of segs) out.push({ videoId, seg, score: segmentScore(seg, scale) });
  }
  return out;
}

/**
 * `top` only: when fewer than `top` videos had any hit, the videos not reached yet (within the
 * filter) are searched on their own, a few rounds, so that the list can be filled with the
 * closest of them however far they are. Their hits are faint segments, never matches.
 */
async function reachMoreVideos(
  ctx: SearchContext,
  plan: QueryPlan,
  regions: RegionSearch,
  top: number,
  scope: VideoScope | undefined,
): Promise<ScoredSegment[]> {
  const seen = new Set(regions.raw.map((h) => h.videoId));
  if (seen.size >= top || !plan.good.length) return [];
  const pool = scope ? new Set(scope.videoIds) : null;
  const all = (await ctx.store.videosWhere([])).filter((v) => !pool || pool.has(v.id));
  const before = regions.raw.length;
  for (let round = 0; round < 3 && seen.size < top; round++) {
    const rest = all.filter((v) => !seen.has(v.id));
    if (!rest.length) break;
    await regions.searchRaw(plan.good, { videoIds: rest.map((v) => v.id), frames: rest.reduce((n, v) => n + v.frames, 0) });
    const reached = regions.raw.slice(before).map((h) => h.videoId);
    if (reached.every((id) => seen.has(id))) break;
    for (const id of reached) seen.add(id);
  }
  return faintSegments(ctx, plan, regions.raw.slice(before));
}

/** The layout reported with the query: a detected layout's panels, else a detected inset. */
function queryLayout(plan: QueryPlan): { layout?: QueryLayout } {
  if (plan.layout && !plan.layout.guessed) return { layout: { kind: plan.layout.kind, panels: plan.windows.panels } };
  if (plan.windows.inset) return { layout: { kind: 'inset', panels: [plan.windows.inset] } };
  return {};
}

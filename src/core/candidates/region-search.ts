import type { FrameStore, KnnHit, VideoScope } from '../../db/frame-store.js';
import type { FrameDescriptor } from '../descriptors/frame-descriptor.js';
import { describeAll } from '../descriptors/frame-descriptor.js';
import { STORED_VARIANT, queryRegions } from '../frames/region-variants.js';
import type { QueryRegion } from '../frames/region-variants.js';
import type { QueryPlan } from '../query/query-plan.js';
import { AbortedError } from '../errors/retrace-error.js';
import type { WeightedHit } from './evidence.js';
import { weighHits } from './evidence.js';
import type { RegionPair } from './region-pair.js';
import { regionPair, regionSpec } from './region-pair.js';
import type { CandidateSettings } from '../settings/search-settings.js';
export type { CandidateSettings } from '../settings/search-settings.js';

/** A weighted hit with the region/variant pair that produced it. */
export interface PairedHit extends WeightedHit {
  pair: RegionPair;
  /**
   * Query time between the frames searched this way, when sparser than the query's sampling
   * (the second tier searches a few frames spread over the query).
   */
  spacingSec?: number;
}

/**
 * First-tier regions that are guesses rather than the picture as given: a detected inset (screen
 * recordings are full of rectangles that are not insets) and the picture with one-sided flat
 * runs kept (usually a flat sky, rarely a shadow clipped to black).
 */
const GUESSED_KINDS: ReadonlySet<QueryRegion['kind']> = new Set(['inset', 'unstripped']);

interface SearchedRegion {
  frame: number;
  region: QueryRegion;
  tier: 1 | 2 | 3;
  /** Stored variant this region is compared with. */
  against: number;
}

/**
 * The candidate stage: the query's regions (the picture, its mirror image, its centre, layout
 * panels and inset; in the second tier crops, windows and de-rotations) are described and
 * searched among the stored frames' vectors, and each hit is weighed against its region's
 * background. Vectors and floors are kept, so that refinement can compare more frames the way a
 * chain's frames were compared.
 */
export class RegionSearch {
  /** Every weighted hit found so far, over all tiers searched. */
  readonly hits: PairedHit[] = [];
  readonly timings = { describe: 0, knn: 0 };
  /** Region vectors by `frame|tier:key`. */
  private readonly vectors = new Map<string, Float32Array>();
  /** Each searched region's floor by `frame|pair id`. */
  private readonly floors = new Map<string, number>();
  /** The videos a filtered search may return (undefined: all). */
  private readonly allowed?: ReadonlySet<string>;

  constructor(
    private readonly plan: QueryPlan,
    private readonly store: FrameStore,
    private readonly descriptor: FrameDescriptor,
    private readonly settings: CandidateSettings,
    private readonly signal?: AbortSignal,
    options: { scope?: VideoScope; keepRaw?: boolean; storedWindows?: boolean } = {},
  ) {
    this.scope = options.scope;
    this.storedWindows = options.storedWindows ?? false;
    if (this.scope) this.allowed = new Set(this.scope.videoIds);
    this.keepRaw = options.keepRaw ?? false;
  }

  private readonly scope?: VideoScope;
  private readonly keepRaw: boolean;
  /** The index stores narrow windows: the second tier compares query strips and quadrants with them. */
  private readonly storedWindows: boolean;
  /**
   * With `keepRaw` (`search --top`): every nearest-neighbour hit of the allowed videos, evidence
   * or not, with its query frame, so that videos no hit of which rose above the background can
   * still be listed as near misses.
   */
  readonly raw: Array<KnnHit & { frame: number }> = [];

  /**
   * Nearest stored frames of some query vectors. A filtered search asks twice: the whole index,
   * whose hits set each region's background (a filter must not make a weak match look
   * distinctive: the n-th best video is the index's, as unfiltered), and the filter's videos
   * alone, whose hits are the evidence (none lost because other videos filled the k nearest).
   */
  private async knn(vectors: Float32Array[], variant: number, k: number): Promise<KnnHit[]> {
    if (!this.scope) return this.store.knn(vectors, variant, k);
    if (!this.scope.videoIds.length) return [];
    const [all, scoped] = await Promise.all([this.store.knn(vectors, variant, k), this.store.knn(vectors, variant, k, undefined, this.scope)]);
    const seen = new Set(all.map((h) => `${h.query}|${h.frameId}`));
    return [...all, ...scoped.filter((h) => !seen.has(`${h.query}|${h.frameId}`))];
  }

  /** The regions of one query frame in a tier (only those whose key passes `only`, if given). */
  regionsOf(frame: number, tier: 1 | 2 | 3, only?: (key: string) => boolean): QueryRegion[] {
    const { plan } = this;
    const f = plan.frames[frame];
    return queryRegions(f.raster, f.content, tier, {
      inset: tier === 1 ? plan.inset : null,
      insetAlternatives: tier === 1 ? plan.insetAlternatives : [],
      // The second tier compares strips within panels with the stored strips (stored windows
      // only), never within guessed ones: a band of a vertical reframe is part of the same
      // window, and its strips' hits would have verification compare the band alone.
      panels: tier === 1 || (tier === 2 && this.storedWindows && !plan.layout?.guessed) ? plan.layout?.panels : undefined,
      displayAspect: plan.aspect,
      windows: !plan.single,
      rotations: !plan.single,
      storedWindows: this.storedWindows && !plan.single,
      only,
    });
  }

  /**
   * Describe and search the regions of a tier in some frames (those of kinds `kinds` passes, if
   * given); their weighted hits join `hits`.
   */
  async searchTier(tier: 1 | 2, frameIdx: readonly number[], kinds?: (kind: QueryRegion['kind']) => boolean): Promise<void> {
    const { plan, settings: s } = this;
    // The query time each searched frame stands for: the second tier searches a spread few.
    const spacingSec = plan.good.length > frameIdx.length ? (plan.intervalSec * plan.good.length) / Math.max(1, frameIdx.length) : undefined;
    const regions: SearchedRegion[] = [];
    for (const frame of frameIdx) {
      for (const region of this.regionsOf(frame, tier)) {
        if (kinds && !kinds(region.kind)) continue;
        for (const against of region.against) regions.push({ frame, region, tier, against });
      }
    }
    let t = performance.now();
    // A region compared with both stored variants is described once and searched twice.
    const unique = [...new Set(regions.map((r) => r.region))];
    const vecs = await describeAll(
      this.descriptor,
      unique.map((r) => r.raster),
    );
    const vecOf = new Map(unique.map((r, i) => [r, vecs[i]]));
    for (const r of regions) this.vectors.set(`${r.frame}|${regionSpec(tier, r.region.key)}`, vecOf.get(r.region)!);
    this.timings.describe += performance.now() - t;
    t = performance.now();
    // Both variants' scans at once: on a server they run on two pooled connections (image
    // query at 1M: 48 → 19 ms); PGlite queues them, at no cost.
    const variants = Object.values(STORED_VARIANT).map((variant) => ({ variant, sel: regions.filter((r) => r.against === variant) }));
    const k = plan.single ? s.imageK : s.k;
    const found = await Promise.all(
      variants.map(({ variant, sel }) =>
        sel.length
          ? this.knn(
              sel.map((r) => vecOf.get(r.region)!),
              variant,
              k,
            )
          : Promise.resolve([]),
      ),
    );
    const guessFloor = plan.evidence.minFrameSimilarity + s.guessExtraFloor;
    for (const [vi, { variant, sel }] of variants.entries()) {
      if (!sel.length) continue;
      // Stored strips and quadrants: each its own floor (see `stripMinSimilarity`).
      const guessEvidence = {
        ...plan.evidence,
        minFrameSimilarity:
          variant === STORED_VARIANT.stripA || variant === STORED_VARIANT.stripB
            ? s.stripMinSimilarity
            : variant === STORED_VARIANT.quadrant
              ? s.quadrantMinSimilarity
              : guessFloor,
      };
      const hits: KnnHit[] = found[vi];
      const pairs = sel.map((r) => regionPair(tier, r.region, variant));
      const guessed = (h: KnnHit) => tier === 2 || GUESSED_KINDS.has(sel[h.query].region.kind);
      const regionFrame = sel.map((r) => r.frame);
      if (this.keepRaw) for (const h of hits) if (!this.allowed || this.allowed.has(h.videoId)) this.raw.push({ ...h, frame: regionFrame[h.query] });
      const floors = new Map<number, number>();
      const paired = (h: WeightedHit): PairedHit => ({ ...h, pair: pairs[h.query], spacingSec });
      // Weighed against every video's hits, kept for the filter's videos only.
      const allowed = (h: WeightedHit) => !this.allowed || this.allowed.has(h.videoId);
      this.hits.push(
        ...weighHits(
          hits.filter((h) => !guessed(h)),
          regionFrame,
          plan.evidence,
          floors,
        )
          .filter(allowed)
          .map(paired),
      );
      this.hits.push(...weighHits(hits.filter(guessed), regionFrame, guessEvidence, floors).filter(allowed).map(paired));
      for (const [ri, floor] of floors) this.floors.set(`${sel[ri].frame}|${pairs[ri].id}`, floor);
    }
    this.timings.knn += performance.now() - t;
    if (this.signal?.aborted) throw new AbortedError();
  }

  /**
   * `search --top`: the first-tier regions of some frames searched among `among` alone, their hits
   * kept as raw hits only (never evidence), to reach videos no hit has reached yet.
   */
  async searchRaw(frameIdx: readonly number[], among: VideoScope): Promise<void> {
    if (!among.videoIds.length) return;
    const regions: SearchedRegion[] = [];
    for (const frame of frameIdx) {
      for (const region of this.regionsOf(frame, 1)) for (const against of region.against) regions.push({ frame, region, tier: 1, against });
    }
    const t = performance.now();
    const vecs = await describeAll(
      this.descriptor,
      regions.map((r) => r.region.raster),
    );
    for (const variant of [STORED_VARIANT.whole, STORED_VARIANT.centre]) {
      const at = regions.map((r, i) => (r.against === variant ? i : -1)).filter((i) => i >= 0);
      if (!at.length) continue;
      const hits = await this.store.knn(
        at.map((i) => vecs[i]),
        variant,
        this.plan.single ? this.settings.imageK : this.settings.k,
        undefined,
        among,
      );
      for (const h of hits) this.raw.push({ ...h, frame: regions[at[h.query]].frame });
    }
    this.timings.knn += performance.now() - t;
    if (this.signal?.aborted) throw new AbortedError();
  }

  /**
   * Vectors of some regions (`tier:key` specs) for every usable query frame, describing the ones
   * not described yet: keyed by spec, then by frame.
   */
  async vectorsOf(specs: ReadonlyArray<{ tier: 1 | 2 | 3; key: string }>): Promise<Map<string, Map<number, Float32Array>>> {
    const missing: Array<{ key: string; raster: QueryRegion['raster'] }> = [];
    const byTier = new Map<1 | 2 | 3, Set<string>>();
    for (const { tier, key } of specs) {
      if (!byTier.has(tier)) byTier.set(tier, new Set());
      byTier.get(tier)!.add(key);
    }
    for (const fi of this.plan.good) {
      for (const [tier, keys] of byTier) {
        const want = (key: string) => keys.has(key) && !this.vectors.has(`${fi}|${regionSpec(tier, key)}`);
        for (const region of this.regionsOf(fi, tier, want)) missing.push({ key: `${fi}|${regionSpec(tier, region.key)}`, raster: region.raster });
      }
    }
    const vecs = await describeAll(
      this.descriptor,
      missing.map((m) => m.raster),
    );
    missing.forEach((m, i) => this.vectors.set(m.key, vecs[i]));
    const out = new Map<string, Map<number, Float32Array>>();
    for (const { tier, key } of specs) {
      const spec = regionSpec(tier, key);
      const bySpec = new Map<number, Float32Array>();
      for (const fi of this.plan.good) {
        const v = this.vectors.get(`${fi}|${spec}`);
        if (v) bySpec.set(fi, v);
      }
      out.set(spec, bySpec);
    }
    return out;
  }

  /** The similarity floor a frame's region had against a stored variant, if it was searched. */
  floorOf(frame: number, pair: RegionPair): number | undefined {
    return this.floors.get(`${frame}|${pair.id}`);
  }

  /** The median floor of a pair over the frames where it was searched. */
  typicalFloor(pair: RegionPair): number | undefined {
    const known = [...this.floors.entries()]
      .filter(([k]) => k.endsWith(`|${pair.id}`))
      .map(([, f]) => f)
      .sort((a, b) => a - b);
    return known.length ? known[known.length >> 1] : undefined;
  }
}

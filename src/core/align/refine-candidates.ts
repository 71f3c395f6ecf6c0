import type { FrameStore } from '../../db/frame-store.js';
import { STORED_VARIANT, TRIM_KEYS, isStoredWindowVariant } from '../frames/region-variants.js';
import type { RegionSearch } from '../candidates/region-search.js';
import type { QueryPlan } from '../query/query-plan.js';
import { refineSegment } from './segment-refinement.js';
import { clashes } from './window-chains.js';
import type { RefineQueryFrame, RefineRefFrame } from './segment-refinement.js';
import type { AlignOptions, AlignedSegment } from './temporal-chains.js';
import type { RefineSettings } from '../settings/search-settings.js';
export type { RefineSettings } from '../settings/search-settings.js';

export interface RefineCandidatesInput {
  plan: QueryPlan;
  regions: RegionSearch;
  store: FrameStore;
  align: AlignOptions;
  settings: RefineSettings;
  /** The index's sampling interval (seconds between stored frames). */
  refIntervalSec: number;
}

/**
 * Dense refinement of one reference video's segments: every usable query frame is compared with
 * the reference's stored frames near the chain, the way (region and stored variant) that carried
 * the chain's evidence, so that a segment's ends, rate and points follow the copy rather than the
 * sparse hits that found it.
 */
export async function refineVideoSegments(
  input: RefineCandidatesInput,
  videoId: string,
  segs: AlignedSegment[],
  refDurationSec: number,
): Promise<AlignedSegment[]> {
  const { plan, regions, align, settings: s } = input;
  if (!segs.length) return segs;
  const window = segs.reduce(
    (w, seg) => ({
      lo: Math.min(w.lo, seg.refStart - (seg.queryStart + 2) * align.maxRate),
      hi: Math.max(w.hi, seg.refEnd + (plan.durationSec - seg.queryEnd + 2) * align.maxRate),
    }),
    { lo: Infinity, hi: -Infinity },
  );
  const stored = await input.store.framesOf(videoId, Math.max(0, window.lo), window.hi);
  const out: AlignedSegment[] = [];
  for (const seg of segs) {
    // The region/variant pairs that carried the chain's evidence, strongest first; the floor
    // is the strongest one's.
    const byPair = new Map<string, { pair: NonNullable<AlignedSegment['points'][number]['pair']>; w: number }>();
    for (const p of seg.points) {
      // Stored windows are not refined: a stored frame holds them at one of a cycle's places, so a
      // query region's best place differs from frame to frame. A chain found by them alone keeps
      // its own bounds.
      if (!p.pair || isStoredWindowVariant(p.pair.variant)) continue;
      const e = byPair.get(p.pair.id) ?? { pair: p.pair, w: 0 };
      e.w += p.w;
      byPair.set(p.pair.id, e);
    }
    const ranked = [...byPair.values()].sort((a, b) => b.w - a.w);
    const pairs = ranked
      .filter((e) => e.w >= ranked[0].w * s.pairShare)
      .slice(0, s.maxPairs)
      .map((e) => e.pair);
    if (!pairs.length) {
      out.push(seg);
      continue;
    }
    const strongest = pairs[0];
    const ways = pairs.map((p) => ({ tier: p.tier, key: p.key, variant: p.variant }));
    // A chain found with the picture as a whole may lose its reference where border stripping
    // took a flat sky or floor off the reference's frames and not the query's: the picture's
    // trims are compared with the stored whole pictures too.
    const flip = strongest.mirrored ? '/flip' : '';
    if (strongest.tier === 1 && s.trimmedKeys.includes(strongest.key.replace('/flip', ''))) {
      for (const key of TRIM_KEYS) ways.push({ tier: 3, key: `${key}${flip}`, variant: STORED_VARIANT.whole });
    }
    const vectorsBySpec = await regions.vectorsOf(ways);
    const typicalFloor = regions.typicalFloor(strongest) ?? plan.evidence.minFrameSimilarity;
    const query: RefineQueryFrame[] = plan.frames.map((f, fi) => ({
      q: fi,
      tq: f.timestampSec,
      vectors: ways.map((w) => vectorsBySpec.get(`${w.tier}:${w.key}`)?.get(fi) ?? null),
      floor: regions.floorOf(fi, strongest) ?? typicalFloor,
    }));
    const ref: RefineRefFrame[] = [];
    for (const f of stored) {
      if (f.quality < plan.evidence.minQuality) continue;
      const vectors = ways.map((w) => f.vectors.get(w.variant) ?? null);
      if (vectors.some(Boolean)) ref.push({ tr: f.timestampSec, vectors });
    }
    out.push(
      refineSegment(seg, query, ref, {
        ...s,
        minRate: align.minRate,
        maxRate: align.maxRate,
        lineToleranceSec: input.refIntervalSec * 0.6 + 0.1,
        queryIntervalSec: plan.intervalSec,
        refDurationSec,
      }),
    );
  }
  // Extended segments of one reference may now cover the same query stretch: keep the stronger
  // (of one kind: a window segment and another are weighed once scored, see search.ts).
  const kept: AlignedSegment[] = [];
  for (const seg of out.sort((a, b) => b.evidence - a.evidence)) {
    if (!kept.some((k) => !!k.windowsOnly === !!seg.windowsOnly && clashes(k, seg, align.maxQueryOverlap))) kept.push(seg);
  }
  return kept;
}

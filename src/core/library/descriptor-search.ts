/**
 * Search with frame vectors already computed: a video's own stored frames (duplicate clusters)
 * or a signature's (search without media). No media is decoded. The stages are those of a search
 * by file, minus what needs pixels: each frame's stored regions (the whole picture, its centre,
 * and the whole picture's mirror image where the descriptor can compute it from the vector) are
 * searched among the stored vectors, weighed against their background (candidates/evidence),
 * chained in time (align/temporal-chains) and scored. Left out: the second tier (crops, windows
 * and de-rotations are described from pixels), dense refinement (likewise) and verification,
 * which the caller runs when media are at hand (`judgeCandidates`).
 */
import type { FrameStore, VideoScope } from '../../db/frame-store.js';
import type { FrameDescriptor } from '../descriptors/frame-descriptor.js';
import type { KnnHit } from '../../db/frame-store.js';
import { STORED_VARIANT } from '../frames/region-variants.js';
import type { QueryVariantKind } from '../frames/region-variants.js';
import type { RegionPair } from '../candidates/region-pair.js';
import { regionPair } from '../candidates/region-pair.js';
import { weighHits } from '../candidates/evidence.js';
import type { WeightedHit } from '../candidates/evidence.js';
import { imageSegments, matchPointsByVideo } from '../align/match-points.js';
import { alignMatches } from '../align/temporal-chains.js';
import type { AlignOptions } from '../align/temporal-chains.js';
import { segmentScore } from '../align/segment-scoring.js';
import type { ScoredSegment } from '../verify/judge-segments.js';
import type { SearchSettings } from '../settings/search-settings.js';

/** A frame as stored, or as a signature carries it: its time, information score and vectors by stored variant. */
export interface DescribedFrame {
  timestampSec: number;
  quality: number;
  /** Vectors keyed by stored variant (`STORED_VARIANT`: 0 whole picture, 1 centre). */
  vectors: ReadonlyMap<number, Float32Array>;
}

export interface DescriptorSearchContext {
  store: FrameStore;
  descriptor: FrameDescriptor;
  settings: SearchSettings;
  /** Seconds between stored frames (the engine's `sampling.intervalSec`). */
  refIntervalSec: number;
}

export interface DescriptorQuery {
  frames: readonly DescribedFrame[];
  /** Seconds between the query's frames (stored frames and signatures: the indexing interval). */
  intervalSec: number;
  /** Videos never returned: the query's own entry when a stored video is searched. */
  exclude?: readonly string[];
  /** Only these videos may be returned (a filtered search); their background is still the whole index's. */
  scope?: VideoScope;
  /** Reference frames for which this says true give no evidence (recurring segments ignored). */
  ignore?: (videoId: string, timeSec: number) => boolean;
  /**
   * A still image (one frame): searched under the rules a search by file applies to a picture —
   * more neighbours, a wider margin above the background, a lower information floor (and a high
   * similarity floor below the video one), the places it appears instead of chains, and its own
   * score scale and threshold.
   */
  image?: boolean;
}

interface Region {
  frame: number;
  key: string;
  kind: QueryVariantKind;
  flipped: boolean;
  vector: Float32Array;
  against: readonly number[];
}

/**
 * Candidate segments of every video that holds a copy of the query's frames, with their temporal
 * scores; none below `min(minSegmentScore, verify.candidateMinScore)`. Not yet judged: the caller
 * verifies them if it has media, or holds them to the no-media rule.
 */
export async function alignDescriptors(ctx: DescriptorSearchContext, query: DescriptorQuery): Promise<ScoredSegment[]> {
  const s = ctx.settings;
  const image = query.image ?? false;
  const lowInformation = image && query.frames.some((f) => f.quality < s.evidence.minQuality);
  const evidence = image
    ? { ...s.evidence, backgroundMargin: s.imageBackgroundMargin, ...(lowInformation ? { minPairSimilarity: s.lowInformationMinSimilarity } : {}) }
    : s.evidence;
  const minQuality = image ? s.imageMinQuality : evidence.minQuality;
  const regions: Region[] = [];
  query.frames.forEach((f, frame) => {
    // Flat frames match everything: as in a search by file, they are not searched.
    if (f.quality < minQuality) return;
    const whole = f.vectors.get(STORED_VARIANT.whole);
    const centre = f.vectors.get(STORED_VARIANT.centre);
    const both = [STORED_VARIANT.whole, STORED_VARIANT.centre];
    if (whole) {
      regions.push({ frame, key: 'whole', kind: 'whole', flipped: false, vector: whole, against: both });
      if (ctx.descriptor.mirror) regions.push({ frame, key: 'whole/flip', kind: 'whole', flipped: true, vector: ctx.descriptor.mirror(whole), against: both });
    }
    if (centre) regions.push({ frame, key: 'centre', kind: 'centre', flipped: false, vector: centre, against: [STORED_VARIANT.centre] });
  });
  if (!regions.length) return [];

  const weighted: Array<WeightedHit & { pair: RegionPair }> = [];
  for (const variant of [STORED_VARIANT.whole, STORED_VARIANT.centre]) {
    const sel = regions.filter((r) => r.against.includes(variant));
    if (!sel.length) continue;
    const vectors = sel.map((r) => r.vector);
    const exclude = query.exclude ?? [];
    const k = image ? s.imageK : s.k;
    let hits: KnnHit[] = await ctx.store.knn(vectors, variant, k, undefined, undefined, exclude);
    if (query.scope) {
      // As a filtered search by file: the whole index sets each region's background, the
      // filter's videos alone give the evidence (none lost to other videos filling the k nearest).
      const scoped = await ctx.store.knn(vectors, variant, k, undefined, query.scope, exclude);
      const seen = new Set(hits.map((h) => `${h.query}|${h.frameId}`));
      hits = [...hits, ...scoped.filter((h) => !seen.has(`${h.query}|${h.frameId}`))];
    }
    const allowed = query.scope ? new Set(query.scope.videoIds) : null;
    const pairs = sel.map((r) => regionPair(1, r, variant));
    for (const h of weighHits(
      hits,
      sel.map((r) => r.frame),
      evidence,
    )) {
      if (allowed && !allowed.has(h.videoId)) continue;
      if (query.ignore?.(h.videoId, h.timestampSec)) continue;
      weighted.push({ ...h, pair: pairs[h.query] });
    }
  }

  const align: AlignOptions = { ...s.align, queryIntervalSec: query.intervalSec, refIntervalSec: ctx.refIntervalSec };
  const queryTimes = query.frames.map((f) => f.timestampSec);
  const floor = Math.min(image ? s.minImageScore : s.minSegmentScore, s.verify.enabled ? s.verify.candidateMinScore : Infinity);
  const out: ScoredSegment[] = [];
  for (const [videoId, pts] of matchPointsByVideo(weighted, queryTimes)) {
    const segments = image ? imageSegments([...pts.values()], ctx.refIntervalSec) : alignMatches([...pts.values()], align);
    for (const seg of segments) {
      const score = segmentScore(seg, image ? s.imageEvidenceScale : s.evidenceScale);
      if (score >= floor) out.push({ videoId, seg, score });
    }
  }
  return out;
}

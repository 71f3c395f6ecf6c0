import type { QueryRegion } from '../frames/region-variants.js';

/** A part of the query frame that carries a picture of its own: a layout panel or an inset. */
export type QueryWindowRef = { kind: 'panel'; index: number } | { kind: 'inset'; alternative?: number };

/**
 * Which query region was compared with which stored variant. Every hit, alignment point and
 * refinement carries one: refinement compares more frames the same way, verification compares
 * the panel or inset the evidence came from, and a mirrored region says the copy is mirrored.
 */
export interface RegionPair {
  /** `tier:key>variant`, the same for every frame of a query: hits of one pair are evidence of one kind. */
  id: string;
  tier: 1 | 2 | 3;
  /** The region's key within its tier (`QueryRegion.key`). */
  key: string;
  /** Stored variant compared with (`STORED_VARIANT`). */
  variant: number;
  mirrored: boolean;
  /** The panel or inset the region lies in, if any. */
  window: QueryWindowRef | null;
}

/** A region of a tier, compared with one stored variant. */
export function regionPair(tier: 1 | 2 | 3, region: Pick<QueryRegion, 'key' | 'kind' | 'flipped' | 'panel' | 'insetAlternative'>, variant: number): RegionPair {
  const window: QueryWindowRef | null =
    region.kind === 'inset'
      ? region.insetAlternative !== undefined
        ? { kind: 'inset', alternative: region.insetAlternative }
        : { kind: 'inset' }
      : region.panel !== undefined
        ? { kind: 'panel', index: region.panel }
        : null;
  return { id: `${tier}:${region.key}>${variant}`, tier, key: region.key, variant, mirrored: region.flipped, window };
}

/** The region a tier and key name (`tier:key`), as refinement asks for one. */
export function regionSpec(tier: 1 | 2 | 3, key: string): string {
  return `${tier}:${key}`;
}

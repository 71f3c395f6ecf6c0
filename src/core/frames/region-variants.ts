import type { Raster, Rect } from './raster.js';
import { crop, flipHorizontal } from './raster.js';
import { detectContentRect } from './border-detection.js';

/** Region variants stored for every indexed frame. */
export const STORED_VARIANT = { whole: 0, centre: 1 } as const;

/**
 * Fraction of the picture kept by the stored centre variant. A copy cropped by 10–25 % per
 * side shows 50–80 % of the source; its own centre crops (see `queryVariants`) then line up
 * with this half-size centre region of the source.
 */
export const CENTRE_FRACTION = 0.5;

export function centreRect(r: Rect, fx: number, fy: number = fx, cx = 0.5, cy = 0.5): Rect {
  const w = r.width * fx;
  const h = r.height * fy;
  return { x: r.x + (r.width - w) * cx, y: r.y + (r.height - h) * cy, width: w, height: h };
}

/** The regions of an indexed frame that get a stored vector: the whole picture and its centre. */
export function storedRegions(frame: Raster, content: Rect): Array<{ variant: number; raster: Raster }> {
  return [
    { variant: STORED_VARIANT.whole, raster: crop(frame, content) },
    { variant: STORED_VARIANT.centre, raster: crop(frame, centreRect(content, CENTRE_FRACTION)) },
  ];
}

/** Why a query variant exists: each one undoes one family of edits. */
export type QueryVariantKind = 'whole' | 'flip' | 'zoom' | 'window' | 'inset';

export interface QueryRegion {
  kind: QueryVariantKind;
  flipped: boolean;
  raster: Raster;
}

/**
 * Regions of a query frame described at search time (cheap: no storage cost).
 * - tier 1: the whole picture and its mirror image (re-encodes, colour edits, padding, flips),
 *   and a detected picture-in-picture inset (see `detectInset`) with its mirror image;
 * - tier 2: centre crops at several anisotropic scales, matched against the stored centre
 *   region (cropped copies), and sub-windows matched against whole stored frames
 *   (picture-in-picture whose inset was not detected, a copy pasted inside other footage).
 */
export function queryRegions(frame: Raster, content: Rect, tier: 1 | 2, inset: Rect | null = null): QueryRegion[] {
  const out: QueryRegion[] = [];
  const add = (kind: QueryVariantKind, rect: Rect, withFlip: boolean) => {
    const r = crop(frame, rect);
    out.push({ kind, flipped: false, raster: r });
    if (withFlip) out.push({ kind, flipped: true, raster: flipHorizontal(r) });
  };
  if (tier === 1) {
    add('whole', content, true);
    // A detected picture-in-picture inset is a picture of its own, with its own black bars
    // perhaps (a letterboxed film pasted in): search its content like a whole frame.
    if (inset) {
      const inner = detectContentRect(crop(frame, inset));
      add('inset', { x: inset.x + inner.x, y: inset.y + inner.y, width: inner.width, height: inner.height }, true);
    }
    return out;
  }
  const scales = [0.87, 0.75, 0.65];
  for (const fx of scales) for (const fy of scales) add('zoom', centreRect(content, fx, fy), true);
  for (const s of [0.5, 0.4]) {
    for (const cy of [0, 0.5, 1]) for (const cx of [0, 0.5, 1]) add('window', centreRect(content, s, s, cx, cy), false);
  }
  return out;
}

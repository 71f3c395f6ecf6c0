import type { Raster, Rect } from './raster.js';
import { crop, flipHorizontal, rotate } from './raster.js';
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
export type QueryVariantKind = 'whole' | 'flip' | 'zoom' | 'window' | 'inset' | 'derotate';

export interface QueryRegion {
  kind: QueryVariantKind;
  flipped: boolean;
  raster: Raster;
  /** Stored variant a second-tier region is compared with (first-tier regions meet both). */
  against: number;
}

/** Centre-crop scales of the second tier, per axis (crops of 10–25 % per side leave 50–80 %). */
const ZOOM_SCALES = [0.87, 0.75, 0.65];
/**
 * Positions of the zoom crops. Crops are drawn per side independently, so the source's centre
 * usually sits off the copy's centre: with 10 % off one side and 25 % off the other it lies a
 * quarter of the free space away. Measured on the accuracy benchmark (seeds 1–3, crop queries):
 * the share of true frames above the 99th percentile of unrelated frames went from 0.49 (centre
 * only) to 0.71 with the four diagonal positions added, against 0.73 for a full 3×3 grid at
 * nearly twice the cost; positions at 0.35/0.65 gave 0.66. Off-centre crops are not mirrored:
 * a crop combined with a flip still has its centred guesses.
 */
const ZOOM_POSITIONS: ReadonlyArray<readonly [number, number]> = [
  [0.25, 0.25],
  [0.75, 0.25],
  [0.25, 0.75],
  [0.75, 0.75],
];
/**
 * Rotations undone at query time (degrees, both senses). Copies rotated by 3–8° keep the
 * picture's centre, so the de-rotated query's centre lines up with the stored centre: at the
 * same scale when the corners were filled black, enlarged by the zoom that hid the corners
 * otherwise. 2.5° steps leave at most 1.25° of error, which the low DCT frequencies absorb.
 * Measured on the rotate queries of seeds 1–3: true frames above the unrelated 99th percentile
 * rose from 0.17 (centred zooms) to 0.61.
 */
const DEROTATE_DEGREES = [3, 5.5, 8];

/**
 * Regions of a query frame described at search time (cheap: no storage cost).
 * - tier 1: the whole picture and its mirror image (re-encodes, colour edits, padding, flips),
 *   and a detected picture-in-picture inset (see `detectInset`) with its mirror image;
 * - tier 2: crops at several anisotropic scales and positions, matched against the stored centre
 *   region (cropped copies); de-rotated copies of the picture (small rotations); and
 *   sub-windows matched against whole stored frames (picture-in-picture whose inset was not
 *   detected, a copy pasted inside other footage).
 *
 * `displayAspect` is the displayed width/height of the whole raster (frames are stretched to a
 * fixed raster size); de-rotation needs it to rotate in the picture's true geometry.
 */
export function queryRegions(
  frame: Raster,
  content: Rect,
  tier: 1 | 2,
  inset: Rect | null = null,
  displayAspect: number = frame.width / frame.height,
): QueryRegion[] {
  const out: QueryRegion[] = [];
  const push = (kind: QueryVariantKind, r: Raster, withFlip: boolean, against: number) => {
    out.push({ kind, flipped: false, raster: r, against });
    if (withFlip) out.push({ kind, flipped: true, raster: flipHorizontal(r), against });
  };
  const add = (kind: QueryVariantKind, rect: Rect, withFlip: boolean, against: number = STORED_VARIANT.whole) =>
    push(kind, crop(frame, rect), withFlip, against);
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
  for (const fx of ZOOM_SCALES) {
    for (const fy of ZOOM_SCALES) {
      add('zoom', centreRect(content, fx, fy), true, STORED_VARIANT.centre);
      for (const [cx, cy] of ZOOM_POSITIONS) add('zoom', centreRect(content, fx, fy, cx, cy), false, STORED_VARIANT.centre);
    }
  }
  const picture = crop(frame, content);
  const aspect = (displayAspect * (content.width / frame.width)) / (content.height / frame.height);
  const whole: Rect = { x: 0, y: 0, width: picture.width, height: picture.height };
  for (const deg of DEROTATE_DEGREES) {
    const t = (deg * Math.PI) / 180;
    // Zoom that hides the black corners of a rotation by t (what a zoom-to-fill copy applied).
    const z = Math.cos(t) + Math.max(aspect, 1 / aspect) * Math.sin(t);
    for (const sign of [-1, 1]) {
      const r = rotate(picture, sign * deg, aspect);
      push('derotate', r, false, STORED_VARIANT.whole);
      push('derotate', crop(r, centreRect(whole, CENTRE_FRACTION)), false, STORED_VARIANT.centre);
      push('derotate', crop(r, centreRect(whole, Math.min(1, CENTRE_FRACTION * z))), false, STORED_VARIANT.centre);
    }
  }
  for (const s of [0.5, 0.4]) {
    for (const cy of [0, 0.5, 1]) for (const cx of [0, 0.5, 1]) add('window', centreRect(content, s, s, cx, cy), false);
  }
  return out;
}

import type { Raster, Rect } from './raster.js';
import { crop, flipHorizontal, rotate } from './raster.js';
import { detectContentRect } from './border-detection.js';
export { CENTRE_FRACTION } from '../settings/frame-settings.js';
import {
  CENTRE_FRACTION,
  PANEL_SOURCE_ASPECT,
  ZOOM_SCALES,
  ZOOM_POSITIONS,
  DEROTATE_DEGREES,
  DEROTATE_HALF_STEP,
  DEROTATE_MIN_KEPT,
  TRIM_FRACTIONS,
  STORED_WINDOWS,
} from '../settings/frame-settings.js';

/**
 * Region variants stored for indexed frames: the whole picture and its centre for every frame;
 * in an index with stored windows also up to two narrow full-height strips (`stripA`, `stripB`)
 * and one quadrant, at positions that cycle with the frame's ordinal (see `windowRegions`).
 */
export const STORED_VARIANT = { whole: 0, centre: 1, stripA: 2, stripB: 3, quadrant: 4 } as const;

export function centreRect(r: Rect, fx: number, fy: number = fx, cx = 0.5, cy = 0.5): Rect {
  const w = r.width * fx;
  const h = r.height * fy;
  return { x: r.x + (r.width - w) * cx, y: r.y + (r.height - h) * cy, width: w, height: h };
}

/** Display aspect of a content rectangle of a raster stretched from a picture of `displayAspect`. */
export function contentAspect(frame: Raster, content: Rect, displayAspect: number): number {
  return (displayAspect * (content.width / frame.width)) / (content.height / frame.height);
}

/** A rectangle given as shares of `r`, in `r`'s pixels. */
export function subRect(r: Rect, f: Rect): Rect {
  return { x: r.x + f.x * r.width, y: r.y + f.y * r.height, width: f.width * r.width, height: f.height * r.height };
}

/**
 * The stored windows of the frame with ordinal `ordinal` (its place among its video's stored
 * frames) in content of display aspect `aspect`, as shares of the content rectangle (see
 * `STORED_WINDOWS`): strips, none on portrait footage, then the quadrant.
 */
export function windowRegions(aspect: number, ordinal: number): Array<{ variant: number; rect: Rect }> {
  const W = STORED_WINDOWS;
  const phase = ((ordinal % W.phases) + W.phases) % W.phases;
  const out: Array<{ variant: number; rect: Rect }> = [];
  const w = Math.min(1, W.stripWidthAtAspect1 / aspect);
  if (w <= W.stripMaxWidth) {
    W.stripPhases[phase].forEach((i, n) =>
      out.push({ variant: n ? STORED_VARIANT.stripB : STORED_VARIANT.stripA, rect: { x: (i * (1 - w)) / (W.stripPositions - 1), y: 0, width: w, height: 1 } }),
    );
  }
  const qw = W.quadrantWidth;
  const [px, py] = W.quadrantPhases[phase];
  out.push({ variant: STORED_VARIANT.quadrant, rect: { x: px * (1 - qw), y: py * (1 - W.quadrantHeight), width: qw, height: W.quadrantHeight } });
  return out;
}

/**
 * The regions of an indexed frame that get a stored vector: the whole picture and its centre,
 * and, in an index with stored windows (`window`: the frame's ordinal and the video's display
 * aspect), its strips and quadrant (see `windowRegions`).
 */
export function storedRegions(frame: Raster, content: Rect, window?: { ordinal: number; displayAspect: number }): Array<{ variant: number; raster: Raster }> {
  const out: Array<{ variant: number; raster: Raster }> = [
    { variant: STORED_VARIANT.whole, raster: crop(frame, content) },
    { variant: STORED_VARIANT.centre, raster: crop(frame, centreRect(content, CENTRE_FRACTION)) },
  ];
  if (window) {
    for (const r of windowRegions(contentAspect(frame, content, window.displayAspect), window.ordinal))
      out.push({ variant: r.variant, raster: crop(frame, subRect(content, r.rect)) });
  }
  return out;
}

/** `n` offsets spread evenly over the free space 1 − size, at most `step` × size apart. */
function offsets(size: number, step: number): number[] {
  if (size >= 1) return [0];
  const n = Math.ceil((1 - size) / (step * size) - 1e-9) + 1;
  return Array.from({ length: n }, (_, i) => (i * (1 - size)) / (n - 1));
}

/**
 * Query regions (shares of the query's content) compared with the stored strips: a stored strip
 * is 0.32 of its own height wide in display units, so in a query of display aspect `aq` showing
 * the reference's full height it is 0.32 / aq of the query's width (0.57 for a 9:16 query, 7
 * offsets); none in a query wider than 4:3 (see `stripQueryMaxAspect`).
 */
export function stripQueryRects(aq: number): Rect[] {
  const W = STORED_WINDOWS;
  const w = W.stripWidthAtAspect1 / aq;
  if (w > W.stripQueryMaxWidth || aq > W.stripQueryMaxAspect) return [];
  const wq = Math.min(1, w);
  return offsets(wq, W.stripQueryStep).map((x) => ({ x, y: 0, width: wq, height: 1 }));
}

/**
 * Query regions (shares of the query's content) compared with the stored quadrants: the query
 * taken to show 1, 0.77 or 0.63 of the reference's height (`fy`), the quadrant at the reference
 * shapes the query could be a crop of (`aspect`), on a grid stepping 0.2 of the region's size.
 * Regions larger than the query, and those implying a crop wider than the reference or keeping
 * most of it, are left out.
 */
export function quadrantQueryRects(aq: number): Array<{ fy: number; aspect: number; rect: Rect }> {
  const W = STORED_WINDOWS;
  const [lo, hi] = W.quadrantQueryCropRatio;
  const out: Array<{ fy: number; aspect: number; rect: Rect }> = [];
  W.quadrantQueryAspects.forEach((a, i) => {
    if (i > 0 && (aq / a < lo || aq / a > hi)) return;
    for (const fy of W.quadrantQueryScales) {
      const h = W.quadrantHeight / fy;
      // The stored quadrant is half the reference's width and height: of display aspect `a`.
      const w = (a * h) / aq;
      // The crop this region implies: `fy` of the reference's height and `fw` of its width. One
      // wider than the reference cannot be, and one keeping most of it is found whole.
      const fw = (aq / a) * fy;
      if (w > 1 + 1e-9 || h > 1 + 1e-9 || fw > W.quadrantQueryMaxCropWidth || fw * fy > W.quadrantQueryMaxCropArea) continue;
      for (const y of offsets(h, W.quadrantQueryStep))
        for (const x of offsets(w, W.quadrantQueryStep)) out.push({ fy, aspect: a, rect: { x, y, width: w, height: h } });
    }
  });
  return out;
}

/** Why a query variant exists: each one undoes one family of edits. */
export type QueryVariantKind = 'whole' | 'unstripped' | 'centre' | 'zoom' | 'window' | 'inset' | 'panel' | 'derotate' | 'trim' | 'strip' | 'quadrant';

/** Whether a stored variant is one of the stored windows (strips, quadrant). */
export function isStoredWindowVariant(variant: number): boolean {
  return variant >= STORED_VARIANT.stripA;
}

export interface QueryRegion {
  kind: QueryVariantKind;
  /**
   * Names the region within its tier, the same for every frame of a query (`whole`,
   * `zoom 0.87x0.75 @0.25,0.25`, `trim top 0.2`, …; mirror images end in `/flip`): hits of one
   * region in different frames are evidence of one kind, and refinement asks for a region by key.
   */
  key: string;
  flipped: boolean;
  /** For a layout panel's regions, which panel (index into the layout's panels). */
  panel?: number;
  /** For an alternative inset's regions, which one (index into `insetAlternatives`). */
  insetAlternative?: number;
  raster: Raster;
  /** Stored variants this region is compared with. */
  against: readonly number[];
}

export interface QueryRegionOptions {
  /** A picture-in-picture inset found across the query's frames (first tier). */
  inset?: Rect | null;
  /** Rectangles that scored nearly as well as `inset` (first tier; see `detectInsets`). */
  insetAlternatives?: readonly Rect[];
  /**
   * Panels of a layout found across the query's frames (see `detectLayout`): the sharp picture of
   * a blurred-surround repost, the halves of a split screen. First tier: each searched as a
   * picture; second tier, with `storedWindows`: strips within each.
   */
  panels?: readonly Rect[];
  /** Displayed width/height of the whole raster; de-rotation needs the picture's true shape. */
  displayAspect?: number;
  /**
   * Second tier: search sub-windows of the picture against whole stored frames (default true).
   * Windows find a copy pasted small inside other footage, where the copy's frames line up in
   * time; a still image has no time to line up, and its windows matched unrelated pictures.
   */
  windows?: boolean;
  /**
   * Second tier: de-rotated copies of the picture (default true). Likewise left out of still
   * image queries: on the accuracy benchmark (seeds 1–10, 160 image queries) they found no
   * image the other regions missed, and made one of the two image false positives (a field
   * matched to a night road at 0.85).
   */
  rotations?: boolean;
  /**
   * Second tier: regions compared with the stored strips and quadrants (default false: only an
   * index with stored windows has them; see `stripQueryRects`, `quadrantQueryRects`).
   */
  storedWindows?: boolean;
  /** Build only the regions whose key passes (the rest cost nothing): refinement needs a few. */
  only?: (key: string) => boolean;
}

const BOTH: readonly number[] = [STORED_VARIANT.whole, STORED_VARIANT.centre];
const WHOLE: readonly number[] = [STORED_VARIANT.whole];
const CENTRE: readonly number[] = [STORED_VARIANT.centre];
const STRIPS: readonly number[] = [STORED_VARIANT.stripA, STORED_VARIANT.stripB];
const QUADRANT: readonly number[] = [STORED_VARIANT.quadrant];

/**
 * The content rectangle with only the bars that are matched on the opposite side removed.
 * Letterbox and pillarbox bars come in pairs; a flat run on one side only may be picture (a
 * shadow clipped to black by a darkening edit) that its source describes as picture.
 */
export function symmetricContent(frame: Raster, content: Rect): Rect {
  const left = content.x;
  const right = frame.width - content.x - content.width;
  const top = content.y;
  const bottom = frame.height - content.y - content.height;
  const h = Math.min(left, right);
  const v = Math.min(top, bottom);
  return { x: h, y: v, width: frame.width - 2 * h, height: frame.height - 2 * v };
}

/**
 * Where the stored centre region (the middle half of each axis) of a 16:9 source lies in a panel
 * of the given display aspect that the source filled by a centred crop: an 8:9 half of a
 * side-by-side shows the middle half of the source's width, so its full width at the middle half
 * of its height is the stored centre. Null when the panel is the source's shape, or so narrow that
 * it shows less than the centre region.
 */
export function coverCentre(rect: Rect, aspect: number): Rect | null {
  const f = aspect / PANEL_SOURCE_ASPECT;
  if (f > 0.95 && f < 1 / 0.95) return null;
  // Narrower: the panel shows a share f of the source's width; wider: 1/f of its height.
  const [fx, fy] = f < 1 ? [0.5 / f, 0.5] : [0.5, 0.5 * f];
  // A panel a pixel or two narrower than a half (its split line shaved off) still shows the centre.
  if (fx > 1.05 || fy > 1.05) return null;
  return centreRect(rect, Math.min(1, fx), Math.min(1, fy));
}

const TRIM_SIDES = ['top', 'bottom', 'left', 'right'] as const;
const trimKey = (side: (typeof TRIM_SIDES)[number], fraction: number) => `trim ${side} ${fraction}`;
/** Keys of the third tier's trims (mirror images: the key with `/flip` added). */
export const TRIM_KEYS: readonly string[] = TRIM_SIDES.flatMap((side) => TRIM_FRACTIONS.map((f) => trimKey(side, f)));

/**
 * Regions of a query frame described at search time (cheap: no storage cost).
 * - tier 1: the whole picture and its mirror image (re-encodes, colour edits, padding, flips)
 *   against both stored variants; the centre against the stored centre (captions and logos near
 *   the edges); the picture with one-sided flat runs kept (see `symmetricContent`); a detected
 *   picture-in-picture inset (see `detectInset`) with its mirror image;
 * - tier 2: crops at several anisotropic scales and positions, matched against the stored centre
 *   region (cropped copies); de-rotated copies of the picture (small rotations); and
 *   sub-windows matched against whole stored frames (picture-in-picture whose inset was not
 *   detected, a copy pasted inside other footage);
 * - tier 3, never searched, only compared by refinement with a found copy's frames: the picture
 *   (and its mirror image) with one side trimmed, as border stripping may have trimmed a flat
 *   sky or floor from the reference's frame but not from the query's (see `TRIM_FRACTIONS`).
 *
 * Measured on the accuracy benchmark (seeds 1–6, 576 queries): the centre region found three
 * captioned or logo-covered copies and one combination the whole picture missed, and raised
 * segment F by 0.01–0.03 per seed; keeping one-sided flat runs found a darkened copy.
 *
 * @example
 * const regions = queryRegions(frame, content, 1, { inset });          // searched first
 * const zooms = queryRegions(frame, content, 2, { only: (k) => k.startsWith('zoom') });
 */
export function queryRegions(frame: Raster, content: Rect, tier: 1 | 2 | 3, options: QueryRegionOptions = {}): QueryRegion[] {
  const {
    inset = null,
    insetAlternatives = [],
    panels = [],
    displayAspect = frame.width / frame.height,
    windows = true,
    rotations = true,
    storedWindows = false,
    only = () => true,
  } = options;
  const out: QueryRegion[] = [];
  // Rasters are made only for the keys asked for: a crop is cheap, a rotation is not.
  const push = (kind: QueryVariantKind, key: string, make: () => Raster, withFlip: boolean, against: readonly number[]) => {
    const wantPlain = only(key);
    const wantFlip = withFlip && only(`${key}/flip`);
    if (!wantPlain && !wantFlip) return;
    const r = make();
    if (wantPlain) out.push({ kind, key, flipped: false, raster: r, against });
    if (wantFlip) out.push({ kind, key: `${key}/flip`, flipped: true, raster: flipHorizontal(r), against });
  };
  const add = (kind: QueryVariantKind, key: string, rect: Rect, withFlip: boolean, against: readonly number[] = WHOLE) =>
    push(kind, key, () => crop(frame, rect), withFlip, against);
  if (tier === 1) {
    add('whole', 'whole', content, true, BOTH);
    // The centre against the stored centre: captions and logos near the edges stay outside it.
    add('centre', 'centre', centreRect(content, CENTRE_FRACTION), false, CENTRE);
    const sym = symmetricContent(frame, content);
    if (sym.width - content.width > frame.width * 0.04 || sym.height - content.height > frame.height * 0.04) add('unstripped', 'unstripped', sym, false, BOTH);
    // A detected picture-in-picture inset is a picture of its own, with its own black bars
    // perhaps (a letterboxed film pasted in): search its content like a whole frame.
    if (inset) {
      const inner = detectContentRect(crop(frame, inset));
      add('inset', 'inset', { x: inset.x + inner.x, y: inset.y + inner.y, width: inner.width, height: inner.height }, true, BOTH);
    }
    insetAlternatives.forEach((alt, i) => {
      const first = out.length;
      const inner = detectContentRect(crop(frame, alt));
      add('inset', `inset ${i + 1}`, { x: alt.x + inner.x, y: alt.y + inner.y, width: inner.width, height: inner.height }, true, BOTH);
      for (const r of out.slice(first)) r.insetAlternative = i;
    });
    panels.forEach((panel, i) => {
      const first = out.length;
      const inner = detectContentRect(crop(frame, panel));
      const rect: Rect = { x: panel.x + inner.x, y: panel.y + inner.y, width: inner.width, height: inner.height };
      // As a picture of its own (scaled into the panel, bars stripped), and its centre.
      add('panel', `panel ${i}`, rect, true, BOTH);
      add('panel', `panel ${i} centre`, centreRect(rect, CENTRE_FRACTION), false, CENTRE);
      // A panel narrower or wider than the usual source was filled by cropping the source:
      // its centre region then lies at a known place in the panel (see `coverCentre`).
      const aspect = (displayAspect * (rect.width / frame.width)) / (rect.height / frame.height);
      const cover = coverCentre(rect, aspect);
      if (cover) add('panel', `panel ${i} cover`, cover, false, CENTRE);
      for (const r of out.slice(first)) r.panel = i;
    });
    return out;
  }
  if (tier === 3) {
    for (const side of TRIM_SIDES) {
      for (const f of TRIM_FRACTIONS) {
        const dy = Math.round(content.height * f);
        const dx = Math.round(content.width * f);
        const rect: Rect =
          side === 'top'
            ? { ...content, y: content.y + dy, height: content.height - dy }
            : side === 'bottom'
              ? { ...content, height: content.height - dy }
              : side === 'left'
                ? { ...content, x: content.x + dx, width: content.width - dx }
                : { ...content, width: content.width - dx };
        add('trim', trimKey(side, f), rect, true, WHOLE);
      }
    }
    return out;
  }
  for (const fx of ZOOM_SCALES) {
    for (const fy of ZOOM_SCALES) {
      add('zoom', `zoom ${fx}x${fy}`, centreRect(content, fx, fy), true, CENTRE);
      for (const [cx, cy] of ZOOM_POSITIONS) add('zoom', `zoom ${fx}x${fy} @${cx},${cy}`, centreRect(content, fx, fy, cx, cy), false, CENTRE);
    }
  }
  const aspect = (displayAspect * (content.width / frame.width)) / (content.height / frame.height);
  let picture: Raster | undefined;
  const full: Rect = { x: 0, y: 0, width: content.width, height: content.height };
  // Zoom that hides the black corners of a rotation by `deg` (what a zoom-to-fill copy applied).
  const cornerZoom = (deg: number) => {
    const t = (deg * Math.PI) / 180;
    return Math.cos(t) + Math.max(aspect, 1 / aspect) * Math.sin(t);
  };
  for (const deg of rotations ? DEROTATE_DEGREES : []) {
    const z = cornerZoom(deg);
    for (const sign of [-1, 1]) {
      let rotated: Raster | undefined;
      let inscribed: Raster | undefined;
      const r = () => (rotated ??= rotate((picture ??= crop(frame, content)), sign * deg, aspect));
      // The de-rotated picture without the wedges either rotation filled, its borders then
      // stripped as the index strips them: a flat floor or sky at an edge of the source was
      // stripped from the stored frame, but the rotated copy's black corners broke that run, so
      // the query kept it. Cut for the grid's worst error (half a step) so no sliver of wedge
      // is left to hide the flat run. Measured on four missed rotations (cups, traffic camera):
      // median best similarity to the source 0.57–0.83 with wedges, 0.84–0.95 without.
      const strip = () => {
        if (!inscribed) {
          const ins = crop(r(), centreRect(full, 1 / cornerZoom(deg + DEROTATE_HALF_STEP)));
          const c = detectContentRect(ins);
          // A picture that is mostly flat would shrink to a sliver that resembles anything.
          inscribed = c.width * c.height >= DEROTATE_MIN_KEPT * ins.width * ins.height ? crop(ins, c) : ins;
        }
        return inscribed;
      };
      const name = `derotate ${sign * deg}`;
      push('derotate', name, strip, false, WHOLE);
      push(
        'derotate',
        `${name} centre`,
        () => {
          const p = strip();
          return crop(p, centreRect({ x: 0, y: 0, width: p.width, height: p.height }, CENTRE_FRACTION));
        },
        false,
        CENTRE,
      );
      push('derotate', `${name} zoom`, () => crop(r(), centreRect(full, Math.min(1, CENTRE_FRACTION * z))), false, CENTRE);
    }
  }
  if (windows) {
    for (const s of [0.5, 0.4]) {
      for (const cy of [0, 0.5, 1]) for (const cx of [0, 0.5, 1]) add('window', `window ${s} @${cx},${cy}`, centreRect(content, s, s, cx, cy), false, WHOLE);
    }
  }
  if (storedWindows) {
    // A vertical reframe or an off-centre heavy crop against the stored strips and quadrants;
    // keys name the region's place in the query.
    const r2 = (x: number) => Math.round(x * 100) / 100;
    for (const r of stripQueryRects(aspect)) add('strip', `strip ${r2(r.width)} @${r2(r.x)}`, subRect(content, r), false, STRIPS);
    for (const { fy, aspect: a, rect } of quadrantQueryRects(aspect))
      add('quadrant', `quadrant ${fy} @${r2(rect.x)},${r2(rect.y)}${a === 16 / 9 ? '' : ` of ${r2(a)}`}`, subRect(content, rect), false, QUADRANT);
    // A layout's panel filled by cropping its source (a side-by-side's 8:9 half, a top-and-bottom's
    // 9:8 one) shows a full-height window of it, off-centre as often as not: strips within it.
    panels.forEach((panel, i) => {
      const first = out.length;
      const inner = detectContentRect(crop(frame, panel));
      const rect: Rect = { x: panel.x + inner.x, y: panel.y + inner.y, width: inner.width, height: inner.height };
      for (const r of stripQueryRects(contentAspect(frame, rect, displayAspect)))
        add('strip', `panel ${i} strip ${r2(r.width)} @${r2(r.x)}`, subRect(rect, r), false, STRIPS);
      for (const r of out.slice(first)) r.panel = i;
    });
  }
  return out;
}

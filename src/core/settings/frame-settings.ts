/**
 * Settings of frame analysis — layouts, insets and letterbox bars — each default with the
 * measurement that chose it (comments; runs in bench/RESULTS.md).
 */

export interface LayoutOptions {
  /** Smallest share of the frame's side the sharp picture spans (a 16:9 picture in a 9:16 canvas spans 0.32). */
  minSharpFraction: number;
  /** Largest share: above it the blurred margins are too thin to tell from a soft edge. */
  maxSharpFraction: number;
  /**
   * The margins' sharpness (fine detail relative to coarse gradients) must be at most this
   * share of the picture's. Blurred, enlarged margins keep coarse gradients but lose fine detail.
   */
  maxBlurRatio: number;
  /** The margins' sharpness (fine over coarse energy) must be at most this share of the picture's. */
  maxSharpnessRatio: number;
  /**
   * Margins flatter than this (mean coarse gradient per pixel, along and across the lines) are
   * bars, which border detection handles.
   */
  minMarginGradient: number;
  /** The sharp picture's centre lies within this share of the frame's centre (0.5 ± this). */
  bandCentreSlack: number;
  /**
   * A split line lies within this share of the frame's centre (0.5 ± this). Split layouts cut
   * the frame in halves; on the tuning corpus the static edges that passed every other test (a
   * table edge, a wall) lay at 0.54 of the height, the true splits at 0.49–0.50.
   */
  splitCentreSlack: number;
  /** A split line must be an edge along at least this share of its length. */
  splitMinCoverage: number;
  /**
   * A weaker split line (an edge along this share of its length, at least) is taken when the
   * two sides are plainly unrelated (|correlation| at most `splitMaxCorrelationWeakEdge`): dark
   * pictures on both sides leave the edge faint where their lumas meet. The tuning split's
   * top-and-bottom copy split-01 (seed 1: a pillarboxed dark arena over dark footage) had its
   * line at 0.60 coverage and correlation −0.06; no frame of the regular families' queries
   * came out split with it (bench/RESULTS.md, session 14).
   */
  splitMinCoverageUncorrelated: number;
  splitMaxCorrelationWeakEdge: number;
  /** A side of a split line whose luma varies less than this (grey levels) is flat: a bar. */
  splitFlatDeviation: number;
  /** Edge strength at the split line against its neighbours, per pixel along it. */
  splitMinContrast: number;
  /**
   * Across a true split the two pictures are unrelated: the luma just left and right of the
   * line correlates (over time and along the line) below this. A pole or door frame in one
   * scene has the same light on both sides of its edges much of the time.
   */
  splitMaxCorrelation: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = {
  minSharpFraction: 0.25,
  maxSharpFraction: 0.85,
  maxBlurRatio: 0.45,
  maxSharpnessRatio: 0.6,
  minMarginGradient: 1.5,
  bandCentreSlack: 0.12,
  splitCentreSlack: 0.025,
  splitMinCoverage: 0.7,
  splitMinCoverageUncorrelated: 0.55,
  splitMaxCorrelationWeakEdge: 0.15,
  splitFlatDeviation: 1.5,
  splitMinContrast: 2,
  splitMaxCorrelation: 0.5,
};

export interface PortraitGuessOptions {
  /** Queries no wider than this (display width over height) get the guessed bands. */
  maxAspect: number;
  /** Shapes of the landscape sources assumed, one band each. */
  sourceAspects: readonly number[];
}

/**
 * Bands searched in a portrait query whose layout was not found (`guessPortraitLayout`). On the
 * tuning split (seed 1), 2 of 8 blurred-background verticals had no layout found: a soft flower
 * (mdn_flower, blur sigma 28) and a flat grey arena (deeplabcut_openfield_mouse); their pictures
 * were the 16:9 and the 4:3 bands of a 9:16 canvas. Portrait up to 3:4 (bench/RESULTS.md, session 14).
 */
export const PORTRAIT_GUESS: PortraitGuessOptions = { maxAspect: 0.76, sourceAspects: [16 / 9, 4 / 3] };

export interface InsetOptions {
  /** Smallest and largest inset side, as fractions of the frame side. */
  minFraction: number;
  maxFraction: number;
  /**
   * When nothing is found, look again down to this smaller side: a wide picture pasted into a
   * taller frame can be a fifth of its height. Only as a second pass, because small rectangles
   * are plentiful in ordinary footage and would otherwise outscore the true, larger inset.
   */
  fallbackMinFraction: number;
  /** A border pixel's edge strength must exceed its neighbours' by this factor. */
  minContrast: number;
  /** A drawn side must be a border along at least this fraction of its length. */
  minCoverage: number;
  /** Other rectangles searched besides the best (`detectInsets`), scoring within `alternativeMargin` of it. */
  alternatives: number;
  alternativeMargin: number;
}

/**
 * Alternatives: on the tuning split (seed 1), 3 of 8 insets of 12–25 % were missed with one side
 * on a steady edge of the footage beside them; the true rectangle ranked 2nd, 2nd and 4th, within
 * 0.25 of the best score (a score is 2–4 drawn sides plus the four sides' coverage).
 */
export const DEFAULT_INSET: InsetOptions = {
  minFraction: 0.25,
  maxFraction: 0.8,
  fallbackMinFraction: 0.12,
  minContrast: 2,
  minCoverage: 0.6,
  alternatives: 3,
  alternativeMargin: 0.3,
};

export interface BorderOptions {
  /** A line is part of a bar when its luma standard deviation is below this (0–255 scale). */
  maxLineStd: number;
  /** Never remove more than this fraction of a side. */
  maxFraction: number;
  /**
   * A line is solid padding, not merely flat picture, when its std is below this: measured pad
   * bars of re-encoded copies sit at 0–1, flat skies and dark shadows at 1–5.
   */
  padLineStd: number;
}

export const DEFAULT_BORDER_OPTIONS: BorderOptions = { maxLineStd: 5, maxFraction: 0.4, padLineStd: 1.5 };

// Query regions (frames/region-variants.ts).

/**
 * Fraction of the picture kept by the stored centre variant. A copy cropped by 10–25 % per
 * side shows 50–80 % of the source; its own centre crops (see `queryVariants`) then line up
 * with this half-size centre region of the source.
 */
export const CENTRE_FRACTION = 0.5;

/**
 * Aspect assumed for the source of a layout's panel: 16:9, by far the most common for the
 * footage that gets re-framed (and the hold-out and tuning corpora's majority).
 */
export const PANEL_SOURCE_ASPECT = 16 / 9;

/** Centre-crop scales of the second tier, per axis (crops of 10–25 % per side leave 50–80 %). */
export const ZOOM_SCALES = [0.87, 0.75, 0.65];

/**
 * Positions of the zoom crops. Crops are drawn per side independently, so the source's centre
 * usually sits off the copy's centre: with 10 % off one side and 25 % off the other it lies a
 * quarter of the free space away. Measured on the accuracy benchmark (seeds 1–3, crop queries):
 * the share of true frames above the 99th percentile of unrelated frames went from 0.49 (centre
 * only) to 0.71 with the four diagonal positions added, against 0.73 for a full 3×3 grid at
 * nearly twice the cost; positions at 0.35/0.65 gave 0.66. Off-centre crops are not mirrored:
 * a crop combined with a flip still has its centred guesses.
 */
export const ZOOM_POSITIONS: ReadonlyArray<readonly [number, number]> = [
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
export const DEROTATE_DEGREES = [3, 5.5, 8];

/** Half the step between the rotations undone: the largest rotation error left, which the cut past the wedges allows for. */
export const DEROTATE_HALF_STEP = 1.25;

/** A de-rotated picture is stripped of flat runs only if this share of it is left (a mostly flat picture would shrink to a sliver). */
export const DEROTATE_MIN_KEPT = 0.6;

/**
 * Trims of the refinement tier: flat runs (a sky, a floor, a wall) are stripped like bars where
 * they are flat enough, so a reference may have lost its sky on some frames while a copy with a
 * caption over that sky kept it (or the reverse). Fractions of the content's height or width.
 */
export const TRIM_FRACTIONS = [0.1, 0.2, 0.3];

// Bars (frames/border-detection.ts).

/** Lines next to a bar that mix bar and picture (raster pixels). */
export const EDGE_BLEND = 2;

/** Solid bars narrower than this fraction of the side are not taken as padding. */
export const MIN_PAD_FRACTION = 0.03;

/**
 * Stored windows (issue 15): narrow windows of a reference — a vertical 9:16 reframe (about 0.32
 * of a 16:9 frame's width, full height), 1:1 and 4:5 windows, off-centre crops keeping 40–60 % of
 * the area — resemble neither the whole picture nor its centre, so an index built with stored
 * windows keeps narrow full-height strips and one quadrant-sized window per frame as well, at
 * positions that cycle over `phases` frames. Widths are shares of the border-free content's
 * width for its display aspect `Ac`.
 *
 * Chosen on the tuning corpus (`.scratch/windows/`, 712 frames at 1 fps, copies simulated from
 * the frames, per-region floors at the unrelated pairs' p(1 − 0.001/regions)); share of 8 s copies
 * with ≥ 2 frames above the floor, two seeds (bench/RESULTS.md, session 8):
 * - whole + centre only: 9:16 fixed .16/.13, 9:16 panning .17/.18, 1:1 .48/.44, 40–60 % corner .12/.10;
 * - + 0.18 W strips at 7 positions, two a frame over a 4-frame cycle: .79/.77, .80/.74, .93/.97;
 * - + one quadrant a frame over the cycle: 40–60 % corner .78/.78 (then a 16:9-shaped window in
 *   the corners; since session 15 a true quarter of the picture, off the edges: see
 *   `quadrantPhases`);
 * - every strip and quadrant on every frame (the ceiling, 11 vectors a frame): .86/.80, .91/.90.
 * Narrow strips beat storing the 9:16 window itself: the descriptor tolerates a shift of 4 % of a
 * region's width (median similarity .988 for a strip) but not 8 % (.962, 10th percentile .86), so a
 * copy should contain a stored strip found from a query-side grid of offsets, not line up with a
 * stored window.
 */
export const STORED_WINDOWS = {
  /** Strip width at content aspect 1 (0.18 of a 16:9 picture's width). */
  stripWidthAtAspect1: 0.32,
  /** No strips where they would be wider than this share of the picture (footage narrower than about 1:1.9). */
  stripMaxWidth: 0.6,
  stripPositions: 7,
  /** Strip positions stored by phase: 1.75 strips a frame on average. */
  stripPhases: [[0, 4], [1, 5], [2, 6], [3]] as ReadonlyArray<readonly number[]>,
  /**
   * Quadrant width and height, as shares of the content's: a quarter of the picture whatever its
   * shape. Until session 15 it was 16:9-shaped (0.889 / Ac wide): on a square or portrait
   * reference it spanned most of the width, and no portrait crop of it could contain one.
   */
  quadrantWidth: 0.5,
  quadrantHeight: 0.5,
  /**
   * Top-left corner of the quadrant by phase, as multiples of the free space (1 − size) per axis:
   * a quarter of the way in from each corner, not in the corners. A crop keeping 40–60 % of the
   * picture usually cuts every edge, and a window touching an edge then lies partly outside it.
   * Over 4000 crops drawn as the crop-heavy family draws them, the share containing a stored
   * quadrant ≥ 95 % (and at least 0.55 of the crop's height): 0.04 in the corners, 0.75 here.
   * Tuning corpus, crop-heavy, 24 queries (bench/RESULTS.md, session 15): 16/24 found with the
   * corner windows, 16/24 with these places alone, 17/24 with quarter-sized ones alone, 19/24
   * with both (and the query looking for the quadrant at the reference shapes of
   * `quadrantQueryAspects`).
   */
  quadrantPhases: [
    [0.25, 0.25],
    [0.75, 0.75],
    [0.75, 0.25],
    [0.25, 0.75],
  ] as ReadonlyArray<readonly [number, number]>,
  phases: 4,
  /** Query strips: offsets at most this share of the strip's width apart (a 4 % shift keeps .988). */
  stripQueryStep: 0.15,
  /** Query strips wider than this share of the query are not tried (a query narrower than a strip). */
  stripQueryMaxWidth: 1.08,
  /**
   * Query strips only in queries no wider than this (4:3): a full-height window of a 16:9
   * reference that is wider shows most of its width, which the whole picture and the centre
   * match. A 16:9 query had 32 strip offsets a frame, and on the tuning split's landscape
   * negatives the stored windows' nearest-neighbour search took 1.4 s against 0.43 s without
   * them (session 13, load under 3).
   */
  stripQueryMaxAspect: 1.34,
  /** Query quadrants: the query shows this share `fy` of the reference's height (the stored quadrant is 0.5 / fy of the query's). */
  quadrantQueryScales: [1, 0.77, 0.63] as readonly number[],
  /**
   * Query quadrants: the reference shapes (display aspects) a quadrant is looked for at. The
   * query does not know its reference's shape; a 16:9 quadrant is always tried where it fits,
   * the others only where the query's shape is within `quadrantQueryCropRatio` of theirs (a crop
   * keeping 40–60 % keeps a part 0.6–1.7 times as wide, relative to its height, as the frame).
   */
  quadrantQueryAspects: [16 / 9, 4 / 3, 1, 9 / 16] as readonly number[],
  quadrantQueryCropRatio: [0.6, 1.7] as readonly [number, number],
  /**
   * Query quadrants: no region implying a crop wider than the reference (beyond sampling slack) or
   * keeping more than this share of its area (the whole picture and the first tier's zooms find
   * those). A 16:9 query then tries 68 regions a frame (25 for a 16:9 reference, 43 for a 4:3
   * one); without the two limits it tried 170, and the nearest-neighbour search of the tuning
   * split's landscape negatives took 1.9 s against 0.85 s (medians, session 15), for the same
   * 19 of 24 heavy crops found.
   */
  quadrantQueryMaxCropWidth: 1.05,
  quadrantQueryMaxCropArea: 0.8,
  /** Query quadrants: grid step as a share of the region's size. */
  quadrantQueryStep: 0.2,
} as const;

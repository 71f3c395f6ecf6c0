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
  splitMinContrast: 2,
  splitMaxCorrelation: 0.5,
};

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
}

export const DEFAULT_INSET: InsetOptions = { minFraction: 0.25, maxFraction: 0.8, fallbackMinFraction: 0.12, minContrast: 2, minCoverage: 0.6 };

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

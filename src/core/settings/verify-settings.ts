/**
 * Settings of the verification stage. Defaults live with the other search defaults
 * (`DEFAULT_VERIFY` in search-settings.ts), each with the measurement that chose it.
 */
export interface VerifySettings {
  enabled: boolean;
  /** Frames are compared at this width (pixels); the height keeps each frame's display aspect. */
  widthPx: number;
  /** Reference frames this far before and after the expected instant are tried when it does not fit (0: only the instant). */
  timeSlackSec: number;
  /** Matched frame pairs compared per segment, spread over it. */
  pairsPerSegment: number;
  /** Segments verified per query (best first); the rest are reported only if confirmed ones are not enough. */
  maxSegments: number;
  claheClipLimit: number;
  claheTiles: number;
  orbFeatures: number;
  /** A pair that does not fit while either frame used up `orbFeatures` keypoints is compared again with this many (≤ orbFeatures: never). */
  orbFeaturesRetry: number;
  orbPatchSize: number;
  orbFastThreshold: number;
  /** Lowe's ratio test on Hamming distances. */
  ratio: number;
  ransacThresholdPx: number;
  /** A frame with fewer keypoints than this cannot vote: verification abstains on the pair. */
  minKeypoints: number;
  minInliers: number;
  /** Inliers as a share of the ratio-test matches. */
  minInlierRatio: number;
  /** Query → reference scale bounds (linear; 3 ≈ an inset of a ninth of the frame). */
  minScale: number;
  maxScale: number;
  maxAnisotropy: number;
  /** Tilt beyond a quarter turn that a copy may show (degrees). */
  maxTiltDeg: number;
  /** Area (share of the frame) the inliers must span in the query or the reference. */
  minInlierArea: number;
  /** Two pairs' models agree when they place the copied area within this distance (share of the reference frame). */
  agreement: number;
  /** One pair confirms on its own (a still, a segment of one usable pair) only with this many inliers. */
  singlePairMinInliers: number;
  /**
   * Where verification must abstain (frames without texture), a segment is still reported
   * when its temporal score reaches this, above the ordinary `minSegmentScore`.
   */
  abstainMinScore: number;
  /**
   * A query with fewer pixels than this share of a 16:9 frame at `widthPx` is upscaled for
   * keypoints, which then cannot reject (only confirm or abstain).
   */
  smallQueryPixelShare: number;
  /** Segments scoring this or more (temporal evidence alone) are verified; confirmed ones are reported even below `minSegmentScore`. */
  candidateMinScore: number;
  /** Inliers at which the geometry's confidence reaches 0.63 in a confirmed segment's score. */
  inlierScale: number;
  /**
   * Compare a confirmed segment's two candidate time lines (real time and the fitted rate, where
   * they part) by pixels, at its verified pairs' query moments; off: the line refinement chose stands.
   */
  timeLineCheck: boolean;
  /** Moments where the lines' reference instants lie closer than this (s) cannot tell them apart and are not used. */
  timeLineMinGapSec: number;
  /**
   * The fitted rate replaces real time only when its frames' distance from a perfect match
   * (1 − mean correlation) is at most this share of real time's: slowly changing footage keeps
   * both lines near 1, so a fixed margin cannot tell them apart, a ratio can.
   */
  timeLineResidualRatio: number;
}

// Verification internals.

/** The matched stored frame is also tried when the line's instant is further than this from it. */
export const ALT_REF_MIN_GAP_SEC = 0.3;

/**
 * Largest factor by which a reference is decoded wider than `widthPx` for a segment found through
 * the stored windows (`VerifyCandidate.refScale`; equal sizes would take 3.2 for a 9:16 window of
 * a 16:9 reference). Tuning split, seed 1, 8 verticals and 8 heavy crops: 2 and 3 found the same
 * (8/8, 4/8, session 13); on a generated Mandelbrot zoom (test/engine/stored-windows.test.ts) 3
 * gave one agreeing pair of three, 2 two agreeing pairs with 43 inliers. Smaller is also cheaper.
 */
export const MAX_WINDOW_REF_SCALE = 2;

/** Largest width query frames are decoded at for a window (keeps a small inset's decode bounded). */
export const MAX_WINDOW_DECODE_PX = 1280;

/**
 * The reference frames tried around a pair's instant lie `timeSlackSec × speed` away on a fast
 * copy, up to this speed (the fastest copies benchmarked are 3×: test/engine/speed.test.ts).
 */
export const MAX_SLACK_SPEED = 3;

/**
 * A verified model whose coefficients all lie this close to the identity's (2 % of the frame)
 * left the picture in place: a full-frame copy, whatever window was compared.
 */
export const IN_PLACE_TOLERANCE = 0.02;

/**
 * Settings of a search, each default with the measurement that chose it. Measurements are on
 * the tuning corpus (`../shared/corpus`) unless said otherwise; bench/RESULTS.md has the runs.
 */
import type { VerifySettings } from './verify-settings.js';

export type { VerifySettings };

export interface EvidenceOptions {
  /** Pairs below this cosine similarity give no evidence at all. */
  minFrameSimilarity: number;
  /** How far above the query region's background a pair must be before it counts. */
  backgroundMargin: number;
  /** Which distinct video's similarity is taken as the background (the n-th best). */
  backgroundRank: number;
  /** Query frames below this quality are not searched: flat frames match everything. */
  minQuality: number;
  /**
   * Pairs below this similarity give no evidence either, but unlike `minFrameSimilarity` it
   * neither raises the floor nor scales the weight of the pairs that pass.
   */
  minPairSimilarity?: number;
}

export interface AlignOptions {
  /** Longest jump between consecutive matches of one chain, on either axis (seconds). */
  maxGapSec: number;
  /**
   * Slowest and fastest playback rate of the copy relative to the reference (reference seconds
   * per query second: 4 means the query's 1 s shows 4 s of the reference).
   */
  minRate: number;
  maxRate: number;
  /** Timing slack per step: sampling phase makes matched times jitter by up to one interval. */
  jitterSec: number;
  /** Penalty per second of query time skipped without a match, so chains don't bridge unrelated stretches. */
  gapPenaltyPerSec: number;
  /**
   * Penalty per point for the chain's overall rate (from its start) departing from real time,
   * per unit of |ln rate| (so 4× and 0.25× cost the same). Small: a 4× copy loses little, but on
   * a static shot, where every rate fits equally well, the real-time chain wins instead of one
   * creeping at a fraction of it.
   */
  ratePenalty: number;
  /** Fewest matched query frames per sampled query frame over a segment's span: sparse chains are chance. */
  minDensity: number;
  /**
   * Chains of fewer distinct query frames than this must be denser (`shortChainMinDensity`):
   * among many random candidates a few points line up by chance far more often than many do.
   */
  shortChainFrames: number;
  shortChainMinDensity: number;
  /**
   * A sparser chain is kept when its evidence reaches `strongChainEvidence` and its density is
   * at least `strongChainMinDensity`: a picture-in-picture inset or a static subject may match
   * only one query frame in three, but strongly, while chance chains that sparse stay weak.
   */
  strongChainEvidence: number;
  strongChainMinDensity: number;
  /** Fewest distinct query frames in a segment. */
  minMatchedFrames: number;
  /** At most this many segments per reference video. */
  maxSegments: number;
  /** A new segment whose query interval overlaps an accepted one by more than this fraction is dropped. */
  maxQueryOverlap: number;
  /** Sampling interval of the query and reference, to give each sampled frame its duration. */
  queryIntervalSec: number;
  refIntervalSec: number;
}

/** Dense refinement of found segments against the candidate reference's stored frames. */
export interface RefineSettings {
  enabled: boolean;
  /** Candidate videos refined per query, strongest first. */
  maxVideos: number;
  /** See `RefineOptions` in align/segment-refinement. */
  extendMinSimilarity: number;
  extendDrop: number;
  maxMisses: number;
  realTimeSlack: number;
  hubCorrection: boolean;
  /** Refinement compares frames in each way (region/variant pair) that carried at least this share of the strongest way's evidence… */
  pairShare: number;
  /** …and in at most this many ways. */
  maxPairs: number;
  /**
   * First-tier regions of the picture as a whole (keys, mirror images included), whose trims
   * refinement compares too: border stripping may have taken a flat sky or floor off the
   * reference's frames and not the query's.
   */
  trimmedKeys: readonly string[];
}

/** How a query is sampled and read (part of `SearchSettings`). */
export interface QuerySettings {
  /** Seconds between sampled query frames (denser than indexing: more chances to meet a stored frame). */
  queryIntervalSec: number;
  /** Longer queries are sampled more sparsely to stay under this many frames. */
  maxQueryFrames: number;
  /**
   * Look for layouts in video queries (a sharp picture in a blurred surround, split screens) and
   * search their panels as pictures of their own (see `detectLayout`).
   */
  detectLayouts: boolean;
  /**
   * Image queries: how far above its background (the n-th best distinct video) a pair must be.
   * Larger than for video (`evidence.backgroundMargin`): one frame must stand out from the
   * other videos on its own, as a ratio test does.
   */
  imageBackgroundMargin: number;
  /**
   * Image queries: the least information (`frameQuality`) a picture needs to be searched at all.
   * Lower than for video frames (`evidence.minQuality`): a dark, faded or hazy still has nothing
   * else to be found by, and a near-exact match to it is still evidence.
   */
  imageMinQuality: number;
  /**
   * Image queries with less information than `evidence.minQuality`: pairs below this similarity
   * are dropped. Quantisation noise dominates such pictures, so chance matches run higher.
   */
  lowInformationMinSimilarity: number;
  /** Video queries shorter than this (seconds) are searched by their best frame, as a still. */
  shortClipSec: number;
}

/** How candidates are searched (part of `SearchSettings`). */
export interface CandidateSettings {
  /** Neighbours fetched per query region. */
  k: number;
  /** Neighbours per region for image queries: one frame is cheap to search widely, and a wide list gives a reliable background. */
  imageK: number;
  /**
   * Added to the similarity floor of guessed regions — second-tier crops and windows, and
   * detected insets (screen recordings are full of rectangles that are not insets): the best of
   * many guesses against unrelated footage scores higher than one honest comparison does.
   */
  guessExtraFloor: number;
  /**
   * Similarity floors (`evidence.minFrameSimilarity`) of the regions compared with the stored
   * strips and quadrants (an index with stored windows). Narrow windows resemble unrelated ones
   * far more than whole pictures do, so each has its own floor.
   */
  stripMinSimilarity: number;
  quadrantMinSimilarity: number;
}

export interface SearchSettings extends QuerySettings, CandidateSettings {
  /** Query frames given the costly second tier (crops, windows) when the first finds nothing. */
  tier2MaxFrames: number;
  /**
   * Query frames whose regions are compared with the stored strips and quadrants in the second
   * tier: a fixed window meets its stored strip or quadrant only once per cycle of stored frames,
   * so these regions are searched on more frames than the other guesses.
   */
  windowMaxFrames: number;
  /** Query frames whose regions are compared with the stored quadrants (61 regions a 16:9 frame). */
  quadrantMaxFrames: number;
  /**
   * Segments found only through the stored windows are verified from this temporal score (they
   * are reported only when confirmed; see `AlignedSegment.windowsOnly`).
   */
  windowCandidateMinScore: number;
  minSegmentScore: number;
  /**
   * Minimum score of an image match. An image is one frame of evidence, with nothing temporal to
   * confirm it, so it needs more than a video segment: measured on the accuracy benchmark, the
   * best unrelated image matches reach 0.55–0.63 while most true ones score above 0.65.
   */
  minImageScore: number;
  /** Image queries: the rise above the floor at which an image match's confidence reaches 0.63. */
  imageEvidenceScale: number;
  /** Evidence at which a segment's confidence reaches 0.63. */
  evidenceScale: number;
  evidence: EvidenceOptions;
  align: AlignOptions;
  refine: RefineSettings;
  verify: VerifySettings;
  stillRescue: StillRescueSettings;
  loneHits: LoneHitSettings;
}

/** How hits become evidence (see candidates/evidence.ts). */
export const DEFAULT_EVIDENCE: EvidenceOptions = {
  // The built-in descriptor's gradient part lowers similarities of unrelated frames (99.9th
  // percentile 0.88 -> 0.79) and of true ones a little. Of 0.70/0.72/0.75 measured on the
  // accuracy benchmark (seeds 1-3), 0.70 found the most copies with the fewest false positives.
  minFrameSimilarity: 0.7,
  backgroundMargin: 0.06,
  backgroundRank: 4,
  minQuality: 0.2,
};

/** Temporal alignment (see align/temporal-chains.ts); the query's and index's intervals are set per search. */
export const DEFAULT_ALIGN: AlignOptions = {
  maxGapSec: 6,
  minRate: 0.25,
  maxRate: 4,
  jitterSec: 1.1,
  gapPenaltyPerSec: 0.05,
  ratePenalty: 0.05,
  minDensity: 0.4,
  shortChainFrames: 6,
  shortChainMinDensity: 0.6,
  strongChainEvidence: 2,
  strongChainMinDensity: 0.25,
  minMatchedFrames: 3,
  maxSegments: 8,
  maxQueryOverlap: 0.5,
  queryIntervalSec: 1,
  refIntervalSec: 1,
};

export const DEFAULT_REFINE_SETTINGS: RefineSettings = {
  enabled: true,
  maxVideos: 8,
  extendMinSimilarity: 0.6,
  extendDrop: 0.12,
  maxMisses: 2,
  realTimeSlack: 0.01,
  hubCorrection: false,
  pairShare: 0.25,
  maxPairs: 3,
  // Accuracy benchmark (seeds 1–6): segment F 0.903 → 0.912 (seed 6, with a dashcam whose sky is
  // stripped on some frames only: 0.860 → 0.883), trims of top and bottom only 0.911; about 60 ms
  // per query to describe the trims.
  trimmedKeys: ['whole', 'unstripped', 'centre'],
};

/**
 * Verification (src/core/verify). First values, measured on frames of the tuning corpus
 * (see bench/RESULTS.md, "Verification"): ORB at 320 px after CLAHE.
 */
export const DEFAULT_VERIFY: VerifySettings = {
  enabled: true,
  widthPx: 320,
  // Synthetic rotating test pattern, 15 % crop: at the line's instant 4 of 4 pairs fit, 0.1 s
  // later 1 of 4, 0.3 s later none; the line's offset is only known to a fraction of a second.
  timeSlackSec: 0.2,
  pairsPerSegment: 4,
  maxSegments: 6,
  claheClipLimit: 2,
  claheTiles: 4,
  // 1000, not 500: captions and logos are all corners and took most of 500 keypoints, leaving
  // the picture unseen. Tuning split seed 1, 8 per family + 400 never-indexed stills (RESULTS.md,
  // session 10): overlay 6/8 → 8/8, combo 6/8 → 7/8, other families the same, negatives 0/32 and
  // stills 1/400 → 0/400. Needs the reference frames around a fast copy's instant
  // (MAX_SLACK_SPEED) or the pairs' alternatives (verifyFramePairs): without either a
  // synthetic 3× copy was rejected with the npm ffmpeg build.
  orbFeatures: 1000,
  // combo-03 of the tuning split (a static traffic camera under two large captions, 1.48×):
  // at 1000 keypoints 6–10 inliers a pair, 1500 15–19, 2000 31–51 (the captions' corners use up
  // the budget). 2000 for every pair (RESULTS.md, session 10) found it, hard 37/40 → 38/40,
  // negatives 0/32 and stills 0/400 the same, but a pair costs 126–139 ms instead of 55–69; a
  // second try only for pairs that did not fit with a full budget found it as well (38/40,
  // 0/32, 0/400) and costs the pairs that fit at 1000 nothing.
  orbFeaturesRetry: 2000,
  orbPatchSize: 15,
  orbFastThreshold: 10,
  ratio: 0.8,
  ransacThresholdPx: 4,
  minKeypoints: 20,
  minInliers: 12,
  minInlierRatio: 0.2,
  minScale: 0.2,
  maxScale: 5,
  maxAnisotropy: 1.8,
  maxTiltDeg: 20,
  minInlierArea: 0.04,
  agreement: 0.08,
  singlePairMinInliers: 40,
  abstainMinScore: 0.8,
  // (0.75 × 320)² × 9/16: a 200×150 re-encode gave 1–2 agreeing pairs of 4 by RANSAC's draws
  // (e62fdc5). Judged by width before, every portrait still under 240 px wide abstained, and
  // one never-indexed still in 400 got through at 0.823 (RESULTS.md, session 9).
  smallQueryPixelShare: 0.5625,
  candidateMinScore: 0.56,
  inlierScale: 40,
  // Tuning split, seed 1 (RESULTS.md, session 12): a margin of 0.02 in correlation put two true
  // speed copies on real time (0.83×: 0.991 fitted against 0.978 real; 2.64×: 0.982 against
  // 0.972), whose footage changes slowly; as a ratio of 1 − correlation those are 0.41 and 0.65,
  // while static footage, where real time must stand, gives about 1 (0.9954 against 0.9951).
  timeLineCheck: true,
  timeLineMinGapSec: 0.3,
  timeLineResidualRatio: 0.75,
};

/** Second chances for a still that found nothing (candidates/still-rescue.ts). */
export interface StillRescueSettings {
  enabled: boolean;
  /** Videos (best raw similarity first) given a second chance. */
  maxVideos: number;
  /** Least raw cosine similarity of a video's best hit to be given one. */
  minSimilarity: number;
  /** Inliers of the confirming pair: a rescued match stands on geometry alone. */
  minInliers: number;
}

/** Second chances for a video query with one strong hit and no chain (candidates/lone-hits.ts). */
export interface LoneHitSettings {
  enabled: boolean;
  /** Videos (strongest point first) given a second chance. */
  maxVideos: number;
  /** Least cosine similarity of the video's strongest point (after its region's floor and background). */
  minSimilarity: number;
  /** The segment reaches this far (s) either side of the hit; its ends are compared too. */
  spanSec: number;
}

/**
 * Tuning split, seed 1 (bench/RESULTS.md, session 14): the heavy crops missed showed their
 * source's strongest point at 0.98 and 0.94, over no chain; strips need 0.93 to count at all.
 */
export const DEFAULT_LONE_HITS: LoneHitSettings = {
  enabled: true,
  maxVideos: 2,
  minSimilarity: 0.93,
  spanSec: 2,
};

/** Off until measured on the tuning split (bench `--verify-set stillRescue.enabled=1`). */
export const DEFAULT_STILL_RESCUE: StillRescueSettings = {
  enabled: false,
  maxVideos: 3,
  minSimilarity: 0.5,
  minInliers: 40,
};

export const DEFAULT_SEARCH: SearchSettings = {
  queryIntervalSec: 0.5,
  maxQueryFrames: 600,
  k: 16,
  imageK: 128,
  // 8, not 12: with 90 guessed regions per frame since descriptor v3, fewer guessing frames made
  // fewer chance matches (seeds 1–3: hard 80 → 81 of 84, false positives 2 → 1 of 72; seed 4
  // unchanged) and a third less second-tier work.
  tier2MaxFrames: 8,
  // A fixed 9:16 window meets its stored strip once per four stored frames (about every 4 s):
  // its regions are searched on twice the frames of the other guesses, so that an 8 s copy
  // keeps the 3 points a chain needs (design of session 8; branch measurement: 2 of 4 tuning
  // verticals found at 16).
  windowMaxFrames: 16,
  // Tuning split, seed 1, 8 heavy crops and 16 plain negatives, the same index, one after the
  // other (session 13): 8 frames found the same 4 of 8 crops as 16 (segment F 0.37 against
  // 0.29), and a negative's search took 1.42 s against 1.76 s (p50).
  quadrantMaxFrames: 8,
  // Tuning split, seed 1, 8 verticals and 8 heavy crops (RESULTS.md, session 13): true window
  // chains scored 0.23–0.52 (one point per 4 s), unrelated ones up to 0.53, under the 0.56 that
  // other segments need to be verified. Only a confirmation reports them, so the floor only
  // bounds verification's work.
  windowCandidateMinScore: 0.3,
  // Tuning corpus (design measurement, session 8): unrelated pairs' 99.97th percentile of
  // similarity, strips 0.92–0.93, quadrants 0.83–0.84, against 0.82–0.84 for the whole picture
  // and centre. A floor shared with today's regions cost random crops 0.57 → 0.40 of their true
  // frames; each variant's floor sits at the top of its own range.
  stripMinSimilarity: 0.93,
  quadrantMinSimilarity: 0.84,
  // Tuning corpus, 96 ten-second windows of its 37 clips: no layout found (a table edge at 0.54
  // of the height and a screen's side panel were, before splits had to halve the frame and sharp
  // pictures had to be centred, and margins blurred by both fine energy and sharpness); found in
  // 5 of 5 generated reposts (three blurred-surround verticals, a side-by-side, a
  // top-and-bottom), whose 6 copies were then confirmed in 5 (the low-texture plane-over-field
  // half was rejected by verification).
  detectLayouts: true,
  guessExtraFloor: 0.04,
  // Unrelated dark or static footage (a night launch against a dim film scene) made chance
  // segments scoring 0.53-0.55 on fresh seeds 7-8; true copies that weak are rare. Accuracy
  // benchmark, seeds 1-8 (448 video queries): 0.50 gave easy 223/224, hard 214/224 and 2 of 128
  // negatives matched; 0.56 gives 222/224, 212/224 and none.
  minSegmentScore: 0.56,
  minImageScore: 0.6,
  imageBackgroundMargin: 0.2,
  imageEvidenceScale: 0.33,
  // Stills of quality 0.05–0.2 (dark, faded), measured on four seeds' splits with frames'
  // contrast cut to 3–10 %: chance matches to unrelated videos peaked at similarity 0.909 (a
  // faded screen recording against a terminal); 507 of 749 faded copies of indexed frames were
  // found at 0.91. Accuracy benchmark, ten seeds: images 151 → 153 of 160 (a fade-in, a dark road).
  imageMinQuality: 0.05,
  lowInformationMinSimilarity: 0.91,
  evidenceScale: 1.5,
  // A chain needs 3 matched frames at 40 % density over 0.5 s query samples: 1 s and 0.2 s
  // excerpts of indexed videos got no match at all (issue 14), so under 2 s a clip is a still.
  shortClipSec: 2,
  evidence: DEFAULT_EVIDENCE,
  align: DEFAULT_ALIGN,
  refine: DEFAULT_REFINE_SETTINGS,
  verify: DEFAULT_VERIFY,
  stillRescue: DEFAULT_STILL_RESCUE,
  loneHits: DEFAULT_LONE_HITS,
};

// Refinement internals (align/segment-refinement.ts).

/** Stored frames further apart than this (s) are not neighbours for placing a moment between them. */
export const MAX_NEIGHBOUR_SEC = 2.5;

/**
 * A segment stretches this far (s) beyond its line to take in a frame it reports; frames
 * further outside are dropped from it.
 */
export const COVER_SLACK_SEC = 0.15;

/**
 * Real time's slack is at most this share of the fitted line's own distance from a perfect match
 * (1 − mean similarity).
 */
export const REAL_TIME_SLACK_SHARE = 0.25;

/** A chain spanning less query time than this (s) is put on real time: its rate cannot be measured. */
export const RATE_MIN_SPAN_SEC = 2;

/**
 * A fitted rate this far from real time (share) sends both lines' segments to verification,
 * which keeps the one the pixels agree with (`verify.timeLineCheck`). Below 10 % real time is
 * within the speed tolerance the issue sets, and rates fitted to real-time copies stray that far
 * (0.947 on the synthetic copy of test/align/segment-refinement.test.ts): comparing those would
 * cost decodes and change nothing.
 */
export const ALTERNATIVE_MIN_RATE_GAP = 0.1;

// Chain rate steadiness (align/temporal-chains.ts, `steadyOk`).

/** See `steadyOk`. */
export const STEADY_RATE_FACTOR = 2;

export const STEADY_MIN_SPAN_SEC = 2;

// Query plan (query/query-plan.ts).

/** Frames spread over the query in which layouts and insets are looked for. */
export const LAYOUT_FRAMES = 24;

/**
 * Settings of a search, each default with the measurement that chose it. Measurements are on
 * the tuning corpus (`../shared/corpus`) unless said otherwise; bench/RESULTS.md has the runs.
 */
import type { AlignOptions } from '../align/temporal-chains.js';
import type { EvidenceOptions } from '../candidates/evidence.js';
import type { VerifySettings } from '../verify/verify-settings.js';
import type { QuerySettings } from '../query/query-plan.js';
import type { CandidateSettings } from '../candidates/region-search.js';
import type { RefineSettings } from '../align/refine-candidates.js';

export type { CandidateSettings, QuerySettings, RefineSettings };

export interface SearchSettings extends QuerySettings, CandidateSettings {
  /** Query frames given the costly second tier (crops, windows) when the first finds nothing. */
  tier2MaxFrames: number;
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
  orbFeatures: 500,
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
};

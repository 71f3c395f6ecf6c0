import type { AlignedSegment } from '../align/temporal-chains.js';

/**
 * Map a segment's evidence to a 0–1 confidence. Evidence is the sum over matched frames of how
 * far each rises above its floor, so a long copy of middling frames and a short copy of
 * near-identical frames both score well, while two or three lucky frames stay low.
 * `evidenceScale` is the evidence at which confidence reaches 1 − 1/e ≈ 0.63.
 */
export function segmentScore(seg: AlignedSegment, evidenceScale = 1.5): number {
  return 1 - Math.exp(-seg.evidence / evidenceScale);
}

/** Video confidence: the chance that at least one of its segments is real, if they were independent. */
export function videoScore(segmentScores: readonly number[]): number {
  return 1 - segmentScores.reduce((p, s) => p * (1 - s), 1);
}

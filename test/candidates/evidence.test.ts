import { describe, expect, it } from 'vitest';
import type { KnnHit } from '../../src/db/frame-store.js';
import { regionFloor, weighHits } from '../../src/core/candidates/evidence.js';
import { DEFAULT_EVIDENCE } from '../../src/core/settings/search-settings.js';
import type { EvidenceOptions } from '../../src/core/candidates/evidence.js';

const o: EvidenceOptions = { minFrameSimilarity: 0.7, backgroundMargin: 0.1, backgroundRank: 3, minQuality: 0.2 };

/** One hit of query region `query` on a frame of `videoId`. */
function hit(videoId: string, similarity: number, extra: Partial<KnnHit> = {}): KnnHit {
  return { query: 0, videoId, frameId: Math.round(similarity * 1000), timestampSec: 0, variant: 0, quality: 1, similarity, ...extra };
}

describe('regionFloor', () => {
  it('is the absolute minimum when fewer videos than the background rank are close', () => {
    expect(regionFloor([hit('a', 0.95), hit('b', 0.5)], o)).toBe(0.7);
  });

  it("is the n-th best distinct video's similarity plus the margin when that is higher", () => {
    // Two frames of one video count once: the third distinct video is c.
    const hits = [hit('a', 0.95), hit('a', 0.94), hit('b', 0.85), hit('c', 0.8), hit('d', 0.6)];
    expect(regionFloor(hits, o)).toBeCloseTo(0.9);
  });
});

describe('weighHits', () => {
  it('weighs each hit by how far it rises above its floor, and drops the ones below', () => {
    const out = weighHits([hit('a', 0.85), hit('b', 0.6)], [7], o);
    expect(out).toHaveLength(1);
    expect(out[0].videoId).toBe('a');
    expect(out[0].frame).toBe(7);
    expect(out[0].w).toBeCloseTo((0.85 - 0.7) / 0.3);
  });

  it('gives a frame common to many videos (a title card) a high floor, so its matches weigh little', () => {
    const common = [hit('a', 0.97), hit('b', 0.86), hit('c', 0.85), hit('d', 0.84)];
    const distinct = [hit('a', 0.97), hit('b', 0.55), hit('c', 0.5)];
    const wCommon = weighHits(common, [0], o).find((h) => h.videoId === 'a')!.w;
    const wDistinct = weighHits(distinct, [0], o).find((h) => h.videoId === 'a')!.w;
    expect(wCommon).toBeLessThan(wDistinct / 2);
  });

  it('ignores stored frames of low quality (flat frames match everything)', () => {
    expect(weighHits([hit('a', 0.99, { quality: 0.1 })], [0], o)).toEqual([]);
  });

  it('keeps regions apart: each has its own floor, reported through `floors`', () => {
    const floors = new Map<number, number>();
    const hits = [hit('a', 0.9, { query: 0 }), hit('a', 0.99, { query: 1 }), hit('b', 0.97, { query: 1 }), hit('c', 0.96, { query: 1 })];
    const out = weighHits(hits, [0, 1], o, floors);
    expect(floors.get(0)).toBe(0.7);
    expect(floors.get(1)).toBeCloseTo(1.06);
    // Region 1's floor is above every similarity: nothing from it counts.
    expect(out.map((h) => h.frame)).toEqual([0]);
  });

  describe('with minPairSimilarity (a still with little information must match nearly exactly)', () => {
    const gated: EvidenceOptions = { ...o, minPairSimilarity: 0.9 };

    it('drops pairs below it that would otherwise count', () => {
      expect(weighHits([hit('a', 0.85)], [0], o)).toHaveLength(1);
      expect(weighHits([hit('a', 0.85)], [0], gated)).toEqual([]);
    });

    it('leaves the floor and the weight of the pairs that pass unchanged', () => {
      const hits = [hit('a', 0.95), hit('b', 0.85), hit('c', 0.82)];
      const plain = weighHits(hits, [0], o);
      const out = weighHits(hits, [0], gated);
      expect(out.map((h) => h.videoId)).toEqual(['a']);
      expect(out[0].w).toBe(plain.find((h) => h.videoId === 'a')!.w);
      expect(regionFloor(hits, gated)).toBe(regionFloor(hits, o));
    });
  });

  it('is off by default', () => {
    expect(DEFAULT_EVIDENCE.minPairSimilarity).toBeUndefined();
  });
});

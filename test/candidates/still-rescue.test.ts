import { describe, expect, it } from 'vitest';
import type { KnnHit } from '../../src/db/frame-store.js';
import { rescueCandidates } from '../../src/core/candidates/still-rescue.js';
import type { StillRescueSettings } from '../../src/core/settings/search-settings.js';

const s: StillRescueSettings = { enabled: true, maxVideos: 2, minSimilarity: 0.6, minInliers: 40 };

function hit(videoId: string, similarity: number, timestampSec: number, frame = 0): KnnHit & { frame: number } {
  return { query: 0, videoId, frameId: Math.round(similarity * 1000), timestampSec, variant: 0, quality: 1, similarity, frame };
}

describe('rescueCandidates', () => {
  it('gives the videos with the best raw hits a candidate at their best hit, best first', () => {
    const raw = [hit('a', 0.7, 3), hit('b', 0.9, 10), hit('a', 0.8, 5), hit('c', 0.75, 1)];
    const out = rescueCandidates(raw, s, 1, () => 0);
    expect(out.map((c) => c.videoId)).toEqual(['b', 'a']);
    expect(out[1].seg).toMatchObject({ refStart: 5, refEnd: 5, queryStart: 0, queryEnd: 0 });
  });

  it('leaves out videos whose best hit is below the similarity floor', () => {
    expect(rescueCandidates([hit('a', 0.55, 3), hit('b', 0.59, 1)], s, 1, () => 0)).toEqual([]);
  });

  it('asks for the moments half a sampling interval either side of the best hit, the hit itself first', () => {
    const [c] = rescueCandidates([hit('a', 0.8, 4)], s, 1, () => 0);
    expect(c.seg.points.map((p) => p.tr)).toEqual([4, 4.5, 3.5]);
    // The verifier takes a still's points by similarity: the best hit must lead.
    const bySimilarity = [...c.seg.points].sort((x, y) => y.similarity - x.similarity);
    expect(bySimilarity[0].tr).toBe(4);
  });

  it("places a short clip's candidate at the query time of the frame that hit", () => {
    const [c] = rescueCandidates([hit('a', 0.8, 0.2, 3)], s, 1, (f) => f * 0.5);
    expect(c.seg.queryStart).toBe(1.5);
    expect(c.seg.points.every((p) => p.tq === 1.5 && p.tr >= 0)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { loneHitCandidates } from '../../src/core/candidates/lone-hits.js';
import type { MatchPoint } from '../../src/core/align/temporal-chains.js';
import type { LoneHitSettings } from '../../src/core/settings/search-settings.js';

const s: LoneHitSettings = { enabled: true, maxVideos: 2, minSimilarity: 0.93, spanSec: 2 };
/** A 10 s query sampled every half second. */
const times = Array.from({ length: 20 }, (_, i) => i * 0.5);

function points(...pts: Array<[q: number, tr: number, similarity: number]>): Map<string, MatchPoint> {
  return new Map(pts.map(([q, tr, similarity]) => [`${q}:${tr}`, { q, tq: times[q], tr, similarity, w: 0.5 }]));
}

describe('loneHitCandidates', () => {
  it('gives the videos with the strongest lone hits a real-time segment through the hit, best first', () => {
    const byVideo = new Map([
      ['a', points([6, 40, 0.95], [2, 90, 0.8])],
      ['b', points([10, 13, 0.98])],
      ['c', points([4, 7, 0.94])],
    ]);
    const out = loneHitCandidates(byVideo, times, 10, s);
    expect(out.map((c) => c.videoId)).toEqual(['b', 'a']);
    const a = out[1].seg;
    // Hit at query 3 s, reference 40 s: from 1 s to 5 s of the query, 38–42 s of the reference.
    expect(a).toMatchObject({ queryStart: 1, queryEnd: 5, refStart: 38, refEnd: 42, windowsOnly: true });
  });

  it('names the frames at the segment’s ends and the hit as its points, so that verification compares three moments', () => {
    const [c] = loneHitCandidates(new Map([['a', points([6, 40, 0.95])]]), times, 10, s);
    expect(c.seg.points.map((p) => [p.tq, p.tr])).toEqual([
      [1, 38],
      [3, 40],
      [5, 42],
    ]);
    // The hit itself stays the strongest point.
    expect([...c.seg.points].sort((x, y) => y.similarity - x.similarity)[0].tq).toBe(3);
  });

  it('keeps the segment within the query and the reference', () => {
    // Query 0.5 s ↔ reference 0.2 s: the copy cannot start before the reference does.
    const [c] = loneHitCandidates(new Map([['a', points([1, 0.2, 0.96])]]), times, 10, s);
    expect(c.seg.refStart).toBeGreaterThanOrEqual(0);
    expect(c.seg.queryEnd).toBeLessThanOrEqual(10);
  });

  it('gives nothing for hits under the floor', () => {
    expect(loneHitCandidates(new Map([['a', points([6, 40, 0.92])]]), times, 10, s)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { alignWithWindows } from '../../src/core/align/window-chains.js';
import type { MatchPoint } from '../../src/core/align/temporal-chains.js';
import type { RegionPair } from '../../src/core/candidates/region-pair.js';
import { DEFAULT_ALIGN } from '../../src/core/settings/search-settings.js';
import { STORED_VARIANT } from '../../src/core/frames/region-variants.js';

/**
 * Hits through the stored windows come once per cycle of four stored frames (a fixed window of
 * the reference meets a stored strip inside it every 2–4 s), each on the nearest stored frame
 * holding such a strip: they are chained on their own, and their segment is one that only a
 * confirmation can report.
 */
const ALIGN = { ...DEFAULT_ALIGN, queryIntervalSec: 0.5, refIntervalSec: 1 };
const CYCLE = 4;
const strip: RegionPair = { id: '2:strip 0.57 @0.21>2', tier: 2, key: 'strip 0.57 @0.21', variant: STORED_VARIANT.stripA, mirrored: false, window: null };
const whole: RegionPair = { id: '1:whole>0', tier: 1, key: 'whole', variant: STORED_VARIANT.whole, mirrored: false, window: null };

function hit(q: number, tq: number, tr: number, pair: RegionPair, w = 0.5): MatchPoint {
  return { q, tq, tr, similarity: 0.95, w, pair };
}

describe('alignment of hits through stored windows', () => {
  it('chains a hit per cycle into one real-time segment on the hits’ median offset, reaching half a cycle past its first and last hits', () => {
    // A 10 s query copying the reference from 20 s; stored frames holding the window at 21, 24, 28 s.
    const pts = [hit(2, 1, 21, strip), hit(8, 4, 24, strip), hit(16, 8, 28, strip)];
    const [seg, ...rest] = alignWithWindows(pts, ALIGN, CYCLE, 10);
    expect(rest).toEqual([]);
    expect(seg.windowsOnly).toBe(true);
    expect(seg.queryStart).toBeCloseTo(0, 5);
    expect(seg.queryEnd).toBeCloseTo(10, 5);
    expect(seg.refStart - seg.queryStart).toBeCloseTo(20, 5);
    expect(seg.refEnd - seg.queryEnd).toBeCloseTo(20, 5);
  });

  it('puts a real-time copy on real time even when its hits, each up to half a cycle off, fit a slower rate', () => {
    // Copy from 20 s; the hits land 1.5 s late, on time, then 1.5 s early: a fitted rate of 0.7.
    const pts = [hit(2, 1, 22.5, strip), hit(10, 5, 25, strip), hit(18, 9, 27.5, strip)];
    const [seg] = alignWithWindows(pts, ALIGN, CYCLE, 10);
    expect(seg.refEnd - seg.refStart).toBeCloseTo(seg.queryEnd - seg.queryStart, 5);
    expect(seg.refStart - seg.queryStart).toBeCloseTo(20, 5);
  });

  it('keeps window hits out of the chain of the other regions, and the other regions’ segments unmarked', () => {
    const plain = Array.from({ length: 12 }, (_, i) => hit(i, i * 0.5, 5 + i * 0.5, whole, 0.8));
    // A chain of window hits elsewhere in the query, on another reference time.
    const windows = [hit(14, 7, 40, strip), hit(18, 9, 42, strip), hit(22, 11, 44, strip)];
    const segs = alignWithWindows([...plain, ...windows], ALIGN, CYCLE, 12);
    const byKind = new Map(segs.map((s) => [s.windowsOnly === true, s]));
    expect(byKind.get(false)!.points.every((p) => p.pair === whole)).toBe(true);
    expect(byKind.get(true)!.points.every((p) => p.pair === strip)).toBe(true);
  });

  it('without window hits is plain alignment', () => {
    const plain = Array.from({ length: 12 }, (_, i) => hit(i, i * 0.5, 5 + i * 0.5, whole, 0.8));
    const [seg] = alignWithWindows(plain, ALIGN, CYCLE, 6);
    expect(seg.windowsOnly).toBeUndefined();
    expect(seg.refStart).toBeCloseTo(5, 5);
  });
});

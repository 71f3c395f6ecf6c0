import { describe, expect, it } from 'vitest';
import { alignMatches, DEFAULT_ALIGN } from '../../src/core/align/temporal-chains.js';
import type { AlignedSegment, AlignOptions, MatchPoint } from '../../src/core/align/temporal-chains.js';
import { segmentScore } from '../../src/core/search/segment-scoring.js';
import { DEFAULT_SEARCH } from '../../src/core/engine/retrace.js';
import { seededRng } from '../helpers/seeded-rng.js';

/**
 * Match patterns are built the way search produces them: query frames sampled every 0.5 s,
 * reference frames stored every 1 s, so a query frame whose true reference time falls between
 * two stored frames matches both, the nearer one more strongly.
 */
const Q = 0.5;
const OPTS: Partial<AlignOptions> = { queryIntervalSec: Q, refIntervalSec: 1 };

const rng = seededRng;

interface CopySpec {
  /** Query interval [queryStart, queryEnd) that is a copy. */
  queryStart: number;
  queryEnd: number;
  /** Reference time shown at queryStart. */
  refStart: number;
  /** Reference seconds per query second (2 = the copy plays twice as fast). */
  rate?: number;
  /** Evidence weight of an exact frame match. */
  w?: number;
  /** Keep each query frame's matches with this probability (dropped frames, failed matches). */
  keep?: number;
  seed?: number;
}

function copyPoints(c: CopySpec): MatchPoint[] {
  const rate = c.rate ?? 1;
  const w = c.w ?? 0.8;
  const r = rng(c.seed ?? 1);
  const pts: MatchPoint[] = [];
  for (let tq = c.queryStart; tq < c.queryEnd - 1e-9; tq += Q) {
    if (c.keep !== undefined && r() > c.keep) continue;
    const q = Math.round(tq / Q);
    const tr = c.refStart + rate * (tq - c.queryStart);
    const lo = Math.floor(tr + 1e-9);
    const frac = tr - lo;
    pts.push({ q, tq, tr: lo, similarity: 0.95 - 0.1 * frac, w: w * (1 - 0.5 * frac) });
    if (frac > 1e-9) pts.push({ q, tq, tr: lo + 1, similarity: 0.85 + 0.1 * frac, w: w * (0.5 + 0.5 * frac) });
  }
  return pts;
}

/** `perFrame` random candidates for each query frame of [0, queryLen), anywhere in [0, refLen). */
function noisePoints(queryLen: number, refLen: number, perFrame: number, maxW: number, seed: number): MatchPoint[] {
  const r = rng(seed);
  const pts: MatchPoint[] = [];
  for (let tq = 0; tq < queryLen - 1e-9; tq += Q) {
    for (let k = 0; k < perFrame; k++) {
      pts.push({ q: Math.round(tq / Q), tq, tr: Math.floor(r() * refLen), similarity: 0.8, w: 0.05 + r() * (maxW - 0.05) });
    }
  }
  return pts;
}

function align(points: MatchPoint[], extra: Partial<AlignOptions> = {}): AlignedSegment[] {
  return alignMatches(points, { ...OPTS, ...extra });
}

/** Would search report this segment? (its calibrated score reaches the default minimum) */
function reportable(s: AlignedSegment): boolean {
  return segmentScore(s, DEFAULT_SEARCH.evidenceScale) >= DEFAULT_SEARCH.minSegmentScore;
}

function expectSegment(s: AlignedSegment, e: { queryStart: number; queryEnd: number; refStart: number; refEnd: number }, tol = 1.5): void {
  const got = [s.queryStart, s.queryEnd, s.refStart, s.refEnd].map((x) => x.toFixed(2)).join(', ');
  const want = [e.queryStart, e.queryEnd, e.refStart, e.refEnd].join(', ');
  const msg = `segment [${got}] vs expected [${want}]`;
  expect(Math.abs(s.queryStart - e.queryStart), msg).toBeLessThanOrEqual(tol);
  expect(Math.abs(s.queryEnd - e.queryEnd), msg).toBeLessThanOrEqual(tol);
  expect(Math.abs(s.refStart - e.refStart), msg).toBeLessThanOrEqual(tol);
  expect(Math.abs(s.refEnd - e.refEnd), msg).toBeLessThanOrEqual(tol);
}

describe('alignMatches', () => {
  it('finds nothing in no matches', () => {
    expect(align([])).toEqual([]);
  });

  it('finds one segment for a copy at a constant offset', () => {
    const segs = align(copyPoints({ queryStart: 0, queryEnd: 10, refStart: 30 }));
    expect(segs).toHaveLength(1);
    expectSegment(segs[0], { queryStart: 0, queryEnd: 10, refStart: 30, refEnd: 40 }, 1);
    expect(segs[0].evidence).toBeGreaterThan(0);
    expect(reportable(segs[0])).toBe(true);
    // The segment carries its matched frames, in query order.
    const tq = segs[0].points.map((p) => p.tq);
    expect(tq).toEqual([...tq].sort((a, b) => a - b));
    expect(new Set(segs[0].points.map((p) => p.q)).size).toBeGreaterThanOrEqual(18);
  });

  it('places a copy that starts in the middle of both videos', () => {
    const segs = align(copyPoints({ queryStart: 5, queryEnd: 15, refStart: 100 }));
    expect(segs).toHaveLength(1);
    expectSegment(segs[0], { queryStart: 5, queryEnd: 15, refStart: 100, refEnd: 110 }, 1);
  });

  it('follows a copy slowed to 0.5× (10 s of query show 5 s of reference)', () => {
    const segs = align(copyPoints({ queryStart: 0, queryEnd: 10, refStart: 30, rate: 0.5 }));
    expect(segs).toHaveLength(1);
    expectSegment(segs[0], { queryStart: 0, queryEnd: 10, refStart: 30, refEnd: 35 });
  });

  it('follows a copy sped up to 2× (10 s of query show 20 s of reference)', () => {
    const segs = align(copyPoints({ queryStart: 0, queryEnd: 10, refStart: 30, rate: 2 }));
    expect(segs).toHaveLength(1);
    expectSegment(segs[0], { queryStart: 0, queryEnd: 10, refStart: 30, refEnd: 50 });
  });

  describe('extreme speeds (0.25×–4×)', () => {
    // At 0.25× eight query frames (0.5 s apart) share one stored reference frame (1 s apart);
    // at 4× consecutive query frames skip a stored frame. Both must stay one chain, at that rate.
    for (const [rate, queryLen] of [
      [0.25, 16],
      [0.3, 12],
      [2.5, 8],
      [4, 6],
    ] as const) {
      it(`follows a copy played at ${rate}× (${queryLen} s of query show ${Math.round(rate * queryLen * 10) / 10} s of reference)`, () => {
        const segs = align(copyPoints({ queryStart: 0, queryEnd: queryLen, refStart: 30.3, rate }));
        expect(segs).toHaveLength(1);
        const s = segs[0];
        expectSegment(s, { queryStart: 0, queryEnd: queryLen, refStart: 30.3, refEnd: 30.3 + rate * queryLen }, 1);
        // Every query frame is in the chain, at its own time.
        expect(new Set(s.points.map((p) => p.q)).size).toBe(queryLen / Q);
        expect(reportable(s)).toBe(true);
      });
    }

    it('a slowed copy earns evidence by the reference frames it shows, not by its many query frames', () => {
      // 16 s at 0.25× show 4 s of reference: about five stored frames, whatever the query's length.
      const [slow] = align(copyPoints({ queryStart: 0, queryEnd: 16, refStart: 30, rate: 0.25 }));
      const [plain] = align(copyPoints({ queryStart: 0, queryEnd: 4, refStart: 30 }));
      expect(slow.evidence).toBeLessThanOrEqual(plain.evidence * 1.2);
    });

    it('keeps a 4× copy one chain across 2 s of query without matches (8 s of reference)', () => {
      const pts = copyPoints({ queryStart: 0, queryEnd: 10, refStart: 20, rate: 4 }).filter((p) => p.tq < 4 || p.tq >= 6);
      const segs = align(pts);
      expect(segs).toHaveLength(1);
      expectSegment(segs[0], { queryStart: 0, queryEnd: 10, refStart: 20, refEnd: 60 }, 1.5);
    });

    it('does not zigzag through chance matches: slow for a while, then 4× for a step', () => {
      // A copy at 1× for 6 s, then one strong stray point 6.5 s further in the reference 1.5 s
      // later: a 4× band admits the step, the chain's own rate does not.
      const pts = [...copyPoints({ queryStart: 0, queryEnd: 6, refStart: 40 }), { q: 14, tq: 7, tr: 52, similarity: 0.95, w: 0.9 }];
      const [s] = align(pts);
      expect(s.refEnd).toBeLessThanOrEqual(47.5);
    });
  });

  it('finds both parts of a re-cut: two stretches of the reference in swapped order', () => {
    const segs = align([...copyPoints({ queryStart: 0, queryEnd: 8, refStart: 40 }), ...copyPoints({ queryStart: 8, queryEnd: 16, refStart: 10 })]);
    expect(segs).toHaveLength(2);
    const [first, second] = [...segs].sort((a, b) => a.queryStart - b.queryStart);
    expectSegment(first, { queryStart: 0, queryEnd: 8, refStart: 40, refEnd: 48 }, 1);
    expectSegment(second, { queryStart: 8, queryEnd: 16, refStart: 10, refEnd: 18 }, 1);
    // Best evidence first.
    expect(segs[0].evidence).toBeGreaterThanOrEqual(segs[1].evidence);
  });

  it('keeps one segment across missing matches: 30 % of frames dropped and a 3-second hole', () => {
    const pts = copyPoints({ queryStart: 0, queryEnd: 20, refStart: 60, keep: 0.7, seed: 7 }).filter((p) => p.tq < 8 || p.tq >= 11);
    const segs = align(pts);
    expect(segs).toHaveLength(1);
    expectSegment(segs[0], { queryStart: 0, queryEnd: 20, refStart: 60, refEnd: 80 });
  });

  it('finds a short copy embedded in the middle of unrelated query footage', () => {
    const pts = [...copyPoints({ queryStart: 12, queryEnd: 20, refStart: 50 }), ...noisePoints(30, 600, 1, 0.25, 11)];
    const segs = align(pts);
    expect(segs.length).toBeGreaterThanOrEqual(1);
    expectSegment(segs[0], { queryStart: 12, queryEnd: 20, refStart: 50, refEnd: 58 }, 1);
    // Whatever else the noise makes is weaker than the copy.
    for (const s of segs.slice(1)) expect(s.evidence).toBeLessThan(segs[0].evidence / 2);
  });

  it('keeps a sparse chain of strong matches: an inset that matches one query frame in three', () => {
    // 13 s of query, a strong match every 1.5 s (density 1/3, under minDensity).
    const pts = copyPoints({ queryStart: 0, queryEnd: 13, refStart: 40, w: 0.7 }).filter((p) => p.q % 3 === 0);
    const segs = align(pts);
    expect(segs).toHaveLength(1);
    expectSegment(segs[0], { queryStart: 0, queryEnd: 12.5, refStart: 40, refEnd: 52.5 });
    // The same pattern with weak matches is what chance lines up: dropped.
    expect(align(pts.map((p) => ({ ...p, w: 0.2 })))).toEqual([]);
    // Sparser still (one frame in five) is dropped however strong.
    const sparser = copyPoints({ queryStart: 0, queryEnd: 25, refStart: 40, w: 0.9 }).filter((p) => p.q % 5 === 0);
    expect(align(sparser)).toEqual([]);
  });

  it('measures density against the frames actually searched: a second-tier chain over a long query', () => {
    // 20 s of query; the second tier searched 8 frames, one every 2.5 s, and all 8 matched strongly.
    const searched = copyPoints({ queryStart: 0, queryEnd: 20, refStart: 0, w: 0.7 }).filter((p) => p.q % 5 === 1);
    expect(new Set(searched.map((p) => p.q)).size).toBe(8);
    // Measured against every 0.5 s of query they look like one frame in five: chance.
    expect(align(searched)).toEqual([]);
    const sparse = searched.map((p) => ({ ...p, spacingSec: 2.5 }));
    const segs = align(sparse);
    expect(segs).toHaveLength(1);
    expectSegment(segs[0], { queryStart: 0.5, queryEnd: 18.5, refStart: 0.5, refEnd: 18.5 });
    // One point from the full search means every frame of its span was searched: dense again.
    expect(align([...sparse.slice(0, -1), { ...searched[searched.length - 1] }])).toEqual([]);
    // Five points of a sparse search line up by chance too often: still measured densely.
    expect(align(sparse.filter((p) => p.q <= 21))).toEqual([]);
  });

  it('needs at least minMatchedFrames distinct query frames', () => {
    expect(DEFAULT_ALIGN.minMatchedFrames).toBe(3);
    expect(align(copyPoints({ queryStart: 0, queryEnd: 1, refStart: 30 }))).toEqual([]);
    expect(align(copyPoints({ queryStart: 0, queryEnd: 1.5, refStart: 30 }))).toHaveLength(1);
    expect(align(copyPoints({ queryStart: 0, queryEnd: 1.5, refStart: 30 }), { minMatchedFrames: 4 })).toEqual([]);
  });

  it('ignores points without evidence (weight 0)', () => {
    const pts = copyPoints({ queryStart: 0, queryEnd: 10, refStart: 30 }).map((p) => ({ ...p, w: 0 }));
    expect(align(pts)).toEqual([]);
  });

  it('does not turn a reversed copy (played backwards) into a forward segment', () => {
    const pts: MatchPoint[] = [];
    for (let tq = 0; tq < 10; tq += Q) pts.push({ q: Math.round(tq / Q), tq, tr: Math.round(40 - tq), similarity: 0.95, w: 0.8 });
    for (const s of align(pts)) expect(s.refEnd - s.refStart).toBeLessThanOrEqual(2.5);
  });

  describe('repetitive content', () => {
    it('a static shot (every query frame matches every frame of a 20-second still stretch) gives at most one segment, inside the shot', () => {
      const pts: MatchPoint[] = [];
      for (let tq = 0; tq < 8; tq += Q) for (let tr = 20; tr <= 40; tr++) pts.push({ q: Math.round(tq / Q), tq, tr, similarity: 0.9, w: 0.5 });
      const segs = align(pts);
      // Not a fan of parallel diagonals at every offset.
      expect(segs.length).toBeLessThanOrEqual(1);
      for (const s of segs) {
        expect(s.refStart).toBeGreaterThanOrEqual(20);
        expect(s.refEnd).toBeLessThanOrEqual(41);
      }
    });

    // On a static shot every rate fits; the overall-rate penalty makes the real-time chain win.
    it('still finds the copy of a static shot, as one segment covering the query', () => {
      const pts: MatchPoint[] = [];
      for (let tq = 0; tq < 8; tq += Q) for (let tr = 20; tr <= 40; tr++) pts.push({ q: Math.round(tq / Q), tq, tr, similarity: 0.9, w: 0.5 });
      const segs = align(pts);
      expect(segs).toHaveLength(1);
      expect(segs[0].queryStart).toBeLessThanOrEqual(1);
      expect(segs[0].queryEnd).toBeGreaterThanOrEqual(7);
    });

    it('a query that loops one 4-second stretch three times maps every part to that stretch only', () => {
      const pts = [0, 4, 8].flatMap((q0) => copyPoints({ queryStart: q0, queryEnd: q0 + 4, refStart: 10 }));
      const segs = align(pts);
      expect(segs.length).toBeGreaterThanOrEqual(1);
      for (const s of segs) {
        expect(s.refStart).toBeGreaterThanOrEqual(9);
        expect(s.refEnd).toBeLessThanOrEqual(15.5);
      }
      // Together the segments explain most of the query.
      const covered = segs.reduce((sum, s) => sum + (s.queryEnd - s.queryStart), 0);
      expect(covered).toBeGreaterThanOrEqual(0.8 * 12);
    });

    it('a reference that loops (the same 4 seconds five times) gives one segment of the loop length, not a diagonal across loops', () => {
      const pts = [0, 4, 8, 12, 16].flatMap((r0) => copyPoints({ queryStart: 0, queryEnd: 4, refStart: r0 }));
      const segs = align(pts);
      expect(segs).toHaveLength(1);
      const s = segs[0];
      expect(s.queryEnd - s.queryStart).toBeGreaterThanOrEqual(3);
      expect(s.refEnd - s.refStart).toBeGreaterThanOrEqual(2.5);
      expect(s.refEnd - s.refStart).toBeLessThanOrEqual(5.5);
      // It sits on one of the loop's occurrences.
      expect([0, 4, 8, 12, 16].some((r0) => Math.abs(s.refStart - r0) <= 1)).toBe(true);
    });
  });

  describe('noise', () => {
    it('weak scattered matches over a long reference never add up to a segment search would report', () => {
      // One random candidate per query frame anywhere in a 10-minute reference, weak evidence.
      for (let seed = 1; seed <= 20; seed++) {
        const segs = align(noisePoints(30, 600, 1, 0.35, seed));
        expect(segs.filter(reportable), `seed ${seed}`).toEqual([]);
      }
    });

    // Sparse chains (few matched frames over a long span) are rejected by the density rule; a rare
    // tight coincidence of 3 weak points may still be proposed, but its evidence is far below
    // what search reports.
    it('random scattered matches on a short reference form no sparse segment and nothing search would report', () => {
      for (let seed = 1; seed <= 20; seed++) {
        const segs = align(noisePoints(30, 120, 1, 0.35, seed));
        expect(segs.filter(reportable), `seed ${seed}`).toEqual([]);
        // Sparser chains pass only with strong evidence, which weak noise never has.
        for (const s of segs) expect(s.points.length / ((s.queryEnd - s.queryStart) / Q)).toBeGreaterThanOrEqual(0.4);
        for (const s of segs) expect(s.evidence).toBeLessThan(DEFAULT_ALIGN.strongChainEvidence);
      }
    });
  });
});

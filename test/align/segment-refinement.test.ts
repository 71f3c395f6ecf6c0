import { describe, expect, it } from 'vitest';
import { refineSegment } from '../../src/core/align/segment-refinement.js';
import type { RefineOptions, RefineQueryFrame, RefineRefFrame } from '../../src/core/align/segment-refinement.js';
import { DEFAULT_ALIGN, DEFAULT_REFINE_SETTINGS as DEFAULT_REFINE } from '../../src/core/settings/search-settings.js';
import type { AlignedSegment, MatchPoint } from '../../src/core/align/temporal-chains.js';
import { seededRng } from '../helpers/seeded-rng.js';

/**
 * A reference of `refSec` seconds stored every 1 s, and a query sampled every 0.5 s. Each
 * reference second has its own random unit vector, and content changes smoothly (a query frame
 * between two stored frames is a blend of both); the copied stretch of the query shows the
 * reference's content at `refStart + rate·(tq − copyStart)`, degraded by `noise`.
 */
const DIMS = 24;

const rng = seededRng;

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function randomUnit(r: () => number): Float32Array {
  return unit(Float32Array.from({ length: DIMS }, () => r() * 2 - 1));
}

function mix(a: Float32Array, b: Float32Array, t: number): Float32Array {
  return unit(a.map((x, i) => x * (1 - t) + b[i] * t));
}

interface Scene {
  ref: RefineRefFrame[];
  query: RefineQueryFrame[];
}

function scene(opts: {
  refSec: number;
  querySec: number;
  copyStart: number;
  copyEnd: number;
  refStart: number;
  rate?: number;
  noise?: number;
  seed?: number;
}): Scene {
  const r = rng(opts.seed ?? 1);
  const rate = opts.rate ?? 1;
  const keys = Array.from({ length: opts.refSec + 2 }, () => randomUnit(r));
  const contentAt = (t: number) => mix(keys[Math.floor(t)], keys[Math.floor(t) + 1], t - Math.floor(t));
  const ref = Array.from({ length: opts.refSec }, (_, i) => ({ tr: i, vectors: [contentAt(i)] }));
  const query: RefineQueryFrame[] = [];
  for (let q = 0; q * 0.5 < opts.querySec; q++) {
    const tq = q * 0.5;
    const inCopy = tq >= opts.copyStart && tq < opts.copyEnd;
    const v = inCopy ? mix(contentAt(opts.refStart + rate * (tq - opts.copyStart)), randomUnit(r), opts.noise ?? 0.3) : randomUnit(r);
    query.push({ q, tq, vectors: [v], floor: 0.8 });
  }
  return { ref, query };
}

function dot(a: Float32Array, b: Float32Array): number {
  return a.reduce((s, x, i) => s + x * b[i], 0);
}

/** A chain as alignment would hand it over: the given query frames matched to their best reference frame. */
function chainOf(s: Scene, qs: readonly number[]): AlignedSegment {
  const points: MatchPoint[] = qs.map((q) => {
    const f = s.query[q];
    const v = f.vectors[0]!;
    const best = s.ref.reduce((a, b) => (dot(v, b.vectors[0]!) > dot(v, a.vectors[0]!) ? b : a));
    return { q, tq: f.tq, tr: best.tr, similarity: dot(v, best.vectors[0]!), w: 0.5 };
  });
  const trs = points.map((p) => p.tr);
  return {
    queryStart: points[0].tq,
    queryEnd: points[points.length - 1].tq + 0.5,
    refStart: Math.min(...trs),
    refEnd: Math.max(...trs),
    evidence: points.length * 0.5,
    points,
  };
}

const OPTS = (refDurationSec: number): RefineOptions => ({
  ...DEFAULT_REFINE,
  minRate: DEFAULT_ALIGN.minRate,
  maxRate: DEFAULT_ALIGN.maxRate,
  lineToleranceSec: 0.7,
  queryIntervalSec: 0.5,
  refDurationSec,
});

describe('segment refinement', () => {
  it('extends a chain found in the middle of a copy to the whole copy, on both axes', () => {
    // Query 0–20 s; 4–16 s of it copies reference 30–42 s. The chain only holds 8–11 s.
    const s = scene({ refSec: 60, querySec: 20, copyStart: 4, copyEnd: 16, refStart: 30 });
    const seg = refineSegment(chainOf(s, [16, 17, 18, 19, 20, 21, 22]), s.query, s.ref, OPTS(60));
    // Within one query sampling interval (0.5 s) of the truth on every boundary.
    expect(Math.abs(seg.queryStart - 4)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(seg.queryEnd - 16)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(seg.refStart - 30)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(seg.refEnd - 42)).toBeLessThanOrEqual(0.5);
    // One line fits a real-time copy: no other goes along to verification.
    expect(seg.alternative).toBeUndefined();
  });

  it('stops at unrelated footage on either side instead of running on', () => {
    const s = scene({ refSec: 60, querySec: 30, copyStart: 10, copyEnd: 18, refStart: 5 });
    const seg = refineSegment(chainOf(s, [22, 23, 24, 25, 26]), s.query, s.ref, OPTS(60));
    expect(seg.queryStart).toBeGreaterThanOrEqual(9);
    expect(seg.queryEnd).toBeLessThanOrEqual(19);
  });

  it('follows a copy played at 1.5× and reports the reference interval at that speed', () => {
    const s = scene({ refSec: 60, querySec: 12, copyStart: 0, copyEnd: 12, refStart: 10, rate: 1.5 });
    const seg = refineSegment(chainOf(s, [4, 6, 8, 10, 12, 14]), s.query, s.ref, OPTS(60));
    expect(seg.queryStart).toBeCloseTo(0, 0);
    expect(seg.queryEnd).toBeCloseTo(12, 0);
    expect(seg.refStart).toBeGreaterThan(9);
    expect(seg.refStart).toBeLessThan(11.5);
    expect(seg.refEnd).toBeGreaterThan(26.5);
    expect(seg.refEnd).toBeLessThan(29.5);
  });

  describe('extreme speeds (0.25×–4×)', () => {
    // The chain holds every query frame of the copy, each matched to its most similar stored
    // frame: on the 1 s grid, so at 0.25× eight query frames in a row share one.
    for (const [rate, querySec, refStart] of [
      [0.25, 16, 20.4],
      [0.3, 10, 20.7],
      [2.5, 8, 10.3],
      [4, 6, 10.6],
    ] as const) {
      it(`reports a copy played at ${rate}× on its own time line: reference interval and speed`, () => {
        const s = scene({ refSec: 60, querySec, copyStart: 0, copyEnd: querySec, refStart, rate, noise: 0.2, seed: 3 });
        const chain = chainOf(
          s,
          s.query.map((f) => f.q),
        );
        const seg = refineSegment(chain, s.query, s.ref, OPTS(60));
        const refEnd = refStart + rate * querySec;
        const got = `query ${seg.queryStart}–${seg.queryEnd} ↔ ref ${seg.refStart.toFixed(2)}–${seg.refEnd.toFixed(2)}, want ref ${refStart}–${refEnd}`;
        expect(seg.queryStart, got).toBe(0);
        expect(Math.abs(seg.queryEnd - querySec), got).toBeLessThanOrEqual(0.5);
        expect(Math.abs(seg.refStart - refStart), got).toBeLessThanOrEqual(0.5);
        expect(Math.abs(seg.refEnd - refEnd), got).toBeLessThanOrEqual(Math.max(0.5, rate * 0.5));
        // The speed verification reports: reference length over query length.
        const speed = (seg.refEnd - seg.refStart) / (seg.queryEnd - seg.queryStart);
        expect(Math.abs(speed / rate - 1), got).toBeLessThanOrEqual(0.1);
        // Frames it reports as matched lie inside it.
        for (const p of seg.points) {
          expect(p.tr).toBeGreaterThanOrEqual(seg.refStart);
          expect(p.tr).toBeLessThanOrEqual(seg.refEnd);
        }
      });
    }

    it('places a slowed copy between the stored frames: 0.3× for 6 s spans two stored frames, whose grid alone misses the rate', () => {
      // Reference 20.6–22.4 s: the chain's own points sit on 21 and 22 (and 20 or 23 at the ends).
      const s = scene({ refSec: 40, querySec: 6, copyStart: 0, copyEnd: 6, refStart: 20.6, rate: 0.3, noise: 0.1, seed: 9 });
      const seg = refineSegment(
        chainOf(
          s,
          s.query.map((f) => f.q),
        ),
        s.query,
        s.ref,
        OPTS(40),
      );
      const speed = (seg.refEnd - seg.refStart) / (seg.queryEnd - seg.queryStart);
      expect(Math.abs(speed / 0.3 - 1), `speed ${speed}`).toBeLessThanOrEqual(0.1);
    });

    it('keeps the speed where the copy runs into the end of the reference: the query bound moves with the line', () => {
      // A 4× copy of the reference's last 18 s (it ends at 38 s); the query's last sampled frame
      // (4.5 s) shows the reference's end, and the half second it stands for runs past it.
      const s = scene({ refSec: 40, querySec: 5, copyStart: 0, copyEnd: 5, refStart: 20, rate: 4, noise: 0.1, seed: 4 });
      const seg = refineSegment(
        chainOf(
          s,
          s.query.map((f) => f.q),
        ),
        s.query,
        s.ref,
        OPTS(38),
      );
      expect(seg.refEnd).toBeLessThanOrEqual(38);
      // Clamping the reference bound alone would report 18 s over 5 s of query: 3.6×.
      const speed = (seg.refEnd - seg.refStart) / (seg.queryEnd - seg.queryStart);
      expect(Math.abs(speed / 4 - 1), `speed ${speed}`).toBeLessThanOrEqual(0.05);
    });
  });

  it('replaces a compressed chain on a static shot by real time', () => {
    // A static shot: every reference frame looks alike, so a chain can creep at any rate.
    const r = rng(7);
    const still = randomUnit(r);
    const ref = Array.from({ length: 30 }, (_, i) => ({ tr: i, vectors: [mix(still, randomUnit(r), 0.05)] }));
    const query: RefineQueryFrame[] = Array.from({ length: 20 }, (_, q) => ({ q, tq: q * 0.5, vectors: [mix(still, randomUnit(r), 0.05)], floor: 0.8 }));
    // The chain covers 10 s of query against 4 s of reference.
    const points: MatchPoint[] = Array.from({ length: 10 }, (_, i) => ({ q: i * 2, tq: i, tr: 5 + 0.4 * i, similarity: 0.99, w: 0.9 }));
    const seg = refineSegment({ queryStart: 0, queryEnd: 9.5, refStart: 5, refEnd: 8.6, evidence: 5, points }, query, ref, OPTS(30));
    expect(seg.refEnd - seg.refStart).toBeCloseTo(seg.queryEnd - seg.queryStart, 0);
    // With 0.25× allowed too: a chain creeping at 0.25× on the still is laid on real time.
    const creeping = points.map((p) => ({ ...p, tr: 5 + Math.floor(0.25 * p.tq) }));
    const wide = refineSegment({ queryStart: 0, queryEnd: 9.5, refStart: 5, refEnd: 7, evidence: 3, points: creeping }, query, ref, {
      ...OPTS(30),
      minRate: 0.25,
      maxRate: 4,
    });
    expect((wide.refEnd - wide.refStart) / (wide.queryEnd - wide.queryStart)).toBeCloseTo(1, 1);
    // The creeping line goes along, for verification to weigh against the pixels.
    expect(wide.alternative).toBeDefined();
    const alt = wide.alternative!;
    expect((alt.refEnd - alt.refStart) / (alt.queryEnd - alt.queryStart)).toBeLessThan(0.5);
    expect(alt.alternative).toBeUndefined();
  });

  it('does not draw a slow line through a frame that looks like all the others (a hub)', () => {
    // Every second of the reference shares a common picture (a field) with its own detail; one
    // stored frame shows the common picture alone. The copy lost detail (a fade, captions), so
    // each of its frames is closer to that "average" frame than to its own moment, and the chain
    // crept through it at 0.25×. Compared by what is specific to each moment, real time wins.
    const r = rng(3);
    const common = randomUnit(r);
    const keys = Array.from({ length: 22 }, () => mix(common, randomUnit(r), 0.5));
    keys[8] = common;
    const at = (t: number) => mix(keys[Math.floor(t)], keys[Math.floor(t) + 1], t - Math.floor(t));
    const ref = Array.from({ length: 20 }, (_, i) => ({ tr: i, vectors: [keys[i]] }));
    // The query copies reference 4–14 s at 1×.
    const query: RefineQueryFrame[] = Array.from({ length: 20 }, (_, q) => ({
      q,
      tq: q * 0.5,
      vectors: [mix(mix(at(4 + q * 0.5), common, 0.6), randomUnit(r), 0.1)],
      floor: 0.5,
    }));
    const points: MatchPoint[] = query
      .filter((f) => f.tq >= 2 && f.tq <= 7)
      .map((f) => {
        const tr = 7 + Math.round(0.3 * (f.tq - 2));
        return { q: f.q, tq: f.tq, tr, similarity: dot(f.vectors[0]!, keys[tr]), w: 0.3 };
      });
    const seg = { queryStart: 2, queryEnd: 7.5, refStart: 7, refEnd: 9, evidence: 2, points };
    const o = { ...OPTS(20), minRate: 0.25, maxRate: 4 };
    // The precondition: compared by raw similarity, the creeping line wins.
    const raw = refineSegment(seg, query, ref, { ...o, hubCorrection: false });
    expect((raw.refEnd - raw.refStart) / (raw.queryEnd - raw.queryStart)).toBeLessThan(0.5);
    const out = refineSegment(seg, query, ref, { ...o, hubCorrection: true });
    expect(out).toMatchObject({ queryStart: 0, queryEnd: 10 });
    expect(out.refStart).toBeCloseTo(4, 1);
    expect(out.refEnd).toBeCloseTo(14, 1);
  });

  it("lays a chain that crept along look-alike frames (a dashcam's road) on real time through the copy's start", () => {
    // Every reference second looks much like the others, so the chain crept at 0.4× from the
    // copy's true start; its median offset lies seconds away from the copy's.
    const r = rng(5);
    const road = randomUnit(r);
    const keys = Array.from({ length: 12 }, () => mix(road, randomUnit(r), 0.35));
    const at = (t: number) => mix(keys[Math.floor(t)], keys[Math.floor(t) + 1], t - Math.floor(t));
    const ref = Array.from({ length: 10 }, (_, i) => ({ tr: i, vectors: [at(i)] }));
    const query: RefineQueryFrame[] = Array.from({ length: 18 }, (_, q) => ({ q, tq: q * 0.5, vectors: [mix(at(q * 0.5), randomUnit(r), 0.05)], floor: 0.8 }));
    const points: MatchPoint[] = query.map((f) => ({ q: f.q, tq: f.tq, tr: Math.floor(0.4 * f.tq), similarity: 0.9, w: 0.3 }));
    const seg = refineSegment({ queryStart: 0, queryEnd: 9, refStart: 0, refEnd: 3, evidence: 1.2, points }, query, ref, OPTS(10));
    expect(Math.abs(seg.refStart - 0)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(seg.refEnd - 9)).toBeLessThanOrEqual(0.6);
  });

  it('runs a copy to the end of the query across frames that cannot be compared (flat sky, black)', () => {
    // The whole 12 s query copies reference 20–32 s, but its first 3 s and last 2 s are flat:
    // no usable vector. Nothing there contradicts the copy, so it spans the whole query.
    const s = scene({ refSec: 60, querySec: 12, copyStart: 0, copyEnd: 12, refStart: 20 });
    const query = s.query.map((f) => (f.tq < 3 || f.tq >= 10 ? { ...f, vectors: [null] } : f));
    const seg = refineSegment(chainOf({ ...s, query }, [10, 11, 12, 13, 14]), query, s.ref, OPTS(60));
    expect(seg.queryStart).toBe(0);
    expect(seg.queryEnd).toBeCloseTo(12, 5);
    expect(Math.abs(seg.refStart - 20)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(seg.refEnd - 32)).toBeLessThanOrEqual(0.5);
  });

  it('does not run across flat frames once a compared frame has fallen below the floor', () => {
    // Copy at 4–12 s; unrelated footage at 2–4 s, then flat frames before it.
    const s = scene({ refSec: 60, querySec: 12, copyStart: 4, copyEnd: 12, refStart: 20 });
    const query = s.query.map((f) => (f.tq < 2 ? { ...f, vectors: [null] } : f));
    const seg = refineSegment(chainOf({ ...s, query }, [12, 13, 14, 15, 16]), query, s.ref, OPTS(60));
    expect(seg.queryStart).toBeGreaterThanOrEqual(3);
  });

  it('compares frames in every way the chain used: a caption can hide one way on some frames and another on others', () => {
    // Two ways of comparing (say the whole picture and the centre): the copy shows through the
    // first on 0–8 s and through the second on 8–16 s; the other way sees unrelated content.
    const s = scene({ refSec: 60, querySec: 16, copyStart: 0, copyEnd: 16, refStart: 20 });
    const r = rng(11);
    const ref = s.ref.map((f) => ({ tr: f.tr, vectors: [f.vectors[0], f.vectors[0]] }));
    const query = s.query.map((f) => ({ ...f, vectors: f.tq < 8 ? [f.vectors[0], randomUnit(r)] : [randomUnit(r), f.vectors[0]] }));
    const chain = chainOf({ ref: s.ref, query: s.query }, [4, 5, 6, 7, 8]);
    const both = refineSegment(chain, query, ref, OPTS(60));
    expect(both.queryEnd).toBeGreaterThanOrEqual(15.5);
    const firstOnly = refineSegment(
      chain,
      query.map((f) => ({ ...f, vectors: [f.vectors[0]] })),
      s.ref,
      OPTS(60),
    );
    expect(firstOnly.queryEnd).toBeLessThanOrEqual(9.5);
  });

  it('covers every matched frame it reports, even where sampling jitter puts one just off the fitted line', () => {
    // Query 0–8 s copies reference 3–11 s; the decoder stamped the chain's frames a few
    // hundredths apart from the line, one of them (query 0 s ↔ reference 3 s) before it.
    const s = scene({ refSec: 30, querySec: 8, copyStart: 0, copyEnd: 8, refStart: 3 });
    const chain = chainOf(s, [0, 2, 4, 6, 8, 10, 12, 14]);
    const points = chain.points.map((p, i) => ({ ...p, tr: p.tr + (i === 0 ? 0 : 0.07) }));
    const seg = refineSegment({ ...chain, points }, s.query, s.ref, OPTS(30));
    for (const p of seg.points) {
      expect(p.tq).toBeGreaterThanOrEqual(seg.queryStart);
      expect(p.tq).toBeLessThanOrEqual(seg.queryEnd);
      expect(p.tr).toBeGreaterThanOrEqual(seg.refStart);
      expect(p.tr).toBeLessThanOrEqual(seg.refEnd);
    }
  });

  it("keeps the chain's evidence: refinement moves boundaries, it does not make a match stronger", () => {
    const s = scene({ refSec: 60, querySec: 20, copyStart: 0, copyEnd: 20, refStart: 0 });
    const chain = chainOf(s, [10, 11, 12, 13]);
    expect(refineSegment(chain, s.query, s.ref, OPTS(60)).evidence).toBe(chain.evidence);
  });

  it('leaves a segment alone when the reference has no stored frames there', () => {
    const s = scene({ refSec: 60, querySec: 20, copyStart: 0, copyEnd: 20, refStart: 0 });
    const chain = chainOf(s, [10, 11, 12, 13]);
    expect(refineSegment(chain, s.query, [], OPTS(60))).toBe(chain);
  });
});

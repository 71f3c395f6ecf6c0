/**
 * Splits (tuning / holdout / mixed), the large negative set's plan, the benchmark's new flags and
 * the false-positive bound: all pure (no ffmpeg), on made-up clip lists.
 */
import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { ALL_FAMILIES, buildImageArgs, buildVideoJob, EASY_FAMILIES, HARD_FAMILIES, type ClipInfo } from '../../bench/accuracy/edit-families.js';
import { parseAccuracyArgs } from '../../bench/accuracy/main.js';
import { binomialCdf, binomialUpperBound, rateWithBound } from '../../bench/accuracy/metrics.js';
import {
  allocateLargeNegatives,
  LARGE_NEGATIVE_FAMILIES,
  negativeSources,
  planLargeNegatives,
  type NegativeSource,
} from '../../bench/accuracy/negative-set.js';
import { chooseSplit, defaultCacheDir, planQueries, specHash, splitCorpora, splitCorpus } from '../../bench/accuracy/query-set.js';
import { formatLargeNegatives, formatSplit, summariseLargeNegatives, type QueryDetail } from '../../bench/accuracy/run-accuracy.js';

const fakeClip = (file: string, durationSec: number, width = 1280, height = 720, dir = '/corpus'): ClipInfo => ({
  file,
  path: `${dir}/${file}`,
  durationSec,
  width,
  height,
  fps: 25,
  sizeBytes: 1000 + durationSec,
});

const tuning = [
  fakeClip('a.mp4', 30),
  fakeClip('b.webm', 8, 640, 360),
  fakeClip('c.avi', 120, 320, 240),
  fakeClip('d.mp4', 12, 540, 960),
  fakeClip('e.mp4', 45),
  fakeClip('f.mp4', 10, 320, 180),
  fakeClip('g.mp4', 20),
  fakeClip('h.mp4', 15),
  fakeClip('i.mp4', 9),
  fakeClip('j.mp4', 60),
];
const holdout = [
  fakeClip('h1.mp4', 24, 1920, 1080, '/holdout'),
  fakeClip('h2.avi', 30, 320, 240, '/holdout'),
  fakeClip('h3.mp4', 333, 640, 480, '/holdout'),
  fakeClip('h4.mp4', 5, 720, 1280, '/holdout'),
  fakeClip('h5.flv', 8, 352, 288, '/holdout'),
];

describe('default query set is unchanged', () => {
  it('plans, file hashes and ffmpeg arguments match the ones before splits existed (caches stay valid)', () => {
    // Digest computed with the generator of commit debb441 (before --split/--negatives); if this
    // changes, every cached query under .bench-cache/accuracy/<seed>/ would be regenerated.
    const byName = new Map(tuning.map((c) => [c.file, c]));
    const h = createHash('sha1');
    for (const seed of [1, 2, 7]) {
      const { reference, pool } = chooseSplit('tuning', tuning, null, seed, 0.7);
      expect({ reference, pool }).toEqual(splitCorpus(tuning, seed, 0.7));
      const plans = planQueries(reference, pool, seed, {
        perFamily: 2,
        negativeMultiplier: 2,
        families: ALL_FAMILIES,
        fontFile: '/f.ttf',
        segmentSec: [6, 20],
      });
      for (const p of plans) {
        h.update(`${seed} ${p.id} ${p.origin.file} ${specHash(p, byName)}\n`);
        h.update(JSON.stringify(p.video ? buildVideoJob(p.video, byName, '/out').args : buildImageArgs(p.image!, p.origin, '/out.png')));
      }
    }
    expect(h.digest('hex')).toBe('304175b4248140b52eb2e2f7a1a0fbe32d6a90c8');
  });

  it('keeps the tuning split in .bench-cache/accuracy/<seed>/ and gives the others their own folders', () => {
    expect(defaultCacheDir('tuning', 3)).toBe('.bench-cache/accuracy/3');
    expect(defaultCacheDir('holdout', 3)).toBe('.bench-cache/accuracy/holdout-3');
    expect(defaultCacheDir('mixed', 3)).toBe('.bench-cache/accuracy/mixed-tuning-3');
    expect(defaultCacheDir('mixed', 3, 'holdout')).toBe('.bench-cache/accuracy/mixed-holdout-3');
  });
});

describe('splits', () => {
  it('holdout is the seeded split of the hold-out corpus', () => {
    const s = chooseSplit('holdout', holdout, null, 4);
    expect(s).toEqual(splitCorpus(holdout, 4));
    expect(s.reference.length + s.pool.length).toBe(holdout.length);
    expect(s.pool.length).toBeGreaterThanOrEqual(2);
  });

  it('mixed indexes every clip of one corpus and never indexes the other', () => {
    const s = chooseSplit('mixed', tuning, holdout, 4);
    expect(s.reference.map((c) => c.file)).toEqual(tuning.map((c) => c.file).sort());
    expect(s.pool.map((c) => c.file)).toEqual(holdout.map((c) => c.file).sort());
    // The seed does not change which clips are on which side.
    expect(chooseSplit('mixed', tuning, holdout, 5)).toEqual(s);
    // Positives copy the indexed corpus; negatives, pip and insert footage come from the other one.
    const plans = planQueries(s.reference, s.pool, 4, { perFamily: 2, negativeMultiplier: 2, families: ALL_FAMILIES, fontFile: null, segmentSec: [6, 20] });
    const hold = new Set(holdout.map((c) => c.file));
    for (const p of plans) {
      expect(hold.has(p.origin.file)).toBe(!p.positive);
      const c = p.video?.compose;
      if (c?.op === 'pip') expect(hold.has(c.background.clip)).toBe(true);
      if (c?.op === 'insert') expect(hold.has(c.before.clip) && hold.has(c.after.clip)).toBe(true);
    }
  });

  it('refuses two corpora sharing a clip name, and a mixed split without a second corpus', () => {
    expect(() => chooseSplit('mixed', tuning, [fakeClip('a.mp4', 5, 640, 360, '/holdout')], 1)).toThrow(/a\.mp4/);
    expect(() => chooseSplit('mixed', tuning, null, 1)).toThrow(/both corpora/);
  });

  it('resolves which folder plays which part', () => {
    expect(splitCorpora({ corpus: '/t' })).toEqual({ split: 'tuning', primary: { label: 'tuning', dir: '/t' }, other: null });
    expect(splitCorpora({ split: 'holdout', holdout: '/h' }).primary).toEqual({ label: 'holdout', dir: '/h' });
    expect(splitCorpora({ split: 'mixed', corpus: '/t', holdout: '/h' })).toMatchObject({ primary: { label: 'tuning' }, other: { label: 'holdout' } });
    expect(splitCorpora({ split: 'mixed', corpus: '/t', holdout: '/h', mixedReference: 'holdout' })).toMatchObject({
      primary: { label: 'holdout', dir: '/h' },
      other: { label: 'tuning', dir: '/t' },
    });
    expect(() => splitCorpora({ split: 'holdout', corpus: '/t' })).toThrow(/--holdout/);
    expect(() => splitCorpora({ split: 'mixed', corpus: '/t', holdout: '/t' })).toThrow(/same folder/);
  });
});

describe('command-line options', () => {
  it('keeps the old flags and defaults', () => {
    const a = parseAccuracyArgs(['--', '--corpus', '/t', '--seed', '3', '--per-family', '1', '--generate-only']);
    expect(a).toEqual({ corpus: '/t', seed: 3, perFamily: 1, generateOnly: true });
  });

  it('parses the split, hold-out and large-negative flags', () => {
    expect(parseAccuracyArgs(['--split', 'holdout', '--holdout', '/h', '--negatives', '1000', '--other-corpus', '/t'])).toEqual({
      split: 'holdout',
      holdout: '/h',
      negatives: 1000,
      otherCorpus: '/t',
      generateOnly: false,
    });
    expect(
      parseAccuracyArgs([
        '--split',
        'mixed',
        '--corpus',
        '/t',
        '--holdout',
        '/h',
        '--mixed-reference',
        'holdout',
        '--negatives',
        '20',
        '--negative-image-share',
        '0.5',
      ]),
    ).toEqual({ split: 'mixed', corpus: '/t', holdout: '/h', mixedReference: 'holdout', negatives: 20, negativeImageShare: 0.5, generateOnly: false });
    expect(parseAccuracyArgs(['--corpus', '/t', '--negatives', '50', '--other-corpus', '/h'])).toMatchObject({ negatives: 50, otherCorpus: '/h' });
  });

  it('rejects inconsistent combinations with a message that names the fix', () => {
    expect(() => parseAccuracyArgs(['--split', 'sideways', '--corpus', '/t'])).toThrow(/tuning, holdout, mixed/);
    expect(() => parseAccuracyArgs(['--split', 'holdout', '--corpus', '/t'])).toThrow(/--holdout DIR/);
    expect(() => parseAccuracyArgs(['--split', 'mixed', '--holdout', '/h'])).toThrow(/--corpus DIR/);
    expect(() => parseAccuracyArgs(['--corpus', '/t', '--holdout', '/h'])).toThrow(/--other-corpus/);
    expect(() => parseAccuracyArgs(['--split', 'mixed', '--corpus', '/t', '--holdout', '/h', '--negatives', '9', '--other-corpus', '/x'])).toThrow(/mixed/);
    expect(() => parseAccuracyArgs(['--corpus', '/t', '--mixed-reference', 'tuning'])).toThrow(/mixed/);
    expect(() => parseAccuracyArgs(['--corpus', '/t', '--other-corpus', '/h'])).toThrow(/--negatives/);
    expect(() => parseAccuracyArgs(['--corpus', '/t', '--negatives', '-3'])).toThrow(/--negatives/);
    expect(() => parseAccuracyArgs(['--corpus', '/t', '--negatives', '5', '--negative-image-share', '1.5'])).toThrow(/0 to 1/);
  });
});

describe('large negative set', () => {
  const pool = splitCorpus(tuning, 2).pool;
  const sources: NegativeSource[] = [
    ...pool.map((clip) => ({ clip, corpus: 'tuning' as const })),
    ...holdout.map((clip) => ({ clip, corpus: 'holdout' as const })),
  ];

  it('allots families round-robin, with the requested share of stills', () => {
    const a = allocateLargeNegatives(1000, 0.4);
    expect(a).toHaveLength(1000);
    const count = (f: string): number => a.filter((x) => x.family === f).length;
    expect(a.filter((x) => x.family.startsWith('image-'))).toHaveLength(400);
    for (const f of ['image-frame', 'image-rescale', 'image-crop', 'image-jpeg']) expect(count(f)).toBe(100);
    for (const f of ['plain', ...EASY_FAMILIES, ...HARD_FAMILIES]) expect(count(f)).toBeGreaterThanOrEqual(40);
    expect(new Set(a.map((x) => `${x.family}:${x.k}`)).size).toBe(1000);
    expect(allocateLargeNegatives(20, 0.4).filter((x) => x.family.startsWith('image-'))).toHaveLength(8);
  });

  it('draws only never-indexed footage, short and at most 640 px wide', () => {
    const plans = planLargeNegatives(sources, 2, { count: 300, fontFile: '/f.ttf' });
    expect(plans).toHaveLength(300);
    const names = new Set(sources.map((s) => s.clip.file));
    const byName = new Map([...tuning, ...holdout].map((c) => [c.file, c]));
    const corpusOf = new Map(sources.map((s) => [s.clip.file, s.corpus]));
    for (const p of plans) {
      expect(p.positive).toBe(false);
      expect(names.has(p.origin.file)).toBe(true);
      expect(p.corpus).toBe(corpusOf.get(p.origin.file));
      expect(LARGE_NEGATIVE_FAMILIES).toContain(p.negFamily);
      if (p.image) {
        expect(p.family).toBe('image-negative');
        expect(p.image.maxSize).toEqual({ w: 640, h: 480 });
        expect(p.image.variant).toBe(p.negFamily.slice('image-'.length));
        const vf = buildImageArgs(p.image, p.origin, '/out.png').join(' ');
        for (const m of vf.matchAll(/scale=(\d+):(\d+)/g)) {
          expect(Number(m[1])).toBeLessThanOrEqual(640);
          expect(Number(m[2])).toBeLessThanOrEqual(480);
        }
        continue;
      }
      const v = p.video!;
      expect(p.family).toBe(p.negFamily === 'plain' ? 'neg-plain' : 'neg-edited');
      if (p.negFamily !== 'plain') expect(v.parts.length).toBeGreaterThan(0);
      expect(v.copy.duration).toBeLessThanOrEqual(10.001);
      if (p.origin.durationSec > 4.5) expect(v.copy.duration).toBeGreaterThanOrEqual(4);
      const c = v.compose;
      if (c?.op === 'pip') expect(names.has(c.background.clip)).toBe(true);
      if (c?.op === 'insert') expect(names.has(c.before.clip) && names.has(c.after.clip)).toBe(true);
      const job = buildVideoJob(v, byName, '/out.mp4');
      expect(job.width).toBeLessThanOrEqual(640);
      expect(job.height).toBeLessThanOrEqual(480);
    }
    // Both corpora are drawn from, long clips more often than short ones but not in proportion.
    const fromHoldout = plans.filter((p) => p.corpus === 'holdout').length;
    expect(fromHoldout).toBeGreaterThan(30);
    expect(fromHoldout).toBeLessThan(270);
    const h3 = plans.filter((p) => p.origin.file === 'h3.mp4').length;
    const h4 = plans.filter((p) => p.origin.file === 'h4.mp4').length;
    expect(h3).toBeGreaterThan(h4);
  });

  it('is deterministic, and a larger set keeps the queries of a smaller one', () => {
    const small = planLargeNegatives(sources, 2, { count: 40, fontFile: null });
    const big = planLargeNegatives(sources, 2, { count: 400, fontFile: null });
    expect(JSON.stringify(planLargeNegatives([...sources].reverse(), 2, { count: 40, fontFile: null }))).toBe(JSON.stringify(small));
    const bigById = new Map(big.map((p) => [p.id, p]));
    for (const p of small) expect(JSON.stringify(bigById.get(p.id))).toBe(JSON.stringify(p));
    expect(JSON.stringify(planLargeNegatives(sources, 3, { count: 40, fontFile: null }))).not.toBe(JSON.stringify(small));
  });

  it('takes the split pool plus the other corpus, never an indexed clip', () => {
    const { reference, pool: p } = splitCorpus(tuning, 2);
    const src = negativeSources({ reference, pool: p, poolCorpus: 'tuning' }, { label: 'holdout', clips: [...holdout, reference[0]!] });
    expect(src.filter((s) => s.corpus === 'tuning').map((s) => s.clip.file)).toEqual(p.map((c) => c.file));
    expect(src.filter((s) => s.corpus === 'holdout').map((s) => s.clip.file)).toEqual(holdout.map((c) => c.file));
    expect(() => planLargeNegatives([], 1, { count: 1, fontFile: null })).toThrow(/never-indexed/);
    expect(planLargeNegatives([], 1, { count: 0, fontFile: null })).toEqual([]);
  });

  it('summarises false positives per family and corpus with upper bounds', () => {
    const detail = (id: string, negFamily: QueryDetail['negFamily'], corpus: 'tuning' | 'holdout', matched: boolean): QueryDetail => ({
      id,
      negFamily,
      corpus,
      family: negFamily?.startsWith('image-') ? 'image-negative' : 'neg-edited',
      difficulty: 'negative',
      kind: negFamily?.startsWith('image-') ? 'image' : 'video',
      positive: false,
      file: `/q/${id}`,
      durationSec: 5,
      params: {},
      expected: { source: null, segments: [], origin: 'x.mp4' },
      got: { top1: matched ? { source: 'a.mp4', videoId: 'v', score: 0.7, segments: [] } : null, matches: [] },
      outcome: { top1Correct: false, found: false, rank: null, anyMatch: matched, extraMatches: matched ? 1 : 0, segment: null, timestampError: null },
      latencyMs: 100,
      engineTimingsMs: null,
      error: null,
    });
    const details = [
      detail('1', 'crop', 'holdout', true),
      detail('2', 'crop', 'tuning', false),
      detail('3', 'image-jpeg', 'holdout', false),
      detail('4', 'plain', 'holdout', false),
    ];
    const set = {
      version: 1,
      seed: 1,
      cacheDir: '/c',
      params: { count: 4, imageShare: 0.25, segmentSec: [4, 10] as [number, number], maxSize: { w: 640, h: 480 }, weightCapSec: 60 },
      sources: [{ corpus: 'holdout' as const, dir: '/h', clips: ['x.mp4'] }],
      queries: [],
      generateMs: 0,
    };
    const r = summariseLargeNegatives(set, details);
    expect(r.all).toMatchObject({ n: 4, matched: 1, rate: 0.25, errors: 0 });
    expect(r.byFamily.crop).toMatchObject({ n: 2, matched: 1 });
    expect(r.byFamily.plain).toMatchObject({ n: 1, matched: 0, upper95: 0.95 });
    expect(r.byCorpus.holdout).toMatchObject({ n: 3, matched: 1 });
    expect(r.byCorpus.tuning).toMatchObject({ n: 1, matched: 0 });
    expect(r.byKind.image).toMatchObject({ n: 1, matched: 0 });
    expect(r.falsePositives).toEqual([{ id: '1', negFamily: 'crop', corpus: 'holdout', origin: 'x.mp4', file: '/q/1', top1: { source: 'a.mp4', score: 0.7 } }]);
    const text = formatLargeNegatives(r).join('\n');
    expect(text).toMatch(/large negative set: 4 queries/);
    expect(text).toMatch(/corpus holdout\s+3\s+1/);
    expect(text).toMatch(/FP 1 \(holdout x\.mp4\) → a\.mp4 0\.70/);
    const split = formatSplit({
      seed: 1,
      split: {
        mode: 'mixed',
        poolCorpus: 'holdout',
        reference: ['a'],
        pool: ['b'],
        corpora: [
          { label: 'tuning', dir: '/t', role: 'reference', clips: 1 },
          { label: 'holdout', dir: '/h', role: 'pool', clips: 1 },
        ],
      },
    });
    expect(split[0]).toBe(
      'split: mixed (seed 1) — tuning corpus /t (all 1 clips indexed); holdout corpus /h (all 1 clips never indexed: negatives, pip/insert footage)',
    );
  });
});

describe('false-positive bound', () => {
  it('is the exact one-sided Clopper–Pearson bound (rule of three at 0)', () => {
    expect(binomialUpperBound(0, 1000)).toBeCloseTo(1 - 0.05 ** (1 / 1000), 12);
    expect(binomialUpperBound(0, 1000)).toBeCloseTo(3 / 1000, 4);
    // scipy.stats.beta.ppf(0.95, k + 1, n - k)
    expect(binomialUpperBound(1, 1000)).toBeCloseTo(0.0047349936, 8);
    expect(binomialUpperBound(1, 100)).toBeCloseTo(0.0465598115, 8);
    expect(binomialUpperBound(5, 1000)).toBeCloseTo(0.0104840769, 8);
    expect(binomialUpperBound(3, 48)).toBeCloseTo(0.1536889989, 8);
    expect(binomialUpperBound(4, 4)).toBe(1);
    expect(binomialUpperBound(0, 0)).toBeNaN();
    expect(binomialCdf(2, 10, 0.5)).toBeCloseTo(56 / 1024, 12);
    expect(rateWithBound(2, 1000)).toMatchObject({ n: 1000, matched: 2, rate: 0.002 });
  });
});

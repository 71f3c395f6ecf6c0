import { describe, expect, it } from 'vitest';

import {
  buildVideoJob,
  drawImageEdit,
  drawVideoEdit,
  EASY_FAMILIES,
  HARD_FAMILIES,
  type ClipInfo,
  type VideoEditFamily,
} from '../../bench/accuracy/edit-families.js';
import {
  aggregate,
  evaluateQuery,
  falsePositiveRate,
  fScore,
  percentile,
  recallAt1,
  segmentPrecisionRecall,
  timestampError,
  unionLength,
  type EvaluatedQuery,
  type QueryTruth,
} from '../../bench/accuracy/metrics.js';
import { planQueries, splitCorpus } from '../../bench/accuracy/query-set.js';
import { createRng } from '../../bench/common/seeded-random.js';

const seg = (queryStart: number, queryEnd: number, refStart: number, refEnd: number) => ({ queryStart, queryEnd, refStart, refEnd });

describe('unionLength', () => {
  it('counts overlaps once and ignores empty intervals', () => {
    expect(unionLength([])).toBe(0);
    expect(unionLength([{ start: 0, end: 10 }])).toBe(10);
    expect(
      unionLength([
        { start: 0, end: 10 },
        { start: 5, end: 15 },
      ]),
    ).toBe(15);
    expect(
      unionLength([
        { start: 20, end: 30 },
        { start: 0, end: 10 },
      ]),
    ).toBe(20);
    expect(
      unionLength([
        { start: 0, end: 10 },
        { start: 2, end: 3 },
        { start: 5, end: 5 },
        { start: 9, end: 4 },
      ]),
    ).toBe(10);
    expect(
      unionLength([
        { start: 0, end: 5 },
        { start: 5, end: 8 },
      ]),
    ).toBe(8);
  });
});

describe('VCSL segment precision / recall', () => {
  it('perfect prediction gives F = 1', () => {
    const gt = [seg(0, 10, 30, 40)];
    expect(segmentPrecisionRecall(gt, gt)).toEqual({ precision: 1, recall: 1, f: 1 });
  });

  it('a prediction covering half the copy on both axes: P = 1, R = 0.5 · 0.5', () => {
    const r = segmentPrecisionRecall([seg(0, 10, 100, 110)], [seg(0, 20, 100, 120)]);
    expect(r.precision).toBeCloseTo(1);
    expect(r.recall).toBeCloseTo(0.25);
    expect(r.f).toBeCloseTo(fScore(1, 0.25));
    expect(r.f).toBeCloseTo(0.4);
  });

  it('a prediction shifted by half its length: P = R = 0.25', () => {
    const r = segmentPrecisionRecall([seg(5, 15, 105, 115)], [seg(0, 10, 100, 110)]);
    expect(r.precision).toBeCloseTo(0.25);
    expect(r.recall).toBeCloseTo(0.25);
    expect(r.f).toBeCloseTo(0.25);
  });

  it('right query interval but wrong reference interval scores 0 (boxes must intersect)', () => {
    const r = segmentPrecisionRecall([seg(0, 10, 200, 210)], [seg(0, 10, 100, 110)]);
    expect(r).toEqual({ precision: 0, recall: 0, f: 0 });
  });

  it('no prediction: P = 1, R = 0, F = 0; prediction without ground truth: P = 0', () => {
    expect(segmentPrecisionRecall([], [seg(0, 10, 0, 10)])).toEqual({ precision: 1, recall: 0, f: 0 });
    expect(segmentPrecisionRecall([seg(0, 10, 0, 10)], [])).toEqual({ precision: 0, recall: 1, f: 0 });
  });

  it('handles a speed change (query and reference intervals of different length)', () => {
    // 10 s of reference played at 1.25× → 8 s of query.
    const gt = [seg(0, 8, 50, 60)];
    const r = segmentPrecisionRecall([seg(0, 8, 50, 60)], gt);
    expect(r.f).toBeCloseTo(1);
  });

  it('two predicted pieces covering one copy are unioned', () => {
    const r = segmentPrecisionRecall([seg(0, 5, 10, 15), seg(5, 10, 15, 20)], [seg(0, 10, 10, 20)]);
    expect(r.precision).toBeCloseTo(1);
    expect(r.recall).toBeCloseTo(1);
  });

  it('an extra false segment lowers precision only', () => {
    const r = segmentPrecisionRecall([seg(0, 10, 10, 20), seg(20, 30, 40, 50)], [seg(0, 10, 10, 20)]);
    expect(r.recall).toBeCloseTo(1);
    expect(r.precision).toBeCloseTo(0.25);
  });
});

describe('evaluateQuery', () => {
  const videoTruth: QueryTruth = { kind: 'video', positive: true, source: 'a.mp4', truth: [seg(0, 10, 30, 40)] };

  it('right video at top with the right segment', () => {
    const o = evaluateQuery(videoTruth, [{ source: 'a.mp4', score: 0.9, segments: [seg(0, 10, 30, 40)] }]);
    expect(o.top1Correct).toBe(true);
    expect(o.rank).toBe(1);
    expect(o.segment?.f).toBeCloseTo(1);
    expect(o.extraMatches).toBe(0);
  });

  it('wrong video: not recalled, segment F = 0', () => {
    const o = evaluateQuery(videoTruth, [{ source: 'b.mp4', score: 0.9, segments: [seg(0, 10, 30, 40)] }]);
    expect(o.top1Correct).toBe(false);
    expect(o.found).toBe(false);
    expect(o.segment).toEqual({ precision: 1, recall: 0, f: 0 });
    expect(o.extraMatches).toBe(1);
  });

  it('right video ranked second: not top-1, but segments still scored', () => {
    const o = evaluateQuery(videoTruth, [
      { source: 'b.mp4', score: 0.9, segments: [seg(0, 10, 0, 10)] },
      { source: 'a.mp4', score: 0.8, segments: [seg(0, 10, 30, 40)] },
    ]);
    expect(o.top1Correct).toBe(false);
    expect(o.rank).toBe(2);
    expect(o.segment?.f).toBeCloseTo(1);
  });

  it('no prediction at all', () => {
    const o = evaluateQuery(videoTruth, []);
    expect(o.anyMatch).toBe(false);
    expect(o.top1Correct).toBe(false);
    expect(o.segment?.f).toBe(0);
  });

  it('image query: timestamp error is 0 inside the bracket, else distance to its midpoint', () => {
    const img: QueryTruth = { kind: 'image', positive: true, source: 'a.mp4', truth: [], imageTime: 12 };
    expect(evaluateQuery(img, [{ source: 'a.mp4', score: 1, segments: [seg(0, 0, 11.5, 12.5)] }]).timestampError).toBe(0);
    expect(evaluateQuery(img, [{ source: 'a.mp4', score: 1, segments: [seg(0, 0, 20, 22)] }]).timestampError).toBeCloseTo(9);
    expect(evaluateQuery(img, [{ source: 'b.mp4', score: 1, segments: [seg(0, 0, 12, 12)] }]).timestampError).toBeNull();
    expect(timestampError({ refStart: 3, refEnd: 3 }, 3)).toBe(0);
    expect(timestampError({ refStart: 3, refEnd: 5 }, 1)).toBe(3);
  });
});

describe('rates and aggregation', () => {
  it('false-positive rate counts negatives with any match', () => {
    const neg: QueryTruth = { kind: 'video', positive: false, source: null, truth: [] };
    const outcomes = [
      evaluateQuery(neg, []),
      evaluateQuery(neg, []),
      evaluateQuery(neg, [{ source: 'x.mp4', score: 0.3, segments: [] }]),
      evaluateQuery(neg, []),
    ];
    expect(falsePositiveRate(outcomes)).toBeCloseTo(0.25);
    expect(falsePositiveRate([])).toBeNaN();
    expect(recallAt1([{ top1Correct: true }, { top1Correct: false }])).toBe(0.5);
  });

  it('percentiles interpolate linearly', () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([10, 20], 50)).toBe(15);
    expect(percentile([5, 1, 3], 100)).toBe(5);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('aggregate splits positives, negatives and images', () => {
    const v: QueryTruth = { kind: 'video', positive: true, source: 'a.mp4', truth: [seg(0, 10, 0, 10)] };
    const n: QueryTruth = { kind: 'video', positive: false, source: null, truth: [] };
    const im: QueryTruth = { kind: 'image', positive: true, source: 'a.mp4', truth: [], imageTime: 5 };
    const items: EvaluatedQuery[] = [
      {
        kind: 'video',
        positive: true,
        latencyMs: 100,
        error: false,
        outcome: evaluateQuery(v, [{ source: 'a.mp4', score: 1, segments: [seg(0, 10, 0, 10)] }]),
      },
      { kind: 'video', positive: true, latencyMs: 200, error: false, outcome: evaluateQuery(v, []) },
      { kind: 'video', positive: false, latencyMs: 300, error: false, outcome: evaluateQuery(n, []) },
      { kind: 'image', positive: true, latencyMs: 400, error: false, outcome: evaluateQuery(im, [{ source: 'a.mp4', score: 1, segments: [seg(0, 0, 4, 6)] }]) },
    ];
    const m = aggregate(items);
    expect(m.queries).toBe(4);
    expect(m.positives).toBe(3);
    expect(m.negatives).toBe(1);
    expect(m.recallAt1).toBe(0.5);
    expect(m.segmentF).toBeCloseTo(0.5);
    expect(m.segmentRecall).toBeCloseTo(0.5);
    expect(m.falsePositiveRate).toBe(0);
    expect(m.imageRecallAt1).toBe(1);
    expect(m.timestampErrorMedian).toBe(0);
    expect(m.latencyP50Ms).toBe(250);
  });
});

describe('seeded generator', () => {
  it('same seed → same sequence; different seed → different', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 20 }, () => a.next());
    const sb = Array.from({ length: 20 }, () => b.next());
    const sc = Array.from({ length: 20 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    for (const x of sa) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('helpers stay in range and are deterministic', () => {
    const r = createRng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const v = r.int(3, 6);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(6);
      seen.add(v);
      const u = r.uniform(-2, 2);
      expect(u).toBeGreaterThanOrEqual(-2);
      expect(u).toBeLessThan(2);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const s1 = createRng(9).shuffle(items);
    expect(createRng(9).shuffle(items)).toEqual(s1);
    expect([...s1].sort()).toEqual(items);
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(createRng(9).pick(items)).toBe(createRng(9).pick(items));
    expect(new Set(createRng(3).sample(items, 5)).size).toBe(5);
  });

  it('forks are independent of draws made on the parent', () => {
    const a = createRng(5);
    const b = createRng(5);
    b.next();
    b.next();
    expect(a.fork('x').next()).toBe(b.fork('x').next());
    expect(a.fork('x').next()).not.toBe(a.fork('y').next());
  });
});

function fakeClip(file: string, durationSec: number, width = 1280, height = 720): ClipInfo {
  return { file, path: `/corpus/${file}`, durationSec, width, height, fps: 25, sizeBytes: 1000 };
}

const clips = [
  fakeClip('a.mp4', 30),
  fakeClip('b.mp4', 8),
  fakeClip('c.mp4', 120, 640, 480),
  fakeClip('d.mp4', 12, 540, 960),
  fakeClip('e.mp4', 45),
  fakeClip('f.mp4', 10, 320, 180),
  fakeClip('g.mp4', 20),
  fakeClip('h.mp4', 15),
  fakeClip('i.mp4', 9),
  fakeClip('j.mp4', 60),
];

describe('query planning', () => {
  const planOpts = {
    perFamily: 3,
    negativeMultiplier: 2,
    families: [...EASY_FAMILIES, ...HARD_FAMILIES, 'neg-plain', 'neg-edited', 'image-crop', 'image-negative'] as const,
    fontFile: '/f.ttf',
    segmentSec: [6, 20] as [number, number],
  };

  it('same seed → same split and same parameters', () => {
    const s1 = splitCorpus(clips, 11);
    const s2 = splitCorpus(clips, 11);
    expect(s1).toEqual(s2);
    expect(s1.reference.length).toBe(7);
    expect(s1.pool.length).toBe(3);
    const p1 = planQueries(s1.reference, s1.pool, 11, { ...planOpts, families: [...planOpts.families] });
    const p2 = planQueries(s2.reference, s2.pool, 11, { ...planOpts, families: [...planOpts.families] });
    expect(JSON.stringify(p1)).toBe(JSON.stringify(p2));
    const p3 = planQueries(s1.reference, s1.pool, 12, { ...planOpts, families: [...planOpts.families] });
    expect(JSON.stringify(p1)).not.toBe(JSON.stringify(p3));
  });

  it('a family filter does not change the other families’ queries', () => {
    const { reference, pool } = splitCorpus(clips, 11);
    const all = planQueries(reference, pool, 11, { ...planOpts, families: [...planOpts.families] });
    const some = planQueries(reference, pool, 11, { ...planOpts, families: ['crop', 'speed'] });
    expect(JSON.stringify(some)).toBe(JSON.stringify(all.filter((p) => p.family === 'crop' || p.family === 'speed')));
  });

  it('positives copy reference clips, negatives come from the pool only', () => {
    const { reference, pool } = splitCorpus(clips, 3);
    const refNames = new Set(reference.map((c) => c.file));
    const poolNames = new Set(pool.map((c) => c.file));
    const plans = planQueries(reference, pool, 3, { ...planOpts, families: [...planOpts.families] });
    for (const p of plans) {
      if (p.positive) expect(refNames.has(p.origin.file)).toBe(true);
      else expect(poolNames.has(p.origin.file)).toBe(true);
      const c = p.video?.compose;
      if (c?.op === 'pip') expect(poolNames.has(c.background.clip)).toBe(true);
      if (c?.op === 'insert') {
        expect(poolNames.has(c.before.clip)).toBe(true);
        expect(poolNames.has(c.after.clip)).toBe(true);
      }
      if (p.video) {
        const { start, duration } = p.video.copy;
        expect(start).toBeGreaterThanOrEqual(0);
        expect(start + duration).toBeLessThanOrEqual(p.origin.durationSec);
        expect(duration).toBeLessThanOrEqual(20.001);
        if (p.origin.durationSec > 6.5) expect(duration).toBeGreaterThanOrEqual(6);
      }
    }
    expect(plans.filter((p) => p.family === 'neg-plain')).toHaveLength(6);
    expect(plans.filter((p) => p.family === 'crop')).toHaveLength(3);
  });
});

describe('edit families', () => {
  const byName = new Map(clips.map((c) => [c.file, c]));
  const pool = clips.slice(6);
  const ctxFor = (clip: ClipInfo) => ({ copyClip: clip, pool, fontFile: '/f.ttf', copyDuration: 10 });
  const copy = { clip: 'a.mp4', start: 5, duration: 10 };

  it('draws parameters in the documented ranges', () => {
    for (let s = 0; s < 40; s++) {
      const rng = createRng(s);
      const crop = drawVideoEdit('crop', rng.fork('crop'), ctxFor(clips[0] as ClipInfo), copy).steps[0];
      expect(crop?.op).toBe('crop');
      if (crop?.op === 'crop') for (const v of [crop.left, crop.right, crop.top, crop.bottom]) expect(v >= 0.1 && v <= 0.25).toBe(true);
      const sp = drawVideoEdit('speed', rng.fork('speed'), ctxFor(clips[0] as ClipInfo), copy).steps[0];
      if (sp?.op === 'speed') expect(sp.factor >= 0.75 && sp.factor <= 1.5 && Math.abs(sp.factor - 1) >= 0.09).toBe(true);
      const re = drawVideoEdit('reencode', rng.fork('re'), ctxFor(clips[0] as ClipInfo), copy);
      expect(re.encode.codec).toBe('libx264');
      if (re.encode.codec === 'libx264') expect(re.encode.crf >= 35 && re.encode.crf <= 45).toBe(true);
      const rot = drawVideoEdit('rotate', rng.fork('rot'), ctxFor(clips[0] as ClipInfo), copy).steps[0];
      if (rot?.op === 'rotate') expect(Math.abs(rot.degrees) >= 3 && Math.abs(rot.degrees) <= 8).toBe(true);
      const pip = drawVideoEdit('pip', rng.fork('pip'), ctxFor(clips[0] as ClipInfo), copy).compose;
      if (pip?.op === 'pip') expect(pip.scale >= 0.35 && pip.scale <= 0.55).toBe(true);
      const combo = drawVideoEdit('combo', rng.fork('combo'), ctxFor(clips[0] as ClipInfo), copy);
      expect(combo.parts.length >= 2 && combo.parts.length <= 3).toBe(true);
      const img = drawImageEdit('image-jpeg', rng.fork('img'), clips[0] as ClipInfo);
      expect(img.quality! >= 20 && img.quality! <= 40).toBe(true);
    }
  });

  it('every family builds an ffmpeg job', () => {
    for (const f of [...EASY_FAMILIES, ...HARD_FAMILIES] as VideoEditFamily[]) {
      for (let s = 0; s < 5; s++) {
        const spec = drawVideoEdit(f, createRng(s).fork(f), ctxFor(clips[0] as ClipInfo), copy);
        const job = buildVideoJob(spec, byName, '/tmp/out');
        expect(job.args.at(-1)).toBe('/tmp/out');
        expect(job.args).toContain('-filter_complex');
        expect(job.truth).toHaveLength(1);
        expect(job.width % 2).toBe(0);
        expect(job.height % 2).toBe(0);
      }
    }
  });

  it('ground truth accounts for speed and insertion offsets', () => {
    const speed = buildVideoJob(
      { copy, steps: [{ op: 'speed', factor: 1.25 }], compose: null, encode: { codec: 'libx264', crf: 23, container: 'mp4' }, parts: ['speed'] },
      byName,
      '/tmp/o',
    );
    expect(speed.truth[0]).toEqual({ queryStart: 0, queryEnd: 8, refStart: 5, refEnd: 15 });
    const ins = buildVideoJob(
      {
        copy,
        steps: [{ op: 'speed', factor: 0.8 }],
        compose: { op: 'insert', before: { clip: 'g.mp4', start: 1, duration: 4 }, after: { clip: 'h.mp4', start: 0, duration: 5 } },
        encode: { codec: 'libx264', crf: 23, container: 'mp4' },
        parts: ['speed', 'insert'],
      },
      byName,
      '/tmp/o',
    );
    expect(ins.truth[0]?.queryStart).toBe(4);
    expect(ins.truth[0]?.queryEnd).toBeCloseTo(16.5);
    expect(ins.truth[0]?.refStart).toBe(5);
    expect(ins.truth[0]?.refEnd).toBe(15);
    expect(ins.expectedDuration).toBeCloseTo(21.5);
  });
});

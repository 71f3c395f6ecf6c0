/**
 * End-to-end check of the accuracy benchmark's plumbing on tiny synthetic clips:
 * every family generates a playable query with ffmpeg, ground truth is
 * consistent with the files, the cache is reused, and the runner scores an
 * oracle engine perfectly and a blind engine at zero (no real engine needed).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ALL_FAMILIES } from '../../bench/accuracy/edit-families.js';
import { accuracyCli } from '../../bench/accuracy/main.js';
import { buildNegativeSet, type NegativeSet } from '../../bench/accuracy/negative-set.js';
import { buildQuerySet, type QueryRecord, type QuerySet } from '../../bench/accuracy/query-set.js';
import { runAccuracyBenchmark, type BenchEngine } from '../../bench/accuracy/run-accuracy.js';
import type { IndexResult, SearchResult, VideoRecord } from '../../src/core/engine/types.js';
import { resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';

/** Segment fields a fake engine's results carry unchanged. */
const UNVERIFIED = { verified: false, verification: { status: 'unverified' as const, pairs: 0, voting: 0, agreeing: 0, inliers: 0 }, transform: null };

let dir: string;
let corpus: string;
let cacheDir: string;
let set: QuerySet;

const SOURCES = [
  'testsrc2=size=160x120:rate=15',
  'mandelbrot=size=160x120:rate=15',
  'life=size=160x120:rate=15:mold=10:ratio=0.2:death_color=#202040:life_color=#e0c080',
  'smptebars=size=160x120:rate=15,hue=H=t',
  'cellauto=size=160x120:rate=15:rule=110',
  'rgbtestsrc=size=160x120:rate=15,rotate=a=t/2',
];

/** The ffmpeg the engine uses (FFMPEG_PATH, PATH or the npm binary), which this file runs too. */
let ffmpegBin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retrace-bench-test-'));
  corpus = join(dir, 'corpus');
  cacheDir = join(dir, 'cache');
  const { ffmpeg, ffprobe } = resolveFfmpegPaths();
  ffmpegBin = ffmpeg;
  // The query-set builder spawns a bare `ffmpeg` and `ffprobe`: put the resolved pair first on
  // this test process's PATH, so it runs where no ffmpeg is installed and with the same binaries
  // as the engine. (Vitest runs each test file in its own process.)
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await symlink(ffmpeg, join(bin, 'ffmpeg'));
  await symlink(ffprobe, join(bin, 'ffprobe'));
  process.env.PATH = `${bin}${delimiter}${process.env.PATH ?? ''}`;
  execFileSync('mkdir', ['-p', corpus]);
  SOURCES.forEach((src, i) => {
    const dur = 5 + i;
    execFileSync(ffmpegBin, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `${src},format=yuv420p`,
      '-t',
      String(dur),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      join(corpus, `clip${i}.mp4`),
    ]);
  });
  set = await buildQuerySet({ corpus, seed: 5, perFamily: 1, negativeMultiplier: 1, cacheDir, segmentSec: [2, 4] });
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('query set generation', () => {
  it('makes one query per family with consistent ground truth', () => {
    expect(set.reference.length + set.pool.length).toBe(SOURCES.length);
    expect(set.pool.length).toBeGreaterThanOrEqual(2);
    expect(set.queries.map((q) => q.family).sort()).toEqual([...ALL_FAMILIES].sort());
    const refs = new Set(set.reference.map((c) => c.file));
    for (const q of set.queries) {
      expect(existsSync(q.file)).toBe(true);
      if (q.positive) expect(refs.has(q.source ?? '')).toBe(true);
      else expect(refs.has(q.origin)).toBe(false);
      if (q.kind === 'video') {
        expect(q.durationSec).toBeGreaterThan(0.5);
        if (q.positive) {
          expect(q.truth).toHaveLength(1);
          const t = q.truth[0]!;
          expect(t.queryEnd).toBeLessThanOrEqual(q.durationSec + 0.01);
          expect(t.queryStart).toBeGreaterThanOrEqual(0);
          const clip = set.reference.find((c) => c.file === q.source)!;
          expect(t.refEnd).toBeLessThanOrEqual(clip.durationSec + 0.01);
          // Speed changes scale the query interval relative to the reference one.
          const sp = 'steps' in q.spec ? q.spec.steps.find((s) => s.op === 'speed') : undefined;
          const factor = sp && sp.op === 'speed' ? sp.factor : 1;
          expect((t.refEnd - t.refStart) / (t.queryEnd - t.queryStart)).toBeCloseTo(factor, 1);
        } else {
          expect(q.truth).toHaveLength(0);
        }
      } else {
        expect(q.imageTime).toBeGreaterThanOrEqual(0);
      }
    }
    const codec = set.queries.find((q) => q.family === 'codec')!;
    expect(codec.file).toMatch(/\.(webm|avi)$/);
    const insert = set.queries.find((q) => q.family === 'insert')!;
    expect(insert.truth[0]!.queryStart).toBeGreaterThanOrEqual(2.9);
    expect(insert.durationSec).toBeGreaterThan(insert.truth[0]!.queryEnd + 2.9);
  });

  it('reuses cached files for the same seed and parameters', async () => {
    const again = await buildQuerySet({ corpus, seed: 5, perFamily: 1, negativeMultiplier: 1, cacheDir, segmentSec: [2, 4], families: ['crop', 'image-jpeg'] });
    expect(again.queries).toHaveLength(2);
    expect(again.queries.every((q) => q.cached)).toBe(true);
    expect(again.queries.map((q) => q.file)).toEqual(set.queries.filter((q) => q.family === 'crop' || q.family === 'image-jpeg').map((q) => q.file));
  });
});

function fakeRecord(id: string, path: string): VideoRecord {
  return {
    id,
    contentHash: id,
    path,
    title: basename(path),
    durationSec: 0,
    fps: 15,
    width: 160,
    height: 120,
    codec: 'h264',
    status: 'ready',
    error: null,
    metadata: {},
    frameCount: 0,
    createdAt: '',
    updatedAt: '',
  };
}

/** An engine that answers from the ground truth (oracle) or never matches (blind). */
function fakeEngine(mode: 'oracle' | 'blind'): BenchEngine {
  const byFile = new Map<string, QueryRecord>(set.queries.map((q) => [q.file, q]));
  const ids = new Map<string, string>();
  return {
    async index(path): Promise<IndexResult> {
      const id = `vid-${ids.size}`;
      ids.set(basename(path), id);
      return { videoId: id, status: 'indexed', durationSec: 1, frames: 1, video: fakeRecord(id, path), timingsMs: {} };
    },
    async search(path): Promise<SearchResult> {
      const q = byFile.get(path);
      const result: SearchResult = {
        query: { path, kind: q?.kind ?? 'video', durationSec: q?.durationSec ?? 0, frames: 1 },
        matches: [],
        timingsMs: { decode: 0, describe: 0, knn: 0, align: 0, verify: 0, total: 0 },
      };
      if (mode === 'oracle' && q?.positive && q.source) {
        // Verified, with the true transform (a panning window has no single rectangle: the whole frame stands in).
        const t = q.transform;
        const refRect = t.refRect ?? { x: 0, y: 0, width: 1, height: 1 };
        const verified = {
          verified: true,
          verification: { status: 'confirmed' as const, pairs: 2, voting: 2, agreeing: 2, inliers: 50 },
          transform: { mirrored: t.mirrored, scale: 1, rotationDeg: 0, refRect, queryRect: t.queryRect, speed: t.speed, offsetSec: 0, summary: '' },
        };
        const segments =
          q.kind === 'image'
            ? [{ queryStart: 0, queryEnd: 0, refStart: q.imageTime! - 0.1, refEnd: q.imageTime! + 0.1, score: 1, ...verified, matchedFrames: 1, frames: [] }]
            : q.truth.map((tr) => ({ ...tr, score: 1, ...verified, matchedFrames: 5, frames: [] }));
        result.matches.push({ videoId: ids.get(q.source)!, path: `/somewhere/${q.source}`, title: q.source, score: 1, segments });
      }
      return result;
    },
    async close() {},
  };
}

describe('runAccuracyBenchmark', () => {
  it('scores an oracle engine perfectly', async () => {
    const lines: string[] = [];
    const report = await runAccuracyBenchmark({
      corpus,
      seed: 5,
      perFamily: 1,
      negativeMultiplier: 1,
      segmentSec: [2, 4],
      cacheDir,
      db: join(dir, 'db'),
      log: (l) => lines.push(l),
      openEngine: async () => fakeEngine('oracle'),
      json: join(dir, 'report.json'),
    });
    expect(report.summary.easy.recallAt1).toBe(1);
    expect(report.summary.hard.recallAt1).toBe(1);
    expect(report.summary.all.segmentF).toBeCloseTo(1);
    expect(report.summary.negative.falsePositiveRate).toBe(0);
    expect(report.summary.image.imageRecallAt1).toBe(1);
    expect(report.summary.image.timestampErrorMedian).toBe(0);
    expect(report.targets.every((t) => t.pass)).toBe(true);
    expect(report.targets.map((t) => t.measure)).toEqual(
      expect.arrayContaining([
        'transform: mirror flag right, verified',
        'transform: speed within 10 %, speed family',
        'transform: crop IoU ≥ 0.8, crop family',
      ]),
    );
    const tf = report.transforms.summary.all;
    expect(tf.verified).toBe(tf.positives);
    expect(tf.mirror.rate).toBe(1);
    expect(tf.flip.n).toBeGreaterThanOrEqual(1);
    expect(report.transforms.families.speed!.speed).toMatchObject({ n: 1, hits: 1, medianRelError: 0 });
    expect(report.transforms.families.crop!.crop).toMatchObject({ n: 1, hits: 1 });
    expect(report.transforms.families.crop!.crop.medianIoU).toBeCloseTo(1, 9);
    expect(report.queries.find((q) => q.family === 'flip')!.transform).toMatchObject({
      verified: true,
      mirrored: { truth: true, predicted: true, right: true },
    });
    expect(lines.some((l) => l.startsWith('transform of verified positives'))).toBe(true);
    expect(report.queries).toHaveLength(set.queries.length);
    expect(existsSync(join(dir, 'report.json'))).toBe(true);
    expect(lines.some((l) => l.startsWith('family'))).toBe(true);
    expect(lines.some((l) => l.includes('[search'))).toBe(true);
  });

  it('scores a blind engine at zero recall and zero false positives', async () => {
    const report = await runAccuracyBenchmark({
      corpus,
      seed: 5,
      perFamily: 1,
      negativeMultiplier: 1,
      segmentSec: [2, 4],
      cacheDir,
      db: join(dir, 'db'),
      log: () => {},
      openEngine: async () => fakeEngine('blind'),
      families: ['flip', 'neg-plain', 'image-frame'],
    });
    expect(report.queries).toHaveLength(3);
    expect(report.summary.hard.recallAt1).toBe(0);
    expect(report.summary.hard.segmentF).toBe(0);
    expect(report.summary.negative.falsePositiveRate).toBe(0);
    expect(report.summary.image.imageRecallAt1).toBe(0);
    expect(report.transforms.summary.all).toMatchObject({ positives: 2, verified: 0, mirror: { n: 0, hits: 0 } });
    expect(report.targets.find((t) => t.measure.startsWith('transform: mirror'))).toMatchObject({ pass: false });
  });
});

describe('splits and the large negative set, end to end', () => {
  let holdout: string;
  const HOLDOUT_SOURCES = [
    'cellauto=size=176x144:rate=15:rule=30:seed=7',
    'mandelbrot=size=176x144:rate=15:start_scale=1.5,hue=h=90',
    'testsrc=size=176x144:rate=15,negate',
  ];

  beforeAll(() => {
    holdout = join(dir, 'holdout');
    execFileSync('mkdir', ['-p', holdout]);
    HOLDOUT_SOURCES.forEach((src, i) => {
      execFileSync(ffmpegBin, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `${src},format=yuv420p`,
        '-t',
        String(4 + i),
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        join(holdout, `held${i}.mp4`),
      ]);
    });
  }, 60_000);

  /** An engine that returns the first indexed video for every query (every negative is then a false positive), or nothing. */
  function matchAll(mode: 'always' | 'never'): BenchEngine {
    const ids: string[] = [];
    return {
      async index(path): Promise<IndexResult> {
        const id = `vid-${ids.length}`;
        ids.push(id);
        return { videoId: id, status: 'indexed', durationSec: 1, frames: 1, video: fakeRecord(id, path), timingsMs: {} };
      },
      async search(path): Promise<SearchResult> {
        const matches =
          mode === 'always'
            ? [
                {
                  videoId: ids[0]!,
                  path: '/x',
                  title: null,
                  score: 0.9,
                  segments: [{ queryStart: 0, queryEnd: 1, refStart: 0, refEnd: 1, score: 0.9, ...UNVERIFIED, matchedFrames: 2, frames: [] }],
                },
              ]
            : [];
        return {
          query: { path, kind: 'video', durationSec: 1, frames: 1 },
          matches,
          timingsMs: { decode: 0, describe: 0, knn: 0, align: 0, verify: 0, total: 0 },
        };
      },
      async close() {},
    };
  }

  it('mixed: every tuning clip indexed, negatives and large negatives from the hold-out clips, reported apart', async () => {
    const lines: string[] = [];
    const opts = {
      corpus,
      holdout,
      split: 'mixed' as const,
      seed: 5,
      perFamily: 1,
      negativeMultiplier: 1,
      segmentSec: [2, 4] as [number, number],
      families: ['flip', 'pip', 'neg-plain', 'image-negative'] as const,
      cacheDir: join(dir, 'mixed'),
      negatives: 6,
      db: join(dir, 'db'),
      log: (l: string) => lines.push(l),
    };
    const report = await runAccuracyBenchmark({
      ...opts,
      families: [...opts.families],
      openEngine: async () => matchAll('always'),
      json: join(dir, 'mixed.json'),
    });
    expect(report.split.mode).toBe('mixed');
    expect(report.split.corpora.map((c) => [c.label, c.role, c.clips])).toEqual([
      ['tuning', 'reference', 6],
      ['holdout', 'pool', 3],
    ]);
    expect(report.indexed).toHaveLength(6);
    expect(report.split.pool).toEqual(['held0.mp4', 'held1.mp4', 'held2.mp4']);
    for (const q of report.queries) {
      expect(q.expected.origin.startsWith('held')).toBe(!q.positive);
      const c = (q.params as { compose?: { op: string; background?: { clip: string } } }).compose;
      if (c?.op === 'pip') expect(c.background!.clip.startsWith('held')).toBe(true);
    }
    const ln = report.largeNegatives!;
    expect(ln.all).toMatchObject({ n: 6, matched: 6, rate: 1 });
    expect(ln.byCorpus).toEqual({ holdout: { n: 6, matched: 6, rate: 1, upper95: 1 } });
    expect(ln.queries.every((q) => q.expected.origin.startsWith('held') && q.corpus === 'holdout' && !q.positive)).toBe(true);
    expect(ln.queries.filter((q) => q.kind === 'image')).toHaveLength(2);
    expect(ln.falsePositives).toHaveLength(6);
    expect(report.summary.negative.queries).toBe(2);
    expect(report.targets.find((t) => t.measure.includes('large negative set'))).toMatchObject({ value: 1, pass: false });
    expect(lines[lines.findIndex((l) => l.startsWith('family')) - 2]).toMatch(
      /^split: mixed \(seed 5\) — tuning corpus .* \(all 6 clips indexed\); holdout corpus/,
    );
    expect(lines.some((l) => /^ALL\s+6\s+6\s+1\.0000/.test(l))).toBe(true);
    expect(existsSync(join(dir, 'mixed.json'))).toBe(true);

    // Again: everything from the cache, and nothing matched by an engine that never answers.
    const again = await runAccuracyBenchmark({ ...opts, families: [...opts.families], log: () => {}, openEngine: async () => matchAll('never') });
    expect(again.largeNegatives!.all).toMatchObject({ n: 6, matched: 0, rate: 0 });
    expect(again.largeNegatives!.all.upper95).toBeCloseTo(1 - 0.05 ** (1 / 6), 10);
    const set = await buildQuerySet({
      corpus,
      holdout,
      split: 'mixed',
      seed: 5,
      perFamily: 1,
      negativeMultiplier: 1,
      segmentSec: [2, 4],
      families: [...opts.families],
      cacheDir: opts.cacheDir,
    });
    const neg = await buildNegativeSet(set, { count: 6 });
    expect(neg.queries.every((q) => q.cached)).toBe(true);
  });

  it('holdout split with the tuning corpus as other corpus: negatives from both, never from an indexed clip', async () => {
    const cache = join(dir, 'holdout-split');
    const code = await accuracyCli(
      [
        '--split',
        'holdout',
        '--holdout',
        holdout,
        '--seed',
        '2',
        '--per-family',
        '1',
        '--families',
        'neg-plain',
        '--cache-dir',
        cache,
        '--negatives',
        '10',
        '--other-corpus',
        corpus,
        '--generate-only',
      ],
      () => {},
    );
    expect(code).toBe(0);
    const set = JSON.parse(await readFile(join(cache, 'queries.json'), 'utf8')) as QuerySet;
    expect(set.split).toBe('holdout');
    expect(set.reference.length + set.pool.length).toBe(3);
    const neg = JSON.parse(await readFile(join(cache, 'negatives', 'negatives.json'), 'utf8')) as NegativeSet;
    expect(neg.queries).toHaveLength(10);
    const indexed = new Set(set.reference.map((c) => c.file));
    expect(neg.queries.some((q) => indexed.has(q.origin))).toBe(false);
    expect(neg.sources.map((s) => [s.corpus, s.clips.length])).toEqual([
      ['holdout', set.pool.length],
      ['tuning', 6],
    ]);
    for (const q of neg.queries) {
      expect(existsSync(q.file)).toBe(true);
      expect(q.corpus).toBe(q.origin.startsWith('held') ? 'holdout' : 'tuning');
    }
  });
});

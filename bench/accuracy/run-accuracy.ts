/**
 * The accuracy benchmark: builds the query set, indexes the reference clips in a
 * fresh embedded engine, runs every query and reports recall@1, false-positive
 * rate, VCSL segment P/R/F, image recall@1 with timestamp error and latency,
 * per family and per difficulty.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

import type { IndexOptions, IndexResult, MatchTransform, SearchOptions, SearchResult } from '../../src/core/engine/types.js';
import { KNOWN_FAMILIES, type Difficulty, type QueryFamily } from './edit-families.js';
import {
  aggregate,
  aggregateTransforms,
  evaluateQuery,
  evaluateTransform,
  pickTransformSegment,
  percentile,
  rateWithBound,
  type EvaluatedQuery,
  type GroupMetrics,
  type PredictedMatch,
  type QueryOutcome,
  type RateWithBound,
  type Segment2D,
  type TransformMetrics,
  type TransformOutcome,
  type TruthTransform,
} from './metrics.js';
import {
  buildNegativeSet,
  isSocialNegativeFamily,
  LARGE_NEGATIVE_REPORT_FAMILIES,
  type LargeNegativeFamily,
  type LargeNegativeParams,
  type NegativeSet,
  type NegativeSetOptions,
} from './negative-set.js';
import { buildQuerySet, type CorpusLabel, type CorpusUse, type QueryRecord, type QuerySet, type SplitMode } from './query-set.js';

/** The part of the engine the benchmark uses (the `Retrace` class of src/index.ts). */
export interface BenchEngine {
  index(path: string, options?: IndexOptions): Promise<IndexResult>;
  search(path: string, options?: SearchOptions): Promise<SearchResult>;
  close(): Promise<void>;
}

export type OpenEngine = (db: string) => Promise<BenchEngine>;

/** Opens the real engine: `Retrace.open({ db })` from src/index.ts (loaded lazily, so tests with a fake engine stay light). */
export async function openRetrace(
  db: string,
  engine: { verify?: boolean; layouts?: boolean; verifySet?: Record<string, number>; storedWindows?: boolean } = {},
): Promise<BenchEngine> {
  const { Retrace } = await import('../../src/index.js');
  const set = Object.entries(engine.verifySet ?? {});
  const section = (prefix: string) => Object.fromEntries(set.filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const verifySet = Object.fromEntries(set.filter(([k]) => !k.includes('.')));
  const rescueSet = section('stillRescue.');
  const refineSet = section('refine.');
  const loneSet = section('loneHits.');
  return Retrace.open({
    db,
    ...(engine.storedWindows ? { storedWindows: true } : {}),
    search: {
      ...(Object.keys(verifySet).length ? { verify: verifySet } : {}),
      ...(Object.keys(rescueSet).length ? { stillRescue: rescueSet } : {}),
      ...(Object.keys(refineSet).length ? { refine: refineSet } : {}),
      ...(Object.keys(loneSet).length ? { loneHits: loneSet } : {}),
      ...(engine.verify === false ? { verify: { enabled: false } } : {}),
      ...(engine.layouts === false ? { detectLayouts: false } : {}),
    },
  });
}

export interface AccuracyOptions {
  /** The tuning corpus (required unless split is `holdout`). */
  corpus?: string;
  /** The hold-out corpus (`holdout` and `mixed` splits). */
  holdout?: string;
  /** `tuning` (default: a seeded split of `corpus`), `holdout` (the same of `holdout`), or `mixed` (see QuerySetOptions). */
  split?: SplitMode;
  /** Corpus the `mixed` split indexes whole (default `tuning`). */
  mixedReference?: CorpusLabel;
  /** Size of the large negative set (default 0: none). */
  negatives?: number;
  /** Another corpus whose clips all join the large negative set's sources (not with `mixed`). */
  otherCorpus?: string;
  /** Share of stills in the large negative set (default 0.4). */
  negativeImageShare?: number;
  seed?: number;
  /** Write the JSON report here. */
  json?: string;
  perFamily?: number;
  /** Negative families get perFamily × this many queries (default 2). */
  negativeMultiplier?: number;
  /** Copy segment length bounds in seconds (default 6–20). */
  segmentSec?: [number, number];
  /** Fraction of clips indexed as references (default 0.7). */
  referenceFraction?: number;
  /** Embedded database directory (default: a fresh temporary one, removed afterwards). */
  db?: string;
  cacheDir?: string;
  families?: readonly QueryFamily[];
  /** Add the social families (issue 15), `neg-social`, and social negatives to the large negative set. */
  social?: boolean;
  /** Options passed to every search. */
  searchOptions?: SearchOptions;
  log?: (line: string) => void;
  /** Engine factory (tests inject a fake; default opens Retrace). */
  openEngine?: OpenEngine;
}

export interface QueryDetail {
  id: string;
  /** Large negative set only: its edit family and the corpus of its footage. */
  negFamily?: LargeNegativeFamily;
  corpus?: CorpusLabel;
  family: QueryFamily;
  difficulty: Difficulty;
  kind: 'video' | 'image';
  positive: boolean;
  file: string;
  durationSec: number;
  params: unknown;
  /** `transform`: how the copy was altered (see TruthTransform; absent in reports of older runs). */
  expected: { source: string | null; segments: Segment2D[]; imageTime?: number; origin: string; transform?: TruthTransform };
  got: {
    top1: { source: string | null; videoId: string; score: number; segments: Segment2D[] } | null;
    matches: Array<{ source: string | null; videoId: string; title: string | null; score: number; segments: DetailSegment[] }>;
  };
  outcome: QueryOutcome;
  /** Positives: the transform of the right video's verified segment against the truth (absent for negatives). */
  transform?: TransformOutcome;
  latencyMs: number;
  engineTimingsMs: Record<string, number> | null;
  error: string | null;
}

export interface TargetCheck {
  measure: string;
  target: string;
  value: number;
  pass: boolean;
}

/** False positives of the large negative set, overall and by family, corpus and kind. */
export interface LargeNegativeReport {
  params: LargeNegativeParams;
  cacheDir: string;
  sources: NegativeSet['sources'];
  /** All of it; `errors` searches threw (counted as no match). */
  all: RateWithBound & { errors: number; latencyP50Ms: number; latencyP95Ms: number };
  byFamily: Partial<Record<LargeNegativeFamily, RateWithBound>>;
  byCorpus: Partial<Record<CorpusLabel, RateWithBound>>;
  byKind: { video: RateWithBound; image: RateWithBound };
  /** With social negatives (`--social`): those alone, and the rest (comparable with a run without them). */
  social?: RateWithBound;
  withoutSocial?: RateWithBound;
  /** The matched queries, for a quick look (full details in `queries`). */
  falsePositives: Array<{
    id: string;
    negFamily: LargeNegativeFamily;
    corpus: CorpusLabel;
    origin: string;
    file: string;
    top1: { source: string | null; score: number } | null;
  }>;
  queries: QueryDetail[];
}

export interface AccuracyReport {
  version: 1;
  createdAt: string;
  /** The corpus the references come from. */
  corpus: string;
  seed: number;
  params: QuerySet['params'];
  db: string;
  /** Context for the latency figures and for reproducing the run. */
  environment: { node: string; cpus: number; loadAvgAtStart: number[]; git: { commit: string; dirty: boolean } | null };
  split: { mode: SplitMode; corpora: CorpusUse[]; poolCorpus: CorpusLabel; reference: string[]; pool: string[] };
  indexed: Array<{ file: string; videoId: string | null; status: string; durationSec: number; frames: number; ms: number; error: string | null }>;
  timingsMs: { generate: number; index: number; search: number; total: number; generateNegatives?: number; searchNegatives?: number };
  summary: Record<Difficulty | 'all', GroupMetrics>;
  families: Partial<Record<QueryFamily, GroupMetrics>>;
  /** How well the verified positives' `transform` matches the truth: per group and per family. */
  transforms: { summary: Record<Difficulty | 'all', TransformMetrics>; families: Partial<Record<QueryFamily, TransformMetrics>> };
  targets: TargetCheck[];
  queries: QueryDetail[];
  /** Present when a large negative set was run (`negatives` > 0). */
  largeNegatives?: LargeNegativeReport;
}

/** A returned segment as the report keeps it. */
export type DetailSegment = Segment2D & {
  score: number;
  matchedFrames: number;
  verified: boolean;
  /** `verification.status` (null when the engine gave none). */
  verification: string | null;
  transform: MatchTransform | null;
};

function stripSegment(s: {
  queryStart: number;
  queryEnd: number;
  refStart: number;
  refEnd: number;
  score?: number;
  matchedFrames?: number;
  verified?: boolean;
  verification?: { status: string } | null;
  transform?: MatchTransform | null;
}): DetailSegment {
  return {
    queryStart: s.queryStart,
    queryEnd: s.queryEnd,
    refStart: s.refStart,
    refEnd: s.refEnd,
    score: s.score ?? 0,
    matchedFrames: s.matchedFrames ?? 0,
    verified: s.verified ?? false,
    verification: s.verification?.status ?? null,
    transform: s.transform ?? null,
  };
}

const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const fmtMs = (x: number): string => (Number.isFinite(x) ? String(Math.round(x)) : '—');

/** Readable table of the report (one line per family, then per difficulty, then targets). */
export function formatReport(r: AccuracyReport): string[] {
  const head = ['family', 'diff', 'n', 'R@1', 'Rany', 'segP', 'segR', 'segF', 'FPR', 'imgR@1', 'tsErr', 'extra', 'p50ms', 'p95ms', 'err'];
  const widths = [15, 8, 4, 5, 5, 5, 5, 5, 5, 6, 6, 5, 6, 6, 3];
  const row = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 6) : c.padStart(widths[i] ?? 6))).join(' ');
  const line = (name: string, diff: string, m: GroupMetrics): string =>
    row([
      name,
      diff,
      String(m.queries),
      fmt(m.recallAt1),
      fmt(m.recallAny),
      fmt(m.segmentPrecision),
      fmt(m.segmentRecall),
      fmt(m.segmentF),
      fmt(m.falsePositiveRate),
      fmt(m.imageRecallAt1),
      fmt(m.timestampErrorMedian, 1),
      fmt(m.extraMatchRate),
      fmtMs(m.latencyP50Ms),
      fmtMs(m.latencyP95Ms),
      String(m.errors),
    ]);
  const out: string[] = [...formatSplit(r)];
  out.push(row(head));
  out.push('-'.repeat(row(head).length));
  for (const f of KNOWN_FAMILIES) {
    const m = r.families[f];
    if (m) out.push(line(f, familyDifficultyOf(r, f), m));
  }
  out.push('-'.repeat(row(head).length));
  for (const d of GROUPS) {
    const m = r.summary[d];
    if (m && m.queries > 0) out.push(line(d.toUpperCase(), '', m));
  }
  out.push('');
  out.push('R@1/Rany/seg*: video positives; FPR: negatives with any match; imgR@1 & tsErr (median s): image positives;');
  out.push('extra: positives that also listed a wrong video; latency: wall-clock per search.');
  if (r.summary.social && r.summary.social.queries > 0) {
    out.push('SOCIAL: the social families (positives) and neg-social (their FPR); not in NEGATIVE, so that row stays comparable with runs without --social.');
  }
  if (r.transforms) out.push('', ...formatTransforms(r.transforms, (f) => familyDifficultyOf(r, f)));
  if (r.largeNegatives) out.push('', ...formatLargeNegatives(r.largeNegatives));
  out.push('');
  out.push('targets:');
  for (const t of r.targets)
    out.push(
      `  ${!Number.isFinite(t.value) ? 'n/a ' : t.pass ? 'PASS' : 'MISS'}  ${t.measure.padEnd(40)} ${fmt(t.value, 3).padStart(6)}  (target ${t.target})`,
    );
  out.push(
    `engine: ${r.environment.git ? `${r.environment.git.commit.slice(0, 10)}${r.environment.git.dirty ? ' + uncommitted src changes' : ''}` : 'unknown revision'}; ${r.environment.cpus} cpus, load ${r.environment.loadAvgAtStart.join(' ')} at start`,
  );
  const neg =
    r.timingsMs.generateNegatives !== undefined
      ? `, negatives: generate ${(r.timingsMs.generateNegatives / 1000).toFixed(1)}s, search ${((r.timingsMs.searchNegatives ?? 0) / 1000).toFixed(1)}s`
      : '';
  out.push(
    `timings: generate ${(r.timingsMs.generate / 1000).toFixed(1)}s, index ${(r.timingsMs.index / 1000).toFixed(1)}s, search ${(r.timingsMs.search / 1000).toFixed(1)}s${neg}, total ${(r.timingsMs.total / 1000).toFixed(1)}s`,
  );
  return out;
}

const GROUPS = ['easy', 'hard', 'negative', 'image', 'social', 'all'] as const;

/** Transform accuracy per family and per group (positives only; negatives have nothing to score). */
export function summariseTransforms(
  items: ReadonlyArray<{
    family: QueryFamily;
    difficulty: Difficulty;
    positive: boolean;
    truthTransform: TruthTransform | null;
    transform: TransformOutcome | null;
  }>,
): AccuracyReport['transforms'] {
  const agg = (list: typeof items): TransformMetrics =>
    aggregateTransforms(list.map((i) => ({ positive: i.positive, truth: i.truthTransform, outcome: i.transform })));
  const families: AccuracyReport['transforms']['families'] = {};
  for (const f of KNOWN_FAMILIES) {
    const list = items.filter((i) => i.family === f && i.positive);
    if (list.length > 0) families[f] = agg(list);
  }
  const summary = Object.fromEntries(GROUPS.map((g) => [g, agg(g === 'all' ? items : items.filter((i) => i.difficulty === g))])) as Record<
    Difficulty | 'all',
    TransformMetrics
  >;
  return { summary, families };
}

/**
 * Issue 14's transform targets: the mirror flag right on ≥ 0.98 of the verified positives, speed
 * within 10 % on the speed family, crop IoU ≥ 0.8 on the crop family. The issue states the 0.98
 * share for the mirror flag; it is applied to the other two as well.
 */
export function transformTargets(t: AccuracyReport['transforms']): TargetCheck[] {
  const out: TargetCheck[] = [
    { measure: 'transform: mirror flag right, verified', target: '≥ 0.98', value: t.summary.all.mirror.rate, pass: t.summary.all.mirror.rate >= 0.98 },
  ];
  const speed = t.families.speed?.speed;
  if (speed) out.push({ measure: 'transform: speed within 10 %, speed family', target: '≥ 0.98', value: speed.rate, pass: speed.rate >= 0.98 });
  const crop = t.families.crop?.crop;
  if (crop) out.push({ measure: 'transform: crop IoU ≥ 0.8, crop family', target: '≥ 0.98', value: crop.rate, pass: crop.rate >= 0.98 });
  return out;
}

/** The transform table: per family and group, how often the verified positives' transform is right. */
export function formatTransforms(t: AccuracyReport['transforms'], difficultyOf: (f: QueryFamily) => string = () => ''): string[] {
  const head = ['family', 'diff', 'pos', 'verif', 'mirror', 'flip', 'nonflip', 'speed±10%', 'spdErr', 'IoU≥0.8', 'medIoU'];
  const widths = [15, 8, 4, 5, 7, 7, 7, 9, 6, 7, 6];
  const row = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 6) : c.padStart(widths[i] ?? 6))).join(' ');
  const frac = (x: { hits: number; n: number }): string => (x.n === 0 ? '—' : `${x.hits}/${x.n}`);
  const line = (name: string, diff: string, m: TransformMetrics): string =>
    row([
      name,
      diff,
      String(m.positives),
      String(m.verified),
      frac(m.mirror),
      frac(m.flip),
      frac(m.nonFlip),
      frac(m.speed),
      fmt(m.speed.medianRelError, 3),
      frac(m.crop),
      fmt(m.crop.medianIoU),
    ]);
  const out = ['transform of verified positives (the right video’s verified segment against the truth):', row(head), '-'.repeat(row(head).length)];
  for (const f of KNOWN_FAMILIES) {
    const m = t.families[f];
    if (m) out.push(line(f, difficultyOf(f), m));
  }
  out.push('-'.repeat(row(head).length));
  for (const g of GROUPS) {
    const m = t.summary[g];
    if (m && m.positives > 0) out.push(line(g.toUpperCase(), '', m));
  }
  out.push(
    'pos: positives; verif: the right video came back with a verified segment carrying a transform (the shares below count these);',
    'mirror/flip/nonflip: mirror flag right (all, mirrored copies, the others); speed±10%: on copies whose speed was changed,',
    'spdErr its median relative error; IoU≥0.8: crop rectangle (refRect) on cropped copies, medIoU its median.',
  );
  return out;
}

/** Which split, which corpora, how many clips each side. */
export function formatSplit(r: Pick<AccuracyReport, 'split' | 'seed'>): string[] {
  const s = r.split;
  const desc = s.corpora.map((c) =>
    c.role === 'split'
      ? `${c.label} corpus ${c.dir} (${c.clips} clips: ${s.reference.length} indexed, ${s.pool.length} never indexed)`
      : c.role === 'reference'
        ? `${c.label} corpus ${c.dir} (all ${c.clips} clips indexed)`
        : `${c.label} corpus ${c.dir} (all ${c.clips} clips never indexed: negatives, pip/insert footage)`,
  );
  return [`split: ${s.mode} (seed ${r.seed}) — ${desc.join('; ')}`, ''];
}

/** The large negative set's false positives by family, corpus and kind, with one-sided 95 % upper bounds. */
export function formatLargeNegatives(n: LargeNegativeReport): string[] {
  const line = (name: string, m: RateWithBound): string =>
    `${name.padEnd(15)} ${String(m.n).padStart(5)} ${String(m.matched).padStart(7)} ${fmt(m.rate, 4).padStart(7)} ${fmt(m.upper95, 4).padStart(9)}`;
  const out: string[] = [];
  const corpora = n.sources.map((s) => `${s.corpus} ${s.clips.length} clips`).join(', ');
  out.push(
    `large negative set: ${n.all.n} queries of never-indexed footage (${corpora}; windows ${n.params.segmentSec[0]}–${n.params.segmentSec[1]} s, ≤ ${n.params.maxSize.w} px wide, ${Math.round(n.params.imageShare * 100)} % stills)`,
  );
  const head = `${'family'.padEnd(15)} ${'n'.padStart(5)} ${'matched'.padStart(7)} ${'FPR'.padStart(7)} ${'95%upper'.padStart(9)}`;
  out.push(head, '-'.repeat(head.length));
  for (const f of LARGE_NEGATIVE_REPORT_FAMILIES) {
    const m = n.byFamily[f];
    if (m) out.push(line(f, m));
  }
  out.push('-'.repeat(head.length));
  out.push(line('VIDEO', n.byKind.video), line('IMAGE', n.byKind.image));
  if (n.social) out.push(line('SOCIAL', n.social));
  if (n.withoutSocial) out.push(line('ALL w/o social', n.withoutSocial));
  for (const [c, m] of Object.entries(n.byCorpus)) out.push(line(`corpus ${c}`, m));
  out.push(line('ALL', n.all));
  out.push(
    `95%upper: one-sided exact (Clopper–Pearson) bound; with 0 matched it is 1 − 0.05^(1/n) ≈ 3/n. errors ${n.all.errors}; latency p50 ${fmtMs(n.all.latencyP50Ms)} ms, p95 ${fmtMs(n.all.latencyP95Ms)} ms.`,
  );
  for (const f of n.falsePositives) {
    out.push(`  FP ${f.id} (${f.corpus} ${f.origin}) → ${f.top1 ? `${f.top1.source ?? '?'} ${f.top1.score.toFixed(2)}` : '?'}`);
  }
  return out;
}

/** Aggregates the large negative set's searches. */
export function summariseLargeNegatives(set: NegativeSet, details: readonly QueryDetail[]): LargeNegativeReport {
  const rate = (items: readonly QueryDetail[]): RateWithBound => rateWithBound(items.filter((d) => d.outcome.anyMatch).length, items.length);
  const byFamily: LargeNegativeReport['byFamily'] = {};
  for (const f of LARGE_NEGATIVE_REPORT_FAMILIES) {
    const items = details.filter((d) => d.negFamily === f);
    if (items.length > 0) byFamily[f] = rate(items);
  }
  const byCorpus: LargeNegativeReport['byCorpus'] = {};
  for (const c of [...new Set(details.map((d) => d.corpus))].sort()) {
    if (c) byCorpus[c] = rate(details.filter((d) => d.corpus === c));
  }
  const lat = details.map((d) => d.latencyMs);
  return {
    params: set.params,
    cacheDir: set.cacheDir,
    sources: set.sources,
    all: { ...rate(details), errors: details.filter((d) => d.error !== null).length, latencyP50Ms: percentile(lat, 50), latencyP95Ms: percentile(lat, 95) },
    byFamily,
    byCorpus,
    byKind: { video: rate(details.filter((d) => d.kind === 'video')), image: rate(details.filter((d) => d.kind === 'image')) },
    ...(details.some(isSocialDetail) ? { social: rate(details.filter(isSocialDetail)), withoutSocial: rate(details.filter((d) => !isSocialDetail(d))) } : {}),
    falsePositives: details
      .filter((d) => d.outcome.anyMatch)
      .map((d) => ({
        id: d.id,
        negFamily: d.negFamily as LargeNegativeFamily,
        corpus: d.corpus as CorpusLabel,
        origin: d.expected.origin,
        file: d.file,
        top1: d.got.top1 ? { source: d.got.top1.source, score: d.got.top1.score } : null,
      })),
    queries: [...details],
  };
}

const isSocialDetail = (d: QueryDetail): boolean => d.negFamily !== undefined && isSocialNegativeFamily(d.negFamily);

function familyDifficultyOf(r: AccuracyReport, f: QueryFamily): string {
  return r.queries.find((q) => q.family === f)?.difficulty ?? '';
}

const atLeast = (measure: string, value: number, min: number): TargetCheck => ({ measure, target: `≥ ${min.toFixed(2)}`, value, pass: value >= min });
const atMost = (measure: string, value: number, max: number): TargetCheck => ({ measure, target: `≤ ${max.toFixed(2)}`, value, pass: value <= max });

/**
 * Pass/fail lines. `easyHardSegF` averages segment F over the easy and hard video positives (in a
 * run without social families, every video positive). The social lines (issue 15's targets, set
 * for the hold-out corpus) appear only for the social families that were run.
 */
export function checkTargets(
  s: AccuracyReport['summary'],
  easyHardSegF: number,
  families: AccuracyReport['families'] = {},
  large?: LargeNegativeReport,
): TargetCheck[] {
  const extra: TargetCheck[] = large
    ? [{ measure: 'false-positive rate, large negative set', target: '≤ 0.01', value: large.all.rate, pass: large.all.rate <= 0.01 }]
    : [];
  if (large?.social) extra.push(atMost('false-positive rate, large set, social edits', large.social.rate, 0.01));
  const social: TargetCheck[] = [];
  const f = families;
  if (f.vertical) social.push(atLeast('recall@1, vertical 9:16 reframe', f.vertical.recallAt1, 0.9));
  if (f['vertical-blur']) social.push(atLeast('recall@1, blurred-background vertical', f['vertical-blur'].recallAt1, 0.95));
  if (f.split) {
    social.push(atLeast('recall@1, split screen', f.split.recallAt1, 0.9));
    social.push(atMost('split screen: positives listing a wrong video', f.split.extraMatchRate, 0));
  }
  if (f['crop-heavy']) social.push(atLeast('recall@1, crops keeping 40–60 %', f['crop-heavy'].recallAt1, 0.9));
  if (f['inset-small']) social.push(atLeast('recall@1, insets of 12–25 %', f['inset-small'].recallAt1, 0.85));
  if (f['speed-extreme']) {
    social.push(atLeast('recall@1, speed 0.25–0.4× / 2.5–4×', f['speed-extreme'].recallAt1, 0.95));
    social.push(atLeast('segment F, speed 0.25–0.4× / 2.5–4×', f['speed-extreme'].segmentF, 0.85));
  }
  if (f['neg-social']) social.push(atMost('false-positive rate, social negatives', f['neg-social'].falsePositiveRate, 0.01));
  return [
    { measure: 'recall@1, easy edits', target: '≥ 0.99', value: s.easy.recallAt1, pass: s.easy.recallAt1 >= 0.99 },
    { measure: 'recall@1, hard edits', target: '≥ 0.90', value: s.hard.recallAt1, pass: s.hard.recallAt1 >= 0.9 },
    { measure: 'false-positive rate on negatives', target: '≤ 0.01', value: s.negative.falsePositiveRate, pass: s.negative.falsePositiveRate <= 0.01 },
    { measure: 'segment F (VCSL), easy+hard', target: '≥ 0.90', value: easyHardSegF, pass: easyHardSegF >= 0.9 },
    { measure: 'image recall@1', target: '≥ 0.95', value: s.image.imageRecallAt1, pass: s.image.imageRecallAt1 >= 0.95 },
    ...extra,
    ...social,
  ];
}

/** Maps engine matches back to corpus clip names. */
class SourceResolver {
  private readonly byId = new Map<string, string>();
  private readonly byPath = new Map<string, string>();

  add(file: string, path: string, videoId: string | null): void {
    if (videoId) this.byId.set(videoId, file);
    this.byPath.set(resolve(path), file);
    this.byPath.set(basename(path), file);
  }

  resolve(m: { videoId: string; path: string; title: string | null }): string | null {
    return this.byId.get(m.videoId) ?? this.byPath.get(resolve(m.path)) ?? this.byPath.get(basename(m.path)) ?? (m.title && this.byPath.get(m.title)) ?? null;
  }
}

export async function runAccuracyBenchmark(opts: AccuracyOptions): Promise<AccuracyReport> {
  const t0 = Date.now();
  const log = opts.log ?? ((l: string) => console.log(l));
  const environment = { node: process.version, cpus: cpus().length, loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100), git: gitState() };
  const set = await buildQuerySet({
    ...(opts.corpus !== undefined ? { corpus: opts.corpus } : {}),
    ...(opts.holdout !== undefined ? { holdout: opts.holdout } : {}),
    ...(opts.split !== undefined ? { split: opts.split } : {}),
    ...(opts.mixedReference !== undefined ? { mixedReference: opts.mixedReference } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.perFamily !== undefined ? { perFamily: opts.perFamily } : {}),
    ...(opts.negativeMultiplier !== undefined ? { negativeMultiplier: opts.negativeMultiplier } : {}),
    ...(opts.segmentSec !== undefined ? { segmentSec: opts.segmentSec } : {}),
    ...(opts.referenceFraction !== undefined ? { referenceFraction: opts.referenceFraction } : {}),
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.families !== undefined ? { families: opts.families } : {}),
    ...(opts.social ? { social: true } : {}),
    log,
  });
  const negSet = (opts.negatives ?? 0) > 0 ? await buildNegativeSet(set, negativeSetOptions(opts, log)) : null;

  let tmpDir: string | null = null;
  let db = opts.db;
  if (!db) {
    tmpDir = await mkdtemp(join(tmpdir(), 'retrace-accuracy-'));
    db = join(tmpDir, 'db');
  }
  const engine = await (opts.openEngine ?? openRetrace)(db);
  const resolver = new SourceResolver();
  const indexed: AccuracyReport['indexed'] = [];
  const details: QueryDetail[] = [];
  const evaluated: Array<EvaluatedQuery & { family: QueryFamily; difficulty: Difficulty; truthTransform: TruthTransform; transform: TransformOutcome | null }> =
    [];
  const negDetails: QueryDetail[] = [];
  let indexMs: number;
  let searchMs: number;
  let searchNegMs = 0;
  try {
    // Index the reference set.
    const ti = Date.now();
    for (const [i, clip] of set.reference.entries()) {
      const s = Date.now();
      try {
        const r = await engine.index(clip.path, { title: clip.file });
        const ms = Date.now() - s;
        resolver.add(clip.file, clip.path, r.videoId);
        indexed.push({ file: clip.file, videoId: r.videoId, status: r.status, durationSec: r.durationSec, frames: r.frames, ms, error: null });
        log(
          `  [index ${i + 1}/${set.reference.length}] ${clip.file} ${r.durationSec.toFixed(1)}s → ${r.frames} frames, ${r.status}, ${(ms / 1000).toFixed(1)}s`,
        );
      } catch (e) {
        const ms = Date.now() - s;
        const msg = e instanceof Error ? e.message : String(e);
        resolver.add(clip.file, clip.path, null);
        indexed.push({ file: clip.file, videoId: null, status: 'failed', durationSec: clip.durationSec, frames: 0, ms, error: msg });
        log(`  [index ${i + 1}/${set.reference.length}] ${clip.file} FAILED: ${msg}`);
      }
    }
    indexMs = Date.now() - ti;
    log(`indexed ${set.reference.length} reference clips in ${(indexMs / 1000).toFixed(1)}s`);

    // Run every query (sequentially, so latencies are not inflated by contention).
    const ts = Date.now();
    for (const [i, q] of set.queries.entries()) {
      const detail = await runQuery(engine, q, resolver, opts.searchOptions ?? {});
      details.push(detail);
      evaluated.push({
        family: q.family,
        difficulty: q.difficulty,
        kind: q.kind,
        positive: q.positive,
        outcome: detail.outcome,
        latencyMs: detail.latencyMs,
        error: detail.error !== null,
        truthTransform: q.transform,
        transform: detail.transform ?? null,
      });
      log(`  [search ${i + 1}/${set.queries.length}] ${progressLine(detail)}`);
    }
    searchMs = Date.now() - ts;

    // The large negative set, after the regular queries (their latencies stay comparable with earlier runs).
    if (negSet) {
      const tn = Date.now();
      for (const [i, q] of negSet.queries.entries()) {
        const detail = await runQuery(engine, q, resolver, opts.searchOptions ?? {});
        negDetails.push({ ...detail, negFamily: q.negFamily, corpus: q.corpus });
        if (detail.outcome.anyMatch || detail.error || negSet.queries.length <= 100 || (i + 1) % 50 === 0) {
          log(`  [negatives ${i + 1}/${negSet.queries.length}] ${progressLine(detail)}`);
        }
      }
      searchNegMs = Date.now() - tn;
    }
  } finally {
    await engine.close();
    if (tmpDir && !opts.db) await rm(tmpDir, { recursive: true, force: true });
  }

  const families: Partial<Record<QueryFamily, GroupMetrics>> = {};
  for (const f of KNOWN_FAMILIES) {
    const items = evaluated.filter((e) => e.family === f);
    if (items.length > 0) families[f] = aggregate(items);
  }
  const summary = {
    easy: aggregate(evaluated.filter((e) => e.difficulty === 'easy')),
    hard: aggregate(evaluated.filter((e) => e.difficulty === 'hard')),
    negative: aggregate(evaluated.filter((e) => e.difficulty === 'negative')),
    image: aggregate(evaluated.filter((e) => e.difficulty === 'image')),
    social: aggregate(evaluated.filter((e) => e.difficulty === 'social')),
    all: aggregate(evaluated),
  };
  const easyHard = aggregate(evaluated.filter((e) => e.difficulty === 'easy' || e.difficulty === 'hard'));
  const transforms = summariseTransforms(evaluated);
  const largeNegatives = negSet ? summariseLargeNegatives(negSet, negDetails) : undefined;
  const report: AccuracyReport = {
    version: 1,
    createdAt: new Date().toISOString(),
    corpus: set.corpus,
    seed: set.seed,
    params: set.params,
    db: opts.db ?? '(temporary)',
    environment,
    split: {
      mode: set.split,
      corpora: set.corpora,
      poolCorpus: set.poolCorpus,
      reference: set.reference.map((c) => c.file),
      pool: set.pool.map((c) => c.file),
    },
    indexed,
    timingsMs: {
      generate: set.generateMs,
      index: indexMs,
      search: searchMs,
      ...(negSet ? { generateNegatives: negSet.generateMs, searchNegatives: searchNegMs } : {}),
      total: Date.now() - t0,
    },
    summary,
    families,
    transforms,
    targets: [...checkTargets(summary, easyHard.segmentF, families, largeNegatives), ...transformTargets(transforms)],
    queries: details,
    ...(largeNegatives ? { largeNegatives } : {}),
  };
  log('');
  for (const l of formatReport(report)) log(l);
  if (opts.json) {
    await writeFile(
      opts.json,
      JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1),
    );
    log(`report written to ${opts.json}`);
  }
  return report;
}

/** Options of the large negative set, from the benchmark's. */
export function negativeSetOptions(
  opts: Pick<AccuracyOptions, 'negatives' | 'otherCorpus' | 'negativeImageShare' | 'social'>,
  log: (line: string) => void,
): NegativeSetOptions {
  return {
    count: opts.negatives ?? 0,
    ...(opts.social ? { social: true } : {}),
    ...(opts.otherCorpus !== undefined ? { otherCorpus: opts.otherCorpus } : {}),
    ...(opts.negativeImageShare !== undefined ? { imageShare: opts.negativeImageShare } : {}),
    log,
  };
}

/** Commit of the checkout the benchmark runs from, and whether it has local changes (null outside git). */
function gitState(): { commit: string; dirty: boolean } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !==
      '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

async function runQuery(engine: BenchEngine, q: QueryRecord, resolver: SourceResolver, options: SearchOptions): Promise<QueryDetail> {
  const started = performance.now();
  let result: SearchResult | null = null;
  let error: string | null = null;
  try {
    result = await engine.search(q.file, options);
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  const latencyMs = performance.now() - started;
  const matches = (result?.matches ?? []).map((m) => ({
    source: resolver.resolve(m),
    videoId: m.videoId,
    title: m.title,
    score: m.score,
    segments: m.segments.map(stripSegment),
  }));
  const predicted: PredictedMatch[] = matches.map((m) => ({ source: m.source, score: m.score, segments: m.segments }));
  const outcome = evaluateQuery(
    { kind: q.kind, positive: q.positive, source: q.source, truth: q.truth, ...(q.imageTime !== undefined ? { imageTime: q.imageTime } : {}) },
    predicted,
  );
  // Positives: the transform of the right video's best verified segment (none when it is missing or unverified).
  let transform: TransformOutcome | undefined;
  if (q.positive) {
    const right = outcome.rank !== null ? matches[outcome.rank - 1] : undefined;
    transform = evaluateTransform(q.transform, right ? pickTransformSegment(right.segments, q.truth) : null);
  }
  const top = matches[0];
  return {
    id: q.id,
    family: q.family,
    difficulty: q.difficulty,
    kind: q.kind,
    positive: q.positive,
    file: q.file,
    durationSec: q.durationSec,
    params: q.spec,
    expected: {
      source: q.source,
      segments: q.truth,
      ...(q.imageTime !== undefined ? { imageTime: q.imageTime } : {}),
      origin: q.origin,
      transform: q.transform,
    },
    got: {
      top1: top ? { source: top.source, videoId: top.videoId, score: top.score, segments: top.segments } : null,
      matches,
    },
    outcome,
    ...(transform ? { transform } : {}),
    latencyMs: Math.round(latencyMs * 10) / 10,
    engineTimingsMs: result ? { ...result.timingsMs } : null,
    error,
  };
}

function progressLine(d: QueryDetail): string {
  const top = d.got.top1;
  const topStr = top ? `${top.source ?? top.videoId} ${top.score.toFixed(2)}` : 'no match';
  let verdict: string;
  if (d.error) verdict = `ERROR ${d.error}`;
  else if (!d.positive) verdict = d.outcome.anyMatch ? 'FALSE POSITIVE' : 'ok (no match)';
  else if (d.kind === 'image') {
    verdict = d.outcome.top1Correct ? `ok, ts err ${d.outcome.timestampError?.toFixed(2) ?? '—'}s` : `MISS (want ${d.expected.source})`;
  } else {
    verdict = d.outcome.top1Correct ? `ok, F ${d.outcome.segment?.f.toFixed(2) ?? '—'}` : `MISS (want ${d.expected.source})`;
  }
  return `${d.id.padEnd(18)} ${verdict} · top: ${topStr} · ${Math.round(d.latencyMs)}ms`;
}

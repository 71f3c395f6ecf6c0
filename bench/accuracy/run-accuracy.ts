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

import type { IndexOptions, IndexResult, SearchOptions, SearchResult } from '../../src/core/engine/types.js';
import { ALL_FAMILIES, type Difficulty, type QueryFamily } from './edit-families.js';
import { aggregate, evaluateQuery, type EvaluatedQuery, type GroupMetrics, type PredictedMatch, type QueryOutcome, type Segment2D } from './metrics.js';
import { buildQuerySet, type QueryRecord, type QuerySet } from './query-set.js';

/** The part of the engine the benchmark uses (the `Retrace` class of src/index.ts). */
export interface BenchEngine {
  index(path: string, options?: IndexOptions): Promise<IndexResult>;
  search(path: string, options?: SearchOptions): Promise<SearchResult>;
  close(): Promise<void>;
}

export type OpenEngine = (db: string) => Promise<BenchEngine>;

/** Opens the real engine: `Retrace.open({ db })` from src/index.ts (loaded lazily, so tests with a fake engine stay light). */
export async function openRetrace(db: string): Promise<BenchEngine> {
  const { Retrace } = await import('../../src/index.js');
  return Retrace.open({ db });
}

export interface AccuracyOptions {
  corpus: string;
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
  /** Options passed to every search. */
  searchOptions?: SearchOptions;
  log?: (line: string) => void;
  /** Engine factory (tests inject a fake; default opens Retrace). */
  openEngine?: OpenEngine;
}

export interface QueryDetail {
  id: string;
  family: QueryFamily;
  difficulty: Difficulty;
  kind: 'video' | 'image';
  positive: boolean;
  file: string;
  durationSec: number;
  params: unknown;
  expected: { source: string | null; segments: Segment2D[]; imageTime?: number; origin: string };
  got: {
    top1: { source: string | null; videoId: string; score: number; segments: Segment2D[] } | null;
    matches: Array<{ source: string | null; videoId: string; title: string | null; score: number; segments: Array<Segment2D & { score: number; matchedFrames: number }> }>;
  };
  outcome: QueryOutcome;
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

export interface AccuracyReport {
  version: 1;
  createdAt: string;
  corpus: string;
  seed: number;
  params: QuerySet['params'];
  db: string;
  /** Context for the latency figures and for reproducing the run. */
  environment: { node: string; cpus: number; loadAvgAtStart: number[]; git: { commit: string; dirty: boolean } | null };
  split: { reference: string[]; pool: string[] };
  indexed: Array<{ file: string; videoId: string | null; status: string; durationSec: number; frames: number; ms: number; error: string | null }>;
  timingsMs: { generate: number; index: number; search: number; total: number };
  summary: Record<Difficulty | 'all', GroupMetrics>;
  families: Partial<Record<QueryFamily, GroupMetrics>>;
  targets: TargetCheck[];
  queries: QueryDetail[];
}

function stripSegment(s: { queryStart: number; queryEnd: number; refStart: number; refEnd: number; score?: number; matchedFrames?: number }): Segment2D & {
  score: number;
  matchedFrames: number;
} {
  return {
    queryStart: s.queryStart,
    queryEnd: s.queryEnd,
    refStart: s.refStart,
    refEnd: s.refEnd,
    score: s.score ?? 0,
    matchedFrames: s.matchedFrames ?? 0,
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
  const out: string[] = [];
  out.push(row(head));
  out.push('-'.repeat(row(head).length));
  for (const f of ALL_FAMILIES) {
    const m = r.families[f];
    if (m) out.push(line(f, familyDifficultyOf(r, f), m));
  }
  out.push('-'.repeat(row(head).length));
  for (const d of ['easy', 'hard', 'negative', 'image', 'all'] as const) {
    if (r.summary[d].queries > 0) out.push(line(d.toUpperCase(), '', r.summary[d]));
  }
  out.push('');
  out.push('R@1/Rany/seg*: video positives; FPR: negatives with any match; imgR@1 & tsErr (median s): image positives;');
  out.push('extra: positives that also listed a wrong video; latency: wall-clock per search.');
  out.push('');
  out.push('targets:');
  for (const t of r.targets) out.push(`  ${!Number.isFinite(t.value) ? 'n/a ' : t.pass ? 'PASS' : 'MISS'}  ${t.measure.padEnd(34)} ${fmt(t.value, 3).padStart(6)}  (target ${t.target})`);
  out.push(
    `engine: ${r.environment.git ? `${r.environment.git.commit.slice(0, 10)}${r.environment.git.dirty ? ' + uncommitted src changes' : ''}` : 'unknown revision'}; ${r.environment.cpus} cpus, load ${r.environment.loadAvgAtStart.join(' ')} at start`,
  );
  out.push(
    `timings: generate ${(r.timingsMs.generate / 1000).toFixed(1)}s, index ${(r.timingsMs.index / 1000).toFixed(1)}s, search ${(r.timingsMs.search / 1000).toFixed(1)}s, total ${(r.timingsMs.total / 1000).toFixed(1)}s`,
  );
  return out;
}

function familyDifficultyOf(r: AccuracyReport, f: QueryFamily): string {
  return r.queries.find((q) => q.family === f)?.difficulty ?? '';
}

function checkTargets(s: AccuracyReport['summary']): TargetCheck[] {
  const positives = aggregateSegF(s);
  return [
    { measure: 'recall@1, easy edits', target: '≥ 0.99', value: s.easy.recallAt1, pass: s.easy.recallAt1 >= 0.99 },
    { measure: 'recall@1, hard edits', target: '≥ 0.90', value: s.hard.recallAt1, pass: s.hard.recallAt1 >= 0.9 },
    { measure: 'false-positive rate on negatives', target: '≤ 0.01', value: s.negative.falsePositiveRate, pass: s.negative.falsePositiveRate <= 0.01 },
    { measure: 'segment F (VCSL), easy+hard', target: '≥ 0.90', value: positives, pass: positives >= 0.9 },
    { measure: 'image recall@1', target: '≥ 0.95', value: s.image.imageRecallAt1, pass: s.image.imageRecallAt1 >= 0.95 },
  ];
}

function aggregateSegF(s: AccuracyReport['summary']): number {
  // `all` averages F over every video positive (easy + hard).
  return s.all.segmentF;
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
    corpus: opts.corpus,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.perFamily !== undefined ? { perFamily: opts.perFamily } : {}),
    ...(opts.negativeMultiplier !== undefined ? { negativeMultiplier: opts.negativeMultiplier } : {}),
    ...(opts.segmentSec !== undefined ? { segmentSec: opts.segmentSec } : {}),
    ...(opts.referenceFraction !== undefined ? { referenceFraction: opts.referenceFraction } : {}),
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.families !== undefined ? { families: opts.families } : {}),
    log,
  });

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
  const evaluated: Array<EvaluatedQuery & { family: QueryFamily; difficulty: Difficulty }> = [];
  let indexMs = 0;
  let searchMs = 0;
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
        log(`  [index ${i + 1}/${set.reference.length}] ${clip.file} ${r.durationSec.toFixed(1)}s → ${r.frames} frames, ${r.status}, ${(ms / 1000).toFixed(1)}s`);
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
      });
      log(`  [search ${i + 1}/${set.queries.length}] ${progressLine(detail)}`);
    }
    searchMs = Date.now() - ts;
  } finally {
    await engine.close();
    if (tmpDir && !opts.db) await rm(tmpDir, { recursive: true, force: true });
  }

  const families: Partial<Record<QueryFamily, GroupMetrics>> = {};
  for (const f of ALL_FAMILIES) {
    const items = evaluated.filter((e) => e.family === f);
    if (items.length > 0) families[f] = aggregate(items);
  }
  const summary = {
    easy: aggregate(evaluated.filter((e) => e.difficulty === 'easy')),
    hard: aggregate(evaluated.filter((e) => e.difficulty === 'hard')),
    negative: aggregate(evaluated.filter((e) => e.difficulty === 'negative')),
    image: aggregate(evaluated.filter((e) => e.difficulty === 'image')),
    all: aggregate(evaluated),
  };
  const report: AccuracyReport = {
    version: 1,
    createdAt: new Date().toISOString(),
    corpus: set.corpus,
    seed: set.seed,
    params: set.params,
    db: opts.db ?? '(temporary)',
    environment,
    split: { reference: set.reference.map((c) => c.file), pool: set.pool.map((c) => c.file) },
    indexed,
    timingsMs: { generate: set.generateMs, index: indexMs, search: searchMs, total: Date.now() - t0 },
    summary,
    families,
    targets: checkTargets(summary),
    queries: details,
  };
  log('');
  for (const l of formatReport(report)) log(l);
  if (opts.json) {
    await writeFile(opts.json, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1));
    log(`report written to ${opts.json}`);
  }
  return report;
}

/** Commit of the checkout the benchmark runs from, and whether it has local changes (null outside git). */
function gitState(): { commit: string; dirty: boolean } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
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
    expected: { source: q.source, segments: q.truth, ...(q.imageTime !== undefined ? { imageTime: q.imageTime } : {}), origin: q.origin },
    got: {
      top1: top ? { source: top.source, videoId: top.videoId, score: top.score, segments: top.segments } : null,
      matches,
    },
    outcome,
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

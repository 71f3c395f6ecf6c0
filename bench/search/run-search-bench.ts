/**
 * The search benchmark: fills a scratch index with N frames whose descriptors follow the real
 * distribution (synthetic videos cut, re-framed and re-encoded from real corpus frames, see
 * synthetic-videos.ts), then measures what a user pays at that size:
 *  - load rate and ANN index build time (the HNSW indexes are dropped for the bulk load and
 *    rebuilt with the engine's own DDL afterwards, timed);
 *  - database bytes per frame (rows + indexes, pg_total_relation_size), by relation;
 *  - ANN recall@k against exact search (the same query with index scans disabled), at several
 *    ef_search values;
 *  - p50/p95 latency of an image query (1 frame → its first-tier regions: whole and mirrored
 *    against both stored variants, the centre against the stored centre) and of a 30-frame video
 *    query (the same per frame: 60 vectors against the whole variant, 90 against the centre) through FrameStore.knn
 *    (candidate retrieval), and of the alignment step on those candidates, separately;
 *  - the cost of inserting one more 5-minute video with the indexes in place;
 *  - end to end: `Retrace.search` of a 30 s 720p clip (a copy of a video indexed into the big
 *    index, and a clip with no copy, which runs the costly second tier);
 *  - optionally, alternative index types on the same data (halfvec, a lighter graph, IVFFlat,
 *    binary codes with re-ranking), to choose a remedy by measurement;
 *  - optionally (`storedWindows`), an index with stored windows: each frame's strips and quadrant
 *    stored too, and their cost in bytes, latency and recall reported (window-bench.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';

import { BuiltinDescriptor, DEFAULT_SEARCH, Retrace, resolveFfmpegPaths } from '../../src/index.js';
import type { SearchResult } from '../../src/index.js';
import { DEFAULT_ANN, FrameStore } from '../../src/db/frame-store.js';
import type { StoredFrame } from '../../src/db/frame-store.js';
import type { SqlClient } from '../../src/db/sql-client.js';

import { benchCacheDir } from '../common/cache-dir.js';
import { writeJsonReport } from '../common/json.js';
import { describeMachine, machineInfo } from '../common/machine.js';
import type { MachineInfo } from '../common/machine.js';
import { MemorySampler } from '../common/memory.js';
import { Prng } from '../common/random.js';
import { scratchDatabase } from '../common/scratch-db.js';
import { median, percentile, round, summarize } from '../common/stats.js';
import type { Summary } from '../common/stats.js';
import { formatTable } from '../common/table.js';
import { alignCandidates } from './alignment.js';
import { ALTERNATIVES, exactKnn, hitsByQuery, measureAlternatives, recallAtK } from './ann-experiments.js';
import type { AlternativeResult } from './ann-experiments.js';
import { loadSourceClips } from './source-frames.js';
import type { SourceClip } from './source-frames.js';
import { DIMS, SyntheticReader, ensureSynthetic, ensureSyntheticWindows, framesOfVideo, sourceSetId, syntheticSet } from './synthetic-cache.js';
import type { SyntheticSet } from './synthetic-cache.js';
import {
  SYNTH_DISPLAY_ASPECT,
  SYNTH_HEIGHT,
  SYNTH_VERSION,
  SYNTH_WIDTH,
  describeQuery,
  describeStored,
  randomCopyEdit,
  renderFrame,
  videoSpec,
} from './synthetic-videos.js';
import {
  WINDOW_COLUMNS,
  makeWindowQueries,
  measureWindowPoint,
  printWindowsReport,
  rebuildWindowGraphs,
  windowAnn,
  windowRecallSample,
  windowRowBytes,
} from './window-bench.js';
import type { WindowsReport } from './window-bench.js';

/** The tuning corpus beside the checkout (`../shared/corpus/videos`), or RETRACE_BENCH_CORPUS. */
export const DEFAULT_SOURCES = process.env.RETRACE_BENCH_CORPUS ?? fileURLToPath(new URL('../../../shared/corpus/videos', import.meta.url));

export interface SearchBenchOptions {
  /** Frames (not vectors: every frame stores 2) to fill the index with. */
  frames: number;
  /** `postgres://…` (a scratch database is created on that server and dropped after), a new PGlite directory, or `memory://`. Default: a temporary PGlite directory. */
  db?: string;
  json?: string;
  /** Small and fast (CI): fewer queries, short end-to-end clips, no alternatives. */
  quick?: boolean;
  log?: (s: string) => void;
  /** Videos (files/folders) whose frames the synthetic content is made from. Default: RETRACE_BENCH_CORPUS or ../shared/corpus/videos beside the checkout. */
  sources?: string[];
  seed?: number;
  /** Length of every synthetic video in frames (= seconds at 1 frame/s). Default 300 (quick: 100). */
  framesPerVideo?: number;
  /** Where decoded source frames, synthetic descriptors and clips are cached. */
  cacheDir?: string;
  imageQueries?: number;
  videoQueries?: number;
  /** Query vectors (per variant) whose exact neighbours are computed for recall. */
  recallVectors?: number;
  /** ef_search values to sweep for recall and latency (the engine default is always included). */
  efSearch?: number[];
  /** End-to-end search of real clips (default true). */
  e2e?: boolean;
  /** Keep the scratch database; with a server URL or a directory, a later run with the same N/seed reuses it without reloading. */
  keepDb?: boolean;
  /** Measure alternative ANN index types (names from ALTERNATIVES, or true for all). */
  alternatives?: boolean | string[];
  /** Session settings for the scratch server database, e.g. { maintenance_work_mem: '1GB' }. */
  serverSettings?: Record<string, string>;
  /** Build the engine's HNSW indexes after loading (default true). Without them queries are exact scans: for sizes where the build is impractical (PGlite at 1M), alternatives are then built alone. */
  buildIndex?: boolean;
  /** An index with stored windows (`Retrace.open({ storedWindows: true })`): frames carry their strips and quadrant, and the report gets `windows`. */
  storedWindows?: boolean;
  /** With `storedWindows`: also rebuild the window graphs at these HNSW degrees and measure them again. */
  windowM?: number[];
}

export interface LatencyBlock {
  /** Both variant calls issued concurrently, as search.ts does. */
  knnMs: Summary;
  /** The same two calls one after the other (what search.ts did before; what PGlite does anyway). */
  knnSequentialMs: Summary;
  alignMs: Summary | null;
  /** Query vectors per FrameStore.knn call. */
  vectorsPerCall: number;
  calls: number;
}

export interface EfPoint {
  efSearch: number;
  /** Mean of the two stored variants' recall@k. */
  recall: number;
  /** Recall@k per stored variant (0 whole picture, 1 centre region). */
  recallByVariant?: [number, number];
  videoKnnP50Ms: number;
  imageKnnP50Ms: number;
}

export interface SearchBenchReport {
  kind: 'search';
  version: 1;
  machine: MachineInfo;
  settings: {
    frames: number;
    vectors: number;
    videos: number;
    framesPerVideo: number;
    seed: number;
    dialect: 'pglite' | 'postgres';
    db: string;
    ann: typeof DEFAULT_ANN;
    k: number;
    imageK: number;
    sources: string[];
    sourceFrames: number;
    synthVersion: number;
    quick: boolean;
    serverSettings: Record<string, string>;
    /** Present (true) only for an index with stored windows. */
    storedWindows?: true;
  };
  synthesis: { generated: number; seconds: number; cacheFile: string };
  /** Similarity percentiles that show the synthetic content is like the real one. */
  distribution: {
    realRandomPairs: number[];
    syntheticRandomPairs: number[];
    syntheticAdjacentFrames: number[];
    copyPairs: number[];
    percentiles: number[];
  };
  load: { reused: boolean; seconds: number; framesPerSec: number };
  build: { reused: boolean; seconds: number };
  storage: {
    databaseBytes: number;
    bytesPerFrame: number;
    /** (`frames` with all its indexes) / frames. */
    frameBytesPerFrame: number;
    relations: Array<{ name: string; kind: string; bytes: number; bytesPerFrame: number }>;
  };
  recall: { k: number; queries: number; atDefault: number; sweep: EfPoint[]; imageK: number; imageQueries: number; imageAtDefault: number };
  image: LatencyBlock;
  video: LatencyBlock & { framesPerQuery: number; copyFoundAt1: number };
  incrementalInsert: { frames: number; msPerFrame: number; batchFrames: number } | null;
  e2e: {
    clipSec: number;
    copy: { totalMs: Summary; decodeMs: number; describeMs: number; knnMs: number; alignMs: number; found: number } | null;
    miss: { totalMs: Summary; decodeMs: number; describeMs: number; knnMs: number; alignMs: number } | null;
  } | null;
  alternatives: AlternativeResult[];
  memory: { peakRssMb: number; vmHwmMb: number | null };
  targets: Array<{ measure: string; target: string; value: number | null; pass: boolean | null; note?: string }>;
  /** Only with `storedWindows`. */
  windows?: WindowsReport;
  wallSec: number;
}

interface QueryVideo {
  video: number;
  t0: number;
  frameTimes: number[];
  /** Tier-1 region vectors of each good frame compared with both stored variants (whole, mirrored). */
  frames: Float32Array[][];
  /** Tier-1 region vectors of each good frame compared with the stored centre only. */
  centres: Float32Array[][];
}

/** The two variant calls of a first-tier search: both-variant regions, plus centre-only ones against the centre. */
function variantBatches(frames: readonly Float32Array[][], centres: readonly Float32Array[][]): [Float32Array[], Float32Array[]] {
  const both = frames.flat();
  return [both, [...both, ...centres.flat()]];
}

const LOAD_BATCH_FRAMES = { pglite: 1000, postgres: 2500 } as const;

function storedFrames(frames: Awaited<ReturnType<SyntheticReader['video']>>): StoredFrame[] {
  return frames.map((f) => ({
    frameNumber: f.t * 25,
    timestampSec: f.t,
    isKeyframe: false,
    quality: f.quality,
    vectors: [{ variant: 0, embedding: f.v0 }, { variant: 1, embedding: f.v1 }, ...(f.windows ?? []).map((w) => ({ variant: w.variant, embedding: w.vector }))],
  }));
}

function newVideo(seed: number, v: number, frames: number) {
  return {
    contentHash: `bench-synthetic-s${seed}-v${v}`,
    path: `synthetic://s${seed}/v${v}`,
    title: `synthetic ${v}`,
    durationSec: frames,
    fps: 25,
    width: SYNTH_WIDTH,
    height: SYNTH_HEIGHT,
    codec: 'h264',
    metadata: { synthetic: true },
  };
}

/** Load synthetic videos through FrameStore in large batches; `parallel` videos in flight (server only). */
async function loadIndex(
  store: FrameStore,
  set: SyntheticSet,
  total: number,
  batchFrames: number,
  parallel: number,
  log: (s: string) => void,
  windows: boolean,
): Promise<{ seconds: number; ids: Map<string, number> }> {
  const videos = Math.ceil(total / set.framesPerVideo);
  const ids = new Map<string, number>();
  const readers = Array.from({ length: parallel }, () => new SyntheticReader(set, windows));
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  let lastLog = t0;
  const worker = async (reader: SyntheticReader) => {
    for (;;) {
      const v = next++;
      if (v >= videos) return;
      const count = framesOfVideo(set, v, total);
      const frames = storedFrames(await reader.video(v, count));
      const id = await store.beginVideo(newVideo(set.seed, v, count));
      ids.set(id, v);
      for (let i = 0; i < frames.length; i += batchFrames) await store.addFrames(id, frames.slice(i, i + batchFrames));
      await store.finishVideo(id, count, count);
      done += count;
      const now = performance.now();
      if (now - lastLog > 15_000) {
        lastLog = now;
        const rate = done / ((now - t0) / 1000);
        log(`  loading: ${done}/${total} frames, ${rate.toFixed(0)} frames/s, ~${((total - done) / rate).toFixed(0)} s left`);
      }
    }
  };
  try {
    await Promise.all(readers.map(worker));
  } finally {
    for (const r of readers) await r.close();
  }
  return { seconds: (performance.now() - t0) / 1000, ids };
}

async function relationSizes(sql: SqlClient, frames: number): Promise<SearchBenchReport['storage']['relations']> {
  const r = await sql.query<{ name: string; kind: string; bytes: string }>(
    `SELECT c.relname AS name, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index' ELSE c.relkind::text END AS kind,
            pg_relation_size(c.oid)::text AS bytes
       FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
      WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'i')
        AND (c.relname LIKE 'frame_%' OR c.relname LIKE 'videos%')
      ORDER BY pg_relation_size(c.oid) DESC`,
  );
  return r.rows.map((x) => ({ name: x.name, kind: x.kind, bytes: Number(x.bytes), bytesPerFrame: Number(x.bytes) / frames }));
}

async function totalRelationBytes(sql: SqlClient, table: string): Promise<number> {
  const r = await sql.query<{ n: string }>(`SELECT pg_total_relation_size('${table}')::text AS n`);
  return Number(r.rows[0].n);
}

/** The 30-frame (0.5 s apart, like search samples a clip) copies of stretches of indexed synthetic videos. */
function makeVideoQueries(set: SyntheticSet, total: number, n: number, framesPerQuery: number, rng: Prng): QueryVideo[] {
  const videos = Math.ceil(total / set.framesPerVideo);
  const out: QueryVideo[] = [];
  const interval = DEFAULT_SEARCH.queryIntervalSec;
  const span = framesPerQuery * interval;
  let guard = 0;
  while (out.length < n && guard++ < n * 20) {
    const v = rng.int(0, videos - 1);
    const count = framesOfVideo(set, v, total);
    if (count < span + 2) continue;
    const t0 = rng.int(0, Math.floor(count - span - 1));
    const spec = videoSpec(set.seed, v, set.framesPerVideo, set.clips);
    const edit = randomCopyEdit(rng);
    const frameTimes: number[] = [];
    const frames: Float32Array[][] = [];
    const centres: Float32Array[][] = [];
    for (let i = 0; i < framesPerQuery; i++) {
      const tq = i * interval;
      const q = describeQuery(renderFrame(spec, t0 + tq, set.clips, edit));
      // Search drops flat frames before retrieval; so does the benchmark.
      if (q.quality < DEFAULT_SEARCH.evidence.minQuality) continue;
      frameTimes.push(tq);
      frames.push(q.regions);
      centres.push(q.centre);
    }
    if (frames.length >= Math.min(10, framesPerQuery)) out.push({ video: v, t0, frameTimes, frames, centres });
  }
  return out;
}

function makeImageQueries(
  set: SyntheticSet,
  total: number,
  n: number,
  rng: Prng,
): Array<{ video: number; t: number; regions: Float32Array[]; centre: Float32Array[] }> {
  const videos = Math.ceil(total / set.framesPerVideo);
  const out: Array<{ video: number; t: number; regions: Float32Array[]; centre: Float32Array[] }> = [];
  let guard = 0;
  while (out.length < n && guard++ < n * 20) {
    const v = rng.int(0, videos - 1);
    const count = framesOfVideo(set, v, total);
    if (count < 1) continue;
    const t = rng.int(0, count - 1);
    const q = describeQuery(renderFrame(videoSpec(set.seed, v, set.framesPerVideo, set.clips), t, set.clips, randomCopyEdit(rng)));
    if (q.quality < DEFAULT_SEARCH.evidence.minQuality) continue;
    out.push({ video: v, t, regions: q.regions, centre: q.centre });
  }
  return out;
}

/** Similarity percentiles: real frames vs synthetic frames vs copies, to check the synthetic set looks real. */
function distributionCheck(set: SyntheticSet, rng: Prng, samples: number): SearchBenchReport['distribution'] {
  const ps = [5, 50, 95, 99];
  const dot = (a: Float32Array, b: Float32Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  const real: Float32Array[] = [];
  for (const c of set.clips) for (let i = 0; i < c.frames.length; i += 2) real.push(describeStored(c.frames[i]).vectors[0]);
  const realPairs: number[] = [];
  for (let i = 0; i < samples; i++) realPairs.push(dot(rng.pick(real), rng.pick(real)));
  const synth: Float32Array[] = [];
  const adj: number[] = [];
  const copies: number[] = [];
  const nv = Math.max(4, Math.round(samples / 50));
  for (let v = 0; v < nv; v++) {
    const spec = videoSpec(set.seed, v, set.framesPerVideo, set.clips);
    for (let k = 0; k < 10; k++) {
      const t = rng.int(0, set.framesPerVideo - 2);
      const a = describeStored(renderFrame(spec, t, set.clips)).vectors[0];
      const b = describeStored(renderFrame(spec, t + 1, set.clips)).vectors[0];
      const c = describeQuery(renderFrame(spec, t, set.clips, randomCopyEdit(rng))).regions[0];
      synth.push(a);
      adj.push(dot(a, b));
      copies.push(dot(a, c));
    }
  }
  const synthPairs: number[] = [];
  for (let i = 0; i < samples; i++) synthPairs.push(dot(rng.pick(synth), rng.pick(synth)));
  const pct = (xs: number[]) => ps.map((p) => round(percentile(xs, p), 3));
  return { realRandomPairs: pct(realPairs), syntheticRandomPairs: pct(synthPairs), syntheticAdjacentFrames: pct(adj), copyPairs: pct(copies), percentiles: ps };
}

function runFfmpeg(args: string[]): Promise<void> {
  const { ffmpeg } = resolveFfmpegPaths();
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-2000);
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg failed: ${err.trim()}`))));
  });
}

async function cachedClip(path: string, args: (out: string) => string[]): Promise<string> {
  if (existsSync(path)) return path;
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.part.mp4`;
  await runFfmpeg(args(tmp));
  await rename(tmp, path);
  return path;
}

/**
 * End-to-end clips: a reference (indexed into the big index), a re-encoded copy of it (the
 * query), and a clip with no copy in the index. 30 s of 1280×720 H.264 (quick: 6 s of 640×360).
 */
async function e2eClips(
  cacheDir: string,
  sources: readonly SourceClip[],
  sourcePaths: string[],
  quick: boolean,
): Promise<{ ref: string; copy: string; miss: string; seconds: number }> {
  const seconds = quick ? 6 : 30;
  const size = quick ? '640x360' : '1280x720';
  const tag = quick ? 'quick' : '720p';
  // A real source clip when one is long enough, else a synthetic pattern.
  const { expandInputs } = await import('../common/inputs.js');
  const { probeMedia } = await import('../../src/index.js');
  let src: string | null = null;
  for (const p of await expandInputs(sourcePaths)) {
    try {
      const info = await probeMedia(p);
      if (info.kind === 'video' && info.durationSec >= seconds && info.width >= (quick ? 640 : 1280)) {
        src = p;
        break;
      }
    } catch {
      // skip
    }
  }
  void sources;
  const ref = await cachedClip(join(cacheDir, `e2e-ref-${tag}.mp4`), (out) => [
    ...(src ? ['-i', src] : ['-f', 'lavfi', '-i', `life=size=${size}:rate=25:ratio=0.3:mold=10:life_color=#00ff80:death_color=#402010`]),
    '-t',
    String(seconds),
    '-vf',
    `scale=${size.replace('x', ':')},setsar=1`,
    '-r',
    '25',
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    '-pix_fmt',
    'yuv420p',
    out,
  ]);
  const copy = await cachedClip(join(cacheDir, `e2e-copy-${tag}.mp4`), (out) => [
    '-i',
    ref,
    '-vf',
    'eq=brightness=0.06:contrast=1.1',
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '32',
    '-pix_fmt',
    'yuv420p',
    out,
  ]);
  const miss = await cachedClip(join(cacheDir, `e2e-miss-${tag}.mp4`), (out) => [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=25:duration=${seconds}`,
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '28',
    '-pix_fmt',
    'yuv420p',
    out,
  ]);
  return { ref, copy, miss, seconds };
}

function e2eSummary(runs: SearchResult[]) {
  const med = (g: (r: SearchResult) => number) => median(runs.map(g));
  return {
    totalMs: summarize(runs.map((r) => r.timingsMs.total)),
    decodeMs: med((r) => r.timingsMs.decode),
    describeMs: med((r) => r.timingsMs.describe),
    knnMs: med((r) => r.timingsMs.knn),
    alignMs: med((r) => r.timingsMs.align),
  };
}

/**
 * Run the search benchmark at one index size; prints tables through `log` and returns (and
 * optionally writes) the JSON report.
 *
 * @example
 * const r = await runSearchBench({ frames: 100_000, db: 'postgres://postgres@127.0.0.1:54329/retrace_test' });
 */
export async function runSearchBench(opts: SearchBenchOptions): Promise<SearchBenchReport> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const tStart = performance.now();
  const quick = !!opts.quick;
  const frames = Math.max(1, Math.floor(opts.frames));
  const seed = opts.seed ?? 1;
  const framesPerVideo = opts.framesPerVideo ?? (quick ? 100 : 300);
  const cacheDir = opts.cacheDir ?? benchCacheDir();
  const sources = opts.sources ?? [DEFAULT_SOURCES];
  const k = DEFAULT_SEARCH.k;
  // Image queries fetch more neighbours per region than video queries (for a reliable background).
  const imageK = (DEFAULT_SEARCH as { imageK?: number }).imageK ?? k;
  // Without the ANN index every query is a full scan: keep the counts small.
  const exactOnly = opts.buildIndex === false;
  const nImage = Math.min(opts.imageQueries ?? (quick ? 8 : 50), exactOnly ? 5 : Infinity);
  const nVideo = Math.min(opts.videoQueries ?? (quick ? 4 : 30), exactOnly ? 3 : Infinity);
  const nRecall = Math.min(opts.recallVectors ?? (quick ? 16 : 100), exactOnly ? 40 : Infinity);
  const efValues = exactOnly
    ? [DEFAULT_ANN.efSearch]
    : [...new Set([...(opts.efSearch ?? (quick ? [40, 100] : [40, 100, 200, 400])), DEFAULT_ANN.efSearch])].sort((a, b) => a - b);
  const { ffmpeg } = resolveFfmpegPaths();
  const machine = machineInfo(ffmpeg);
  const memory = new MemorySampler({ intervalMs: 200, childNames: [] }).start();
  log(`search bench: ${frames} frames (${2 * frames} vectors), machine ${describeMachine(machine)}`);

  const clips = await loadSourceClips(sources, cacheDir, log);
  const set = syntheticSet(clips, seed, framesPerVideo, cacheDir);
  const videos = Math.ceil(frames / framesPerVideo);
  // One extra video beyond N for the incremental-insert measurement.
  const synthesis = await ensureSynthetic(set, (videos + 1) * framesPerVideo, log);
  if (synthesis.generated) log(`synthesised ${synthesis.generated} frames in ${synthesis.seconds.toFixed(0)} s → ${set.cacheFile}`);
  const windows = !!opts.storedWindows;
  if (windows) {
    const w = await ensureSyntheticWindows(set, (videos + 1) * framesPerVideo, log);
    if (w.generated) log(`synthesised the stored windows of ${w.generated} frames in ${w.seconds.toFixed(0)} s → ${set.windowsFile}`);
  }

  const serverSettings = opts.serverSettings ?? {};
  const scratch = await scratchDatabase({
    db: opts.db,
    name: `retrace_bench_${frames}_s${seed}_${quick ? 'q' : 'f'}${windows ? '_w' : ''}`,
    keep: opts.keepDb,
    settings: serverSettings,
  });
  const descriptor = new BuiltinDescriptor();
  let engine: Retrace | null = null;
  try {
    engine = await Retrace.open({ db: scratch.location, descriptor, ...(windows ? { storedWindows: true } : {}) });
    const sql = engine.sql;
    const store = new FrameStore(sql, DEFAULT_ANN);
    await store.bindDescriptor(descriptor.id, descriptor.dimensions);
    if (opts.buildIndex === false) {
      // The engine's open made the (empty) HNSW indexes: keep them out of this index.
      await sql.exec(FrameStore.annIndexNames.map((n) => `DROP INDEX IF EXISTS ${n};`).join(' '));
    }
    const marker = {
      frames,
      seed,
      framesPerVideo,
      synthVersion: SYNTH_VERSION,
      sources: sourceSetId(clips),
      built: opts.buildIndex !== false,
      // Only an index with windows records them (and their graphs' degree), so that indexes kept by earlier runs are reused.
      ...(windows ? { windows: set.windowsFile, windowM: DEFAULT_ANN.windowM } : {}),
    };
    const prior = await sql.query<{ value: typeof marker & { loadSec: number; buildSec: number } }>(`SELECT value FROM retrace_settings WHERE key = 'bench'`);
    // Markers written before the `built` field existed always had the indexes built.
    const priorValue = prior.rows[0]?.value ? { ...prior.rows[0].value, built: (prior.rows[0].value as { built?: boolean }).built ?? true } : null;
    const reuse = !!priorValue && (Object.keys(marker) as Array<keyof typeof marker>).every((key) => priorValue[key] === marker[key]);

    let loadSec: number;
    let buildSec: number;
    let ids: Map<string, number>;
    if (reuse) {
      loadSec = priorValue!.loadSec;
      buildSec = priorValue!.buildSec;
      const r = await sql.query<{ id: string; path: string }>(`SELECT id, path FROM videos WHERE path LIKE 'synthetic://%'`);
      ids = new Map(r.rows.map((x) => [x.id, Number(/\/v(\d+)$/.exec(x.path)![1])]));
      log(`reusing the loaded index in ${scratch.location} (${ids.size} videos; load ${loadSec.toFixed(0)} s, build ${buildSec.toFixed(0)} s when made)`);
    } else {
      // A kept database from a different configuration: start from empty.
      await sql.exec(`DELETE FROM videos; DELETE FROM retrace_settings WHERE key = 'bench';`);
      // Bulk load without the ANN indexes, then build them with the engine's own DDL.
      await sql.exec(FrameStore.annIndexNames.map((n) => `DROP INDEX IF EXISTS ${n};`).join(' '));
      log(`loading ${frames} frames as ${videos} videos of ${framesPerVideo} s into ${scratch.dialect} ${sql.location}…`);
      const loaded = await loadIndex(store, set, frames, LOAD_BATCH_FRAMES[scratch.dialect], scratch.dialect === 'postgres' ? 2 : 1, log, windows);
      loadSec = loaded.seconds;
      ids = loaded.ids;
      log(`loaded in ${loadSec.toFixed(1)} s (${(frames / loadSec).toFixed(0)} frames/s); building the HNSW indexes…`);
      await sql.exec('ANALYZE');
      if (opts.buildIndex === false) {
        buildSec = NaN;
        log('HNSW build skipped (--no-build): queries below are exact scans');
      } else {
        const tb = performance.now();
        await store.bindDescriptor(descriptor.id, descriptor.dimensions);
        buildSec = (performance.now() - tb) / 1000;
        log(`built in ${buildSec.toFixed(1)} s`);
      }
      await sql.exec('ANALYZE');
      await sql.query(`INSERT INTO retrace_settings (key, value) VALUES ('bench', $1::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [
        JSON.stringify({ ...marker, loadSec, buildSec }),
      ]);
    }

    // Storage.
    const relations = await relationSizes(sql, frames);
    const databaseBytes = await sql.databaseBytes();
    const frameBytes = await totalRelationBytes(sql, 'frames');

    // Queries.
    const rng = new Prng(seed * 1_000_003 + 17);
    const distribution = distributionCheck(set, new Prng(seed + 5), quick ? 200 : 4000);
    const videoQueries = makeVideoQueries(set, frames, nVideo + 2, 30, rng);
    const imageQueries = makeImageQueries(set, frames, nImage + 3, rng);
    const videoOf = (id: string) => ids.get(id);

    const runVideo = async (q: QueryVideo, ef = DEFAULT_ANN.efSearch) => {
      const [v0, v1] = variantBatches(q.frames, q.centres);
      const frameOf = (groups: Float32Array[][]) => groups.flatMap((regions, fi) => regions.map(() => fi));
      const t0 = performance.now();
      const [h0, h1] = await Promise.all([store.knn(v0, 0, k, ef), store.knn(v1, 1, k, ef)]);
      const t1 = performance.now();
      const found = alignCandidates(
        [
          { hits: h0, regionFrame: frameOf(q.frames) },
          { hits: h1, regionFrame: [...frameOf(q.frames), ...frameOf(q.centres)] },
        ],
        q.frameTimes,
      );
      const t2 = performance.now();
      return { knnMs: t1 - t0, alignMs: t2 - t1, found, vectors: v0.length + v1.length, h0, h1 };
    };
    /** The variant calls one after the other, for comparison. */
    const runVideoSequential = async (q: QueryVideo) => {
      const [v0, v1] = variantBatches(q.frames, q.centres);
      const t0 = performance.now();
      await store.knn(v0, 0, k);
      await store.knn(v1, 1, k);
      return performance.now() - t0;
    };
    const runImageSequential = async (q: { regions: Float32Array[]; centre: Float32Array[] }) => {
      const [v0, v1] = variantBatches([q.regions], [q.centre]);
      const t0 = performance.now();
      await store.knn(v0, 0, imageK);
      await store.knn(v1, 1, imageK);
      return performance.now() - t0;
    };
    const runImage = async (q: { regions: Float32Array[]; centre: Float32Array[] }, ef = DEFAULT_ANN.efSearch) => {
      const [v0, v1] = variantBatches([q.regions], [q.centre]);
      const t0 = performance.now();
      const [h0, h1] = await Promise.all([store.knn(v0, 0, imageK, ef), store.knn(v1, 1, imageK, ef)]);
      return { knnMs: performance.now() - t0, hits: [...h0, ...h1] };
    };

    const vq = videoQueries.slice(2);
    const iq = imageQueries.slice(3);
    // Warm up caches and the planner: every query once (a server's steady state is a warm cache;
    // the first pass after loading or after other work evicted pages is much slower).
    if (!exactOnly) {
      for (const q of videoQueries) await runVideo(q);
      for (const q of imageQueries) await runImage(q);
    }

    log(`latency: ${iq.length} image queries, ${vq.length} video queries…`);
    // Concurrent (what search.ts does) and sequential variant calls, interleaved query by
    // query so that drift in machine load affects both alike.
    const imageKnn: number[] = [];
    const imageSequential: number[] = [];
    let imageFound = 0;
    for (const [i, q] of iq.entries()) {
      if (!exactOnly && i % 2 === 1) imageSequential.push(await runImageSequential(q));
      const r = await runImage(q);
      imageKnn.push(r.knnMs);
      if (r.hits.some((h) => videoOf(h.videoId) === q.video && Math.abs(h.timestampSec - q.t) <= 1)) imageFound++;
      if (!exactOnly && i % 2 === 0) imageSequential.push(await runImageSequential(q));
    }
    const videoKnn: number[] = [];
    const videoSequential: number[] = [];
    const videoAlign: number[] = [];
    let copyFound = 0;
    let framesPerQuery = 0;
    for (const [i, q] of vq.entries()) {
      if (!exactOnly && i % 2 === 1) videoSequential.push(await runVideoSequential(q));
      const r = await runVideo(q);
      videoKnn.push(r.knnMs);
      videoAlign.push(r.alignMs);
      framesPerQuery += q.frames.length;
      const top = r.found[0];
      if (top && videoOf(top.videoId) === q.video) copyFound++;
      if (!exactOnly && i % 2 === 0) videoSequential.push(await runVideoSequential(q));
    }

    // Recall against exact search, and the ef_search sweep.
    log(`recall: exact neighbours of ${nRecall} query vectors per variant…`);
    const recallVecs = vq.flatMap((q) => q.frames.map((regions) => regions[0])).slice(0, nRecall);
    const exact0 = await exactKnn(sql, recallVecs, 0, k, DIMS);
    const exact1 = await exactKnn(sql, recallVecs, 1, k, DIMS);
    const sweep: EfPoint[] = [];
    for (const ef of efValues) {
      if (exactOnly) {
        // No ANN index: the "approximate" search is the exact scan; latencies are the ones above.
        sweep.push({ efSearch: ef, recall: 1, videoKnnP50Ms: median(videoKnn), imageKnnP50Ms: median(imageKnn) });
        continue;
      }
      const a0 = hitsByQuery(await store.knn(recallVecs, 0, k, ef), recallVecs.length);
      const a1 = hitsByQuery(await store.knn(recallVecs, 1, k, ef), recallVecs.length);
      const recallByVariant: [number, number] = [recallAtK(a0, exact0, k), recallAtK(a1, exact1, k)];
      const recall = (recallByVariant[0] + recallByVariant[1]) / 2;
      const vt: number[] = [];
      for (const q of vq.slice(0, Math.max(3, Math.min(10, vq.length)))) vt.push((await runVideo(q, ef)).knnMs);
      const it: number[] = [];
      for (const q of iq.slice(0, Math.max(3, Math.min(20, iq.length)))) it.push((await runImage(q, ef)).knnMs);
      sweep.push({ efSearch: ef, recall, recallByVariant, videoKnnP50Ms: median(vt), imageKnnP50Ms: median(it) });
      log(
        `  ef_search ${ef}: recall@${k} ${recall.toFixed(3)} (whole ${recallByVariant[0].toFixed(3)}, centre ${recallByVariant[1].toFixed(3)}), video knn p50 ${median(vt).toFixed(1)} ms, image knn p50 ${median(it).toFixed(1)} ms`,
      );
    }
    const atDefault = sweep.find((p) => p.efSearch === DEFAULT_ANN.efSearch)!.recall;
    // Image queries: recall of their wider neighbour lists at the default ef_search.
    const imageVecs = iq.slice(0, Math.max(4, Math.min(20, Math.round(nRecall / 5)))).map((q) => q.regions[0]);
    const imageRecall = exactOnly
      ? 1
      : recallAtK(hitsByQuery(await store.knn(imageVecs, 0, imageK), imageVecs.length), await exactKnn(sql, imageVecs, 0, imageK, DIMS), imageK);
    log(`  image queries: recall@${imageK} ${imageRecall.toFixed(3)} at ef_search ${DEFAULT_ANN.efSearch} (${imageVecs.length} vectors, variant 0)`);

    // Stored windows: their bytes, and the second tier's window queries at the engine's graphs,
    // then at each other degree asked for (the window graphs alone rebuilt).
    let windowsReport: WindowsReport | undefined;
    if (windows && !exactOnly) {
      const wq = makeWindowQueries(set, frames, quick ? 2 : Math.max(3, Math.round(nVideo * (2 / 3))), 30, new Prng(seed * 7919 + 3));
      log(`stored windows: ${wq.length} window queries; rows' share of the windows (copies of frames with and without them)…`);
      const rows = await windowRowBytes(sql);
      const counts = await sql.query<{ n: string }>(`SELECT (${WINDOW_COLUMNS.map((c) => `count(${c.column})`).join(' + ')})::text AS n FROM frames`);
      const windowVectors = Number(counts.rows[0].n);
      const rowBytesPerVector = (rows.heapBytes - rows.heapWithoutWindowsBytes) / Math.max(1, windowVectors);
      const rowBytesPerFrame = (rows.heapBytes - rows.heapWithoutWindowsBytes) / frames;
      log(`  exact neighbours of the window recall sample…`);
      const recallSample = await windowRecallSample(sql, wq, nRecall, k, DIMS);
      const point = (ann: typeof DEFAULT_ANN, buildSec: number | null) =>
        measureWindowPoint({ sql, store, frames, k, ann, buildSec, rowBytesPerVector, rowBytesPerFrame, queries: wq, recall: recallSample, log });
      const points = [await point(DEFAULT_ANN, null)];
      const otherM = (opts.windowM ?? []).filter((m) => m !== DEFAULT_ANN.windowM);
      for (const m of otherM) {
        log(`  rebuilding the window graphs at m ${m}…`);
        const sec = await rebuildWindowGraphs(sql, descriptor, windowAnn(m));
        log(`  built in ${sec.toFixed(1)} s`);
        points.push(await point(windowAnn(m), sec));
      }
      // A kept index must be what its marker says: the engine's graphs.
      if (otherM.length && opts.keepDb) {
        log('  restoring the window graphs at the default degree (kept database)…');
        await rebuildWindowGraphs(sql, descriptor, DEFAULT_ANN);
      }
      windowsReport = {
        displayAspect: SYNTH_DISPLAY_ASPECT,
        windowMaxFrames: DEFAULT_SEARCH.windowMaxFrames,
        quadrantMaxFrames: DEFAULT_SEARCH.quadrantMaxFrames,
        vectors: windowVectors,
        vectorsPerFrame: windowVectors / frames,
        heapBytes: rows.heapBytes,
        heapWithoutWindowsBytes: rows.heapWithoutWindowsBytes,
        rowBytesPerFrame,
        rowBytesPerVector,
        points,
      };
    }

    // Alternatives (variant 0 only), on the same data.
    let alternatives: AlternativeResult[] = [];
    const wanted = Array.isArray(opts.alternatives) ? opts.alternatives : opts.alternatives ? ['all'] : [];
    if (wanted.length) {
      const sample = new Float32Array(DIMS);
      const reader = new SyntheticReader(set);
      let n = 0;
      for (let v = 0; v < Math.min(videos, 50); v++) {
        for (const f of await reader.video(v, framesOfVideo(set, v, frames))) {
          for (let i = 0; i < DIMS; i++) sample[i] += f.v0[i];
          n++;
        }
      }
      await reader.close();
      for (let i = 0; i < DIMS; i++) sample[i] /= Math.max(1, n);
      alternatives = await measureAlternatives({
        sql,
        dims: DIMS,
        frames,
        k,
        mean: sample,
        recallQueries: recallVecs,
        exact: exact0,
        videoBatches: vq.slice(0, 10).map((q) => q.frames.flat()),
        imageBatches: iq.slice(0, 20).map((q) => q.regions),
        only: wanted.includes('all') ? undefined : wanted,
        log,
      });
    }

    // One more 5-minute video with the indexes in place, committed in the engine's batch size.
    let incrementalInsert: SearchBenchReport['incrementalInsert'] = null;
    {
      const reader = new SyntheticReader(set, windows);
      const extra = storedFrames(await reader.video(videos, framesPerVideo));
      await reader.close();
      const id = await store.beginVideo(newVideo(seed, videos, framesPerVideo));
      const t0 = performance.now();
      for (let i = 0; i < extra.length; i += 32) await store.addFrames(id, extra.slice(i, i + 32));
      const ms = performance.now() - t0;
      await store.finishVideo(id, extra.length, extra.length);
      await engine.remove(id);
      incrementalInsert = { frames: extra.length, msPerFrame: ms / extra.length, batchFrames: 32 };
      log(`incremental insert at ${frames} frames: ${(ms / extra.length).toFixed(2)} ms/frame`);
    }

    // End to end through the engine.
    let e2e: SearchBenchReport['e2e'] = null;
    if (opts.e2e !== false) {
      const clipsE2e = await e2eClips(cacheDir, clips, sources, quick);
      const reps = quick ? 1 : 7;
      log(`end to end: ${clipsE2e.seconds} s clips, ${reps} searches each…`);
      const indexed = await engine.index(clipsE2e.ref, { title: 'e2e reference' });
      try {
        if (!quick) {
          // Warm-up (decoder binaries and index pages in cache).
          await engine.search(clipsE2e.copy);
          await engine.search(clipsE2e.miss);
        }
        const copyRuns: SearchResult[] = [];
        for (let i = 0; i < reps; i++) copyRuns.push(await engine.search(clipsE2e.copy));
        const missRuns: SearchResult[] = [];
        for (let i = 0; i < reps; i++) missRuns.push(await engine.search(clipsE2e.miss));
        e2e = {
          clipSec: clipsE2e.seconds,
          copy: { ...e2eSummary(copyRuns), found: copyRuns.filter((r) => r.matches[0]?.videoId === indexed.videoId).length / copyRuns.length },
          miss: e2eSummary(missRuns),
        };
      } finally {
        if (indexed.status === 'indexed') await engine.remove(indexed.videoId);
      }
    }

    const mem = memory.stop();
    const vecBlock = (xs: number[]) => summarize(xs);
    const report: SearchBenchReport = {
      kind: 'search',
      version: 1,
      machine,
      settings: {
        frames,
        vectors: 2 * frames + (windowsReport?.vectors ?? 0),
        videos,
        framesPerVideo,
        seed,
        dialect: scratch.dialect,
        db: sql.location,
        ann: { ...DEFAULT_ANN },
        k,
        imageK,
        sources,
        sourceFrames: clips.reduce((s, c) => s + c.frames.length, 0),
        synthVersion: SYNTH_VERSION,
        quick,
        serverSettings,
        ...(windows ? { storedWindows: true as const } : {}),
      },
      synthesis: { generated: synthesis.generated, seconds: synthesis.seconds, cacheFile: set.cacheFile },
      distribution,
      load: { reused: !!reuse, seconds: loadSec, framesPerSec: frames / loadSec },
      build: { reused: !!reuse, seconds: buildSec },
      storage: { databaseBytes, bytesPerFrame: databaseBytes / frames, frameBytesPerFrame: frameBytes / frames, relations },
      recall: { k, queries: recallVecs.length, atDefault, sweep, imageK, imageQueries: imageVecs.length, imageAtDefault: imageRecall },
      image: {
        knnMs: vecBlock(imageKnn),
        knnSequentialMs: vecBlock(imageSequential),
        alignMs: null,
        vectorsPerCall: iq[0] ? (2 * iq[0].regions.length + iq[0].centre.length) / 2 : 0,
        calls: 2,
      },
      video: {
        knnMs: vecBlock(videoKnn),
        knnSequentialMs: vecBlock(videoSequential),
        alignMs: vecBlock(videoAlign),
        vectorsPerCall: vq.length ? Math.round(vq.reduce((s, q) => s + q.frames.flat().length + q.centres.flat().length / 2, 0) / vq.length) : 0,
        calls: 2,
        framesPerQuery: vq.length ? framesPerQuery / vq.length : 0,
        copyFoundAt1: vq.length ? copyFound / vq.length : NaN,
      },
      incrementalInsert,
      e2e,
      alternatives,
      memory: { peakRssMb: mem.peakRssSampledMb, vmHwmMb: mem.vmHwmMb },
      targets: [],
      ...(windowsReport ? { windows: windowsReport } : {}),
      wallSec: 0,
    };
    void imageFound;
    report.targets = targetsFor(report);
    report.wallSec = (performance.now() - tStart) / 1000;
    printSearchReport(report, log);
    if (opts.json) log(`wrote ${await writeJsonReport(opts.json, report)}`);
    return report;
  } finally {
    memory.stop();
    await engine?.close().catch(() => undefined);
    await scratch.dispose().catch((e: unknown) => log(`could not remove the scratch database: ${(e as Error).message}`));
  }
}

function targetsFor(r: SearchBenchReport): SearchBenchReport['targets'] {
  const n = r.settings.frames;
  const pg = r.settings.dialect === 'postgres';
  const at = `${n >= 1e6 ? n / 1e6 + 'M' : n >= 1e3 ? n / 1e3 + 'k' : n} frames, ${r.settings.dialect}`;
  const scaleNote = (need: number, db: 'postgres' | 'pglite' | 'any') =>
    n >= need && (db === 'any' || (db === 'postgres') === pg)
      ? undefined
      : `target is for ${need >= 1e6 ? '1M' : '100k'} frames on ${db === 'postgres' ? 'PostgreSQL' : db === 'pglite' ? 'PGlite' : 'either store'}; measured at ${at}`;
  // An index with stored windows has its own targets (issue 15): 2 KB a frame, 150 ms a video query, at 1M on PostgreSQL.
  const w = r.settings.storedWindows === true;
  const t: SearchBenchReport['targets'] = [
    {
      measure: w ? 'storage per frame with stored windows, rows + indexes' : 'storage per frame, rows + indexes',
      target: w ? '≤ 2 KB (1M, PostgreSQL)' : '≤ 1 KB',
      value: round(r.storage.frameBytesPerFrame, 0),
      pass: r.storage.frameBytesPerFrame <= (w ? 2048 : 1024),
      ...(w ? { note: scaleNote(1e6, 'postgres') } : {}),
    },
    {
      measure: '30-frame video query, candidate retrieval, p50 ms',
      target: w ? '≤ 150 (stored windows, 1M, PostgreSQL)' : '≤ 100 (1M, PostgreSQL)',
      value: round(r.video.knnMs.p50, 1),
      pass: r.video.knnMs.p50 <= (w ? 150 : 100),
      note: scaleNote(1e6, 'postgres'),
    },
    { measure: 'ANN recall@16 at the default ef_search', target: '≥ 0.95', value: round(r.recall.atDefault, 3), pass: r.recall.atDefault >= 0.95 },
    {
      measure: 'image query, p50 ms (candidate retrieval)',
      target: '≤ 20 (1M, PostgreSQL)',
      value: round(r.image.knnMs.p50, 1),
      pass: r.image.knnMs.p50 <= 20,
      note: scaleNote(1e6, 'postgres'),
    },
    {
      measure: '30-frame video query, p50 ms (PGlite)',
      target: '≤ 250 (100k, PGlite)',
      value: pg ? null : round(r.video.knnMs.p50 + (r.video.alignMs?.p50 ?? 0), 1),
      pass: pg ? null : r.video.knnMs.p50 + (r.video.alignMs?.p50 ?? 0) <= 250,
      note: pg ? 'PGlite target' : scaleNote(1e5, 'pglite'),
    },
  ];
  if (r.e2e?.copy) {
    t.push({
      measure: `end-to-end search of a ${r.e2e.clipSec} s clip (copy present), p50 ms`,
      target: '≤ 1500 (30 s 720p, 1M)',
      value: round(r.e2e.copy.totalMs.p50, 0),
      pass: r.e2e.copy.totalMs.p50 <= 1500,
      note: scaleNote(1e6, 'any'),
    });
  }
  if (r.e2e?.miss) {
    t.push({
      measure: `end-to-end search of a ${r.e2e.clipSec} s clip (no copy: tier 2 runs), p50 ms`,
      target: '≤ 1500 (30 s 720p, 1M)',
      value: round(r.e2e.miss.totalMs.p50, 0),
      pass: r.e2e.miss.totalMs.p50 <= 1500,
      note: scaleNote(1e6, 'any'),
    });
  }
  return t;
}

/** Print the report's tables. */
export function printSearchReport(r: SearchBenchReport, log: (s: string) => void): void {
  const s = r.settings;
  log('');
  log(
    `Index: ${s.frames} frames (${s.vectors} vectors) in ${s.videos} synthetic videos, ${s.dialect}; HNSW m ${s.ann.m}${s.storedWindows ? ` (window graphs ${s.ann.windowM})` : ''}, ef_construction ${s.ann.efConstruction}, ef_search ${s.ann.efSearch}, k ${s.k} (image queries ${s.imageK})`,
  );
  log(
    formatTable(
      ['measure', 'value'],
      [
        ['load (bulk, no ANN index)', `${r.load.seconds.toFixed(1)} s, ${r.load.framesPerSec.toFixed(0)} frames/s${r.load.reused ? ' (earlier run)' : ''}`],
        [
          `HNSW build (${s.storedWindows ? 2 + WINDOW_COLUMNS.length : 2} partial indexes)`,
          Number.isFinite(r.build.seconds) ? `${r.build.seconds.toFixed(1)} s${r.build.reused ? ' (earlier run)' : ''}` : 'skipped (exact scans)',
        ],
        ['database bytes / frame', r.storage.bytesPerFrame.toFixed(0)],
        ['frame rows + indexes / frame', r.storage.frameBytesPerFrame.toFixed(0)],
        ['incremental insert (32-frame batches)', r.incrementalInsert ? `${r.incrementalInsert.msPerFrame.toFixed(2)} ms/frame` : '–'],
        ['peak RSS (this process)', `${r.memory.peakRssMb.toFixed(0)} MB`],
      ],
    ),
  );
  log('');
  log('Storage by relation');
  log(
    formatTable(
      ['relation', 'kind', 'MiB', 'bytes/frame'],
      r.storage.relations.map((x) => [x.name, x.kind, x.bytes / 2 ** 20, x.bytesPerFrame]),
      [0, 0, 1, 0],
    ),
  );
  log('');
  log(
    `Latency (ms; ${r.image.knnMs.n} image and ${r.video.knnMs.n} video queries; 2 FrameStore.knn calls each, one per stored variant, issued concurrently as search does)`,
  );
  const row = (name: string, x: Summary | null) => (x ? [name, x.p50, x.p95, x.mean, x.max] : [name, null, null, null, null]);
  log(
    formatTable(
      ['query', 'p50', 'p95', 'mean', 'max'],
      [
        row(`image: knn (${r.image.vectorsPerCall} vectors/call)`, r.image.knnMs),
        row('image: knn, the 2 calls one after the other', r.image.knnSequentialMs),
        row(`video ${r.video.framesPerQuery.toFixed(0)} frames: knn (${r.video.vectorsPerCall} vectors/call)`, r.video.knnMs),
        row('video: knn, the 2 calls one after the other', r.video.knnSequentialMs),
        row('video: alignment', r.video.alignMs),
      ],
      [0, 1, 1, 1, 1],
    ),
  );
  log(`video copies found at rank 1: ${(r.video.copyFoundAt1 * 100).toFixed(0)} %`);
  log('');
  log(`Recall@${r.recall.k} against exact search (${r.recall.queries} query vectors per variant)`);
  log(
    formatTable(
      ['ef_search', 'recall', 'video knn p50', 'image knn p50'],
      r.recall.sweep.map((p) => [p.efSearch, p.recall, p.videoKnnP50Ms, p.imageKnnP50Ms]),
      [0, 3, 1, 1],
    ),
  );
  log(
    `image queries (k ${r.recall.imageK}): recall@${r.recall.imageK} ${r.recall.imageAtDefault.toFixed(3)} at the default ef_search (${r.recall.imageQueries} vectors)`,
  );
  if (r.windows) printWindowsReport(r.windows, r.recall.k, log);
  if (r.e2e) {
    log('');
    log(`End to end (Retrace.search of a ${r.e2e.clipSec} s clip; ms, medians)`);
    const e = (name: string, x: { totalMs: Summary; decodeMs: number; describeMs: number; knnMs: number; alignMs: number } | null) =>
      x ? [name, x.totalMs.p50, x.totalMs.p95, x.decodeMs, x.describeMs, x.knnMs, x.alignMs] : [name];
    log(
      formatTable(
        ['query', 'total p50', 'total p95', 'decode', 'describe', 'knn', 'align'],
        [e('copy present', r.e2e.copy), e('no copy (tier 2)', r.e2e.miss)],
        [0, 0, 0, 0, 0, 0, 0],
      ),
    );
  }
  if (r.alternatives.length) {
    log('');
    log('Alternative ANN indexes (variant 0 only; latency of one variant call)');
    log(
      formatTable(
        ['index', 'build s', 'B/vector', 'param', 'recall', '60 vec p50', '2 vec p50'],
        r.alternatives.flatMap((a) =>
          a.points.length
            ? a.points.map((p, i) => [
                i ? '' : a.name,
                i ? null : a.buildSec,
                i ? null : a.bytesPerVector,
                `${p.paramName} ${p.param}`,
                p.recall,
                p.p50Ms60,
                p.p50Ms2,
              ])
            : [[a.name, a.buildSec, a.bytesPerVector, a.error ?? '', null, null, null]],
        ),
        [0, 1, 0, 0, 3, 1, 1],
      ),
    );
  }
  log('');
  log(`Synthetic content check (cosine similarity percentiles ${r.distribution.percentiles.join('/')})`);
  log(
    formatTable(
      ['pairs', ...r.distribution.percentiles.map((p) => `p${p}`)],
      [
        ['real frames, random pairs', ...r.distribution.realRandomPairs],
        ['synthetic frames, random pairs', ...r.distribution.syntheticRandomPairs],
        ['synthetic, adjacent frames (1 s)', ...r.distribution.syntheticAdjacentFrames],
        ['query copy vs its source frame', ...r.distribution.copyPairs],
      ],
      3,
    ),
  );
  log('');
  log('Targets');
  log(
    formatTable(
      ['measure', 'target', 'value', 'pass', 'note'],
      r.targets.map((t) => [t.measure, t.target, t.value === null ? null : String(t.value), t.pass, t.note ?? '']),
    ),
  );
  log(`(${r.wallSec.toFixed(0)} s; machine shared with other work: load ${r.machine.loadAverage.join('/')} at start)`);
}

export { ALTERNATIVES };

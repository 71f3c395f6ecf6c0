/**
 * Builds the accuracy benchmark's query set from a folder of real videos:
 * a seeded split into reference clips (indexed) and a never-indexed pool,
 * then N queries per edit family made with ffmpeg into a cache directory,
 * with ground truth recorded in `queries.json`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';

import {
  ALL_FAMILIES,
  buildImageArgs,
  buildVideoJob,
  drawImageEdit,
  drawSegment,
  drawSocialEdit,
  drawVideoEdit,
  EASY_FAMILIES,
  familyDifficulty,
  familyKind,
  findFontFile,
  HARD_FAMILIES,
  imageTruthTransform,
  isPositiveFamily,
  socialClipFits,
  SOCIAL_FAMILIES,
  SOCIAL_QUERY_FAMILIES,
  type ClipInfo,
  type Difficulty,
  type ImageFamily,
  type ImageQuerySpec,
  type Interval2D,
  type QueryFamily,
  type SocialFamily,
  type VideoEditFamily,
  type VideoQuerySpec,
} from './edit-families.js';
import type { TruthTransform } from './metrics.js';
import { createRng, round } from '../common/seeded-random.js';

/** Bump when generation changes in a way that makes cached query files stale. */
export const GENERATOR_VERSION = 1;

const VIDEO_EXTS = new Set(['.mp4', '.mov', '.m4v', '.mkv', '.webm', '.avi', '.wmv', '.flv', '.mpg', '.mpeg', '.ts', '.3gp', '.ogv']);

export interface QueryRecord {
  id: string;
  family: QueryFamily;
  difficulty: Difficulty;
  kind: 'video' | 'image';
  /** True when the query contains a copy of an indexed (reference) clip. */
  positive: boolean;
  /** Absolute path of the query file. */
  file: string;
  /** Reference clip (file name in the corpus) the query copies, or null for negatives. */
  source: string | null;
  /** Clip the query's main content was taken from (a pool clip for negatives). */
  origin: string;
  /** Video positives: copied intervals, query ↔ source, in seconds. */
  truth: Interval2D[];
  /** Image queries: timestamp of the frame in `origin`. */
  imageTime?: number;
  /**
   * How the copy was altered (mirror, speed, the part of the reference shown, where it lies in the
   * query frame), from the drawn parameters; for negatives, relative to `origin`.
   */
  transform: TruthTransform;
  /** Measured duration of the query file (0 for images). */
  durationSec: number;
  /** The drawn parameters. */
  spec: VideoQuerySpec | ImageQuerySpec;
  /** Generation time in ms (0 when taken from the cache). */
  genMs: number;
  cached: boolean;
}

/**
 * Where references, positives and negatives come from:
 * - `tuning`: a seeded ~70/30 split of `corpus` (the corpus thresholds are tuned on; the default);
 * - `holdout`: the same split of the `holdout` folder instead (evaluation only);
 * - `mixed`: every clip of one corpus is indexed (positives are drawn from it) and every clip of
 *   the other is never-indexed footage (negatives, and the unrelated footage of pip/insert).
 */
export type SplitMode = 'tuning' | 'holdout' | 'mixed';
export const SPLIT_MODES: readonly SplitMode[] = ['tuning', 'holdout', 'mixed'];
export type CorpusLabel = 'tuning' | 'holdout';

export interface CorpusUse {
  label: CorpusLabel;
  dir: string;
  /** `split`: split into reference and pool by the seed; `reference`/`pool`: used whole as one side. */
  role: 'split' | 'reference' | 'pool';
  clips: number;
}

export interface QuerySetOptions {
  /** The tuning corpus (required unless split is `holdout`). */
  corpus?: string;
  /** The hold-out corpus (required by the `holdout` and `mixed` splits). */
  holdout?: string;
  /** Default `tuning`. */
  split?: SplitMode;
  /** Which corpus the `mixed` split indexes (default `tuning`; the other one gives the negatives). */
  mixedReference?: CorpusLabel;
  seed?: number;
  /** Queries per positive family (default 4). */
  perFamily?: number;
  /** Negative families get perFamily × this many queries (default 2). */
  negativeMultiplier?: number;
  /** Only these families (default ALL_FAMILIES, every family but the social ones). */
  families?: readonly QueryFamily[];
  /** Add the social families (issue 15) and `neg-social` to `families`. */
  social?: boolean;
  /** Default `.bench-cache/accuracy/<seed>/` under the current directory (`holdout-<seed>/`, `mixed-<reference>-<seed>/` for the other splits). */
  cacheDir?: string;
  /** Parallel ffmpeg processes (default 2). */
  concurrency?: number;
  /** Fraction of clips indexed as references (default 0.7). */
  referenceFraction?: number;
  /** Copy segment length bounds in seconds (default 6–20). */
  segmentSec?: [number, number];
  log?: (line: string) => void;
}

export interface QuerySet {
  version: number;
  seed: number;
  /** The corpus the references come from (the split corpus, or the indexed one in `mixed`). */
  corpus: string;
  split: SplitMode;
  corpora: CorpusUse[];
  /** Label of the corpus the pool (never-indexed clips) comes from. */
  poolCorpus: CorpusLabel;
  cacheDir: string;
  fontFile: string | null;
  params: { perFamily: number; negativeMultiplier: number; referenceFraction: number; segmentSec: [number, number] };
  reference: ClipInfo[];
  pool: ClipInfo[];
  queries: QueryRecord[];
  generateMs: number;
}

// ---------------------------------------------------------------------------
// Processes

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * The ffmpeg and ffprobe the engine uses (FFMPEG_PATH / FFPROBE_PATH, else PATH, else npm's), so
 * a benchmark never generates with one build and searches with another. Generation needs filters
 * the 2018 npm build may lack (drawtext with a font file, gblur): set the variables to a full build.
 */
function tools(): { ffmpeg: string; ffprobe: string } {
  return resolveFfmpegPaths();
}

export function run(cmd: string, args: readonly string[], timeoutMs = 600_000): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new Error(`${cmd} exited with ${code ?? signal}: ${stderr.trim().slice(-2000)}\nargs: ${args.join(' ')}`));
    });
  });
}

/** Run `fn` over `items` with at most `limit` in flight; results keep input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

// ---------------------------------------------------------------------------
// Probing

function parseRate(r: string | undefined): number | null {
  if (!r) return null;
  const [a, b] = r.split('/').map(Number);
  if (!a || !Number.isFinite(a)) return null;
  const v = b ? a / b : a;
  return Number.isFinite(v) && v > 0 ? v : null;
}

interface ProbeJson {
  streams?: Array<{
    width?: number;
    height?: number;
    sample_aspect_ratio?: string;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    duration?: string;
    tags?: Record<string, string>;
    side_data_list?: Array<{ rotation?: number }>;
  }>;
  format?: { duration?: string };
}

/** Duration, display size and a sane frame rate of a video file. */
export async function probeClip(path: string): Promise<ClipInfo> {
  const { stdout } = await run(tools().ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,sample_aspect_ratio,avg_frame_rate,r_frame_rate,duration:stream_tags=rotate:stream_side_data=rotation:format=duration',
    '-of',
    'json',
    path,
  ]);
  const j = JSON.parse(stdout) as ProbeJson;
  const s = j.streams?.[0];
  if (!s?.width || !s.height) throw new Error(`no video stream in ${path}`);
  let w = s.width;
  let h = s.height;
  const sar = parseRate(s.sample_aspect_ratio?.replace(':', '/'));
  if (sar && Math.abs(sar - 1) > 0.01) w = Math.round(w * sar);
  const rot = Math.abs(Number(s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? s.tags?.rotate ?? 0)) % 180;
  if (rot === 90) [w, h] = [h, w];
  const avg = parseRate(s.avg_frame_rate);
  const nominal = parseRate(s.r_frame_rate);
  const fps = avg && avg <= 61 ? avg : nominal && nominal <= 61 ? nominal : 25;
  // The video stream's own duration: the container's can be longer (subtitle or audio tracks).
  let duration = Number(s.duration);
  if (!Number.isFinite(duration) || duration <= 0) duration = Number(j.format?.duration);
  if (!Number.isFinite(duration) || duration <= 0) duration = await measureDuration(path);
  const st = await stat(path);
  return { file: basename(path), path, durationSec: round(duration), width: w, height: h, fps: round(fps, 4), sizeBytes: st.size };
}

/** Duration from packet timestamps, for files whose header has none. */
async function measureDuration(path: string): Promise<number> {
  const { stdout } = await run(tools().ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pts_time,duration_time',
    '-of',
    'csv=p=0',
    path,
  ]);
  let min = Infinity;
  let max = 0;
  for (const line of stdout.split('\n')) {
    const [pts, dur] = line.split(',').map(Number);
    if (pts === undefined || !Number.isFinite(pts)) continue;
    min = Math.min(min, pts);
    max = Math.max(max, pts + (dur !== undefined && Number.isFinite(dur) ? dur : 0));
  }
  if (!Number.isFinite(min)) throw new Error(`cannot measure duration of ${path}`);
  return max - min;
}

/** Probe every video in a folder (sorted by name), reusing `cacheFile` when sizes and mtimes match. */
export async function probeCorpus(corpus: string, cacheFile?: string): Promise<ClipInfo[]> {
  const dir = resolve(corpus);
  const names = (await readdir(dir)).filter((n) => VIDEO_EXTS.has(extname(n).toLowerCase())).sort();
  if (names.length === 0) throw new Error(`no videos in ${dir}`);
  type Cached = ClipInfo & { mtimeMs: number };
  let cache: Record<string, Cached> = {};
  if (cacheFile && existsSync(cacheFile)) {
    try {
      cache = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, Cached>;
    } catch {
      cache = {};
    }
  }
  const out: Cached[] = await mapLimit(names, 4, async (n) => {
    const path = join(dir, n);
    const st = await stat(path);
    const c = cache[path];
    if (c && c.sizeBytes === st.size && c.mtimeMs === st.mtimeMs) return c;
    return { ...(await probeClip(path)), mtimeMs: st.mtimeMs };
  });
  if (cacheFile) {
    await writeFile(cacheFile, JSON.stringify(Object.fromEntries(out.map((c) => [c.path, c])), null, 1));
  }
  return out.map(({ mtimeMs: _m, ...c }) => c);
}

async function probeDuration(path: string): Promise<number> {
  try {
    const { stdout } = await run(tools().ffprobe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]);
    const d = Number(stdout.trim());
    if (Number.isFinite(d) && d > 0) return d;
  } catch {
    /* fall through */
  }
  return measureDuration(path);
}

// ---------------------------------------------------------------------------
// Planning

export interface PlannedQuery {
  id: string;
  family: QueryFamily;
  positive: boolean;
  origin: ClipInfo;
  video?: VideoQuerySpec;
  image?: ImageQuerySpec;
}

/** Split clips into reference (indexed) and pool (never indexed) by the seeded generator. */
export function splitCorpus(clips: readonly ClipInfo[], seed: number, referenceFraction = 0.7): { reference: ClipInfo[]; pool: ClipInfo[] } {
  const shuffled = createRng(seed).fork('split').shuffle(clips);
  const nRef = Math.min(clips.length - 2, Math.max(1, Math.round(clips.length * referenceFraction)));
  const byName = (a: ClipInfo, b: ClipInfo): number => a.file.localeCompare(b.file);
  return { reference: shuffled.slice(0, nRef).sort(byName), pool: shuffled.slice(nRef).sort(byName) };
}

/**
 * Reference and pool clips of a split. `primary` is the split corpus (`tuning`/`holdout`) or, for
 * `mixed`, the indexed corpus; `other` is mixed's never-indexed corpus. The `tuning` and `holdout`
 * splits are exactly `splitCorpus`, so a seed draws the same clips as before splits existed.
 */
export function chooseSplit(
  mode: SplitMode,
  primary: readonly ClipInfo[],
  other: readonly ClipInfo[] | null,
  seed: number,
  referenceFraction = 0.7,
): { reference: ClipInfo[]; pool: ClipInfo[] } {
  if (mode !== 'mixed') return splitCorpus(primary, seed, referenceFraction);
  if (!other || other.length === 0) throw new Error('the mixed split needs clips in both corpora');
  assertDistinctNames([primary, other]);
  const byName = (a: ClipInfo, b: ClipInfo): number => a.file.localeCompare(b.file);
  return { reference: [...primary].sort(byName), pool: [...other].sort(byName) };
}

/** Queries name clips by file name, so two corpora used together must not share one. */
export function assertDistinctNames(lists: ReadonlyArray<readonly ClipInfo[]>): void {
  const seen = new Map<string, string>();
  for (const list of lists) {
    for (const c of list) {
      const prev = seen.get(c.file);
      if (prev !== undefined && resolve(prev) !== resolve(c.path)) {
        throw new Error(`two corpora have a clip named ${c.file} (${prev} and ${c.path}); rename one`);
      }
      seen.set(c.file, c.path);
    }
  }
}

/** Default cache directory of a split's query set. */
export function defaultCacheDir(split: SplitMode, seed: number, mixedReference: CorpusLabel = 'tuning'): string {
  const name = split === 'tuning' ? String(seed) : split === 'holdout' ? `holdout-${seed}` : `mixed-${mixedReference}-${seed}`;
  return join('.bench-cache', 'accuracy', name);
}

/** Deterministic plan of every query (no ffmpeg); each (family, index) has its own forked generator. */
export function planQueries(
  reference: readonly ClipInfo[],
  pool: readonly ClipInfo[],
  seed: number,
  opts: { perFamily: number; negativeMultiplier: number; families: readonly QueryFamily[]; fontFile: string | null; segmentSec: [number, number] },
): PlannedQuery[] {
  const root = createRng(seed);
  const planned: PlannedQuery[] = [];
  const allEdits: VideoEditFamily[] = [...EASY_FAMILIES, ...HARD_FAMILIES];
  for (const family of opts.families) {
    const difficulty = familyDifficulty(family);
    const positive = isPositiveFamily(family);
    const n = positive ? opts.perFamily : opts.perFamily * opts.negativeMultiplier;
    const clips = root.fork(`clips:${family}`).shuffle(positive ? reference : pool);
    for (let i = 0; i < n; i++) {
      const rng = root.fork(`query:${family}:${i}`);
      const id = `${family}-${String(i).padStart(2, '0')}`;
      if (difficulty === 'social') {
        // neg-social: never-indexed footage edited by a random social family.
        const social: SocialFamily = family === 'neg-social' ? rng.fork('family').pick(SOCIAL_FAMILIES) : (family as SocialFamily);
        const fitting = clips.filter((c) => socialClipFits(social, c, i, opts.segmentSec));
        const list = fitting.length > 0 ? fitting : clips;
        const origin = list[i % list.length] as ClipInfo;
        const video = drawSocialEdit(social, rng.fork('edit'), { copyClip: origin, pool, querySec: opts.segmentSec, index: i });
        planned.push({ id, family, positive, origin, video });
        continue;
      }
      const origin = clips[i % clips.length] as ClipInfo;
      if (familyKind(family) === 'image') {
        planned.push({ id, family, positive, origin, image: drawImageEdit(family as ImageFamily, rng, origin) });
        continue;
      }
      const copy = drawSegment(rng.fork('segment'), origin, opts.segmentSec[0], opts.segmentSec[1]);
      const editFamily: VideoEditFamily | null =
        family === 'neg-plain' ? null : family === 'neg-edited' ? rng.fork('family').pick(allEdits) : (family as VideoEditFamily);
      const ctx = { copyClip: origin, pool, fontFile: opts.fontFile, copyDuration: copy.duration };
      const video: VideoQuerySpec = editFamily
        ? drawVideoEdit(editFamily, rng.fork('edit'), ctx, copy)
        : { copy, steps: [], compose: null, encode: { codec: 'libx264', crf: 23, container: 'mp4' }, parts: [] };
      planned.push({ id, family, positive, origin, video });
    }
  }
  return planned;
}

export function specHash(p: PlannedQuery, clips: ReadonlyMap<string, ClipInfo>): string {
  const used = new Set<string>([p.origin.file]);
  const c = p.video?.compose;
  if (c?.op === 'pip' || c?.op === 'split' || c?.op === 'inset') used.add(c.background.clip);
  if (c?.op === 'insert') {
    used.add(c.before.clip);
    used.add(c.after.clip);
  }
  const fingerprint = [...used].sort().map((n) => {
    const ci = clips.get(n);
    return [n, ci?.sizeBytes, ci?.durationSec];
  });
  return createHash('sha1')
    .update(JSON.stringify({ v: GENERATOR_VERSION, spec: p.video ?? p.image, fingerprint }))
    .digest('hex')
    .slice(0, 10);
}

// ---------------------------------------------------------------------------
// Generation

type SharpFactory = (input: string) => {
  jpeg(o: { quality: number }): { toFile(p: string): Promise<unknown> };
  webp(o: { quality: number }): { toFile(p: string): Promise<unknown> };
};

let sharpPromise: Promise<SharpFactory | null> | null = null;
function loadSharp(): Promise<SharpFactory | null> {
  sharpPromise ??= import('sharp').then((m) => (m as unknown as { default: SharpFactory }).default).catch(() => null);
  return sharpPromise;
}

async function encodeStill(png: string, out: string, format: 'jpeg' | 'webp', quality: number): Promise<void> {
  const sharp = await loadSharp();
  if (sharp) {
    const img = sharp(png);
    await (format === 'jpeg' ? img.jpeg({ quality }) : img.webp({ quality })).toFile(out);
    return;
  }
  // Fallback: ffmpeg's mjpeg qscale (2 best … 31 worst), roughly mapped from a 0–100 quality.
  const args =
    format === 'jpeg'
      ? ['-c:v', 'mjpeg', '-q:v', String(Math.round(2 + ((100 - quality) / 100) * 29)), '-f', 'image2']
      : ['-c:v', 'libwebp', '-quality', String(quality), '-f', 'webp'];
  await run(tools().ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', png, ...args, out]);
}

function clampTruth(truth: Interval2D[], duration: number): Interval2D[] {
  return truth
    .map((t) => {
      const qEnd = Math.min(t.queryEnd, duration);
      // Shrink the reference side in proportion when the query came out shorter.
      const scale = t.queryEnd > t.queryStart ? (qEnd - t.queryStart) / (t.queryEnd - t.queryStart) : 1;
      return {
        queryStart: round(t.queryStart),
        queryEnd: round(qEnd),
        refStart: round(t.refStart),
        refEnd: round(t.refStart + (t.refEnd - t.refStart) * Math.max(0, scale)),
      };
    })
    .filter((t) => t.queryEnd > t.queryStart);
}

/** Durations measured on an earlier run, for cached files (saves an ffprobe each), from a manifest's `queries`. */
export async function readKnownDurations(manifest: string): Promise<Map<string, number>> {
  const known = new Map<string, number>();
  if (existsSync(manifest)) {
    try {
      const prev = JSON.parse(await readFile(manifest, 'utf8')) as { queries?: Array<{ file: string; durationSec: number }> };
      for (const q of prev.queries ?? []) if (q.durationSec > 0) known.set(q.file, q.durationSec);
    } catch {
      /* ignore a corrupt manifest */
    }
  }
  return known;
}

/**
 * Make one planned query's file with ffmpeg (or find it in `cacheDir`, named by the hash of its
 * parameters) and return its record. `clips` resolves every clip name the plan uses.
 */
export async function materializeQuery(
  p: PlannedQuery,
  clips: ReadonlyMap<string, ClipInfo>,
  cacheDir: string,
  knownDurations: ReadonlyMap<string, number>,
): Promise<QueryRecord> {
  const hash = specHash(p, clips);
  const started = Date.now();
  const difficulty = familyDifficulty(p.family);
  const kind = familyKind(p.family);
  let file: string;
  let truth: Interval2D[] = [];
  let transform: TruthTransform;
  let durationSec = 0;
  let cached = true;
  if (p.video) {
    const ext = p.video.encode.container;
    file = join(cacheDir, `${p.id}-${hash}.${ext}`);
    const tmp = join(cacheDir, `${p.id}-${hash}.tmp.${ext}`);
    const job = buildVideoJob(p.video, clips, tmp);
    transform = job.transform;
    if (!existsSync(file)) {
      cached = false;
      try {
        await run(tools().ffmpeg, job.args);
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    }
    durationSec = (cached && knownDurations.get(file)) || round(await probeDuration(file));
    truth = p.positive ? clampTruth(job.truth, durationSec) : [];
  } else {
    const spec = p.image as ImageQuerySpec;
    transform = imageTruthTransform(spec, p.origin);
    const ext = spec.format === 'jpeg' ? 'jpg' : spec.format;
    file = join(cacheDir, `${p.id}-${hash}.${ext}`);
    if (!existsSync(file)) {
      cached = false;
      const png = join(cacheDir, `${p.id}-${hash}.tmp.png`);
      try {
        await run(tools().ffmpeg, buildImageArgs(spec, p.origin, png));
        if (!existsSync(png)) throw new Error(`ffmpeg produced no frame at ${spec.time}s of ${p.origin.file}`);
        if (spec.format === 'png') await rename(png, file);
        else {
          const tmp = join(cacheDir, `${p.id}-${hash}.tmp.${ext}`);
          await encodeStill(png, tmp, spec.format, spec.quality ?? 85);
          await rename(tmp, file);
        }
      } finally {
        await rm(png, { force: true });
      }
    }
  }
  const genMs = cached ? 0 : Date.now() - started;
  return {
    id: p.id,
    family: p.family,
    difficulty,
    kind,
    positive: p.positive,
    file,
    source: p.positive ? p.origin.file : null,
    origin: p.origin.file,
    truth,
    ...(p.image ? { imageTime: p.image.time } : {}),
    transform,
    durationSec,
    spec: (p.video ?? p.image) as VideoQuerySpec | ImageQuerySpec,
    genMs,
    cached,
  };
}

/** The split's corpora, resolved and checked against the options. */
export function splitCorpora(opts: Pick<QuerySetOptions, 'corpus' | 'holdout' | 'split' | 'mixedReference'>): {
  split: SplitMode;
  primary: { label: CorpusLabel; dir: string };
  other: { label: CorpusLabel; dir: string } | null;
} {
  const split = opts.split ?? 'tuning';
  const tuning = opts.corpus !== undefined ? { label: 'tuning' as const, dir: resolve(opts.corpus) } : null;
  const holdout = opts.holdout !== undefined ? { label: 'holdout' as const, dir: resolve(opts.holdout) } : null;
  switch (split) {
    case 'tuning':
      if (!tuning) throw new Error('the tuning split needs --corpus DIR');
      return { split, primary: tuning, other: null };
    case 'holdout':
      if (!holdout) throw new Error('the holdout split needs --holdout DIR');
      return { split, primary: holdout, other: null };
    case 'mixed': {
      if (!tuning || !holdout) throw new Error('the mixed split needs both --corpus DIR and --holdout DIR');
      if (tuning.dir === holdout.dir) throw new Error('--corpus and --holdout are the same folder');
      const ref = opts.mixedReference ?? 'tuning';
      return ref === 'tuning' ? { split, primary: tuning, other: holdout } : { split, primary: holdout, other: tuning };
    }
  }
}

/** `families`, plus the social ones (in their report order, without duplicates) when `social` is set. */
export function withSocial(families: readonly QueryFamily[], social: boolean): QueryFamily[] {
  return social ? [...families, ...SOCIAL_QUERY_FAMILIES.filter((f) => !families.includes(f))] : [...families];
}

/** Build (or reuse from the cache) the whole query set. */
export async function buildQuerySet(opts: QuerySetOptions): Promise<QuerySet> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? 1;
  const perFamily = opts.perFamily ?? 4;
  const negativeMultiplier = opts.negativeMultiplier ?? 2;
  const referenceFraction = opts.referenceFraction ?? 0.7;
  const segmentSec = opts.segmentSec ?? [6, 20];
  const families = withSocial(opts.families ?? ALL_FAMILIES, opts.social ?? false);
  const { split, primary, other } = splitCorpora(opts);
  const cacheDir = resolve(opts.cacheDir ?? defaultCacheDir(split, seed, primary.label));
  await mkdir(cacheDir, { recursive: true });

  const clips = await probeCorpus(primary.dir, join(cacheDir, 'clips.json'));
  const otherClips = other ? await probeCorpus(other.dir, join(cacheDir, 'clips-other.json')) : null;
  const byName = new Map([...clips, ...(otherClips ?? [])].map((c) => [c.file, c]));
  const { reference, pool } = chooseSplit(split, clips, otherClips, seed, referenceFraction);
  const corpora: CorpusUse[] = other
    ? [
        { label: primary.label, dir: primary.dir, role: 'reference', clips: clips.length },
        { label: other.label, dir: other.dir, role: 'pool', clips: otherClips?.length ?? 0 },
      ]
    : [{ label: primary.label, dir: primary.dir, role: 'split', clips: clips.length }];
  const fontFile = findFontFile();
  const splitText =
    split === 'mixed'
      ? `split mixed: ${primary.label} ${clips.length} clips all indexed, ${other?.label} ${pool.length} clips never indexed`
      : `${split === 'holdout' ? 'split holdout: ' : ''}corpus: ${clips.length} clips → ${reference.length} reference, ${pool.length} pool`;
  log(`${splitText} (seed ${seed})${fontFile ? '' : '; no font found, captions replaced by boxes'}`);

  const plans = planQueries(reference, pool, seed, { perFamily, negativeMultiplier, families, fontFile, segmentSec });
  const manifest = join(cacheDir, 'queries.json');
  const knownDurations = await readKnownDurations(manifest);
  let done = 0;
  let fresh = 0;
  const queries = await mapLimit(plans, opts.concurrency ?? 2, async (p): Promise<QueryRecord> => {
    const q = await materializeQuery(p, byName, cacheDir, knownDurations);
    done++;
    if (!q.cached) {
      fresh++;
      log(`  [gen ${done}/${plans.length}] ${p.id} ${(q.genMs / 1000).toFixed(1)}s`);
    }
    return q;
  });
  const generateMs = Date.now() - t0;
  log(`queries: ${queries.length} (${fresh} generated, ${queries.length - fresh} from cache) in ${(generateMs / 1000).toFixed(1)}s → ${cacheDir}`);
  const set: QuerySet = {
    version: GENERATOR_VERSION,
    seed,
    corpus: primary.dir,
    split,
    corpora,
    poolCorpus: other ? other.label : primary.label,
    cacheDir,
    fontFile,
    params: { perFamily, negativeMultiplier, referenceFraction, segmentSec },
    reference,
    pool,
    queries,
    generateMs,
  };
  await writeFile(manifest, JSON.stringify(set, null, 1));
  return set;
}

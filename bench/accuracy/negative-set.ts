/**
 * The accuracy benchmark's large negative set: N queries cut from never-indexed footage, so a
 * false-positive rate near 0.001 can be told apart from 0.01 (the regular query set has ~48
 * negatives a seed).
 *
 * Sources are the never-indexed (pool) clips of the split being run, plus every clip of the other
 * corpus when one is given. Each query is a short window (4–10 s by default) or a still, at most
 * 640 px wide, edited by one of the benchmark's families: plain, each easy and hard video edit
 * (pip and insert compose with other never-indexed footage only), or a still image in each image
 * variant. Families are allotted round-robin and every (family, k) has its own forked generator,
 * so a larger N keeps the queries of a smaller one (and their cached files).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import {
  drawImageEdit,
  drawSegment,
  drawSocialEdit,
  drawVideoEdit,
  EASY_FAMILIES,
  findFontFile,
  HARD_FAMILIES,
  IMAGE_FAMILIES,
  socialClipFits,
  SOCIAL_FAMILIES,
  type ClipInfo,
  type ImageFamily,
  type SizeCap,
  type SocialFamily,
  type VideoEditFamily,
  type VideoQuerySpec,
} from './edit-families.js';
import {
  assertDistinctNames,
  GENERATOR_VERSION,
  mapLimit,
  materializeQuery,
  probeCorpus,
  readKnownDurations,
  type CorpusLabel,
  type PlannedQuery,
  type QueryRecord,
  type QuerySet,
} from './query-set.js';
import { createRng, type Rng } from '../common/seeded-random.js';

/** Video families of the large negative set: the unedited window, then every single edit family. */
export const LARGE_NEGATIVE_VIDEO_FAMILIES = ['plain', ...EASY_FAMILIES, ...HARD_FAMILIES] as const;
/** Image families: a still of never-indexed footage in each of the image variants. */
export const LARGE_NEGATIVE_IMAGE_FAMILIES = IMAGE_FAMILIES;
/** Social families (issue 15): added to the set, on top of its `count`, only when asked for (`--social`). */
export const LARGE_NEGATIVE_SOCIAL_FAMILIES = SOCIAL_FAMILIES;
export type LargeNegativeFamily = (typeof LARGE_NEGATIVE_VIDEO_FAMILIES)[number] | (typeof LARGE_NEGATIVE_IMAGE_FAMILIES)[number] | SocialFamily;
/** The families of a default set (no social ones). */
export const LARGE_NEGATIVE_FAMILIES: readonly LargeNegativeFamily[] = [...LARGE_NEGATIVE_VIDEO_FAMILIES, ...LARGE_NEGATIVE_IMAGE_FAMILIES];
/** Every family a set can hold, in report order. */
export const LARGE_NEGATIVE_REPORT_FAMILIES: readonly LargeNegativeFamily[] = [...LARGE_NEGATIVE_FAMILIES, ...LARGE_NEGATIVE_SOCIAL_FAMILIES];

export function isSocialNegativeFamily(f: LargeNegativeFamily): f is SocialFamily {
  return (LARGE_NEGATIVE_SOCIAL_FAMILIES as readonly string[]).includes(f);
}

export const LARGE_NEGATIVE_DEFAULTS = {
  /** Share of still images (cheap to make and to search). */
  imageShare: 0.4,
  segmentSec: [4, 10] as [number, number],
  maxSize: { w: 640, h: 480 } as SizeCap,
  /** A clip is drawn with weight ∝ its duration, capped here (long clips give more distinct windows, but cannot dominate). */
  weightCapSec: 60,
};

/** A never-indexed clip and the corpus it belongs to. */
export interface NegativeSource {
  clip: ClipInfo;
  corpus: CorpusLabel;
}

export interface LargeNegativePlan extends PlannedQuery {
  negFamily: LargeNegativeFamily;
  corpus: CorpusLabel;
}

export interface LargeNegativeRecord extends QueryRecord {
  /** Edit family of the large negative set (`plain`, a video edit, or an image variant). */
  negFamily: LargeNegativeFamily;
  /** Corpus the query's main footage comes from. */
  corpus: CorpusLabel;
}

export interface LargeNegativeParams {
  count: number;
  imageShare: number;
  segmentSec: [number, number];
  maxSize: SizeCap;
  weightCapSec: number;
  /** Social negatives added on top of `count` (present only when asked for). */
  social?: { perFamily: number; count: number };
}

export interface NegativeSet {
  version: number;
  seed: number;
  cacheDir: string;
  params: LargeNegativeParams;
  /** Never-indexed clips drawn from, by corpus. */
  sources: Array<{ corpus: CorpusLabel; dir: string | null; clips: string[] }>;
  queries: LargeNegativeRecord[];
  generateMs: number;
}

/** How many queries each family gets: images round-robin over the image variants, the rest over the video families. */
export function allocateLargeNegatives(
  count: number,
  imageShare: number = LARGE_NEGATIVE_DEFAULTS.imageShare,
): Array<{ family: LargeNegativeFamily; k: number }> {
  const nImage = Math.round(count * Math.min(1, Math.max(0, imageShare)));
  const nVideo = count - nImage;
  const out: Array<{ family: LargeNegativeFamily; k: number }> = [];
  const V = LARGE_NEGATIVE_VIDEO_FAMILIES;
  const I = LARGE_NEGATIVE_IMAGE_FAMILIES;
  for (let i = 0; i < nVideo; i++) out.push({ family: V[i % V.length] as LargeNegativeFamily, k: Math.floor(i / V.length) });
  for (let i = 0; i < nImage; i++) out.push({ family: I[i % I.length] as LargeNegativeFamily, k: Math.floor(i / I.length) });
  return out;
}

/**
 * Social negatives per social family: as many as each video family of the regular allotment gets
 * (round(video queries / 15), at least 1), so for N = 1000 40 each, 240 in all, on top of N.
 * They get their own (family, k) generators, so the N regular queries stay exactly as without them.
 */
export function allocateSocialNegatives(count: number, imageShare: number = LARGE_NEGATIVE_DEFAULTS.imageShare): Array<{ family: SocialFamily; k: number }> {
  const nVideo = count - Math.round(count * Math.min(1, Math.max(0, imageShare)));
  const per = nVideo > 0 ? Math.max(1, Math.round(nVideo / LARGE_NEGATIVE_VIDEO_FAMILIES.length)) : 0;
  const out: Array<{ family: SocialFamily; k: number }> = [];
  for (let k = 0; k < per; k++) for (const family of LARGE_NEGATIVE_SOCIAL_FAMILIES) out.push({ family, k });
  return out;
}

function pickWeighted(rng: Rng, sources: readonly NegativeSource[], capSec: number): NegativeSource {
  const w = sources.map((s) => Math.max(1, Math.min(capSec, s.clip.durationSec)));
  let u = rng.uniform(
    0,
    w.reduce((a, b) => a + b, 0),
  );
  for (let i = 0; i < sources.length; i++) {
    u -= w[i] as number;
    if (u < 0) return sources[i] as NegativeSource;
  }
  return sources[sources.length - 1] as NegativeSource;
}

/**
 * Deterministic plan of the large negative set (no ffmpeg). `sources` must hold never-indexed clips
 * only; pip and insert take their unrelated footage from them too, so no query shows indexed footage.
 */
export function planLargeNegatives(
  sources: readonly NegativeSource[],
  seed: number,
  opts: { count: number; fontFile: string | null; withSocial?: boolean } & Partial<Omit<LargeNegativeParams, 'count' | 'social'>>,
): LargeNegativePlan[] {
  if (opts.count > 0 && sources.length === 0) throw new Error('the large negative set has no never-indexed clips to draw from');
  const segmentSec = opts.segmentSec ?? LARGE_NEGATIVE_DEFAULTS.segmentSec;
  const maxSize = opts.maxSize ?? LARGE_NEGATIVE_DEFAULTS.maxSize;
  const capSec = opts.weightCapSec ?? LARGE_NEGATIVE_DEFAULTS.weightCapSec;
  const ordered = [...sources].sort((a, b) => a.corpus.localeCompare(b.corpus) || a.clip.file.localeCompare(b.clip.file));
  const poolClips = ordered.map((s) => s.clip);
  const root = createRng(seed).fork('large-negatives');
  const plans: LargeNegativePlan[] = [];
  for (const { family, k } of allocateLargeNegatives(opts.count, opts.imageShare)) {
    const rng = root.fork(`${family}:${k}`);
    const src = pickWeighted(rng.fork('clip'), ordered, capSec);
    const origin = src.clip;
    const id = `ln-${family}-${String(k).padStart(3, '0')}`;
    if (family.startsWith('image-')) {
      const image = { ...drawImageEdit(family as ImageFamily, rng.fork('image'), origin), maxSize };
      plans.push({ id, family: 'image-negative', positive: false, origin, image, negFamily: family, corpus: src.corpus });
      continue;
    }
    const copy = drawSegment(rng.fork('segment'), origin, segmentSec[0], segmentSec[1]);
    const video: VideoQuerySpec =
      family === 'plain'
        ? { copy, steps: [], compose: null, encode: { codec: 'libx264', crf: 23, container: 'mp4' }, parts: [], maxSize }
        : {
            ...drawVideoEdit(
              family as VideoEditFamily,
              rng.fork('edit'),
              { copyClip: origin, pool: poolClips, fontFile: opts.fontFile, copyDuration: copy.duration },
              copy,
            ),
            maxSize,
          };
    plans.push({ id, family: family === 'plain' ? 'neg-plain' : 'neg-edited', positive: false, origin, video, negFamily: family, corpus: src.corpus });
  }
  if (opts.withSocial) {
    for (const { family, k } of allocateSocialNegatives(opts.count, opts.imageShare)) {
      const rng = root.fork(`${family}:${k}`);
      const fitting = ordered.filter((s) => socialClipFits(family, s.clip, k, segmentSec));
      const src = pickWeighted(rng.fork('clip'), fitting.length > 0 ? fitting : ordered, capSec);
      const origin = src.clip;
      const video: VideoQuerySpec = {
        ...drawSocialEdit(family, rng.fork('edit'), { copyClip: origin, pool: poolClips, querySec: segmentSec, index: k }),
        maxSize,
      };
      plans.push({
        id: `ln-${family}-${String(k).padStart(3, '0')}`,
        family: 'neg-social',
        positive: false,
        origin,
        video,
        negFamily: family,
        corpus: src.corpus,
      });
    }
  }
  return plans;
}

export interface NegativeSetOptions {
  /** Number of queries (0 builds nothing). */
  count: number;
  /** Another corpus folder whose every clip is never-indexed footage (e.g. the hold-out corpus in the tuning split). */
  otherCorpus?: string;
  /** Label of `otherCorpus` in the report (default: the label the split's pool does not have). */
  otherLabel?: CorpusLabel;
  /** Default `<query set cacheDir>/negatives/`. */
  cacheDir?: string;
  /** Parallel ffmpeg processes (default 2). */
  concurrency?: number;
  imageShare?: number;
  segmentSec?: [number, number];
  maxSize?: SizeCap;
  /** Add social negatives (see allocateSocialNegatives) on top of `count`. */
  social?: boolean;
  log?: (line: string) => void;
}

/**
 * Never-indexed clips for the large negative set: the split's pool, plus the other corpus's clips
 * that are neither indexed nor already in the pool.
 */
export function negativeSources(
  set: Pick<QuerySet, 'reference' | 'pool' | 'poolCorpus'>,
  other: { label: CorpusLabel; clips: readonly ClipInfo[] } | null,
): NegativeSource[] {
  const indexed = new Set(set.reference.map((c) => resolve(c.path)));
  const out: NegativeSource[] = set.pool.map((clip) => ({ clip, corpus: set.poolCorpus }));
  const have = new Set(set.pool.map((c) => resolve(c.path)));
  if (other) {
    assertDistinctNames([set.reference, set.pool, other.clips]);
    for (const clip of other.clips) {
      const p = resolve(clip.path);
      if (indexed.has(p) || have.has(p)) continue;
      have.add(p);
      out.push({ clip, corpus: other.label });
    }
  }
  return out;
}

/** Build (or reuse from the cache) the large negative set for a query set's split. */
export async function buildNegativeSet(set: QuerySet, opts: NegativeSetOptions): Promise<NegativeSet> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const cacheDir = resolve(opts.cacheDir ?? join(set.cacheDir, 'negatives'));
  await mkdir(cacheDir, { recursive: true });
  const imageShare = opts.imageShare ?? LARGE_NEGATIVE_DEFAULTS.imageShare;
  const segmentSec = opts.segmentSec ?? LARGE_NEGATIVE_DEFAULTS.segmentSec;
  const maxSize = opts.maxSize ?? LARGE_NEGATIVE_DEFAULTS.maxSize;
  const socialCount = opts.social ? allocateSocialNegatives(opts.count, imageShare).length : 0;
  const params: LargeNegativeParams = {
    count: opts.count,
    imageShare,
    segmentSec,
    maxSize,
    weightCapSec: LARGE_NEGATIVE_DEFAULTS.weightCapSec,
    ...(opts.social ? { social: { perFamily: socialCount / LARGE_NEGATIVE_SOCIAL_FAMILIES.length, count: socialCount } } : {}),
  };

  let other: { label: CorpusLabel; dir: string; clips: ClipInfo[] } | null = null;
  if (opts.otherCorpus !== undefined) {
    const dir = resolve(opts.otherCorpus);
    const known = set.corpora.find((c) => c.dir === dir);
    if (known?.role === 'reference') {
      throw new Error(`--other-corpus ${dir} is the indexed corpus of this split: none of its clips is never-indexed footage`);
    }
    if (known) {
      log(`--other-corpus ${dir} is this split's own corpus; its never-indexed clips are already the pool`);
    } else if (set.split === 'mixed') {
      throw new Error('the mixed split already draws its negatives from the whole never-indexed corpus; --other-corpus is not used with it');
    } else {
      const label: CorpusLabel = opts.otherLabel ?? (set.poolCorpus === 'tuning' ? 'holdout' : 'tuning');
      other = { label, dir, clips: await probeCorpus(dir, join(cacheDir, 'clips-other.json')) };
    }
  }
  const sources = negativeSources(set, other);
  const byName = new Map<string, ClipInfo>([...set.reference, ...set.pool, ...sources.map((s) => s.clip)].map((c) => [c.file, c]));
  const fontFile = set.fontFile ?? findFontFile();
  const plans = planLargeNegatives(sources, set.seed, { count: opts.count, fontFile, imageShare, segmentSec, maxSize, withSocial: opts.social ?? false });
  const byCorpus = new Map<CorpusLabel, string[]>();
  for (const s of sources) byCorpus.set(s.corpus, [...(byCorpus.get(s.corpus) ?? []), s.clip.file]);
  const poolDir = set.corpora.find((c) => c.label === set.poolCorpus)?.dir ?? null;
  log(
    `large negative set: ${opts.count} queries${socialCount > 0 ? ` + ${socialCount} social` : ''} from ${sources.length} never-indexed clips (${[...byCorpus].map(([l, c]) => `${l} ${c.length}`).join(', ')}), ` +
      `${Math.round(imageShare * 100)} % stills, windows ${segmentSec[0]}–${segmentSec[1]} s, ≤ ${maxSize.w}×${maxSize.h}`,
  );

  const manifest = join(cacheDir, 'negatives.json');
  const knownDurations = await readKnownDurations(manifest);
  let done = 0;
  let fresh = 0;
  const queries = await mapLimit(plans, opts.concurrency ?? 2, async (p): Promise<LargeNegativeRecord> => {
    const q = await materializeQuery(p, byName, cacheDir, knownDurations);
    done++;
    if (!q.cached) {
      fresh++;
      if (fresh % 25 === 0 || plans.length <= 100) log(`  [gen negatives ${done}/${plans.length}] ${p.id} ${(q.genMs / 1000).toFixed(1)}s`);
    }
    return { ...q, negFamily: p.negFamily, corpus: p.corpus };
  });
  const generateMs = Date.now() - t0;
  log(`large negatives: ${queries.length} (${fresh} generated, ${queries.length - fresh} from cache) in ${(generateMs / 1000).toFixed(1)}s → ${cacheDir}`);
  const out: NegativeSet = {
    version: GENERATOR_VERSION,
    seed: set.seed,
    cacheDir,
    params,
    sources: [...byCorpus].map(([corpus, clips]) => ({ corpus, dir: corpus === set.poolCorpus ? poolDir : (other?.dir ?? null), clips })),
    queries,
    generateMs,
  };
  await writeFile(manifest, JSON.stringify(out, null, 1));
  return out;
}

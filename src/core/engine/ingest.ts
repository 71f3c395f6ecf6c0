import type { FrameDescriptor } from '../descriptors/frame-descriptor.js';
import type { FrameStore, StoredFrame } from '../../db/frame-store.js';
import type { MediaLimits } from '../settings/media-settings.js';
import type { SamplingOptions } from '../media/frame-sampler.js';
import { sampleFrames } from '../media/frame-sampler.js';
import { probeMedia } from '../media/probe.js';
import type { MediaInfo } from '../media/probe.js';
import type { Raster } from '../frames/raster.js';
import { sha256File } from '../media/content-hash.js';
import { storedRegions } from '../frames/region-variants.js';
import { describeAll } from '../descriptors/frame-descriptor.js';
import { candidateSampling, selectFrames } from './frame-selection.js';
import type { IndexOptions, IndexResult, Progress, VideoRecord } from './types.js';
import { AbortedError, InvalidArgumentError } from '../errors/retrace-error.js';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { DEFAULT_SAMPLING, decoderThreadsSideBySide } from '../settings/media-settings.js';

export interface IngestContext {
  store: FrameStore;
  descriptor: FrameDescriptor;
  limits: MediaLimits;
  sampling: SamplingOptions;
  /** Frames described and committed together. */
  batchSize: number;
  /** Information score below which frames never drive a match (and never call for a motion frame). */
  minQuality: number;
  /** Store narrow windows (strips, quadrants) with each frame (`RetraceOptions.storedWindows`). */
  storedWindows?: boolean;
}

/** The result of indexing content the index already holds, ready, as `existing`. */
export function duplicateOf(existing: VideoRecord, startedAt: number): IndexResult {
  return {
    videoId: existing.id,
    status: 'duplicate',
    durationSec: existing.durationSec,
    frames: existing.frameCount,
    video: existing,
    timingsMs: { total: performance.now() - startedAt },
  };
}

/**
 * Index one video file: probe → hash (duplicate check) → stream frames → remove borders →
 * score quality → describe the stored regions → commit in batches → mark ready. The video is
 * invisible to search until the final step, and any failure removes what was written.
 */
export async function ingestVideo(ctx: IngestContext, path: string, opts: IndexOptions = {}): Promise<IndexResult> {
  const t0 = performance.now();
  const timings: Record<string, number> = { probe: 0, hash: 0, sample: 0, describe: 0, store: 0 };
  const report = (p: Progress) => opts.onProgress?.(p);
  const checkAbort = () => {
    if (opts.signal?.aborted) throw new AbortedError();
  };
  // A file whose turn comes after the caller gave up is not even probed.
  checkAbort();

  report({ stage: 'probing', fraction: 0 });
  let t = performance.now();
  const info = await probeMedia(path, ctx.limits);
  timings.probe = performance.now() - t;
  if (info.kind !== 'video') throw new InvalidArgumentError(`${path} is a still image; only videos can be indexed (images can be searched)`);
  checkAbort();

  t = performance.now();
  // Stamped before the bytes are read: a file changed while it is hashed looks changed to the next sync.
  const stamp = await stat(path);
  const contentHash = await sha256File(path);
  timings.hash = performance.now() - t;
  const existing = await ctx.store.findByHash(contentHash);
  if (existing && existing.status === 'ready') {
    report({ stage: 'done', fraction: 1 });
    return duplicateOf(existing, t0);
  }

  const videoId = await ctx.store.beginVideo({
    contentHash,
    path: opts.displayPath ?? path,
    title: opts.title ?? null,
    durationSec: info.durationSec,
    fps: info.fps,
    width: info.width,
    height: info.height,
    codec: info.codec,
    file: { size: stamp.size, mtimeMs: stamp.mtimeMs },
    metadata: {
      ...(opts.metadata ?? {}),
      container: info.container,
      rotation: info.rotation,
      variableFrameRate: info.variableFrameRate,
      hasAudio: info.hasAudio,
    },
  });

  let frames = 0;
  let lastTime = 0;
  const progressAt = (timeSec: number) => (info.durationSec > 0 ? Math.min(0.97, 0.02 + 0.95 * (timeSec / info.durationSec)) : 0.02);
  try {
    for await (const batch of describeFrames(
      ctx,
      path,
      info,
      opts,
      timings,
      (timeSec, pending) => {
        lastTime = Math.max(lastTime, timeSec);
        // Progress follows media time frame by frame (batches only decide when rows are written);
        // without a known duration there is no fraction to give until the end.
        report({ stage: 'sampling', fraction: progressAt(lastTime), mediaTimeSec: lastTime, framesDone: frames + pending });
      },
      (pending) => report({ stage: 'describing', fraction: progressAt(lastTime), mediaTimeSec: lastTime, framesDone: frames + pending }),
    )) {
      const ts = performance.now();
      await ctx.store.addFrames(videoId, batch);
      timings.store += performance.now() - ts;
      frames += batch.length;
      report({ stage: 'storing', fraction: progressAt(lastTime), mediaTimeSec: lastTime, framesDone: frames });
      checkAbort();
    }
    // Containers without a duration in the header (some WebM) get it from decoding.
    const durationSec = info.durationSec > 0 ? info.durationSec : lastTime + ctx.sampling.intervalSec;
    const video = await ctx.store.finishVideo(videoId, frames, durationSec);
    report({ stage: 'done', fraction: 1, mediaTimeSec: durationSec, framesDone: frames });
    timings.total = performance.now() - t0;
    return { videoId, status: 'indexed', durationSec, frames, video, timingsMs: timings };
  } catch (e) {
    await ctx.store.discardVideo(videoId).catch(() => undefined);
    throw e;
  }
}

/**
 * The frames an index stores for a video, described, in batches of `ctx.batchSize`: sampled,
 * selected (motion frames added, flat ones skipped), borders removed, quality scored, and each
 * stored region described. Shared by indexing and by signatures, so that a signature carries
 * exactly what indexing the file would store.
 */
export async function* describeFrames(
  ctx: Pick<IngestContext, 'descriptor' | 'limits' | 'sampling' | 'batchSize' | 'minQuality' | 'storedWindows'>,
  path: string,
  info: MediaInfo,
  opts: Pick<IndexOptions, 'signal' | 'decoderThreads'>,
  timings: Record<string, number>,
  onFrame?: (timestampSec: number, pendingFrames: number) => void,
  /** Called when a full batch is about to be described. */
  onDescribe?: (pendingFrames: number) => void,
): AsyncGenerator<StoredFrame[]> {
  let batch: StoredFrame[] = [];
  let regions: Array<{ frame: number; variant: number; raster: Raster }> = [];
  /** Frames yielded in earlier batches: with the place in the batch, a frame's ordinal picks its stored windows. */
  let yielded = 0;
  const describe = async () => {
    const ts = performance.now();
    const vectors = await describeAll(
      ctx.descriptor,
      regions.map((r) => r.raster),
    );
    timings.describe = (timings.describe ?? 0) + performance.now() - ts;
    regions.forEach((r, i) => batch[r.frame].vectors.push({ variant: r.variant, embedding: vectors[i] }));
    const done = batch;
    yielded += done.length;
    batch = [];
    regions = [];
    return done;
  };
  let ts = performance.now();
  const candidates = sampleFrames({
    path,
    info,
    output: ctx.descriptor.input,
    sampling: candidateSampling(opts.decoderThreads ? { ...ctx.sampling, threads: opts.decoderThreads } : ctx.sampling),
    maxDurationSec: ctx.limits.maxDurationSec,
    signal: opts.signal,
  });
  for await (const f of selectFrames(candidates, { sampling: ctx.sampling, minQuality: ctx.minQuality, maxFrames: ctx.limits.maxFramesPerVideo })) {
    timings.sample = (timings.sample ?? 0) + performance.now() - ts;
    const index = batch.length;
    batch.push({ frameNumber: f.frameNumber, timestampSec: f.timestampSec, isKeyframe: f.isKeyframe, quality: f.prepared.quality, vectors: [] });
    const window = ctx.storedWindows ? { ordinal: yielded + index, displayAspect: info.width / info.height } : undefined;
    for (const r of storedRegions(f.raster, f.prepared.content, window)) regions.push({ frame: index, ...r });
    onFrame?.(f.timestampSec, batch.length);
    if (batch.length >= ctx.batchSize) {
      onDescribe?.(batch.length);
      yield await describe();
    }
    if (opts.signal?.aborted) throw new AbortedError();
    ts = performance.now();
  }
  if (batch.length) yield await describe();
}

/** Files in flight at once by default (see `IndexManyOptions.concurrency`). */
export const DEFAULT_INDEX_CONCURRENCY = 2;

export interface IndexManyOptions {
  /**
   * Files in flight at once. Default 2: per-file fixed costs (ffprobe, ffmpeg start, hashing,
   * statements) leave a core idle, and a second file fills it (+29 % on the real corpus).
   */
  concurrency?: number;
  onProgress?: (index: number, p: Progress) => void;
  /** Called as each file finishes, in completion order. */
  onSettled?: (index: number, outcome: IndexOutcome) => void;
  signal?: AbortSignal;
  /** The engine's decoder threads for one file alone (default `DEFAULT_SAMPLING.threads`). */
  decoderThreads?: number;
  /** Stored in every file's metadata. */
  metadata?: Record<string, unknown>;
}

/**
 * Decoder threads of each file of an `ingestMany` run: files side by side share the cores
 * (`decoderThreadsSideBySide`), a single file keeps `threads`. Fixed for the whole run, so the
 * ingest benchmark can decode with exactly the same flags.
 */
export function ingestManyDecoderThreads(
  files: number,
  concurrency: number,
  threads: number = DEFAULT_SAMPLING.threads,
  cores: number = availableParallelism(),
): number {
  return decoderThreadsSideBySide(threads, Math.min(files, Math.max(1, Math.floor(concurrency))), cores);
}

export type IndexOutcome = { ok: true; result: IndexResult } | { ok: false; error: unknown };

/**
 * Index many files with a few in flight. Files of equal size never run at the same time: the same
 * bytes always have the same size, and two ingests of one content would race on its hash, while
 * one after the other the second is simply reported as a duplicate.
 */
export async function ingestMany(
  index: (path: string, opts: IndexOptions) => Promise<IndexResult>,
  paths: readonly string[],
  opts: IndexManyOptions = {},
): Promise<IndexOutcome[]> {
  const outcomes: IndexOutcome[] = new Array(paths.length);
  const sizes = await Promise.all(
    paths.map((p) =>
      stat(p).then(
        (s) => s.size,
        () => -1,
      ),
    ),
  );
  const busySizes = new Set<number>();
  const pending = paths.map((_, i) => i);
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_INDEX_CONCURRENCY));
  const decoderThreads = ingestManyDecoderThreads(paths.length, concurrency, opts.decoderThreads);
  let wake: (() => void) | null = null;
  const run = async (i: number) => {
    try {
      const result = await index(paths[i], { signal: opts.signal, metadata: opts.metadata, onProgress: (p) => opts.onProgress?.(i, p), decoderThreads });
      outcomes[i] = { ok: true, result };
    } catch (error) {
      outcomes[i] = { ok: false, error };
    }
    opts.onSettled?.(i, outcomes[i]);
  };
  const inFlight = new Set<Promise<void>>();
  while (pending.length || inFlight.size) {
    // The first pending file whose size is not in flight (unreadable files, size -1, never wait).
    const at = inFlight.size < concurrency ? pending.findIndex((i) => sizes[i] < 0 || !busySizes.has(sizes[i])) : -1;
    if (at < 0) {
      await new Promise<void>((r) => {
        wake = r;
      });
      continue;
    }
    const [i] = pending.splice(at, 1);
    if (sizes[i] >= 0) busySizes.add(sizes[i]);
    const p: Promise<void> = run(i).finally(() => {
      busySizes.delete(sizes[i]);
      inFlight.delete(p);
      wake?.();
      wake = null;
    });
    inFlight.add(p);
  }
  return outcomes;
}

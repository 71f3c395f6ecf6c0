/**
 * Signatures without media: made from a video file (exactly what indexing it would store), added
 * to an index as a reference with no media, and searched with. Nothing here decodes media but
 * `makeSignature`.
 */
import { open, readFile } from 'node:fs/promises';
import type { FrameStore, StoredFrame } from '../../db/frame-store.js';
import type { FrameDescriptor } from '../descriptors/frame-descriptor.js';
import type { IngestContext } from '../engine/ingest.js';
import { describeFrames, duplicateOf } from '../engine/ingest.js';
import { probeMedia } from '../media/probe.js';
import { sampleFrames } from '../media/frame-sampler.js';
import { prepareFrame } from '../frames/prepared-frame.js';
import { storedRegions } from '../frames/region-variants.js';
import { describeAll } from '../descriptors/frame-descriptor.js';
import { sha256File } from '../media/content-hash.js';
import { InvalidArgumentError, SignatureDescriptorMismatchError } from '../errors/retrace-error.js';
import type { IndexOptions, IndexResult, SearchOptions, SearchResult } from '../engine/types.js';
import type { DescriptorSearchContext } from '../library/descriptor-search.js';
import { alignDescriptors } from '../library/descriptor-search.js';
import { judgeCandidates } from '../verify/judge-segments.js';
import { describeMatches, rankVideos, round } from '../results/match-results.js';
import { resolveScope } from '../library/search-filter.js';
import { recurringFilter, recurringSegments } from '../library/recurring-segments.js';
import type { VideoSignature } from './signature-format.js';
import { decodeSignature, encodeSignature, looksLikeSignature } from './signature-format.js';

const CREATED_BY = 'retrace signature v1';

/**
 * Make the signature of a video file: its frames sampled, selected and described as indexing
 * would, with its content hash and duration. A still image's signature holds its one frame and
 * is searched under the rules of a picture (it cannot be indexed, as an image file cannot).
 */
export async function makeSignature(
  ctx: Pick<IngestContext, 'descriptor' | 'limits' | 'sampling' | 'batchSize' | 'minQuality'>,
  path: string,
  options: { title?: string; signal?: AbortSignal } = {},
): Promise<Buffer> {
  const info = await probeMedia(path, ctx.limits);
  const contentHash = await sha256File(path);
  const frames: StoredFrame[] = [];
  if (info.kind === 'image') {
    // A picture's one frame, prepared and described as a stored frame is.
    for await (const f of sampleFrames({ path, info, output: ctx.descriptor.input, signal: options.signal })) {
      const prepared = prepareFrame(f.raster);
      const regions = storedRegions(f.raster, prepared.content);
      const vectors = await describeAll(
        ctx.descriptor,
        regions.map((r) => r.raster),
      );
      frames.push({
        frameNumber: 0,
        timestampSec: 0,
        isKeyframe: true,
        quality: prepared.quality,
        vectors: regions.map((r, i) => ({ variant: r.variant, embedding: vectors[i] })),
      });
      break;
    }
  } else {
    for await (const batch of describeFrames(ctx, path, info, { signal: options.signal }, {})) frames.push(...batch);
  }
  const last = frames.at(-1)?.timestampSec ?? 0;
  return encodeSignature({
    kind: info.kind === 'image' ? 'image' : 'video',
    descriptor: { id: ctx.descriptor.id, dimensions: ctx.descriptor.dimensions },
    contentHash,
    durationSec: info.kind === 'image' ? 0 : info.durationSec > 0 ? info.durationSec : last + ctx.sampling.intervalSec,
    width: info.width,
    height: info.height,
    fps: info.fps,
    intervalSec: ctx.sampling.intervalSec,
    title: options.title ?? null,
    createdBy: CREATED_BY,
    frames: frames.map((f) => ({ timestampSec: f.timestampSec, quality: f.quality, vectors: new Map(f.vectors.map((v) => [v.variant, v.embedding])) })),
  });
}

/** Whether a file is a signature (by its first bytes), so `index` and `search` can take either. */
export async function isSignatureFile(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return looksLikeSignature(head.subarray(0, bytesRead));
  } catch {
    // Not readable: the media path reports why.
    return false;
  } finally {
    await fh?.close();
  }
}

/** Read and decode a signature file, refusing one made with another descriptor. */
export async function readSignature(path: string, descriptor: FrameDescriptor): Promise<VideoSignature> {
  const sig = decodeSignature(await readFile(path));
  if (sig.descriptor.id !== descriptor.id || sig.descriptor.dimensions !== descriptor.dimensions)
    throw new SignatureDescriptorMismatchError(sig.descriptor.id, descriptor.id);
  return sig;
}

/**
 * Check a signature file before it is used (a server checks an upload before it becomes a job):
 * whole and undamaged (BAD_SIGNATURE), made with this index's descriptor (DESCRIPTOR_MISMATCH),
 * and, to be indexed, a video's (a still image's signature can only be searched with). Returns
 * what it describes.
 */
export async function checkSignature(
  path: string,
  descriptor: FrameDescriptor,
  use: 'index' | 'search',
): Promise<Pick<VideoSignature, 'kind' | 'durationSec' | 'frameCount' | 'contentHash'>> {
  const sig = await readSignature(path, descriptor);
  if (use === 'index' && sig.kind === 'image') throw imageSignatureNotIndexable(path);
  return { kind: sig.kind, durationSec: sig.durationSec, frameCount: sig.frameCount, contentHash: sig.contentHash };
}

function imageSignatureNotIndexable(path: string): InvalidArgumentError {
  return new InvalidArgumentError(`${path} is the signature of a still image; only videos can be indexed (images can be searched)`);
}

/**
 * Add a signature to the index as a reference without media: searchable like any video, but
 * with no thumbnails or stream, and never verified (`metadata.media` is false). The same content
 * (by the hash of the file it was made from) is indexed once, as for files.
 */
export async function indexSignature(store: FrameStore, descriptor: FrameDescriptor, path: string, opts: IndexOptions = {}): Promise<IndexResult> {
  const t0 = performance.now();
  const sig = await readSignature(path, descriptor);
  if (sig.kind === 'image') throw imageSignatureNotIndexable(path);
  const existing = await store.findByHash(sig.contentHash);
  if (existing && existing.status === 'ready') return duplicateOf(existing, t0);
  const videoId = await store.beginVideo({
    contentHash: sig.contentHash,
    path: opts.displayPath ?? path,
    title: opts.title ?? sig.title,
    durationSec: sig.durationSec,
    fps: sig.fps,
    width: sig.width,
    height: sig.height,
    codec: 'signature',
    metadata: { ...(opts.metadata ?? {}), media: false, signature: { version: sig.version, createdBy: sig.createdBy } },
  });
  try {
    const BATCH = 256;
    for (let i = 0; i < sig.frames.length; i += BATCH) {
      await store.addFrames(
        videoId,
        sig.frames.slice(i, i + BATCH).map((f, j) => ({
          frameNumber: i + j,
          timestampSec: f.timestampSec,
          isKeyframe: false,
          quality: f.quality,
          vectors: [...f.vectors].map(([variant, embedding]) => ({ variant, embedding })),
        })),
      );
    }
    const video = await store.finishVideo(videoId, sig.frames.length, sig.durationSec);
    return { videoId, status: 'indexed', durationSec: sig.durationSec, frames: sig.frames.length, video, timingsMs: { total: performance.now() - t0 } };
  } catch (e) {
    await store.discardVideo(videoId).catch(() => undefined);
    throw e;
  }
}

/**
 * Search with a signature. Its frames are searched as a search by file searches its first tier
 * (see library/descriptor-search.ts). With no media on the query's side nothing can be verified:
 * every segment is `no-media` and reported only when its temporal evidence alone reaches
 * `verify.abstainMinScore`, the rule for segments too flat to verify, since a demanding user
 * would rather miss a weak copy than be shown a chance one.
 */
export async function searchSignature(ctx: DescriptorSearchContext, path: string, opts: SearchOptions = {}): Promise<SearchResult> {
  const t0 = performance.now();
  if (opts.top !== undefined) throw new InvalidArgumentError('--top is not available for a signature query');
  const scope = await resolveScope(ctx.store, opts);
  let t = performance.now();
  const sig = await readSignature(path, ctx.descriptor);
  const decode = performance.now() - t;
  t = performance.now();
  const ignore = opts.ignoreRecurring ? recurringFilter(await recurringSegments(ctx.store, ctx.refIntervalSec), ctx.refIntervalSec) : undefined;
  const image = sig.kind === 'image';
  const candidates = await alignDescriptors(ctx, { frames: sig.frames, intervalSec: sig.intervalSec, scope, ignore, image });
  const knn = performance.now() - t;
  const minSegmentScore = opts.minSegmentScore ?? (image ? ctx.settings.minImageScore : ctx.settings.minSegmentScore);
  const judged = await judgeCandidates(ctx.store, null, candidates, minSegmentScore, true, ctx.settings.verify, opts.signal);
  const ranked = rankVideos(judged, { single: image, isImage: image, durationSec: sig.durationSec });
  const matches = await describeMatches(ctx.store, ranked, opts.limit ?? 10);
  return {
    query: { path: opts.displayPath ?? path, kind: sig.kind, durationSec: round(sig.durationSec), frames: sig.frames.length, media: false },
    matches,
    timingsMs: { decode: Math.round(decode), describe: 0, knn: Math.round(knn), align: 0, verify: 0, total: Math.round(performance.now() - t0) },
  };
}

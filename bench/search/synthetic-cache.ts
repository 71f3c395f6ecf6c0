/**
 * Stored-frame descriptors of the synthetic videos, generated once and cached on disk: rendering
 * and describing a million frames takes minutes, reading them back seconds. The cache is one
 * file per (generator version, source set, seed, frames per video) holding, video after video,
 * one record per frame: quality and the two stored vectors (float32). A longer run extends the
 * file; a shorter one reads a prefix, so N = 10k is exactly the first 10k frames of N = 1M.
 */
import { createHash } from 'node:crypto';
import { open, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { SourceClip } from './source-frames.js';
import { SYNTH_VERSION, describeStored, renderFrame, videoSpec } from './synthetic-videos.js';

import { BuiltinDescriptor } from '../../src/index.js';

const descriptor = new BuiltinDescriptor();
/** Dimensions of the built-in descriptor (part of the cache key with its id). */
export const DIMS = descriptor.dimensions;
const RECORD_FLOATS = 1 + 2 * DIMS;
const RECORD_BYTES = RECORD_FLOATS * 4;

export interface SyntheticFrame {
  /** Seconds into its video (frames are 1 s apart, the default sampling interval). */
  t: number;
  quality: number;
  v0: Float32Array;
  v1: Float32Array;
}

export interface SyntheticSet {
  seed: number;
  framesPerVideo: number;
  clips: readonly SourceClip[];
  cacheFile: string;
}

/** Identity of a source set (names and frame counts), part of the cache key. */
export function sourceSetId(clips: readonly SourceClip[]): string {
  const h = createHash('sha256');
  for (const c of clips) h.update(`${c.name}:${c.frames.length}\n`);
  return h.digest('hex').slice(0, 12);
}

export function syntheticSet(clips: readonly SourceClip[], seed: number, framesPerVideo: number, cacheDir: string): SyntheticSet {
  return {
    seed,
    framesPerVideo,
    clips,
    cacheFile: join(cacheDir, `synth-v${SYNTH_VERSION}-${descriptor.id}-${DIMS}d-${sourceSetId(clips)}-s${seed}-fpv${framesPerVideo}.f32`),
  };
}

/** Frames of video `v` (the first `count`) for a set with `total` frames in all. */
export function framesOfVideo(set: SyntheticSet, v: number, total: number): number {
  return Math.max(0, Math.min(set.framesPerVideo, total - v * set.framesPerVideo));
}

/**
 * Make sure the cache holds at least `total` frames, rendering and describing what is missing.
 * Returns how many frames were generated now (0 if all came from cache).
 */
export async function ensureSynthetic(
  set: SyntheticSet,
  total: number,
  log: (s: string) => void = () => undefined,
): Promise<{ generated: number; seconds: number }> {
  await mkdir(join(set.cacheFile, '..'), { recursive: true });
  let have = 0;
  try {
    have = Math.floor((await stat(set.cacheFile)).size / RECORD_BYTES);
  } catch {
    have = 0;
  }
  // Only whole videos are cached, except a tail that is regenerated.
  const fpv = set.framesPerVideo;
  const wholeVideos = Math.floor(have / fpv);
  const needVideos = Math.ceil(total / fpv);
  if (wholeVideos >= needVideos || have >= total) return { generated: 0, seconds: 0 };
  const fh = await open(set.cacheFile, wholeVideos * fpv === have ? 'a' : 'r+');
  const t0 = performance.now();
  let lastLog = t0;
  let generated = 0;
  try {
    if (have !== wholeVideos * fpv) await fh.truncate(wholeVideos * fpv * RECORD_BYTES);
    let pos = wholeVideos * fpv * RECORD_BYTES;
    const buf = new Float32Array(fpv * RECORD_FLOATS);
    for (let v = wholeVideos; v < needVideos; v++) {
      const spec = videoSpec(set.seed, v, fpv, set.clips);
      for (let t = 0; t < fpv; t++) {
        const d = describeStored(renderFrame(spec, t, set.clips));
        const o = t * RECORD_FLOATS;
        buf[o] = d.quality;
        buf.set(d.vectors[0], o + 1);
        buf.set(d.vectors[1], o + 1 + DIMS);
      }
      const bytes = new Uint8Array(buf.buffer, 0, fpv * RECORD_BYTES);
      await fh.write(bytes, 0, bytes.length, pos);
      pos += bytes.length;
      generated += fpv;
      const now = performance.now();
      if (now - lastLog > 15_000) {
        lastLog = now;
        const rate = generated / ((now - t0) / 1000);
        log(
          `  synthesising descriptors: ${(v + 1) * fpv}/${needVideos * fpv} frames, ${rate.toFixed(0)} frames/s, ~${(((needVideos - v - 1) * fpv) / rate).toFixed(0)} s left`,
        );
      }
    }
  } finally {
    await fh.close();
  }
  return { generated, seconds: (performance.now() - t0) / 1000 };
}

/** Read the frames of video `v` from the cache (which must cover them). */
export class SyntheticReader {
  private fh: Awaited<ReturnType<typeof open>> | null = null;

  constructor(private readonly set: SyntheticSet) {}

  async video(v: number, count: number): Promise<SyntheticFrame[]> {
    this.fh ??= await open(this.set.cacheFile, 'r');
    const bytes = count * RECORD_BYTES;
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await this.fh.read(buf, 0, bytes, v * this.set.framesPerVideo * RECORD_BYTES);
    if (bytesRead < bytes) throw new Error(`synthetic cache ${this.set.cacheFile} is too short for video ${v}`);
    const f = new Float32Array(buf.buffer, buf.byteOffset, count * RECORD_FLOATS);
    const out: SyntheticFrame[] = [];
    for (let t = 0; t < count; t++) {
      const o = t * RECORD_FLOATS;
      out.push({ t, quality: f[o], v0: f.subarray(o + 1, o + 1 + DIMS), v1: f.subarray(o + 1 + DIMS, o + RECORD_FLOATS) });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
  }
}

/**
 * Stored-frame descriptors of the synthetic videos, generated once and cached on disk: rendering
 * and describing a million frames takes minutes, reading them back seconds. The cache is one
 * file per (generator version, source set, seed, frames per video) holding, video after video,
 * one record per frame: quality and the two stored vectors (float32). A longer run extends the
 * file; a shorter one reads a prefix, so N = 10k is exactly the first 10k frames of N = 1M.
 *
 * The stored windows of the same frames (variants 2–4, for an index with stored windows) live in
 * a file of their own beside it, keyed also by the window geometry: runs without windows neither
 * pay for them nor see their cache change.
 */
import { createHash } from 'node:crypto';
import { open, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { SourceClip } from './source-frames.js';
import { SYNTH_DISPLAY_ASPECT, SYNTH_VERSION, describeStored, describeStoredWindows, renderFrame, videoSpec } from './synthetic-videos.js';

import { BuiltinDescriptor } from '../../src/index.js';
import { STORED_WINDOWS } from '../../src/core/settings/frame-settings.js';

const descriptor = new BuiltinDescriptor();
/** Dimensions of the built-in descriptor (part of the cache key with its id). */
export const DIMS = descriptor.dimensions;
const RECORD_FLOATS = 1 + 2 * DIMS;
const RECORD_BYTES = RECORD_FLOATS * 4;
/** Stored-window variants a frame may have (strip A, strip B, quadrant), in record order. */
const WINDOW_VARIANTS = [2, 3, 4] as const;
/** Windows record: one vector per window variant; an absent window (a frame's single strip, no strips on narrow content) is NaN-filled. */
const WINDOW_RECORD_FLOATS = WINDOW_VARIANTS.length * DIMS;
const WINDOW_RECORD_BYTES = WINDOW_RECORD_FLOATS * 4;

export interface SyntheticFrame {
  /** Seconds into its video (frames are 1 s apart, the default sampling interval). */
  t: number;
  quality: number;
  v0: Float32Array;
  v1: Float32Array;
  /** Stored windows (variant 2–4 vectors), read only from a reader made with windows. */
  windows?: Array<{ variant: number; vector: Float32Array }>;
}

export interface SyntheticSet {
  seed: number;
  framesPerVideo: number;
  clips: readonly SourceClip[];
  cacheFile: string;
  /** The stored windows of the same frames (see `ensureSyntheticWindows`). */
  windowsFile: string;
}

/** Identity of a source set (names and frame counts), part of the cache key. */
export function sourceSetId(clips: readonly SourceClip[]): string {
  const h = createHash('sha256');
  for (const c of clips) h.update(`${c.name}:${c.frames.length}\n`);
  return h.digest('hex').slice(0, 12);
}

export function syntheticSet(clips: readonly SourceClip[], seed: number, framesPerVideo: number, cacheDir: string): SyntheticSet {
  const stem = `synth-v${SYNTH_VERSION}-${descriptor.id}-${DIMS}d-${sourceSetId(clips)}-s${seed}-fpv${framesPerVideo}`;
  // The windows' file changes with their geometry and the videos' display aspect.
  const geometry = createHash('sha256').update(JSON.stringify({ STORED_WINDOWS, SYNTH_DISPLAY_ASPECT })).digest('hex').slice(0, 8);
  return {
    seed,
    framesPerVideo,
    clips,
    cacheFile: join(cacheDir, `${stem}.f32`),
    windowsFile: join(cacheDir, `${stem}-windows-${geometry}.f32`),
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
export function ensureSynthetic(set: SyntheticSet, total: number, log: (s: string) => void = () => undefined): Promise<{ generated: number; seconds: number }> {
  return fillCache(set, set.cacheFile, RECORD_FLOATS, total, 'descriptors', log, (raster, _t, out, o) => {
    const d = describeStored(raster);
    out[o] = d.quality;
    out.set(d.vectors[0], o + 1);
    out.set(d.vectors[1], o + 1 + DIMS);
  });
}

/**
 * Make sure the windows file holds the stored windows of at least `total` frames: each frame is
 * rendered again (deterministic) and its windows described the way ingest describes them, with
 * the frame's place in its video as its ordinal.
 */
export function ensureSyntheticWindows(
  set: SyntheticSet,
  total: number,
  log: (s: string) => void = () => undefined,
): Promise<{ generated: number; seconds: number }> {
  return fillCache(set, set.windowsFile, WINDOW_RECORD_FLOATS, total, 'stored windows', log, (raster, t, out, o) => {
    out.fill(NaN, o, o + WINDOW_RECORD_FLOATS);
    for (const w of describeStoredWindows(raster, t)) out.set(w.vector, o + WINDOW_VARIANTS.indexOf(w.variant as 2 | 3 | 4) * DIMS);
  });
}

async function fillCache(
  set: SyntheticSet,
  file: string,
  recordFloats: number,
  total: number,
  what: string,
  log: (s: string) => void,
  describe: (raster: ReturnType<typeof renderFrame>, t: number, out: Float32Array, offset: number) => void,
): Promise<{ generated: number; seconds: number }> {
  const recordBytes = recordFloats * 4;
  await mkdir(join(file, '..'), { recursive: true });
  let have: number;
  try {
    have = Math.floor((await stat(file)).size / recordBytes);
  } catch {
    have = 0;
  }
  // Only whole videos are cached, except a tail that is regenerated.
  const fpv = set.framesPerVideo;
  const wholeVideos = Math.floor(have / fpv);
  const needVideos = Math.ceil(total / fpv);
  if (wholeVideos >= needVideos || have >= total) return { generated: 0, seconds: 0 };
  const fh = await open(file, wholeVideos * fpv === have ? 'a' : 'r+');
  const t0 = performance.now();
  let lastLog = t0;
  let generated = 0;
  try {
    if (have !== wholeVideos * fpv) await fh.truncate(wholeVideos * fpv * recordBytes);
    let pos = wholeVideos * fpv * recordBytes;
    const buf = new Float32Array(fpv * recordFloats);
    for (let v = wholeVideos; v < needVideos; v++) {
      const spec = videoSpec(set.seed, v, fpv, set.clips);
      for (let t = 0; t < fpv; t++) describe(renderFrame(spec, t, set.clips), t, buf, t * recordFloats);
      const bytes = new Uint8Array(buf.buffer, 0, fpv * recordBytes);
      await fh.write(bytes, 0, bytes.length, pos);
      pos += bytes.length;
      generated += fpv;
      const now = performance.now();
      if (now - lastLog > 15_000) {
        lastLog = now;
        const rate = generated / ((now - t0) / 1000);
        log(
          `  synthesising ${what}: ${(v + 1) * fpv}/${needVideos * fpv} frames, ${rate.toFixed(0)} frames/s, ~${(((needVideos - v - 1) * fpv) / rate).toFixed(0)} s left`,
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
  private wh: Awaited<ReturnType<typeof open>> | null = null;

  /** `windows`: also read each frame's stored windows (the windows file must cover them). */
  constructor(
    private readonly set: SyntheticSet,
    private readonly windows = false,
  ) {}

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
    if (this.windows) {
      this.wh ??= await open(this.set.windowsFile, 'r');
      const wbytes = count * WINDOW_RECORD_BYTES;
      const wbuf = Buffer.alloc(wbytes);
      const r = await this.wh.read(wbuf, 0, wbytes, v * this.set.framesPerVideo * WINDOW_RECORD_BYTES);
      if (r.bytesRead < wbytes) throw new Error(`stored-windows cache ${this.set.windowsFile} is too short for video ${v}`);
      const w = new Float32Array(wbuf.buffer, wbuf.byteOffset, count * WINDOW_RECORD_FLOATS);
      for (let t = 0; t < count; t++) {
        out[t].windows = WINDOW_VARIANTS.map((variant, i) => ({
          variant,
          vector: w.subarray(t * WINDOW_RECORD_FLOATS + i * DIMS, t * WINDOW_RECORD_FLOATS + (i + 1) * DIMS),
        })).filter((x) => !Number.isNaN(x.vector[0]));
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    await this.wh?.close();
    this.fh = null;
    this.wh = null;
  }
}

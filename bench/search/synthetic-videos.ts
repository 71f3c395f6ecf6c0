/**
 * Synthetic index content with the statistics of real footage. Every synthetic video is made of
 * shots cut from real source frames (decoded from the corpus): each shot takes a source clip
 * from some point, at some playback speed, through a crop window that pans and zooms slowly
 * (re-framing), maybe mirrored, maybe cross-faded with another clip (dissolves, overlays); the
 * whole video gets one "encoding": gain/bias/gamma, sensor/compression noise and sometimes
 * letterbox bars. Frames are rendered as 128×128 luma rasters — what the sampler hands the
 * pipeline — and described by the real pipeline (border detection, quality, stored regions,
 * built-in descriptor). So descriptors are neither uniform random nor a few points repeated:
 * they cover the manifold of natural pictures the corpus spans, with temporal coherence inside
 * shots, as an archive of many re-framed real videos would.
 *
 * Queries are copies of stretches of synthetic videos, re-rendered with a different "re-encode"
 * (gain/bias jitter, fresh noise, a slight extra crop, half-interval sampling phase), and
 * described the way search describes query frames (tier 1: whole picture and its mirror).
 */
import { BuiltinDescriptor } from '../../src/index.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { prepareFrame } from '../../src/core/frames/prepared-frame.js';
import { queryRegions, storedRegions } from '../../src/core/frames/region-variants.js';
import { Prng, hash32 } from '../common/random.js';
import type { SourceClip } from './source-frames.js';

/** Bump when rendering changes, so cached descriptors are regenerated. */
export const SYNTH_VERSION = 1;

const SIZE = 128;

/**
 * Display size of every synthetic video (the raster is this picture stretched to 128×128, as the
 * sampler hands it over): stored windows are laid out in display units, so the aspect matters.
 */
export const SYNTH_WIDTH = 1280;
export const SYNTH_HEIGHT = 720;
export const SYNTH_DISPLAY_ASPECT = SYNTH_WIDTH / SYNTH_HEIGHT;

interface Shot {
  /** First frame (seconds into the video) this shot covers. */
  from: number;
  clip: number;
  /** Source frame index (fractional) at the start of the shot. */
  start: number;
  /** Source frames per second of video (source interval 0.5 s: 2 = real time). */
  speed: number;
  /** Crop window centre and size as fractions of the source, and their change per second. */
  cx: number;
  cy: number;
  sx: number;
  sy: number;
  dcx: number;
  dcy: number;
  ds: number;
  flip: boolean;
  blend: { clip: number; start: number; alpha: number } | null;
}

export interface VideoSpec {
  index: number;
  frames: number;
  gain: number;
  bias: number;
  gamma: number;
  noise: number;
  /** Letterbox bar height in pixels (top and bottom), 0 = none. */
  bars: number;
  barLevel: number;
  shots: Shot[];
}

/** A "re-encode" applied on top of a video's own look to make a query copy. */
export interface CopyEdit {
  seed: number;
  gain: number;
  bias: number;
  noise: number;
  /** Extra crop of the content on each side, fraction. */
  inset: number;
  /** Source-frame offset (1 = half a second later: a different sampling phase). */
  phase: number;
  /**
   * A reframe: the copy shows only this horizontal range of the picture (shares of its width)
   * at full height, rendered at full raster resolution (a 9:16 vertical cut of a 16:9 video).
   */
  reframe?: { x: number; width: number };
}

let NOISE: Float32Array | null = null;
function noiseTable(): Float32Array {
  if (!NOISE) {
    const r = new Prng(12345);
    NOISE = new Float32Array(1 << 16);
    for (let i = 0; i < NOISE.length; i++) NOISE[i] = r.normal();
  }
  return NOISE;
}

/** The deterministic plan of synthetic video `index` (same seed, same video). */
export function videoSpec(seed: number, index: number, frames: number, clips: readonly SourceClip[]): VideoSpec {
  const r = new Prng(hash32(seed, index));
  const shots: Shot[] = [];
  const pickClip = () => r.int(0, clips.length - 1);
  let t = 0;
  while (t < frames) {
    const clip = pickClip();
    const n = clips[clip].frames.length;
    const sx = r.uniform(0.45, 1);
    const sy = Math.min(1, Math.max(0.45, sx * r.uniform(0.8, 1.25)));
    const speedDraw = r.next();
    shots.push({
      from: t,
      clip,
      start: r.uniform(0, n - 1),
      speed: speedDraw < 0.1 ? 0 : speedDraw < 0.25 ? 1 : speedDraw < 0.9 ? 2 : 3,
      cx: r.uniform(sx / 2, 1 - sx / 2),
      cy: r.uniform(sy / 2, 1 - sy / 2),
      sx,
      sy,
      dcx: r.uniform(-0.01, 0.01),
      dcy: r.uniform(-0.006, 0.006),
      ds: r.uniform(-0.008, 0.008),
      flip: r.chance(0.25),
      blend: r.chance(0.2) ? { clip: pickClip(), start: r.uniform(0, 1e6), alpha: r.uniform(0.15, 0.5) } : null,
    });
    t += r.int(2, 20);
  }
  const bars = r.chance(0.15) ? r.int(8, 24) : 0;
  return {
    index,
    frames,
    gain: r.uniform(0.75, 1.25),
    bias: r.uniform(-25, 25),
    gamma: r.uniform(0.75, 1.35),
    noise: r.uniform(0, 5),
    bars,
    barLevel: r.chance(0.8) ? r.int(0, 20) : r.int(200, 255),
    shots,
  };
}

function shotAt(spec: VideoSpec, t: number): Shot {
  let lo = 0;
  let hi = spec.shots.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (spec.shots[mid].from <= t) lo = mid;
    else hi = mid - 1;
  }
  return spec.shots[lo];
}

/** Bilinear sample of a source raster's crop window into `out` rows [y0, y1) (float luma). */
function sampleWindow(src: Raster, out: Float32Array, y0: number, y1: number, cx: number, cy: number, sx: number, sy: number, flip: boolean): void {
  const w = src.width;
  const h = src.height;
  const ww = sx * w;
  const wh = sy * h;
  const left = cx * w - ww / 2;
  const top = cy * h - wh / 2;
  const rows = y1 - y0;
  const d = src.data;
  // Column positions do not depend on the row: computed once per call (same arithmetic as per pixel).
  const ui = colIndex;
  const uf = colFrac;
  for (let ox = 0; ox < SIZE; ox++) {
    const xo = flip ? SIZE - 1 - ox : ox;
    let u = left + ((xo + 0.5) * ww) / SIZE - 0.5;
    u = Math.min(w - 1, Math.max(0, u));
    const i = Math.min(w - 2, Math.floor(u));
    ui[ox] = i;
    uf[ox] = u - i;
  }
  for (let oy = 0; oy < rows; oy++) {
    let v = top + ((oy + 0.5) * wh) / rows - 0.5;
    v = Math.min(h - 1, Math.max(0, v));
    const vi = Math.min(h - 2, Math.floor(v));
    const vf = v - vi;
    const r0 = vi * w;
    const r1 = r0 + w;
    const orow = (y0 + oy) * SIZE;
    for (let ox = 0; ox < SIZE; ox++) {
      const x = ui[ox];
      const f = uf[ox];
      const a = d[r0 + x] + (d[r0 + x + 1] - d[r0 + x]) * f;
      const b = d[r1 + x] + (d[r1 + x + 1] - d[r1 + x]) * f;
      out[orow + ox] = a + (b - a) * vf;
    }
  }
}

const colIndex = new Int32Array(SIZE);
const colFrac = new Float64Array(SIZE);
const scratchA = new Float32Array(SIZE * SIZE);
const scratchB = new Float32Array(SIZE * SIZE);

/**
 * Render frame `t` (seconds) of a synthetic video, optionally as a query copy.
 */
export function renderFrame(spec: VideoSpec, t: number, clips: readonly SourceClip[], copy?: CopyEdit): Raster {
  const shot = shotAt(spec, t);
  const dt = t - shot.from;
  const clip = clips[shot.clip];
  const n = clip.frames.length;
  const phase = copy?.phase ?? 0;
  const fi = Math.floor(shot.start + dt * shot.speed + phase) % n;
  const s = Math.max(0.3, Math.min(1, 1 + shot.ds * dt));
  let sx = Math.min(1, shot.sx * s);
  let sy = Math.min(1, shot.sy * s);
  const clampC = (c: number, sz: number) => Math.min(1 - sz / 2, Math.max(sz / 2, c));
  const cx = clampC(shot.cx + shot.dcx * dt, sx);
  const cy = clampC(shot.cy + shot.dcy * dt, sy);
  if (copy && copy.inset > 0) {
    sx *= 1 - 2 * copy.inset;
    sy *= 1 - 2 * copy.inset;
  }
  // A reframe narrows the crop window to its range of the output picture (mirrored with the shot).
  const rf = copy?.reframe;
  const narrow = (c: number, size: number, flip: boolean): [number, number] =>
    rf ? [c - size / 2 + size * (flip ? 1 - rf.x - rf.width / 2 : rf.x + rf.width / 2), size * rf.width] : [c, size];
  const [wcx, wsx] = narrow(cx, sx, shot.flip);
  const y0 = spec.bars;
  const y1 = SIZE - spec.bars;
  sampleWindow(clip.frames[fi], scratchA, y0, y1, wcx, cy, wsx, sy, shot.flip);
  if (shot.blend) {
    const bc = clips[shot.blend.clip];
    const bi = Math.floor(shot.blend.start + dt * 2 + phase) % bc.frames.length;
    const [bcx, bsx] = narrow(0.5, 1, false);
    sampleWindow(bc.frames[bi], scratchB, y0, y1, bcx, 0.5, bsx, 1, false);
    const a = shot.blend.alpha;
    for (let i = y0 * SIZE; i < y1 * SIZE; i++) scratchA[i] = scratchA[i] * (1 - a) + scratchB[i] * a;
  }
  const gain = spec.gain * (copy?.gain ?? 1);
  const bias = spec.bias + (copy?.bias ?? 0);
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = 255 * Math.pow(v / 255, spec.gamma) * gain + bias;
  const noise = noiseTable();
  const sigma = copy ? Math.hypot(spec.noise, copy.noise) : spec.noise;
  let nb = hash32(copy ? copy.seed : spec.index * 7919, t) & 0xffff;
  const data = new Uint8Array(SIZE * SIZE);
  data.fill(spec.barLevel, 0, y0 * SIZE);
  data.fill(spec.barLevel, y1 * SIZE);
  for (let i = y0 * SIZE; i < y1 * SIZE; i++) {
    const v = scratchA[i];
    const vi = v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
    const x = lut[vi] + sigma * noise[nb++ & 0xffff];
    data[i] = x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
  }
  return { width: SIZE, height: SIZE, channels: 1, data };
}

/** What is stored for one frame. */
export interface DescribedFrame {
  quality: number;
  /** Variant 0 (whole picture) and 1 (centre), as the ingest pipeline makes them. */
  vectors: [Float32Array, Float32Array];
}

const descriptor = new BuiltinDescriptor();

/** Describe a rendered frame exactly as ingest does: border removal, quality, stored regions. */
export function describeStored(raster: Raster): DescribedFrame {
  const p = prepareFrame(raster);
  const regions = storedRegions(raster, p.content);
  const byVariant = new Map(regions.map((r) => [r.variant, descriptor.describeOne(r.raster)]));
  return { quality: p.quality, vectors: [byVariant.get(0)!, byVariant.get(1)!] };
}

/** The stored windows (variants 2–4) of frame `ordinal` of a synthetic video, described exactly as ingest does in an index with stored windows. */
export function describeStoredWindows(raster: Raster, ordinal: number): Array<{ variant: number; vector: Float32Array }> {
  const p = prepareFrame(raster);
  return storedRegions(raster, p.content, { ordinal, displayAspect: SYNTH_DISPLAY_ASPECT })
    .filter((r) => r.variant >= 2)
    .map((r) => ({ variant: r.variant, vector: descriptor.describeOne(r.raster) }));
}

/**
 * A query frame as search's first tier sees it: quality, the region vectors compared with both
 * stored variants (whole picture, mirrored, and any unstripped alternative) and those compared
 * with the stored centre only (the centre region).
 */
export interface QueryFrameVectors {
  quality: number;
  regions: Float32Array[];
  centre: Float32Array[];
}

export function describeQuery(raster: Raster): QueryFrameVectors {
  const p = prepareFrame(raster);
  const tier1 = queryRegions(raster, p.content, 1);
  const vectors = (pick: (against: readonly number[]) => boolean) => tier1.filter((r) => pick(r.against)).map((r) => descriptor.describeOne(r.raster));
  return { quality: p.quality, regions: vectors((a) => a.includes(0)), centre: vectors((a) => !a.includes(0)) };
}

/** Quality of a rendered frame as search measures it (frames below the floor are not searched). */
export function frameQuality(raster: Raster): number {
  return prepareFrame(raster).quality;
}

/**
 * The regions of a query frame that a second-tier search compares with one kind of stored window
 * (`queryRegions` with `storedWindows`, nothing else built): strips (searched against variants 2
 * and 3) or quadrants (variant 4). `displayAspect` is the query's own shape.
 */
export function describeWindowQuery(raster: Raster, displayAspect: number, kind: 'strip' | 'quadrant'): Float32Array[] {
  const p = prepareFrame(raster);
  const regions = queryRegions(raster, p.content, 2, {
    displayAspect,
    windows: false,
    rotations: false,
    storedWindows: true,
    only: (key) => key.startsWith(kind),
  });
  return regions.filter((r) => r.kind === kind).map((r) => descriptor.describeOne(r.raster));
}

/** A random mild re-encode for a query copy. */
export function randomCopyEdit(r: Prng): CopyEdit {
  return {
    seed: r.int(1, 2 ** 30),
    gain: r.uniform(0.9, 1.1),
    bias: r.uniform(-8, 8),
    noise: r.uniform(1, 4),
    inset: r.chance(0.5) ? r.uniform(0, 0.04) : 0,
    phase: r.chance(0.5) ? 1 : 0,
  };
}

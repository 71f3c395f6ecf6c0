/**
 * Query-edit families for the accuracy benchmark.
 *
 * A family draws its parameters from a seeded generator (`drawVideoEdit`) into a
 * plain-JSON `VideoQuerySpec`; `buildVideoJob` turns a spec into ffmpeg
 * arguments plus the ground truth (which query interval shows which reference
 * interval). Image queries work the same way with `drawImageEdit` /
 * `buildImageJob`. Everything here is pure: no files are touched, so specs can
 * be hashed for caching and checked in unit tests.
 */
import { existsSync } from 'node:fs';

import { round, type Rng } from './seeded-random.js';

// ---------------------------------------------------------------------------
// Families

export type Difficulty = 'easy' | 'hard' | 'negative' | 'image';

export const EASY_FAMILIES = ['reencode', 'pad', 'colour', 'overlay', 'fps', 'noise', 'codec'] as const;
export const HARD_FAMILIES = ['crop', 'flip', 'speed', 'pip', 'insert', 'rotate', 'combo'] as const;
export const NEGATIVE_VIDEO_FAMILIES = ['neg-plain', 'neg-edited'] as const;
export const IMAGE_FAMILIES = ['image-frame', 'image-rescale', 'image-crop', 'image-jpeg'] as const;
export const NEGATIVE_IMAGE_FAMILIES = ['image-negative'] as const;

export type EasyFamily = (typeof EASY_FAMILIES)[number];
export type HardFamily = (typeof HARD_FAMILIES)[number];
export type VideoEditFamily = EasyFamily | HardFamily;
export type ImageFamily = (typeof IMAGE_FAMILIES)[number] | (typeof NEGATIVE_IMAGE_FAMILIES)[number];
export type QueryFamily = VideoEditFamily | (typeof NEGATIVE_VIDEO_FAMILIES)[number] | ImageFamily;

export const ALL_FAMILIES: readonly QueryFamily[] = [
  ...EASY_FAMILIES,
  ...HARD_FAMILIES,
  ...NEGATIVE_VIDEO_FAMILIES,
  ...IMAGE_FAMILIES,
  ...NEGATIVE_IMAGE_FAMILIES,
];

export function familyDifficulty(f: QueryFamily): Difficulty {
  if ((EASY_FAMILIES as readonly string[]).includes(f)) return 'easy';
  if ((HARD_FAMILIES as readonly string[]).includes(f)) return 'hard';
  if ((IMAGE_FAMILIES as readonly string[]).includes(f)) return 'image';
  return 'negative';
}

export function familyKind(f: QueryFamily): 'video' | 'image' {
  return f.startsWith('image-') ? 'image' : 'video';
}

export function isQueryFamily(s: string): s is QueryFamily {
  return (ALL_FAMILIES as readonly string[]).includes(s);
}

// ---------------------------------------------------------------------------
// Clips and segments

/** A probed corpus clip. `width`/`height` are display dimensions (SAR and rotation applied). */
export interface ClipInfo {
  file: string;
  path: string;
  durationSec: number;
  width: number;
  height: number;
  /** A sane constant frame rate to re-encode at (average rate, else nominal, else 25). */
  fps: number;
  sizeBytes: number;
}

/** A time range of one clip. */
export interface ClipSegment {
  clip: string;
  start: number;
  duration: number;
}

/** Largest size any generated query frame has; bigger sources are scaled down to fit (keeps generation fast). */
export const MAX_W = 1280;
export const MAX_H = 720;

/** A frame-size cap ({ w, h }); queries without one use MAX_W × MAX_H. */
export interface SizeCap {
  w: number;
  h: number;
}

const even = (x: number): number => Math.max(2, 2 * Math.round(x / 2));

/** Fit (w, h) inside (maxW, maxH) keeping the aspect ratio; never enlarges; even dimensions. */
export function fitWithin(w: number, h: number, maxW = MAX_W, maxH = MAX_H): { w: number; h: number } {
  const s = Math.min(1, maxW / w, maxH / h);
  return { w: even(w * s), h: even(h * s) };
}

// ---------------------------------------------------------------------------
// Edit steps (applied to the copy, in canonical order)

export type EditStep =
  | { op: 'crop'; left: number; right: number; top: number; bottom: number }
  | { op: 'rotate'; degrees: number; fill: 'black' | 'zoom' }
  | { op: 'hflip' }
  | { op: 'eq'; brightness: number; contrast: number; saturation: number; gamma: number }
  | { op: 'grey' }
  | {
      op: 'caption';
      text: string;
      /** Font size as a fraction of frame height. */
      size: number;
      /** Vertical position of the text top, as a fraction of frame height. */
      y: number;
      colour: string;
      style: 'border' | 'box';
      fontFile: string;
    }
  | { op: 'logo'; x: number; y: number; w: number; h: number; colour: string }
  | { op: 'pad'; mode: 'letterbox' | 'pillarbox' | 'windowbox'; x: number; y: number; colour: string }
  | { op: 'noise'; strength: number; temporal: boolean }
  | { op: 'scale'; height: number }
  | { op: 'speed'; factor: number }
  | { op: 'fps'; fps: number };

const STEP_ORDER: Record<EditStep['op'], number> = {
  crop: 0,
  rotate: 1,
  hflip: 2,
  eq: 3,
  grey: 4,
  caption: 5,
  logo: 6,
  pad: 7,
  noise: 8,
  scale: 9,
  speed: 10,
  fps: 11,
};

/** Composition of the edited copy with unrelated (never-indexed) footage. */
export type Compose =
  | {
      op: 'pip';
      background: ClipSegment;
      /** Copy width as a fraction of the background width. */
      scale: number;
      /** Position of the copy inside the free space, 0–1 on each axis. */
      x: number;
      y: number;
    }
  | { op: 'insert'; before: ClipSegment; after: ClipSegment };

export type Encode =
  | { codec: 'libx264'; crf: number; container: 'mp4' }
  | { codec: 'libvpx'; bitrateK: number; container: 'webm' }
  | { codec: 'mpeg4'; qscale: number; container: 'avi' };

export const DEFAULT_ENCODE: Encode = { codec: 'libx264', crf: 23, container: 'mp4' };

export interface VideoQuerySpec {
  /** The copied segment (from a reference clip, or from a pool clip for negatives). */
  copy: ClipSegment;
  steps: EditStep[];
  compose: Compose | null;
  encode: Encode;
  /** The single edit families this spec was drawn from (several for combo). */
  parts: VideoEditFamily[];
  /**
   * Frame-size cap of this query (default MAX_W × MAX_H). Absent on the benchmark's regular
   * queries, so their specs, hashes and cached files are unchanged; the large negative set
   * caps at 640 px wide to keep generation cheap.
   */
  maxSize?: SizeCap;
}

/** Context a family needs to draw its parameters. */
export interface DrawContext {
  copyClip: ClipInfo;
  /** Never-indexed clips to take unrelated footage from (pip/insert). */
  pool: readonly ClipInfo[];
  /** A TrueType font for captions, or null (captions are then replaced by logo boxes). */
  fontFile: string | null;
  /** Copy duration (seconds) before any speed change. */
  copyDuration: number;
}

// ---------------------------------------------------------------------------
// Drawing parameters

const WORDS = [
  'BREAKING', 'NEWS', 'WATCH', 'THIS', 'VIRAL', 'CLIP', 'AMAZING', 'LIVE', 'EXCLUSIVE', 'FOOTAGE',
  'TODAY', 'MUST', 'SEE', 'REPLAY', 'WOW', 'UPDATE', 'TOP', 'MOMENTS', 'FUNNY', 'SHARE',
];
const BOX_COLOURS = ['red', 'yellow', 'white', 'blue', 'green', 'orange', 'magenta', 'cyan'];
const PAD_COLOURS = ['white', 'gray', 'navy', 'darkgreen', 'maroon', '0x336699', 'yellow'];

const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
  '/usr/share/fonts/truetype/freefont/FreeSansBold.ttf',
  '/usr/share/fonts/TTF/DejaVuSans-Bold.ttf',
  '/Library/Fonts/Arial.ttf',
];

/** First TrueType font found on this machine (for drawtext), or null. */
export function findFontFile(candidates: readonly string[] = FONT_CANDIDATES): string | null {
  for (const c of candidates) if (existsSync(c)) return c;
  return null;
}

/** Uniform draw from [lo, hi) ∪ [lo2, hi2) — used to keep a parameter away from the identity. */
function twoSided(rng: Rng, lo: number, hi: number, lo2: number, hi2: number): number {
  const a = hi - lo;
  const b = hi2 - lo2;
  const u = rng.uniform(0, a + b);
  return u < a ? lo + u : lo2 + (u - a);
}

/** Pick an unrelated pool clip (not `exclude`) and a segment of it of `duration` (shorter if the clip is). */
export function drawUnrelated(rng: Rng, pool: readonly ClipInfo[], exclude: string, duration: number): ClipSegment {
  const candidates = pool.filter((c) => c.file !== exclude);
  if (candidates.length === 0) throw new Error('pip/insert need at least one unrelated pool clip');
  // Prefer clips long enough to cover the duration without freezing.
  const long = candidates.filter((c) => c.durationSec >= duration + 0.5);
  const clip = rng.pick(long.length > 0 ? long : candidates);
  const d = Math.min(duration, clip.durationSec - 0.1);
  const start = rng.uniform(0, Math.max(0, clip.durationSec - d - 0.1));
  return { clip: clip.file, start: round(start), duration: round(d) };
}

interface Partial {
  steps: EditStep[];
  compose?: Compose;
  encode?: Encode;
}

function drawSingle(family: Exclude<VideoEditFamily, 'combo'>, rng: Rng, ctx: DrawContext, speedForCompose = 1): Partial {
  switch (family) {
    case 'reencode':
      return {
        steps: [{ op: 'scale', height: even(rng.int(240, 480)) }],
        encode: { codec: 'libx264', crf: rng.int(35, 45), container: 'mp4' },
      };
    case 'pad': {
      const r = rng.next();
      const mode = r < 0.45 ? 'letterbox' : r < 0.9 ? 'pillarbox' : 'windowbox';
      const x = mode === 'letterbox' ? 0 : round(rng.uniform(0.1, 0.25));
      const y = mode === 'pillarbox' ? 0 : round(rng.uniform(0.1, 0.25));
      const colour = rng.chance(0.65) ? 'black' : rng.pick(PAD_COLOURS);
      return { steps: [{ op: 'pad', mode, x, y, colour }] };
    }
    case 'colour': {
      const steps: EditStep[] = [
        {
          op: 'eq',
          brightness: round(twoSided(rng, -0.25, -0.06, 0.06, 0.25)),
          contrast: round(twoSided(rng, 0.6, 0.85, 1.15, 1.6)),
          saturation: round(twoSided(rng, 0.3, 0.7, 1.3, 2.0)),
          gamma: round(twoSided(rng, 0.6, 0.85, 1.15, 1.6)),
        },
      ];
      if (rng.chance(0.35)) steps.push({ op: 'grey' });
      return { steps };
    }
    case 'overlay': {
      const steps: EditStep[] = [];
      if (ctx.fontFile) {
        const n = rng.chance(0.35) ? 2 : 1;
        const slots = rng.shuffle([
          [0.04, 0.14],
          [0.4, 0.5],
          [0.72, 0.82],
        ] as const);
        for (let i = 0; i < n; i++) {
          const [lo, hi] = slots[i] as readonly [number, number];
          const words = rng.sample(WORDS, rng.int(2, 3)).join(' ');
          steps.push({
            op: 'caption',
            text: words,
            size: round(rng.uniform(0.08, 0.14)),
            y: round(rng.uniform(lo, hi)),
            colour: rng.pick(['white', 'yellow', 'white', 'cyan']),
            style: rng.chance(0.5) ? 'border' : 'box',
            fontFile: ctx.fontFile,
          });
        }
      }
      const logos = ctx.fontFile ? (rng.chance(0.6) ? 1 : 0) : rng.int(2, 3);
      for (let i = 0; i < logos; i++) {
        const w = round(rng.uniform(0.1, 0.22));
        const h = round(rng.uniform(0.08, 0.18));
        // Corners, like broadcaster bugs.
        const right = rng.chance(0.5);
        const bottom = rng.chance(0.5);
        steps.push({
          op: 'logo',
          x: round(right ? 1 - w - rng.uniform(0.02, 0.06) : rng.uniform(0.02, 0.06)),
          y: round(bottom ? 1 - h - rng.uniform(0.02, 0.06) : rng.uniform(0.02, 0.06)),
          w,
          h,
          colour: rng.pick(BOX_COLOURS),
        });
      }
      return { steps };
    }
    case 'fps':
      return { steps: [{ op: 'fps', fps: rng.chance(0.5) ? rng.int(10, 15) : rng.pick([50, 60]) }] };
    case 'noise':
      return { steps: [{ op: 'noise', strength: rng.int(12, 35), temporal: rng.chance(0.7) }] };
    case 'codec':
      return {
        steps: [],
        encode: rng.chance(0.5)
          ? { codec: 'libvpx', bitrateK: rng.int(250, 900), container: 'webm' }
          : { codec: 'mpeg4', qscale: rng.int(4, 12), container: 'avi' },
      };
    case 'crop':
      return {
        steps: [
          {
            op: 'crop',
            left: round(rng.uniform(0.1, 0.25)),
            right: round(rng.uniform(0.1, 0.25)),
            top: round(rng.uniform(0.1, 0.25)),
            bottom: round(rng.uniform(0.1, 0.25)),
          },
        ],
      };
    case 'flip':
      return { steps: [{ op: 'hflip' }] };
    case 'speed':
      return { steps: [{ op: 'speed', factor: round(twoSided(rng, 0.75, 0.9, 1.1, 1.5)) }] };
    case 'rotate':
      return {
        steps: [
          {
            op: 'rotate',
            degrees: round((rng.chance(0.5) ? -1 : 1) * rng.uniform(3, 8), 2),
            fill: rng.chance(0.5) ? 'black' : 'zoom',
          },
        ],
      };
    case 'pip': {
      const queryLen = ctx.copyDuration / speedForCompose;
      return {
        steps: [],
        compose: {
          op: 'pip',
          background: drawUnrelated(rng, ctx.pool, ctx.copyClip.file, queryLen),
          scale: round(rng.uniform(0.35, 0.55)),
          x: round(rng.next()),
          y: round(rng.next()),
        },
      };
    }
    case 'insert':
      return {
        steps: [],
        compose: {
          op: 'insert',
          before: drawUnrelated(rng, ctx.pool, ctx.copyClip.file, round(rng.uniform(3, 8))),
          after: drawUnrelated(rng, ctx.pool, ctx.copyClip.file, round(rng.uniform(3, 8))),
        },
      };
  }
}

/** Families that combo may combine (codec only changes the encoder; pip/insert at most one). */
const COMBO_PARTS: readonly Exclude<VideoEditFamily, 'combo'>[] = [
  'reencode', 'pad', 'colour', 'overlay', 'fps', 'noise', 'codec', 'crop', 'flip', 'speed', 'pip', 'insert', 'rotate',
];

/** Draw the edits of one family for a copy segment. */
export function drawVideoEdit(family: VideoEditFamily, rng: Rng, ctx: DrawContext, copy: ClipSegment): VideoQuerySpec {
  let parts: Exclude<VideoEditFamily, 'combo'>[];
  if (family === 'combo') {
    const n = rng.int(2, 3);
    const chosen: Exclude<VideoEditFamily, 'combo'>[] = [];
    for (const f of rng.shuffle(COMBO_PARTS)) {
      if (chosen.length >= n) break;
      const isCompose = f === 'pip' || f === 'insert';
      if (isCompose && chosen.some((c) => c === 'pip' || c === 'insert')) continue;
      // At most one encoder-defining part.
      if ((f === 'codec' || f === 'reencode') && chosen.some((c) => c === 'codec' || c === 'reencode')) continue;
      chosen.push(f);
    }
    parts = chosen;
  } else {
    parts = [family];
  }
  // Speed must be known before a pip background is sized, so draw it first.
  const ordered = [...parts].sort((a, b) => Number(b === 'speed') - Number(a === 'speed'));
  const steps: EditStep[] = [];
  let compose: Compose | null = null;
  let encode: Encode = DEFAULT_ENCODE;
  let speed = 1;
  for (const p of ordered) {
    const partial = drawSingle(p, rng.fork(`part:${p}`), ctx, speed);
    for (const s of partial.steps) {
      steps.push(s);
      if (s.op === 'speed') speed = s.factor;
    }
    if (partial.compose) compose = partial.compose;
    if (partial.encode) encode = partial.encode;
  }
  steps.sort((a, b) => STEP_ORDER[a.op] - STEP_ORDER[b.op]);
  return { copy, steps, compose, encode, parts };
}

/** Choose a copy segment of 6–20 s inside a clip; clips shorter than the drawn length are used whole. */
export function drawSegment(rng: Rng, clip: ClipInfo, minSec = 6, maxSec = 20): ClipSegment {
  const want = rng.uniform(minSec, maxSec);
  if (clip.durationSec <= want + 0.2) {
    return { clip: clip.file, start: 0, duration: round(Math.max(0.5, clip.durationSec - 0.05)) };
  }
  const start = rng.uniform(0, clip.durationSec - want - 0.1);
  return { clip: clip.file, start: round(start), duration: round(want) };
}

// ---------------------------------------------------------------------------
// Building ffmpeg jobs

export interface Interval2D {
  queryStart: number;
  queryEnd: number;
  refStart: number;
  refEnd: number;
}

export interface FfmpegJob {
  /** Arguments after `ffmpeg` (the output path is the last one). */
  args: string[];
  ext: string;
  /** Ground-truth copied intervals (query ↔ source clip), before clamping to the measured duration. */
  truth: Interval2D[];
  /** Expected query duration in seconds. */
  expectedDuration: number;
  /** Output frame size. */
  width: number;
  height: number;
}

function num(x: number): string {
  return String(round(x, 4));
}

interface Dims {
  w: number;
  h: number;
}

/** Filter for one step, tracking frame size. Returns null for steps handled elsewhere (speed, fps). */
function stepFilter(step: EditStep, d: Dims, cap: SizeCap, capScale = false): { filter: string | null; dims: Dims } {
  switch (step.op) {
    case 'crop': {
      const cw = even(d.w * (1 - step.left - step.right));
      const ch = even(d.h * (1 - step.top - step.bottom));
      const x = Math.round(d.w * step.left);
      const y = Math.round(d.h * step.top);
      // Rescale back to the original height, keeping the cropped aspect ratio.
      const out = fitWithin(even((cw * d.h) / ch), d.h, cap.w, cap.h);
      return { filter: `crop=${cw}:${ch}:${x}:${y},scale=${out.w}:${out.h},setsar=1`, dims: out };
    }
    case 'rotate': {
      const rad = (step.degrees * Math.PI) / 180;
      const base = `rotate=a=${num(rad)}:c=black:ow=iw:oh=ih`;
      if (step.fill === 'black') return { filter: base, dims: d };
      const z = Math.cos(Math.abs(rad)) + Math.max(d.w / d.h, d.h / d.w) * Math.sin(Math.abs(rad));
      const cw = even(d.w / z);
      const ch = even(d.h / z);
      return { filter: `${base},crop=${cw}:${ch},scale=${d.w}:${d.h},setsar=1`, dims: d };
    }
    case 'hflip':
      return { filter: 'hflip', dims: d };
    case 'eq':
      return {
        filter: `eq=brightness=${num(step.brightness)}:contrast=${num(step.contrast)}:saturation=${num(step.saturation)}:gamma=${num(step.gamma)}`,
        dims: d,
      };
    case 'grey':
      return { filter: 'hue=s=0', dims: d };
    case 'caption': {
      const size = Math.max(10, Math.round(d.h * step.size));
      const y = Math.round(d.h * step.y);
      const style =
        step.style === 'border' ? `borderw=${Math.max(2, Math.round(size / 12))}:bordercolor=black` : `box=1:boxcolor=black@0.65:boxborderw=${Math.round(size / 5)}`;
      return {
        filter: `drawtext=fontfile=${step.fontFile}:text='${step.text}':fontsize=${size}:fontcolor=${step.colour}:${style}:x=(w-text_w)/2:y=${y}`,
        dims: d,
      };
    }
    case 'logo':
      return {
        filter: `drawbox=x=${Math.round(d.w * step.x)}:y=${Math.round(d.h * step.y)}:w=${even(d.w * step.w)}:h=${even(d.h * step.h)}:color=${step.colour}@0.9:t=fill`,
        dims: d,
      };
    case 'pad': {
      const px = even(d.w * step.x);
      const py = even(d.h * step.y);
      const w = d.w + 2 * px;
      const h = d.h + 2 * py;
      const filter = `pad=${w}:${h}:${px}:${py}:color=${step.colour}`;
      // Keep within the size cap (windowbox can grow past it).
      const fit = fitWithin(w, h, cap.w, cap.h);
      if (fit.w !== w || fit.h !== h) return { filter: `${filter},scale=${fit.w}:${fit.h},setsar=1`, dims: fit };
      return { filter, dims: { w, h } };
    }
    case 'noise':
      return { filter: `noise=alls=${step.strength}:allf=${step.temporal ? 't+u' : 'u'}`, dims: d };
    case 'scale': {
      let h = step.height;
      let w = even((d.w * h) / d.h);
      // A capped query (large negative set) stays within its cap; regular queries scale as drawn.
      if (capScale) ({ w, h } = fitWithin(w, h, cap.w, cap.h));
      return { filter: `scale=${w}:${h},setsar=1`, dims: { w, h } };
    }
    case 'speed':
    case 'fps':
      return { filter: null, dims: d };
  }
}

function encodeArgs(e: Encode): string[] {
  switch (e.codec) {
    case 'libx264':
      return ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(e.crf), '-pix_fmt', 'yuv420p', '-movflags', '+faststart'];
    case 'libvpx':
      return ['-c:v', 'libvpx', '-b:v', `${e.bitrateK}k`, '-deadline', 'realtime', '-cpu-used', '6', '-pix_fmt', 'yuv420p'];
    case 'mpeg4':
      return ['-c:v', 'mpeg4', '-q:v', String(e.qscale), '-pix_fmt', 'yuv420p'];
  }
}

/** Trim a segment out of input `idx`, normalise it to a square-pixel frame of the given size. */
function segmentChain(idx: number, seg: ClipSegment, w: number, h: number, mode: 'stretch' | 'fit'): string {
  const scale =
    mode === 'stretch'
      ? `scale=${w}:${h}`
      : `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black`;
  return `[${idx}:v:0]trim=start=${num(seg.start)}:duration=${num(seg.duration)},setpts=PTS-STARTPTS,${scale},setsar=1`;
}

export function inputArgs(path: string, seg: ClipSegment): string[] {
  // Limit reading (no input seeking: some sources decode corrupt frames after a seek).
  return ['-t', num(seg.start + seg.duration + 1), '-i', path];
}

const FFMPEG_BASE = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];

/** ffmpeg arguments and ground truth for a video query. `clips` resolves clip names. */
export function buildVideoJob(spec: VideoQuerySpec, clips: ReadonlyMap<string, ClipInfo>, outPath: string): FfmpegJob {
  const get = (name: string): ClipInfo => {
    const c = clips.get(name);
    if (!c) throw new Error(`unknown clip ${name}`);
    return c;
  };
  const src = get(spec.copy.clip);
  const cap: SizeCap = spec.maxSize ?? { w: MAX_W, h: MAX_H };
  const base = fitWithin(src.width, src.height, cap.w, cap.h);
  let dims: Dims = { w: base.w, h: base.h };
  const filters: string[] = [];
  let speed = 1;
  let fps = src.fps;
  for (const step of spec.steps) {
    if (step.op === 'speed') {
      speed = step.factor;
      continue;
    }
    if (step.op === 'fps') {
      fps = step.fps;
      continue;
    }
    const r = stepFilter(step, dims, cap, spec.maxSize !== undefined);
    if (r.filter) filters.push(r.filter);
    dims = r.dims;
  }
  if (speed !== 1) filters.push(`setpts=PTS/${num(speed)}`);

  const copyLen = spec.copy.duration / speed;
  const args: string[] = [...FFMPEG_BASE, ...inputArgs(src.path, spec.copy)];
  const graph: string[] = [];
  const copyChain = [segmentChain(0, spec.copy, base.w, base.h, 'stretch'), ...filters].join(',');
  const truth: Interval2D[] = [];
  let expectedDuration = copyLen;
  let outW = dims.w;
  let outH = dims.h;
  const compose = spec.compose;
  if (!compose) {
    graph.push(`${copyChain},fps=${num(fps)},format=yuv420p[v]`);
    truth.push({ queryStart: 0, queryEnd: copyLen, refStart: spec.copy.start, refEnd: spec.copy.start + spec.copy.duration });
  } else if (compose.op === 'pip') {
    const bgClip = get(compose.background.clip);
    const bg = fitWithin(bgClip.width, bgClip.height, cap.w, cap.h);
    let fw = even(bg.w * compose.scale);
    let fh = even((fw * dims.h) / dims.w);
    if (fh > bg.h * 0.9) {
      fh = even(bg.h * 0.9);
      fw = even((fh * dims.w) / dims.h);
    }
    const x = Math.round((bg.w - fw) * compose.x);
    const y = Math.round((bg.h - fh) * compose.y);
    args.push(...inputArgs(bgClip.path, compose.background));
    graph.push(`${copyChain},scale=${fw}:${fh},setsar=1,fps=${num(fps)}[fg]`);
    graph.push(
      `${segmentChain(1, compose.background, bg.w, bg.h, 'stretch')},tpad=stop_mode=clone:stop_duration=${num(copyLen + 1)},fps=${num(fps)}[bg]`,
    );
    graph.push(`[bg][fg]overlay=x=${x}:y=${y}:eof_action=endall,trim=duration=${num(copyLen)},format=yuv420p[v]`);
    truth.push({ queryStart: 0, queryEnd: copyLen, refStart: spec.copy.start, refEnd: spec.copy.start + spec.copy.duration });
    outW = bg.w;
    outH = bg.h;
  } else {
    const before = get(compose.before.clip);
    const after = get(compose.after.clip);
    args.push(...inputArgs(before.path, compose.before), ...inputArgs(after.path, compose.after));
    const W = dims.w;
    const H = dims.h;
    graph.push(`${segmentChain(1, compose.before, W, H, 'fit')},fps=${num(fps)},format=yuv420p[pre]`);
    graph.push(`${copyChain},setsar=1,fps=${num(fps)},format=yuv420p[mid]`);
    graph.push(`${segmentChain(2, compose.after, W, H, 'fit')},fps=${num(fps)},format=yuv420p[post]`);
    graph.push(`[pre][mid][post]concat=n=3:v=1:a=0[v]`);
    const b = compose.before.duration;
    truth.push({ queryStart: b, queryEnd: b + copyLen, refStart: spec.copy.start, refEnd: spec.copy.start + spec.copy.duration });
    expectedDuration = b + copyLen + compose.after.duration;
  }
  args.push('-filter_complex', graph.join(';'), '-map', '[v]', '-an', ...encodeArgs(spec.encode), outPath);
  return { args, ext: spec.encode.container, truth, expectedDuration, width: outW, height: outH };
}

// ---------------------------------------------------------------------------
// Image queries

export interface ImageQuerySpec {
  clip: string;
  /** Source timestamp of the frame (seconds). */
  time: number;
  variant: 'frame' | 'rescale' | 'crop' | 'jpeg';
  /** rescale: output height. */
  height?: number;
  /** crop: fraction per side. */
  crop?: { left: number; right: number; top: number; bottom: number };
  /** Final file format and (for jpeg/webp) quality. */
  format: 'png' | 'jpeg' | 'webp';
  quality?: number;
  /** Frame-size cap before the variant's own rescale or crop (default MAX_W × MAX_H; see VideoQuerySpec). */
  maxSize?: SizeCap;
}

export function drawImageEdit(family: ImageFamily, rng: Rng, clip: ClipInfo): ImageQuerySpec {
  const time = round(rng.uniform(Math.min(0.5, clip.durationSec / 4), Math.max(0.6, clip.durationSec - 0.5)));
  const variant: ImageQuerySpec['variant'] =
    family === 'image-negative'
      ? rng.pick(['frame', 'rescale', 'crop', 'jpeg'] as const)
      : (family.slice('image-'.length) as ImageQuerySpec['variant']);
  switch (variant) {
    case 'frame':
      return { clip: clip.file, time, variant, format: 'png' };
    case 'rescale': {
      const webp = rng.chance(0.3);
      return {
        clip: clip.file,
        time,
        variant,
        height: even(rng.int(144, 540)),
        format: webp ? 'webp' : 'jpeg',
        quality: rng.int(75, 92),
      };
    }
    case 'crop':
      return {
        clip: clip.file,
        time,
        variant,
        crop: {
          left: round(rng.uniform(0.1, 0.2)),
          right: round(rng.uniform(0.1, 0.2)),
          top: round(rng.uniform(0.1, 0.2)),
          bottom: round(rng.uniform(0.1, 0.2)),
        },
        format: 'png',
      };
    case 'jpeg':
      return { clip: clip.file, time, variant, format: 'jpeg', quality: rng.int(20, 40) };
  }
}

/**
 * ffmpeg arguments that extract the frame (always PNG; `pngPath`). A JPEG/WebP
 * query is then produced from that PNG at the spec's quality (see query-set.ts).
 */
export function buildImageArgs(spec: ImageQuerySpec, clip: ClipInfo, pngPath: string): string[] {
  const cap: SizeCap = spec.maxSize ?? { w: MAX_W, h: MAX_H };
  const base = fitWithin(clip.width, clip.height, cap.w, cap.h);
  const vf = [`scale=${base.w}:${base.h}`, 'setsar=1'];
  if (spec.variant === 'rescale' && spec.height) {
    let w = even((base.w * spec.height) / base.h);
    let h = spec.height;
    // A capped still (large negative set) stays within its cap; regular ones scale as drawn.
    if (spec.maxSize) ({ w, h } = fitWithin(w, h, cap.w, cap.h));
    vf.push(`scale=${w}:${h}`, 'setsar=1');
  }
  if (spec.variant === 'crop' && spec.crop) {
    const c = spec.crop;
    const cw = even(base.w * (1 - c.left - c.right));
    const ch = even(base.h * (1 - c.top - c.bottom));
    vf.push(`crop=${cw}:${ch}:${Math.round(base.w * c.left)}:${Math.round(base.h * c.top)}`);
  }
  return [
    ...FFMPEG_BASE,
    '-t',
    num(spec.time + 1),
    '-i',
    clip.path,
    '-map',
    '0:v:0',
    '-ss',
    num(spec.time),
    '-frames:v',
    '1',
    '-vf',
    vf.join(','),
    '-update',
    '1',
    pngPath,
  ];
}

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

import type { NormRect, TruthTransform } from './metrics.js';
import { round, type Rng } from '../common/seeded-random.js';

// ---------------------------------------------------------------------------
// Families

export type Difficulty = 'easy' | 'hard' | 'negative' | 'image' | 'social';

export const EASY_FAMILIES = ['reencode', 'pad', 'colour', 'overlay', 'fps', 'noise', 'codec'] as const;
export const HARD_FAMILIES = ['crop', 'flip', 'speed', 'pip', 'insert', 'rotate', 'combo'] as const;
export const NEGATIVE_VIDEO_FAMILIES = ['neg-plain', 'neg-edited'] as const;
export const IMAGE_FAMILIES = ['image-frame', 'image-rescale', 'image-crop', 'image-jpeg'] as const;
export const NEGATIVE_IMAGE_FAMILIES = ['image-negative'] as const;
/**
 * Social-media reposts (issue 15), opt-in (`--social` or `--families`): vertical 9:16 reframes,
 * blurred-background verticals, split screens, heavy crops, small insets, extreme speeds. Not in
 * ALL_FAMILIES, so a default run draws exactly what it drew before.
 */
export const SOCIAL_FAMILIES = ['vertical', 'vertical-blur', 'split', 'crop-heavy', 'inset-small', 'speed-extreme'] as const;
/** Never-indexed footage edited by a random social family. */
export const SOCIAL_NEGATIVE_FAMILIES = ['neg-social'] as const;

export type EasyFamily = (typeof EASY_FAMILIES)[number];
export type HardFamily = (typeof HARD_FAMILIES)[number];
export type VideoEditFamily = EasyFamily | HardFamily;
export type ImageFamily = (typeof IMAGE_FAMILIES)[number] | (typeof NEGATIVE_IMAGE_FAMILIES)[number];
export type SocialFamily = (typeof SOCIAL_FAMILIES)[number];
export type QueryFamily = VideoEditFamily | (typeof NEGATIVE_VIDEO_FAMILIES)[number] | ImageFamily | SocialFamily | (typeof SOCIAL_NEGATIVE_FAMILIES)[number];

/** The families a run draws by default (every family but the opt-in social ones). */
export const ALL_FAMILIES: readonly QueryFamily[] = [
  ...EASY_FAMILIES,
  ...HARD_FAMILIES,
  ...NEGATIVE_VIDEO_FAMILIES,
  ...IMAGE_FAMILIES,
  ...NEGATIVE_IMAGE_FAMILIES,
];

/** The social families and their negative, as `--social` adds them. */
export const SOCIAL_QUERY_FAMILIES: readonly QueryFamily[] = [...SOCIAL_FAMILIES, ...SOCIAL_NEGATIVE_FAMILIES];

/** Every family `--families` accepts, in report order. */
export const KNOWN_FAMILIES: readonly QueryFamily[] = [...ALL_FAMILIES, ...SOCIAL_QUERY_FAMILIES];

export function familyDifficulty(f: QueryFamily): Difficulty {
  if ((EASY_FAMILIES as readonly string[]).includes(f)) return 'easy';
  if ((HARD_FAMILIES as readonly string[]).includes(f)) return 'hard';
  if ((IMAGE_FAMILIES as readonly string[]).includes(f)) return 'image';
  if ((SOCIAL_QUERY_FAMILIES as readonly string[]).includes(f)) return 'social';
  return 'negative';
}

/** True when the family's queries copy an indexed clip (false for the negative families, `neg-social` included). */
export function isPositiveFamily(f: QueryFamily): boolean {
  return familyDifficulty(f) !== 'negative' && f !== 'neg-social';
}

export function isSocialFamily(f: string): f is SocialFamily {
  return (SOCIAL_FAMILIES as readonly string[]).includes(f);
}

export function familyKind(f: QueryFamily): 'video' | 'image' {
  return f.startsWith('image-') ? 'image' : 'video';
}

export function isQueryFamily(s: string): s is QueryFamily {
  return (KNOWN_FAMILIES as readonly string[]).includes(s);
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
  | { op: 'insert'; before: ClipSegment; after: ClipSegment }
  /** Social: a full-height window of the copy's frame, of `aspect` (w/h, 9/16), scaled to `canvas`. */
  | {
      op: 'reframe';
      aspect: number;
      canvas: SizeCap;
      /** Window position at the start and at the end of the query, 0–1 of the free width (0.5 centred); equal when fixed, else a linear pan. */
      from: number;
      to: number;
    }
  /** Social: the whole copy across the width of a portrait `canvas`, centred, over a blurred enlarged copy of itself. */
  | { op: 'blur-fill'; canvas: SizeCap; sigma: number; dim: number }
  /** Social: the copy in one half of a split screen, unrelated footage in the other. */
  | {
      op: 'split';
      layout: 'side-by-side' | 'top-bottom';
      /** The copy in the left (side-by-side) or top (top-bottom) half. */
      copyFirst: boolean;
      /** `crop`: the copy cropped to the half's aspect (window at `cropPos`, 0–1); `bars`: the whole copy fitted with black bars. */
      fit: 'crop' | 'bars';
      cropPos: number;
      canvas: SizeCap;
      background: ClipSegment;
    }
  /** Social: the copy as an inset covering `area` of the background frame, at (x, y) of the free space. */
  | { op: 'inset'; background: ClipSegment; area: number; x: number; y: number };

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
  /** The single edit families this spec was drawn from (several for combo; the social family for social queries). */
  parts: Array<VideoEditFamily | SocialFamily>;
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
  'BREAKING',
  'NEWS',
  'WATCH',
  'THIS',
  'VIRAL',
  'CLIP',
  'AMAZING',
  'LIVE',
  'EXCLUSIVE',
  'FOOTAGE',
  'TODAY',
  'MUST',
  'SEE',
  'REPLAY',
  'WOW',
  'UPDATE',
  'TOP',
  'MOMENTS',
  'FUNNY',
  'SHARE',
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
  'reencode',
  'pad',
  'colour',
  'overlay',
  'fps',
  'noise',
  'codec',
  'crop',
  'flip',
  'speed',
  'pip',
  'insert',
  'rotate',
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
// Social-media reposts (issue 15)

/** Context of a social family's draw. */
export interface SocialDrawContext {
  copyClip: ClipInfo;
  /** Never-indexed clips for the other half of a split screen and the background of an inset. */
  pool: readonly ClipInfo[];
  /** Query length bounds in seconds (the copy's too, except for speed-extreme, whose copy is longer or shorter). */
  querySec: [number, number];
  /** Index of the query in its family: alternates the variants (fixed/panning, slow/fast, layouts), so each gets half. */
  index: number;
}

/** A clip is landscape when at least this wide for its height (the vertical families want one). */
export const LANDSCAPE_MIN_ASPECT = 1.2;
export const SPEED_EXTREME = { slow: [0.25, 0.4] as [number, number], fast: [2.5, 4] as [number, number] };
const VERTICAL_CANVASES: readonly SizeCap[] = [
  { w: 360, h: 640 },
  { w: 540, h: 960 },
];
const WIDE_CANVASES: readonly SizeCap[] = [
  { w: 1280, h: 720 },
  { w: 960, h: 540 },
  { w: 640, h: 360 },
];
const SPLIT_VARIANTS = [
  { layout: 'side-by-side', fit: 'crop' },
  { layout: 'top-bottom', fit: 'bars' },
  { layout: 'side-by-side', fit: 'bars' },
  { layout: 'top-bottom', fit: 'crop' },
] as const;

/** The variant a social query of this index gets (half of the queries each; split cycles over its four). */
export function socialVariant(family: SocialFamily, index: number): string {
  const odd = index % 2 === 1;
  switch (family) {
    case 'vertical':
      return odd ? 'pan' : 'fixed';
    case 'speed-extreme':
      return odd ? 'fast' : 'slow';
    case 'split': {
      const v = SPLIT_VARIANTS[index % SPLIT_VARIANTS.length] as (typeof SPLIT_VARIANTS)[number];
      return `${v.layout}/${v.fit}`;
    }
    default:
      return family;
  }
}

/**
 * Whether a clip suits a social query: the vertical families reframe landscape footage, and a
 * fast extreme-speed query needs a clip long enough for a query of `querySec[0]` at 2.5×.
 * Callers fall back to any clip when none fits.
 */
export function socialClipFits(family: SocialFamily, clip: ClipInfo, index: number, querySec: [number, number]): boolean {
  if (family === 'vertical' || family === 'vertical-blur') return clip.width / clip.height >= LANDSCAPE_MIN_ASPECT;
  if (family === 'speed-extreme' && socialVariant(family, index) === 'fast') return clip.durationSec >= querySec[0] * SPEED_EXTREME.fast[0] + 0.2;
  return true;
}

const socialEncode = (rng: Rng): Encode => ({ codec: 'libx264', crf: rng.int(23, 30), container: 'mp4' });

/** The copy segment of an extreme-speed query: the factor first, then a copy whose query lasts `querySec` (shorter only if the clip is). */
function drawSpeedExtreme(rng: Rng, clip: ClipInfo, fast: boolean, querySec: [number, number]): { factor: number; copy: ClipSegment } {
  const usable = Math.max(0.5, clip.durationSec - 0.1);
  let factor: number;
  if (fast) {
    const hi = Math.min(SPEED_EXTREME.fast[1], usable / querySec[0]);
    factor = hi > SPEED_EXTREME.fast[0] ? rng.uniform(SPEED_EXTREME.fast[0], hi) : SPEED_EXTREME.fast[0];
  } else {
    factor = rng.uniform(SPEED_EXTREME.slow[0], SPEED_EXTREME.slow[1]);
  }
  factor = round(factor);
  const maxQuery = usable / factor;
  const lo = Math.min(querySec[0], maxQuery);
  const queryLen = rng.uniform(lo, Math.max(lo, Math.min(querySec[1], maxQuery)));
  const duration = round(Math.min(usable, queryLen * factor));
  const start = round(rng.uniform(0, Math.max(0, clip.durationSec - duration - 0.1)));
  return { factor, copy: { clip: clip.file, start, duration } };
}

/** Draw a social family's edit and its copy segment (speed-extreme sizes the copy from its speed). */
export function drawSocialEdit(family: SocialFamily, rng: Rng, ctx: SocialDrawContext): VideoQuerySpec {
  const clip = ctx.copyClip;
  const encode = socialEncode(rng.fork('encode'));
  const parts: SocialFamily[] = [family];
  const variant = socialVariant(family, ctx.index);
  if (family === 'speed-extreme') {
    const { factor, copy } = drawSpeedExtreme(rng.fork('speed'), clip, variant === 'fast', ctx.querySec);
    return { copy, steps: [{ op: 'speed', factor }], compose: null, encode, parts };
  }
  const copy = drawSegment(rng.fork('segment'), clip, ctx.querySec[0], ctx.querySec[1]);
  const r = rng.fork('layout');
  switch (family) {
    case 'vertical': {
      const canvas = r.pick(VERTICAL_CANVASES);
      if (variant === 'fixed') {
        // Off-centre: the window's centre lies in the outer 30 % of its free range on either side.
        const at = round(twoSided(r, 0, 0.3, 0.7, 1));
        return { copy, steps: [], compose: { op: 'reframe', aspect: 0.5625, canvas, from: at, to: at }, encode, parts };
      }
      const a = round(r.uniform(0, 0.25));
      const b = round(r.uniform(0.75, 1));
      const [from, to] = r.chance(0.5) ? [a, b] : [b, a];
      return { copy, steps: [], compose: { op: 'reframe', aspect: 0.5625, canvas, from, to }, encode, parts };
    }
    case 'vertical-blur':
      return {
        copy,
        steps: [],
        compose: {
          op: 'blur-fill',
          canvas: r.pick(VERTICAL_CANVASES),
          sigma: round(r.uniform(12, 30), 1),
          dim: r.chance(0.5) ? round(r.uniform(0.04, 0.2)) : 0,
        },
        encode,
        parts,
      };
    case 'split': {
      const v = SPLIT_VARIANTS[ctx.index % SPLIT_VARIANTS.length] as (typeof SPLIT_VARIANTS)[number];
      return {
        copy,
        steps: [],
        compose: {
          op: 'split',
          layout: v.layout,
          copyFirst: r.chance(0.5),
          fit: v.fit,
          cropPos: round(r.next()),
          canvas: v.layout === 'side-by-side' ? r.pick(WIDE_CANVASES) : r.pick(VERTICAL_CANVASES),
          background: drawUnrelated(r.fork('background'), ctx.pool, clip.file, copy.duration),
        },
        encode,
        parts,
      };
    }
    case 'crop-heavy': {
      // 40–60 % of the area, width/height ratio of the kept part 0.6–1.7 of the frame's, off-centre.
      const area = r.uniform(0.4, 0.6);
      const ratio = Math.exp(r.uniform(Math.log(0.6), Math.log(1.7)));
      let fw = Math.sqrt(area * ratio);
      let fh = Math.sqrt(area / ratio);
      if (fw > 0.98) [fw, fh] = [0.98, area / 0.98];
      if (fh > 0.98) [fw, fh] = [area / 0.98, 0.98];
      let px = r.next();
      let py = r.next();
      // At least one axis away from the centre (position in the outer quarter of its free range).
      if (r.chance(0.5)) px = twoSided(r, 0, 0.25, 0.75, 1);
      else py = twoSided(r, 0, 0.25, 0.75, 1);
      const left = round((1 - fw) * px);
      const top = round((1 - fh) * py);
      return {
        copy,
        steps: [{ op: 'crop', left, right: round(1 - fw - left), top, bottom: round(1 - fh - top) }],
        compose: null,
        encode,
        parts,
      };
    }
    case 'inset-small':
      return {
        copy,
        steps: [],
        compose: {
          op: 'inset',
          background: drawUnrelated(r.fork('background'), ctx.pool, clip.file, copy.duration),
          area: round(r.uniform(0.12, 0.25)),
          x: round(r.next()),
          y: round(r.next()),
        },
        encode,
        parts,
      };
  }
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
  /** How the copy was altered, as far as it is known (see TruthTransform). */
  transform: TruthTransform;
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
        step.style === 'border'
          ? `borderw=${Math.max(2, Math.round(size / 12))}:bordercolor=black`
          : `box=1:boxcolor=black@0.65:boxborderw=${Math.round(size / 5)}`;
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
  const scale = mode === 'stretch' ? `scale=${w}:${h}` : `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black`;
  return `[${idx}:v:0]trim=start=${num(seg.start)}:duration=${num(seg.duration)},setpts=PTS-STARTPTS,${scale},setsar=1`;
}

export function inputArgs(path: string, seg: ClipSegment): string[] {
  // Limit reading (no input seeking: some sources decode corrupt frames after a seek).
  return ['-t', num(seg.start + seg.duration + 1), '-i', path];
}

const FFMPEG_BASE = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];

const FULL_RECT: NormRect = { x: 0, y: 0, width: 1, height: 1 };
const r4 = (x: number): number => round(x, 4);

/** `inner`, given in fractions of the rectangle `outer`, in the coordinates `outer` is given in. */
export function nestRect(outer: NormRect, inner: NormRect): NormRect {
  return {
    x: r4(outer.x + inner.x * outer.width),
    y: r4(outer.y + inner.y * outer.height),
    width: r4(inner.width * outer.width),
    height: r4(inner.height * outer.height),
  };
}

/** A pixel rectangle of a w × h frame as fractions of it. */
function pixelRect(x: number, y: number, cw: number, ch: number, w: number, h: number): NormRect {
  return { x: r4(x / w), y: r4(y / h), width: r4(cw / w), height: r4(ch / h) };
}

/** Fit a layout canvas within the cap whichever way round it is (a portrait canvas fits the cap turned on its side). */
export function fitCanvas(c: SizeCap, cap: SizeCap): SizeCap {
  return c.h > c.w ? fitWithin(c.w, c.h, Math.min(cap.w, cap.h), Math.max(cap.w, cap.h)) : fitWithin(c.w, c.h, cap.w, cap.h);
}

/** Scale (w, h) up or down to cover (cw, ch) keeping its aspect ratio; even dimensions, never smaller than the cover. */
function coverSize(w: number, h: number, cw: number, ch: number): SizeCap {
  const s = Math.max(cw / w, ch / h);
  return { w: Math.max(cw, 2 * Math.ceil((w * s) / 2)), h: Math.max(ch, 2 * Math.ceil((h * s) / 2)) };
}

/** Unrelated footage trimmed, scaled to cover (w, h), centre-cropped, held on its last frame past its end. */
function fillChain(idx: number, seg: ClipSegment, clip: ClipInfo, w: number, h: number, cap: SizeCap, holdSec: number, fps: number): string {
  const bg = fitWithin(clip.width, clip.height, cap.w, cap.h);
  const cover = coverSize(bg.w, bg.h, w, h);
  return (
    `${segmentChain(idx, seg, bg.w, bg.h, 'stretch')},scale=${cover.w}:${cover.h},crop=${w}:${h},setsar=1,` +
    `tpad=stop_mode=clone:stop_duration=${num(holdSec)},fps=${num(fps)},format=yuv420p`
  );
}

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
  // Ground-truth geometry: the part of the reference the copy shows (null once a rotation makes it
  // no rectangle), where the copy lies in the output frame, and whether it is mirrored.
  let refRect: NormRect | null = FULL_RECT;
  let queryRect: NormRect = FULL_RECT;
  let mirrored = false;
  for (const step of spec.steps) {
    if (step.op === 'speed') {
      speed = step.factor;
      continue;
    }
    if (step.op === 'fps') {
      fps = step.fps;
      continue;
    }
    const before = dims;
    const r = stepFilter(step, dims, cap, spec.maxSize !== undefined);
    if (r.filter) filters.push(r.filter);
    dims = r.dims;
    if (step.op === 'crop' && refRect) {
      const cw = even(before.w * (1 - step.left - step.right));
      const ch = even(before.h * (1 - step.top - step.bottom));
      refRect = nestRect(refRect, pixelRect(Math.round(before.w * step.left), Math.round(before.h * step.top), cw, ch, before.w, before.h));
    } else if (step.op === 'rotate') {
      refRect = null;
    } else if (step.op === 'hflip') {
      mirrored = !mirrored;
    } else if (step.op === 'pad') {
      const px = even(before.w * step.x);
      const py = even(before.h * step.y);
      queryRect = nestRect(pixelRect(px, py, before.w, before.h, before.w + 2 * px, before.h + 2 * py), queryRect);
    }
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
  let refRectPath: TruthTransform['refRectPath'];
  const compose = spec.compose;
  const copyTruth: Interval2D = { queryStart: 0, queryEnd: copyLen, refStart: spec.copy.start, refEnd: spec.copy.start + spec.copy.duration };
  if (!compose) {
    graph.push(`${copyChain},fps=${num(fps)},format=yuv420p[v]`);
    truth.push(copyTruth);
  } else if (compose.op === 'pip' || compose.op === 'inset') {
    const bgClip = get(compose.background.clip);
    const bg = fitWithin(bgClip.width, bgClip.height, cap.w, cap.h);
    let fw: number;
    let fh: number;
    if (compose.op === 'pip') {
      fw = even(bg.w * compose.scale);
      fh = even((fw * dims.h) / dims.w);
      if (fh > bg.h * 0.9) {
        fh = even(bg.h * 0.9);
        fw = even((fh * dims.w) / dims.h);
      }
    } else {
      // `area` of the background frame, the copy's aspect ratio kept, within 95 % of either side.
      const aspect = dims.w / dims.h;
      const s = Math.min(1, (0.95 * bg.w) / Math.sqrt(compose.area * bg.w * bg.h * aspect), (0.95 * bg.h) / Math.sqrt((compose.area * bg.w * bg.h) / aspect));
      fh = even(s * Math.sqrt((compose.area * bg.w * bg.h) / aspect));
      fw = even(fh * aspect);
    }
    const x = Math.round((bg.w - fw) * compose.x);
    const y = Math.round((bg.h - fh) * compose.y);
    args.push(...inputArgs(bgClip.path, compose.background));
    graph.push(`${copyChain},scale=${fw}:${fh},setsar=1,fps=${num(fps)}[fg]`);
    graph.push(`${segmentChain(1, compose.background, bg.w, bg.h, 'stretch')},tpad=stop_mode=clone:stop_duration=${num(copyLen + 1)},fps=${num(fps)}[bg]`);
    graph.push(`[bg][fg]overlay=x=${x}:y=${y}:eof_action=endall,trim=duration=${num(copyLen)},format=yuv420p[v]`);
    truth.push(copyTruth);
    queryRect = nestRect(pixelRect(x, y, fw, fh, bg.w, bg.h), queryRect);
    outW = bg.w;
    outH = bg.h;
  } else if (compose.op === 'insert') {
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
  } else if (compose.op === 'reframe') {
    // A full-height window of `aspect`, fixed or moving linearly from `from` to `to` over the query.
    const cw = Math.min(dims.w, even(dims.h * compose.aspect));
    const ch = dims.h;
    const free = dims.w - cw;
    const x0 = Math.round(free * compose.from);
    const x1 = Math.round(free * compose.to);
    const xExpr = x0 === x1 ? String(x0) : `${x0}+${x1 - x0}*t/${num(copyLen)}`;
    const out = fitCanvas({ w: even((compose.canvas.h * cw) / ch), h: compose.canvas.h }, cap);
    graph.push(`${copyChain},crop=${cw}:${ch}:${xExpr}:0,scale=${out.w}:${out.h},setsar=1,fps=${num(fps)},format=yuv420p[v]`);
    truth.push(copyTruth);
    const from = pixelRect(x0, 0, cw, ch, dims.w, dims.h);
    const to = pixelRect(x1, 0, cw, ch, dims.w, dims.h);
    if (x0 === x1) refRect = refRect && nestRect(refRect, from);
    else {
      if (refRect) refRectPath = { from: nestRect(refRect, from), to: nestRect(refRect, to) };
      refRect = null;
    }
    outW = out.w;
    outH = out.h;
  } else if (compose.op === 'blur-fill') {
    // The whole copy across the canvas, centred, over a blurred copy scaled to fill it (blurred at quarter size: cheaper, same look).
    const canvas = fitCanvas(compose.canvas, cap);
    const f = Math.min(canvas.w / dims.w, canvas.h / dims.h);
    const fw = Math.min(canvas.w, even(dims.w * f));
    const fh = Math.min(canvas.h, even(dims.h * f));
    const x = Math.floor((canvas.w - fw) / 2);
    const y = Math.floor((canvas.h - fh) / 2);
    const small = { w: even(canvas.w / 4), h: even(canvas.h / 4) };
    const cover = coverSize(dims.w, dims.h, small.w, small.h);
    const dim = compose.dim > 0 ? `,eq=brightness=${num(-compose.dim)}` : '';
    graph.push(`${copyChain},fps=${num(fps)},split=2[c0][c1]`);
    graph.push(
      `[c0]scale=${cover.w}:${cover.h},crop=${small.w}:${small.h},gblur=sigma=${num(compose.sigma / 4)}${dim},scale=${canvas.w}:${canvas.h},setsar=1[bg]`,
    );
    graph.push(`[c1]scale=${fw}:${fh},setsar=1[fg]`);
    graph.push(`[bg][fg]overlay=x=${x}:y=${y},format=yuv420p[v]`);
    truth.push(copyTruth);
    queryRect = nestRect(pixelRect(x, y, fw, fh, canvas.w, canvas.h), queryRect);
    outW = canvas.w;
    outH = canvas.h;
  } else {
    // Split screen: the copy in one half, unrelated footage (scaled to fill) in the other.
    const canvas = fitCanvas(compose.canvas, cap);
    const sideBySide = compose.layout === 'side-by-side';
    const hw = sideBySide ? 2 * Math.floor(canvas.w / 4) : canvas.w;
    const hh = sideBySide ? canvas.h : 2 * Math.floor(canvas.h / 4);
    const W = sideBySide ? 2 * hw : hw;
    const H = sideBySide ? hh : 2 * hh;
    let copyFilter: string;
    let inHalf: NormRect;
    if (compose.fit === 'crop') {
      const a = hw / hh;
      const wide = dims.w / dims.h > a;
      const cw = wide ? Math.min(dims.w, even(dims.h * a)) : dims.w;
      const ch = wide ? dims.h : Math.min(dims.h, even(dims.w / a));
      const cx = Math.round((dims.w - cw) * compose.cropPos);
      const cy = Math.round((dims.h - ch) * compose.cropPos);
      copyFilter = `crop=${cw}:${ch}:${cx}:${cy},scale=${hw}:${hh},setsar=1`;
      refRect = refRect && nestRect(refRect, pixelRect(cx, cy, cw, ch, dims.w, dims.h));
      inHalf = FULL_RECT;
    } else {
      const f = Math.min(hw / dims.w, hh / dims.h);
      const fw = Math.min(hw, even(dims.w * f));
      const fh = Math.min(hh, even(dims.h * f));
      const px = Math.floor((hw - fw) / 2);
      const py = Math.floor((hh - fh) / 2);
      copyFilter = `scale=${fw}:${fh},setsar=1,pad=${hw}:${hh}:${px}:${py}:color=black`;
      inHalf = pixelRect(px, py, fw, fh, hw, hh);
    }
    const bgClip = get(compose.background.clip);
    args.push(...inputArgs(bgClip.path, compose.background));
    graph.push(`${copyChain},${copyFilter},fps=${num(fps)},format=yuv420p[cp]`);
    graph.push(`${fillChain(1, compose.background, bgClip, hw, hh, cap, copyLen + 1, fps)}[bg]`);
    const order = compose.copyFirst ? '[cp][bg]' : '[bg][cp]';
    graph.push(`${order}${sideBySide ? 'hstack' : 'vstack'}=inputs=2,trim=duration=${num(copyLen)},format=yuv420p[v]`);
    truth.push(copyTruth);
    const half: NormRect = sideBySide
      ? { x: compose.copyFirst ? 0 : 0.5, y: 0, width: 0.5, height: 1 }
      : { x: 0, y: compose.copyFirst ? 0 : 0.5, width: 1, height: 0.5 };
    queryRect = nestRect(half, nestRect(inHalf, queryRect));
    outW = W;
    outH = H;
  }
  args.push('-filter_complex', graph.join(';'), '-map', '[v]', '-an', ...encodeArgs(spec.encode), outPath);
  const transform: TruthTransform = {
    mirrored,
    speed,
    ...(refRect ? { refRect } : {}),
    ...(refRectPath ? { refRectPath } : {}),
    queryRect,
  };
  return { args, ext: spec.encode.container, truth, expectedDuration, width: outW, height: outH, transform };
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
    family === 'image-negative' ? rng.pick(['frame', 'rescale', 'crop', 'jpeg'] as const) : (family.slice('image-'.length) as ImageQuerySpec['variant']);
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

/** What an image query shows of its source frame: the crop variant's rectangle, else the whole frame; never mirrored. */
export function imageTruthTransform(spec: ImageQuerySpec, clip: ClipInfo): TruthTransform {
  if (spec.variant !== 'crop' || !spec.crop) return { mirrored: false, speed: 1, refRect: FULL_RECT, queryRect: FULL_RECT };
  const cap: SizeCap = spec.maxSize ?? { w: MAX_W, h: MAX_H };
  const base = fitWithin(clip.width, clip.height, cap.w, cap.h);
  const c = spec.crop;
  const cw = even(base.w * (1 - c.left - c.right));
  const ch = even(base.h * (1 - c.top - c.bottom));
  return {
    mirrored: false,
    speed: 1,
    refRect: pixelRect(Math.round(base.w * c.left), Math.round(base.h * c.top), cw, ch, base.w, base.h),
    queryRect: FULL_RECT,
  };
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

import type { MediaInfo } from '../media/probe.js';
import type { MediaLimits } from '../settings/media-settings.js';
import type { SamplingOptions } from '../media/frame-sampler.js';
import { sampleFrames } from '../media/frame-sampler.js';
import type { NormRect, Raster, Rect } from '../frames/raster.js';
import type { Layout } from '../frames/layout-detection.js';
import { detectLayout, guessPortraitLayout } from '../frames/layout-detection.js';
import { detectInsets } from '../frames/inset-detection.js';
import type { PreparedFrame } from '../frames/prepared-frame.js';
import { prepareFrame } from '../frames/prepared-frame.js';
import type { EvidenceOptions } from '../candidates/evidence.js';
import type { QuerySettings } from '../settings/search-settings.js';
import { LAYOUT_FRAMES } from '../settings/search-settings.js';
export type { QuerySettings } from '../settings/search-settings.js';

/** A sampled query frame, prepared as stored frames are. */
export interface QueryFrame extends PreparedFrame {
  timestampSec: number;
}

/** A query's layout panels and inset, as fractions of its frame: verification compares them on their own. */
export interface QueryWindows {
  panels: NormRect[];
  inset: NormRect | null;
  /** Close alternatives to `inset` (see `detectInsets`), compared where their regions found the copy. */
  insetAlternatives?: NormRect[];
  /**
   * The panels are a guess from the query's shape (`guessPortraitLayout`): compared on their own
   * only where they carried the evidence, never tried on a segment found through the whole frame.
   */
  panelsGuessed?: boolean;
}

/** Everything the later stages need to know about the query, decided once. */
export interface QueryPlan {
  info: MediaInfo;
  /** A real picture (not a video). */
  isImage: boolean;
  /**
   * Searched by one frame under the rules of a still: an image, or a clip shorter than
   * `shortClipSec` (temporal evidence needs more).
   */
  single: boolean;
  /** Seconds between sampled frames (denser than indexing; sparser for long queries). */
  intervalSec: number;
  frames: QueryFrame[];
  /** Indices of the frames with enough information to search. */
  good: number[];
  /** Query duration (0 for an image). */
  durationSec: number;
  /** A still searched with less information than a video frame needs: it must match nearly exactly. */
  lowInformation: boolean;
  /** Evidence rules for this query's hits (stricter for stills, stricter still for low information). */
  evidence: EvidenceOptions;
  /** A layout (blurred surround, split screen) found across the frames, in raster pixels. */
  layout: Layout | null;
  /** A picture-in-picture inset found across the frames, in raster pixels. */
  inset: Rect | null;
  /** Rectangles that scored nearly as well as `inset` (`detectInsets`), searched as well. */
  insetAlternatives: Rect[];
  windows: QueryWindows;
  /** Displayed width / height of the query (rasters are stretched to a square). */
  aspect: number;
}

export interface PlanQueryInput {
  path: string;
  info: MediaInfo;
  /** The raster the descriptor takes (`FrameDescriptor.input`). */
  output: { width: number; height: number; channels: 1 | 3 };
  sampling: SamplingOptions;
  limits: MediaLimits;
  settings: QuerySettings;
  /** Evidence rules before the query's kind is known (a caller's `minFrameSimilarity` included). */
  evidence: EvidenceOptions;
  signal?: AbortSignal;
  /** Called after each sampled frame. */
  onFrame?: (timestampSec: number, framesDone: number) => void;
}

/**
 * Sample the query's frames, prepare them as stored frames are prepared, and find the parts that
 * carry a picture of their own (layout panels, an inset).
 */
export async function planQuery(input: PlanQueryInput): Promise<QueryPlan> {
  const { info, settings: s } = input;
  const isImage = info.kind === 'image';
  const shortClip = !isImage && info.durationSec > 0 && info.durationSec < s.shortClipSec;
  const single = isImage || shortClip;
  const baseEvidence: EvidenceOptions = single ? { ...input.evidence, backgroundMargin: s.imageBackgroundMargin } : input.evidence;
  let intervalSec = s.queryIntervalSec;
  if (!isImage && info.durationSec / intervalSec > s.maxQueryFrames) intervalSec = info.durationSec / s.maxQueryFrames;

  // Query clips are short and capped in frame count, so their small frames are kept in memory.
  const frames: QueryFrame[] = [];
  for await (const f of sampleFrames({
    path: input.path,
    info,
    output: input.output,
    sampling: { ...input.sampling, intervalSec },
    maxDurationSec: input.limits.maxDurationSec,
    maxFrames: s.maxQueryFrames * 2,
    signal: input.signal,
  })) {
    frames.push({ ...prepareFrame(f.raster), timestampSec: f.timestampSec });
    input.onFrame?.(f.timestampSec, frames.length);
  }
  if (shortClip && frames.length > 1) {
    const bestFrame = frames.reduce((a, b) => (b.quality > a.quality ? b : a));
    frames.splice(0, frames.length, bestFrame);
  }
  const durationSec = isImage ? 0 : info.durationSec > 0 ? info.durationSec : (frames.at(-1)?.timestampSec ?? 0) + intervalSec;
  const minQueryQuality = single ? s.imageMinQuality : baseEvidence.minQuality;
  const good = frames.map((_, i) => i).filter((i) => frames[i].quality >= minQueryQuality);
  const lowInformation = single && frames.some((f) => f.quality < baseEvidence.minQuality);
  const evidence: EvidenceOptions = lowInformation ? { ...baseEvidence, minPairSimilarity: s.lowInformationMinSimilarity } : baseEvidence;

  // A layout (a sharp picture in a blurred surround, a split screen) is looked for first: a
  // split line would pass for an inset's edge. An inset may still sit on a blurred surround, or
  // on footage soft enough to pass for one (a flower over an old film). Edges that stay put
  // across the query reveal an inset; finding one costs a few milliseconds.
  const layoutFrames: Raster[] = single ? [] : spread(good, LAYOUT_FRAMES).map((i) => frames[i].raster);
  const found = s.detectLayouts ? detectLayout(layoutFrames) : null;
  const [inset = null, ...insetAlternatives] = single || found?.kind === 'split' ? [] : detectInsets(layoutFrames);
  const raster = frames[0]?.raster;
  const layout =
    found ?? (s.detectLayouts && !single && !inset && raster ? guessPortraitLayout(raster.width, raster.height, info.width / Math.max(1, info.height)) : null);
  const fractions = (p: Rect): NormRect => {
    const r = frames[0].raster;
    return { x: round(p.x / r.width), y: round(p.y / r.height), width: round(p.width / r.width), height: round(p.height / r.height) };
  };
  const windows: QueryWindows = {
    panels: layout?.panels.map(fractions) ?? [],
    inset: inset ? fractions(inset) : null,
    ...(insetAlternatives.length ? { insetAlternatives: insetAlternatives.map(fractions) } : {}),
    ...(layout?.guessed ? { panelsGuessed: true } : {}),
  };
  return {
    info,
    isImage,
    single,
    intervalSec,
    frames,
    good,
    durationSec,
    lowInformation,
    evidence,
    layout,
    inset,
    insetAlternatives,
    windows,
    aspect: info.width / info.height,
  };
}

/** Spread `n` picks evenly over `items`. */
export function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / n)]);
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Settings of decoding and sampling media, and the limits every input is held to, each default
 * with the measurement or reason that chose it.
 */

export interface SamplingOptions {
  /** Seconds between sampled frames (default 1). */
  intervalSec: number;
  /** ffmpeg scene-change score (0–1) above which a frame is taken as a keyframe (default 0.35). */
  sceneThreshold: number;
  /** Keyframes closer than this to the previous sampled frame are skipped, so flashes do not flood the index. */
  minKeyframeGapSec: number;
  /**
   * Decoder threads (default 2) of one file decoded alone; files indexed side by side get fewer,
   * see `decoderThreadsSideBySide`.
   */
  threads: number;
  /**
   * Opt-in motion sampling: indexing keeps an extra frame when the picture's similarity to the
   * last kept frame falls below this (built-in descriptor, 0–1; 0, the default, turns it off;
   * 0.85 is the measured setting). Stills grabbed during fast motion are then found more often,
   * at the cost of more stored frames and more chance matches: see `selectFrames`. Queries are
   * sampled densely anyway and do not use it.
   */
  motionThreshold: number;
  /** Seconds between the candidate frames checked for motion (default 0.25). */
  motionIntervalSec: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = {
  intervalSec: 1,
  sceneThreshold: 0.35,
  minKeyframeGapSec: 0.25,
  threads: 2,
  motionThreshold: 0,
  motionIntervalSec: 0.25,
};

/**
 * Decoder threads of each file when `filesInFlight` files are indexed at once on `cores` cores:
 * together they use no more threads than there are cores, never more than `threads`, at least 1.
 * Why: frame threads only pay when a core would otherwise idle, and they cost CPU. Measured on
 * the 37-clip corpus (ffmpeg 5.1, -skip_loop_filter all, -f null, one file after another, two
 * alternating runs at load 4–7): 21.0 and 24.0 s CPU with 1 thread against 27.9 and 29.0 s with
 * 2, i.e. 2 threads cost about 20 % more CPU for the same frames. Decoding is bit-exact whatever
 * the thread count, so the frames and the index do not change (bench/ingest/fingerprint.ts).
 */
export function decoderThreadsSideBySide(threads: number, filesInFlight: number, cores: number): number {
  return Math.max(1, Math.min(threads, Math.floor(cores / Math.max(1, filesInFlight))));
}

/** Limits applied to every input. All are configurable through `Retrace.open({ limits })`. */
export interface MediaLimits {
  /** Largest accepted file (default 8 GiB: a DVD's worth of video). */
  maxFileBytes: number;
  /** Longest accepted video in seconds (default 4 hours). */
  maxDurationSec: number;
  /** Most frames sampled from one video (default 30 000: 4 h at 1 s plus keyframes). */
  maxFramesPerVideo: number;
  /** Smallest accepted width or height in pixels. */
  minDimension: number;
  /** Largest accepted width or height in pixels. */
  maxDimension: number;
}

/**
 * The rep0st plan caps videos at 300 s and 200 MB; archives of DVDs need 2-hour films, and
 * memory stays bounded whatever the length because frames are streamed, so the defaults are
 * generous and the per-frame storage is what grows.
 */
export const DEFAULT_LIMITS: MediaLimits = {
  maxFileBytes: 8 * 1024 ** 3,
  maxDurationSec: 4 * 3600,
  maxFramesPerVideo: 30_000,
  minDimension: 16,
  maxDimension: 16_384,
};

// Frame grabs for verification and thumbnails (media/frame-grab.ts).

/** A frame taken this long after the time asked for means the seek landed late (intra refresh). */
export const LATE_SEEK_SEC = 0.15;

/** Seconds each input reads after its seek: at least one frame even at 1 fps. */
export const READ_AFTER_SEEK_SEC = 1.5;

/** Files remembered as seeking badly (decoded from the start at once next time); a few hundred bytes each. */
export const SEEKS_BADLY_REMEMBERED = 1000;

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

/** Public data shapes of the library. Times are in seconds unless a name says otherwise. */
import type { VideoMatch } from '../results/match-results.js';
import type { VideoRecord } from '../../db/video-record.js';
import type { SearchFilter } from '../library/search-filter.js';

export type { FilterValue, SearchFilter } from '../library/search-filter.js';

export type { MatchTransform, NormRect, SegmentVerification } from '../verify/segment-verification.js';
export type { MediaInfo } from '../media/probe.js';
export type { VideoRecord, VideoStatus } from '../../db/video-record.js';
export type { FrameMatch, MatchSegment, VideoMatch } from '../results/match-results.js';

/** Stages reported through `onProgress` while indexing or searching. */
export type Stage = 'queued' | 'probing' | 'sampling' | 'describing' | 'storing' | 'matching' | 'done' | 'failed';

export interface Progress {
  stage: Stage;
  /** 0–1 over the whole operation. */
  fraction: number;
  /** Media time reached so far, when decoding. */
  mediaTimeSec?: number;
  framesDone?: number;
  /** Countable work done so far, when the work is counted (a dedup run: videos searched of those to search). */
  items?: { done: number; total: number };
}

export type ProgressListener = (p: Progress) => void;

export interface IndexOptions {
  title?: string;
  metadata?: Record<string, unknown>;
  /** Path recorded for the video (defaults to the path given). */
  displayPath?: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** ffmpeg decoder threads for this file (default: the engine's `sampling.threads`); `indexMany` lowers it when files run side by side. */
  decoderThreads?: number;
}

export interface IndexResult {
  videoId: string;
  status: 'indexed' | 'duplicate';
  durationSec: number;
  frames: number;
  video: VideoRecord;
  timingsMs: Record<string, number>;
}

export interface SearchOptions extends SearchFilter {
  /** Most videos to return (default 10). */
  limit?: number;
  /**
   * List this many videos whatever their score (replaces `limit`): the matches first, then the
   * best near misses, flagged `belowThreshold: true` (video and segments). For exploration; the
   * matches themselves are those of a normal search.
   */
  top?: number;
  /** Fewest matched frames a video segment needs (default 3; image queries need 1). */
  minMatchedFrames?: number;
  /** Frame pairs below this cosine similarity are ignored. */
  minFrameSimilarity?: number;
  /** Segments scoring below this are dropped (0–1). */
  minSegmentScore?: number;
  /**
   * Give no weight to reference frames inside recurring segments (intros, credits, logos shared
   * by 3 or more videos, as the last `dedup` run found them), so that a shared intro alone never
   * makes a match.
   */
  ignoreRecurring?: boolean;
  /** Path shown in the result (defaults to the input path, or `<buffer>` / `<stream>`). */
  displayPath?: string;
  /**
   * Directory that relative reference paths (as `retrace index` stores them) are read from for
   * verification; default this process's working directory. A server answering a command-line
   * search passes the shell's.
   */
  referenceBaseDir?: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface SearchTimings {
  decode: number;
  describe: number;
  knn: number;
  align: number;
  /** Decoding frames at the matched times and comparing their local features. */
  verify: number;
  total: number;
}

/** Pictures found inside the query's frames, each searched as a picture of its own. */
export interface QueryLayout {
  /** A sharp picture in a blurred copy of itself, a split screen's halves, or a picture-in-picture inset. */
  kind: 'blur-surround' | 'split' | 'inset';
  /** The pictures, as fractions (0–1) of the query frame. */
  panels: Array<{ x: number; y: number; width: number; height: number }>;
}

export interface SearchResult {
  query: {
    path: string;
    kind: 'video' | 'image';
    durationSec: number;
    frames: number;
    /** Set when the query's frames hold pictures of their own (searched besides the whole frame). */
    layout?: QueryLayout;
    /** False when the query was a signature: no media, so no segment could be verified (`no-media`). */
    media?: false;
  };
  /** Best first; empty means no copy was found. */
  matches: VideoMatch[];
  timingsMs: SearchTimings;
}

export interface EngineStats {
  videos: number;
  readyVideos: number;
  frames: number;
  vectors: number;
  totalDurationSec: number;
  databaseBytes: number;
  bytesPerFrame: number;
  descriptor: string;
  /** Whether frames indexed now store narrow windows (`RetraceOptions.storedWindows`). */
  storedWindows: boolean;
  store: 'pglite' | 'postgres';
  location: string;
}

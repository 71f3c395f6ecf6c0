/** Public data shapes of the library. Times are in seconds unless a name says otherwise. */
import type { MatchTransform } from '../verify/segment-verification.js';

export type { MatchTransform, NormRect } from '../verify/segment-verification.js';

/** Stages reported through `onProgress` while indexing or searching. */
export type Stage = 'queued' | 'probing' | 'sampling' | 'describing' | 'storing' | 'matching' | 'done' | 'failed';

export interface Progress {
  stage: Stage;
  /** 0–1 over the whole operation. */
  fraction: number;
  /** Media time reached so far, when decoding. */
  mediaTimeSec?: number;
  framesDone?: number;
}

export type ProgressListener = (p: Progress) => void;

export interface MediaInfo {
  kind: 'video' | 'image';
  /** Duration in seconds; for a file whose header has none, measured by decoding. 0 for images. */
  durationSec: number;
  /** Average frame rate; `null` when the container reports none (0/0) and none can be derived. */
  fps: number | null;
  /** Display size, after rotation metadata is applied. */
  width: number;
  height: number;
  /** Rotation metadata in degrees (0, 90, 180, 270). */
  rotation: number;
  codec: string;
  container: string;
  hasAudio: boolean;
  variableFrameRate: boolean;
  sizeBytes: number;
}

export type VideoStatus = 'indexing' | 'ready' | 'failed';

export interface VideoRecord {
  id: string;
  contentHash: string;
  path: string;
  title: string | null;
  durationSec: number;
  fps: number | null;
  width: number;
  height: number;
  codec: string;
  status: VideoStatus;
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown>;
  frameCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface IndexOptions {
  title?: string;
  metadata?: Record<string, unknown>;
  /** Path recorded for the video (defaults to the path given). */
  displayPath?: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface IndexResult {
  videoId: string;
  status: 'indexed' | 'duplicate';
  durationSec: number;
  frames: number;
  video: VideoRecord;
  timingsMs: Record<string, number>;
}

export interface SearchOptions {
  /** Most videos to return (default 10). */
  limit?: number;
  /** Fewest matched frames a video segment needs (default 3; image queries need 1). */
  minMatchedFrames?: number;
  /** Frame pairs below this cosine similarity are ignored. */
  minFrameSimilarity?: number;
  /** Segments scoring below this are dropped (0–1). */
  minSegmentScore?: number;
  /** Path shown in the result (defaults to the input path, or `<buffer>` / `<stream>`). */
  displayPath?: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** One matched frame pair inside a segment. */
export interface FrameMatch {
  queryTime: number;
  refTime: number;
  similarity: number;
}

/**
 * What the verification stage said of a segment (see src/core/verify).
 * - `confirmed`: local features of two or more frame pairs (one strong pair for a still) fit one
 *   geometric model; the score combines the temporal evidence with that geometry.
 * - `unconfirmed`: the frames had too little texture for geometry to judge (sky, a bare wall,
 *   darkness); the segment is reported only because its temporal evidence alone is strong, and
 *   its score is that evidence. (Frames with texture that fit no consistent model are rejected:
 *   such a segment is never reported.)
 * - `unverified`: the reference's file is gone or cannot be decoded, verification is switched off,
 *   or the segment was beyond the verified ones; the score is the temporal evidence alone.
 */
export interface SegmentVerification {
  status: 'confirmed' | 'unconfirmed' | 'unverified';
  /** Frame pairs compared, pairs with enough texture to vote, pairs agreeing on one model. */
  pairs: number;
  voting: number;
  agreeing: number;
  /** Keypoint matches consistent with the model, in the strongest agreeing pair. */
  inliers: number;
  /** Why a segment is not confirmed. */
  reason?: string;
}

export interface MatchSegment {
  queryStart: number;
  queryEnd: number;
  refStart: number;
  refEnd: number;
  /** Calibrated confidence 0–1 that this segment is a real copy. */
  score: number;
  /** True when verification confirmed the copy with geometry (`verification.status === 'confirmed'`). */
  verified: boolean;
  verification: SegmentVerification;
  /** How the copy was altered; null unless verified. */
  transform: MatchTransform | null;
  matchedFrames: number;
  frames: FrameMatch[];
}

export interface VideoMatch {
  videoId: string;
  path: string;
  title: string | null;
  score: number;
  segments: MatchSegment[];
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
  store: 'pglite' | 'postgres';
  location: string;
}

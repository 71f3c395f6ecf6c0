import type { FrameStore } from '../../db/frame-store.js';
import { videoScore } from '../align/segment-scoring.js';
import type { JudgedSegment } from '../verify/judge-segments.js';
import type { MatchTransform, SegmentVerification } from '../verify/segment-verification.js';

/** A copied segment as reported: query interval ↔ reference interval, score, verdict, transform. */
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
  /** Set (true) on a segment listed by `top` below the match threshold: not a match, a near miss. */
  belowThreshold?: boolean;
}

/** A reference video that contains a copy, with its segments best first. */
export interface VideoMatch {
  videoId: string;
  path: string;
  title: string | null;
  score: number;
  segments: MatchSegment[];
  /** Set (true) on a video listed by `top` below the match threshold: not a match, a near miss. */
  belowThreshold?: boolean;
  /** False for a reference indexed from a signature: it has no thumbnails or stream, and its segments are `no-media`. */
  media?: false;
}

/** One matched frame pair inside a segment. */
export interface FrameMatch {
  queryTime: number;
  refTime: number;
  similarity: number;
}

/** A reference video's reported segments and score, before its record is looked up. */
export interface RankedVideo {
  videoId: string;
  segments: MatchSegment[];
  score: number;
  belowThreshold?: boolean;
}

/**
 * Judged segments as reported, grouped by reference video, best video first. `single`: the query
 * was searched by one frame (a still, or a clip too short for temporal evidence), so several
 * places where that picture appears are not independent evidence: the video scores as its best
 * place, and each segment spans the whole query.
 */
export function rankVideos(judged: ReadonlyMap<string, JudgedSegment[]>, query: { single: boolean; isImage: boolean; durationSec: number }): RankedVideo[] {
  const out: RankedVideo[] = [];
  for (const [videoId, segs] of judged) {
    const scored = segs.map((j) => toMatchSegment(j, query.single ? [0, query.isImage ? 0 : query.durationSec] : null));
    const score = query.single ? Math.max(...scored.map((m) => m.score)) : videoScore(scored.map((m) => m.score));
    if (scored.length) out.push({ videoId, segments: scored.sort((a, b) => b.score - a.score), score });
  }
  return out.sort((a, b) => b.score - a.score);
}

/** The best `limit` videos with their titles and paths; videos removed meanwhile are left out. */
export async function describeMatches(store: FrameStore, ranked: readonly RankedVideo[], limit: number): Promise<VideoMatch[]> {
  const top = ranked.slice(0, limit);
  const records = await store.getMany(top.map((m) => m.videoId));
  return top
    .filter((m) => records.has(m.videoId))
    .map((m) => {
      const v = records.get(m.videoId)!;
      return {
        videoId: m.videoId,
        path: v.path,
        title: v.title,
        score: round(m.score),
        segments: m.segments,
        ...(m.belowThreshold ? { belowThreshold: true } : {}),
        ...(v.metadata.media === false ? { media: false as const } : {}),
      };
    });
}

/** `queryRange`: the whole query, for a still (0–0) or a clip searched by one frame. */
function toMatchSegment(j: JudgedSegment, queryRange: [number, number] | null): MatchSegment {
  const { seg } = j;
  const frames = [...seg.points]
    .sort((a, b) => a.tq - b.tq || a.tr - b.tr)
    .map((p) => ({ queryTime: round(p.tq), refTime: round(p.tr), similarity: round(p.similarity) }));
  return {
    queryStart: queryRange ? queryRange[0] : round(seg.queryStart),
    queryEnd: queryRange ? round(queryRange[1]) : round(seg.queryEnd),
    refStart: round(seg.refStart),
    refEnd: round(seg.refEnd),
    score: round(j.score),
    verified: j.verification.status === 'confirmed',
    verification: j.verification,
    transform: j.transform,
    matchedFrames: new Set(seg.points.map((p) => `${p.q}:${p.tr}`)).size,
    frames,
  };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

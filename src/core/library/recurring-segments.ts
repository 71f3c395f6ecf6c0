/**
 * Recurring segments: stretches present in several videos (intros, credits, station logos),
 * read from what duplicate clusters stored (dedup.ts): a stretch of a video shared with at least
 * `minVideos − 1` other videos, that is only a part of it. Search can ignore them as evidence
 * (`SearchOptions.ignoreRecurring`), so that a shared intro alone never makes a match.
 */
import type { FrameStore } from '../../db/frame-store.js';
import { DedupStore } from '../../db/dedup-store.js';
import type { DedupFinding } from '../../db/dedup-store.js';
import type { VideoRecord } from '../../db/video-record.js';
import type { DedupVideo } from './dedup.js';

/** Present in this many videos or more to recur (the "3 or more"). */
export const RECURRING_MIN_VIDEOS = 3;
/**
 * A stretch longer than this share of its video is the video itself, not a segment that recurs
 * in it: three copies of one clip are duplicates, and their search must still find them.
 */
export const RECURRING_MAX_SHARE = 0.5;
/** Timeline resolution of the count of videos sharing each moment (seconds). */
const BIN_SEC = 0.25;

/** One place a recurring segment appears. */
export interface RecurringOccurrence {
  video: DedupVideo;
  start: number;
  end: number;
}

export interface RecurringSegment {
  /** Distinct videos it appears in. */
  videos: number;
  /** Median length of its occurrences (seconds). */
  durationSec: number;
  /** Where it appears, one or more per video, by video path then time. */
  occurrences: RecurringOccurrence[];
}

interface Stretch {
  videoId: string;
  start: number;
  end: number;
}

/**
 * The recurring segments of the library as stored by the last `dedup` runs (videos indexed since
 * are not in them), most widespread first.
 */
export async function recurringSegments(store: FrameStore, intervalSec: number, minVideos = RECURRING_MIN_VIDEOS): Promise<RecurringSegment[]> {
  const findings = await new DedupStore(store.sql).findings();
  const records = await store.getMany([...new Set(findings.flatMap((f) => [f.queryId, f.refId]))]);
  return findRecurring(findings, records, intervalSec, minVideos);
}

/** `recurringSegments` on findings and records already read. */
export function findRecurring(
  findings: readonly DedupFinding[],
  records: ReadonlyMap<string, VideoRecord>,
  intervalSec: number,
  minVideos = RECURRING_MIN_VIDEOS,
): RecurringSegment[] {
  // Each video's shared intervals, by the other video, on its own timeline.
  const shared = new Map<string, Map<string, Array<[number, number]>>>();
  const add = (v: string, w: string, s: number, e: number) => {
    if (!shared.has(v)) shared.set(v, new Map());
    const byOther = shared.get(v)!;
    if (!byOther.has(w)) byOther.set(w, []);
    // A segment spans its first to last matched frame; each frame stands for one interval.
    byOther.get(w)!.push([s, e + intervalSec]);
  };
  for (const f of findings) {
    for (const s of f.segments) {
      add(f.queryId, f.refId, s.queryStart, s.queryEnd);
      add(f.refId, f.queryId, s.refStart, s.refEnd);
    }
  }
  const stretches: Stretch[] = [];
  for (const [videoId, byOther] of shared) {
    const rec = records.get(videoId);
    if (!rec || byOther.size < minVideos - 1) continue;
    const bins = Math.max(1, Math.ceil(rec.durationSec / BIN_SEC));
    const count = new Uint16Array(bins);
    for (const intervals of byOther.values()) {
      const mark = new Uint8Array(bins);
      for (const [s, e] of intervals) for (let b = Math.max(0, Math.floor(s / BIN_SEC)); b < Math.min(bins, Math.ceil(e / BIN_SEC)); b++) mark[b] = 1;
      for (let b = 0; b < bins; b++) count[b] += mark[b];
    }
    let from = -1;
    for (let b = 0; b <= bins; b++) {
      const on = b < bins && count[b] >= minVideos - 1;
      if (on && from < 0) from = b;
      if (!on && from >= 0) {
        const start = from * BIN_SEC;
        const end = Math.min(rec.durationSec, b * BIN_SEC);
        if (end - start <= RECURRING_MAX_SHARE * rec.durationSec) stretches.push({ videoId, start, end });
        from = -1;
      }
    }
  }
  // Stretches that findings map onto each other are one recurring segment (union-find).
  const parent = stretches.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const byVideo = new Map<string, number[]>();
  stretches.forEach((s, i) => byVideo.set(s.videoId, [...(byVideo.get(s.videoId) ?? []), i]));
  const overlapping = (videoId: string, s: number, e: number) => (byVideo.get(videoId) ?? []).filter((i) => stretches[i].start < e && s < stretches[i].end);
  for (const f of findings) {
    for (const seg of f.segments) {
      const a = overlapping(f.queryId, seg.queryStart, seg.queryEnd + intervalSec);
      const b = overlapping(f.refId, seg.refStart, seg.refEnd + intervalSec);
      for (const i of a) for (const j of b) parent[find(i)] = find(j);
    }
  }
  const groups = new Map<number, Stretch[]>();
  stretches.forEach((s, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), s]));
  const out: RecurringSegment[] = [];
  for (const members of groups.values()) {
    const videos = new Set(members.map((m) => m.videoId));
    if (videos.size < minVideos) continue;
    const lengths = members.map((m) => m.end - m.start).sort((x, y) => x - y);
    const occurrences = members
      .map((m) => ({ video: dedupVideo(records.get(m.videoId)!), start: round(m.start), end: round(m.end) }))
      .sort((x, y) => x.video.path.localeCompare(y.video.path) || x.start - y.start);
    out.push({ videos: videos.size, durationSec: round(lengths[lengths.length >> 1]), occurrences });
  }
  return out.sort((x, y) => y.videos - x.videos || y.durationSec - x.durationSec);
}

/**
 * A test of whether a reference frame lies in a recurring segment of its video, for search to
 * drop such frames as evidence. Occurrences are widened by half a sampling interval: their ends
 * are the bins where sharing stopped, and a frame just past one is the same intro still.
 */
export function recurringFilter(segments: readonly RecurringSegment[], intervalSec: number): (videoId: string, timeSec: number) => boolean {
  const byVideo = new Map<string, Array<[number, number]>>();
  for (const s of segments)
    for (const o of s.occurrences) byVideo.set(o.video.id, [...(byVideo.get(o.video.id) ?? []), [o.start - intervalSec / 2, o.end + intervalSec / 2]]);
  return (videoId, t) => byVideo.get(videoId)?.some(([s, e]) => t >= s && t <= e) ?? false;
}

function dedupVideo(r: VideoRecord): DedupVideo {
  return { id: r.id, path: r.path, title: r.title, durationSec: r.durationSec, media: r.metadata.media !== false };
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

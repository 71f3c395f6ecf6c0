/**
 * Duplicate clusters: every indexed video searched against the rest of the library with its own
 * stored frame vectors (no media decoded; see descriptor-search.ts), each pair of videos that
 * share segments given a relation, and the relations grouped into clusters.
 *
 * Incremental: a video is searched once; what its search found is stored (migrations/012), so a
 * later run searches only the videos indexed since and reads the rest. A relation between two
 * videos comes from whichever direction's search found more of it.
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { FrameStore } from '../../db/frame-store.js';
import type { DedupFinding, StoredSharedSegment } from '../../db/dedup-store.js';
import { DedupStore } from '../../db/dedup-store.js';
import type { VideoRecord } from '../../db/video-record.js';
import type { DescriptorSearchContext } from './descriptor-search.js';
import { alignDescriptors } from './descriptor-search.js';
import { judgeCandidates, verificationCanReject } from '../verify/judge-segments.js';
import type { JudgedSegment, ScoredSegment } from '../verify/judge-segments.js';
import type { SegmentVerification } from '../verify/segment-verification.js';
import type { SearchSettings } from '../settings/search-settings.js';
import type { MatchPoint } from '../align/temporal-chains.js';
import { videoScore } from '../align/segment-scoring.js';
import { AbortedError } from '../errors/retrace-error.js';

/**
 * Share of a video's duration that shared segments must cover for it to count as inside the
 * other: both ≥ this → `duplicate`; only one → the other `contains` it. An excerpt that leaves
 * out a tenth of the video (a trimmed intro, the last second lost to a re-encode) is still
 * the video.
 */
export const CONTAINED_COVERAGE = 0.8;

/**
 * How two videos relate, read as "a TYPE b": `duplicate` (the same content, each covering most
 * of the other), `contains` (b lies inside a), `contained-in` (a lies inside b), `related` (they
 * share segments, but neither lies inside the other).
 */
export type RelationType = 'duplicate' | 'contains' | 'contained-in' | 'related';

/** A video of a relation or cluster. */
export interface DedupVideo {
  id: string;
  path: string;
  title: string | null;
  durationSec: number;
  /** False for a reference indexed from a signature: no thumbnails, never verified. */
  media: boolean;
}

/** A stretch of a shown in b: a's interval ↔ b's interval. */
export interface SharedSegment {
  aStart: number;
  aEnd: number;
  bStart: number;
  bEnd: number;
  score: number;
  /** `confirmed` by local features, `unconfirmed` (too little texture), `unverified` (a file gone), `no-media`. */
  verification: string;
}

export interface DedupRelation {
  a: DedupVideo;
  b: DedupVideo;
  type: RelationType;
  /** Confidence that the videos share content (as a search's video score). */
  score: number;
  /** Share of each video's duration that the shared segments cover (0–1). */
  coverage: { a: number; b: number };
  segments: SharedSegment[];
}

export interface DedupCluster {
  /** Videos linked by relations, directly or through others; longest first. */
  videos: DedupVideo[];
  /** Indices into `DedupReport.relations`. */
  relations: number[];
}

export interface DedupReport {
  /** Ready videos in the library. */
  videos: number;
  /** Videos searched against the library by this run (the rest were searched before). */
  compared: number;
  /** Searched videos whose own file was not there: their segments could not be verified. */
  withoutMedia: number;
  relations: DedupRelation[];
  /** Groups of two or more videos, largest first. */
  clusters: DedupCluster[];
  timingsMs: { search: number; verify: number; total: number };
}

export interface DedupOptions {
  /** Search every video again, not only those indexed since the last run. */
  full?: boolean;
  /** Called before the first video is searched, then after each: videos searched, of those to search. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface DedupContext extends DescriptorSearchContext {
  store: FrameStore;
}

/** Search the videos not searched yet (all with `full`), store what they found, and report relations and clusters. */
export async function dedupLibrary(ctx: DedupContext, options: DedupOptions = {}): Promise<DedupReport> {
  const t0 = performance.now();
  const timings = { search: 0, verify: 0, total: 0 };
  const dedup = new DedupStore(ctx.store.sql);
  if (options.full) await dedup.reset();
  const pending = await dedup.uncompared();
  const records = await ctx.store.getMany(pending);
  const pendingSet = new Set(pending);
  let withoutMedia = 0;
  options.onProgress?.(0, pending.length);
  for (const [i, id] of pending.entries()) {
    if (options.signal?.aborted) throw new AbortedError();
    const rec = records.get(id);
    if (!rec) continue;
    let t = performance.now();
    const frames = await ctx.store.framesOf(id);
    const candidates = await alignDescriptors(ctx, { frames, intervalSec: ctx.refIntervalSec, exclude: [id] });
    timings.search += performance.now() - t;
    t = performance.now();
    const media = hasMedia(rec);
    if (!media) withoutMedia++;
    const query = media ? { path: resolvePath(rec.path), width: rec.width, height: rec.height, isImage: false, durationSec: rec.durationSec } : null;
    // A pair already found from the other side was verified then, on the same two files: its
    // verdict stands for this side's segments too (half the decoding of a first run).
    const known = new Map((await dedup.findingsOn(id)).map((f) => [f.queryId, f]));
    // As a search by file: a video with far fewer pixels than verification works at cannot be rejected by it.
    const cannotReject = !verificationCanReject({ width: rec.width, height: rec.height, lowInformation: false }, ctx.settings.verify);
    const judged = await judgeCandidates(
      ctx.store,
      query,
      candidates.filter((c) => !known.has(c.videoId)),
      ctx.settings.minSegmentScore,
      cannotReject,
      ctx.settings.verify,
      options.signal,
    );
    for (const c of candidates) {
      const other = known.get(c.videoId);
      if (!other) continue;
      const j = judgedFromOtherSide(c, other, ctx.settings);
      if (j) judged.set(c.videoId, [...(judged.get(c.videoId) ?? []), j]);
    }
    timings.verify += performance.now() - t;
    const findings = toFindings(id, judged);
    await dedup.record(id, findings);
    // A video found by this search that was searched in an earlier run never met this one:
    // search it now against this video alone, so that the pair is seen from both sides (an
    // excerpt searched in a long video places it more surely than the other way round).
    for (const f of findings) {
      const other = f.refId;
      if (pendingSet.has(other)) continue;
      const otherRec = (await ctx.store.getMany([other])).get(other);
      if (!otherRec) continue;
      t = performance.now();
      const back = await alignDescriptors(ctx, {
        frames: await ctx.store.framesOf(other),
        intervalSec: ctx.refIntervalSec,
        exclude: [other],
        scope: { videoIds: [id], frames: rec.frameCount },
      });
      timings.search += performance.now() - t;
      // The pair was verified a moment ago from this video's side.
      const backJudged = new Map<string, JudgedSegment[]>();
      for (const c of back) {
        const j = judgedFromOtherSide(c, f, ctx.settings);
        if (j) backJudged.set(c.videoId, [...(backJudged.get(c.videoId) ?? []), j]);
      }
      for (const bf of toFindings(other, backJudged)) await dedup.recordPair(bf);
    }
    options.onProgress?.(i + 1, pending.length);
  }
  const report = await readRelations(ctx.store, ctx.refIntervalSec);
  timings.total = performance.now() - t0;
  return {
    videos: report.videos,
    compared: pending.length,
    withoutMedia,
    relations: report.relations,
    clusters: report.clusters,
    timingsMs: { search: Math.round(timings.search), verify: Math.round(timings.verify), total: Math.round(timings.total) },
  };
}

const VERDICT_RANK: Record<string, number> = { confirmed: 3, unverified: 2, unconfirmed: 1, 'no-media': 0 };

/**
 * A candidate segment judged by the verdict its pair got when the other video was searched: the
 * best verdict of that side's segments, under the rule that verdict carries in `judgeCandidates`
 * (confirmed or unverifiable: the temporal floor; too flat or no media: `abstainMinScore`).
 */
function judgedFromOtherSide(c: ScoredSegment, other: DedupFinding, s: SearchSettings): JudgedSegment | null {
  const status = other.segments.map((x) => x.verification).sort((a, b) => (VERDICT_RANK[b] ?? 0) - (VERDICT_RANK[a] ?? 0))[0] ?? 'unverified';
  const floor = status === 'confirmed' || status === 'unverified' ? s.minSegmentScore : Math.max(s.minSegmentScore, s.verify.abstainMinScore);
  if (c.score < floor) return null;
  const verification: SegmentVerification = {
    status: status as SegmentVerification['status'],
    pairs: 0,
    voting: 0,
    agreeing: 0,
    inliers: 0,
    reason: 'verified when the other video was searched',
  };
  return { ...c, verification, transform: null };
}

/**
 * A chain may bridge a few seconds without matches (`align.maxGapSec`): another clip inserted
 * into a copy. Stored segments are split where the matched frames leave a gap longer than this
 * on either video, so that coverage counts only what was matched.
 */
const SPLIT_GAP_SEC = 3;

/** One search's judged segments as stored findings, segments split at gaps in their matched frames. */
function toFindings(queryId: string, judged: ReadonlyMap<string, JudgedSegment[]>): DedupFinding[] {
  const findings: DedupFinding[] = [];
  for (const [refId, segs] of judged) {
    if (!segs.length) continue;
    const segments: StoredSharedSegment[] = [];
    for (const j of [...segs].sort((a, b) => b.score - a.score)) {
      for (const piece of splitAtGaps(j.seg.points)) {
        segments.push({
          queryStart: round(Math.min(...piece.map((p) => p.tq))),
          queryEnd: round(Math.max(...piece.map((p) => p.tq))),
          refStart: round(Math.min(...piece.map((p) => p.tr))),
          refEnd: round(Math.max(...piece.map((p) => p.tr))),
          score: round(j.score),
          verification: j.verification.status,
        });
      }
    }
    findings.push({ queryId, refId, score: round(videoScore(segs.map((s) => s.score))), segments });
  }
  return findings;
}

function splitAtGaps(points: readonly MatchPoint[]): MatchPoint[][] {
  const sorted = [...points].sort((a, b) => a.tq - b.tq || a.tr - b.tr);
  const out: MatchPoint[][] = [];
  for (const p of sorted) {
    const cur = out.at(-1);
    const last = cur?.at(-1);
    if (cur && last && p.tq - last.tq <= SPLIT_GAP_SEC && Math.abs(p.tr - last.tr) <= SPLIT_GAP_SEC * 4) cur.push(p);
    else out.push([p]);
  }
  return out;
}

/** A video has media when it was indexed from a file (not a signature) and the file is still there. */
export function hasMedia(rec: VideoRecord): boolean {
  return rec.metadata.media !== false && existsSync(resolvePath(rec.path));
}

/** The stored findings as relations (one per pair of videos) and clusters, without searching anything. */
export async function readRelations(store: FrameStore, intervalSec: number): Promise<{ videos: number; relations: DedupRelation[]; clusters: DedupCluster[] }> {
  const findings = await new DedupStore(store.sql).findings();
  const ids = [...new Set(findings.flatMap((f) => [f.queryId, f.refId]))];
  const records = await store.getMany(ids);
  const videos = await store.count('ready');
  const byPair = new Map<string, DedupRelation>();
  for (const f of findings) {
    const a = records.get(f.queryId);
    const b = records.get(f.refId);
    if (!a || !b) continue;
    const rel = toRelation(a, b, f, intervalSec);
    const key = [a.id, b.id].sort().join('|');
    const prev = byPair.get(key);
    if (!prev || preferred(rel, prev)) byPair.set(key, rel);
  }
  const relations = [...byPair.values()].sort((x, y) => y.score - x.score || x.a.path.localeCompare(y.a.path));
  return { videos, relations, clusters: clustersOf(relations) };
}

/**
 * Of the two directions' views of one pair: the one whose segments play closer to real time,
 * then the one that found more of it. Self-similar footage (a zoom into a fractal) chains at a
 * false rate from the longer video's side while the excerpt's side finds the true placement;
 * a copy played at another speed shows the same rate from both sides.
 */
function preferred(x: DedupRelation, y: DedupRelation): boolean {
  const dx = rateDeparture(x);
  const dy = rateDeparture(y);
  if (Math.abs(dx - dy) > 0.1) return dx < dy;
  return x.coverage.a + x.coverage.b > y.coverage.a + y.coverage.b;
}

/** Mean |ln rate| of a relation's segments, weighted by length on a's side. */
function rateDeparture(r: DedupRelation): number {
  let sum = 0;
  let weight = 0;
  for (const s of r.segments) {
    const qa = s.aEnd - s.aStart;
    const qb = s.bEnd - s.bStart;
    if (qa <= 0 || qb <= 0) continue;
    sum += qa * Math.abs(Math.log(qb / qa));
    weight += qa;
  }
  return weight ? sum / weight : 0;
}

function toRelation(a: VideoRecord, b: VideoRecord, f: DedupFinding, intervalSec: number): DedupRelation {
  const segments: SharedSegment[] = f.segments.map((s) => ({
    aStart: s.queryStart,
    aEnd: s.queryEnd,
    bStart: s.refStart,
    bEnd: s.refEnd,
    score: s.score,
    verification: s.verification,
  }));
  const coverage = {
    a: round(
      covered(
        segments.map((s) => [s.aStart, s.aEnd]),
        a.durationSec,
        intervalSec,
      ),
    ),
    b: round(
      covered(
        segments.map((s) => [s.bStart, s.bEnd]),
        b.durationSec,
        intervalSec,
      ),
    ),
  };
  return { a: dedupVideo(a), b: dedupVideo(b), type: relationType(coverage.a, coverage.b), score: f.score, coverage, segments };
}

/** The relation "a TYPE b" from the share of each video the shared segments cover. */
export function relationType(coverageA: number, coverageB: number): RelationType {
  const aInside = coverageA >= CONTAINED_COVERAGE;
  const bInside = coverageB >= CONTAINED_COVERAGE;
  if (aInside && bInside) return 'duplicate';
  if (bInside) return 'contains';
  if (aInside) return 'contained-in';
  return 'related';
}

/**
 * Share of `[0, duration]` covered by the intervals, each standing for its matched frames: a
 * segment from the first to the last matched frame covers one sampling interval past the last.
 */
export function covered(intervals: ReadonlyArray<readonly [number, number]>, durationSec: number, intervalSec: number): number {
  if (durationSec <= 0) return 0;
  const sorted = intervals.map(([s, e]) => [Math.max(0, s), Math.min(durationSec, e + intervalSec)] as const).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return Math.min(1, total / durationSec);
}

/** Videos joined by any relation, directly or through others (union-find). */
export function clustersOf(relations: readonly DedupRelation[]): DedupCluster[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    // Path compression: later look-ups go straight to the root.
    while (parent.get(x) !== r) {
      const next = parent.get(x)!;
      parent.set(x, r);
      x = next;
    }
    return r;
  };
  const videos = new Map<string, DedupVideo>();
  for (const r of relations) {
    for (const v of [r.a, r.b]) {
      if (!parent.has(v.id)) parent.set(v.id, v.id);
      videos.set(v.id, v);
    }
    const ra = find(r.a.id);
    const rb = find(r.b.id);
    if (ra !== rb) parent.set(ra, rb);
  }
  const byRoot = new Map<string, DedupCluster>();
  for (const id of videos.keys()) {
    const root = find(id);
    if (!byRoot.has(root)) byRoot.set(root, { videos: [], relations: [] });
    byRoot.get(root)!.videos.push(videos.get(id)!);
  }
  relations.forEach((r, i) => byRoot.get(find(r.a.id))!.relations.push(i));
  const clusters = [...byRoot.values()];
  for (const c of clusters) c.videos.sort((x, y) => y.durationSec - x.durationSec || x.path.localeCompare(y.path));
  return clusters.sort((x, y) => y.videos.length - x.videos.length || x.videos[0].path.localeCompare(y.videos[0].path));
}

function dedupVideo(r: VideoRecord): DedupVideo {
  return { id: r.id, path: r.path, title: r.title, durationSec: r.durationSec, media: r.metadata.media !== false };
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

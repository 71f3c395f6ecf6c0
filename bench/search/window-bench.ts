/**
 * The search benchmark's stored-windows part (`--stored-windows`): what the narrow windows an
 * index with stored windows keeps per frame (strips, variants 2 and 3; a quadrant, variant 4; see
 * `windowRegions`) cost in bytes, and what the second tier's queries against them cost in time
 * and recall at the index's size.
 *
 *  - bytes: the rows' share is measured as the difference between two fresh copies of `frames`,
 *    one as loaded and one with the window columns null (what an index without windows holds
 *    for the same frames), so it includes tuple alignment and page fill; each window column's
 *    graph is its HNSW index's size;
 *  - queries: copies of stretches of indexed synthetic videos reframed to a query shape (9:16,
 *    1:1, 16:9: the 9:16 one has strips only, the 16:9 one quadrants only), whose window regions
 *    are made by the engine's own `queryRegions` on the engine's counts of query frames
 *    (`windowMaxFrames` for strips, `quadrantMaxFrames` for quadrants), and searched the way
 *    search.ts does: both strip columns concurrently, then the quadrant column;
 *  - recall@k of each window column against exact search of the same query vectors.
 *
 * Optionally the window graphs are rebuilt at other HNSW degrees (`--window-m`) and measured
 * again, the other graphs left as they are.
 */
import { DEFAULT_SEARCH } from '../../src/index.js';
import { DEFAULT_ANN, FrameStore, variantColumn } from '../../src/db/frame-store.js';
import type { AnnSettings } from '../../src/db/frame-store.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { STORED_VARIANT } from '../../src/core/frames/region-variants.js';
import { spread } from '../../src/core/query/query-plan.js';

import type { Prng } from '../common/random.js';
import { summarize } from '../common/stats.js';
import type { Summary } from '../common/stats.js';
import { formatTable } from '../common/table.js';
import { regionFloor } from '../../src/core/candidates/evidence.js';
import { exactKnn, hitsByQuery, recallAtK } from './ann-experiments.js';
import type { ExactHit } from './ann-experiments.js';
import { framesOfVideo } from './synthetic-cache.js';
import type { SyntheticSet } from './synthetic-cache.js';
import { SYNTH_DISPLAY_ASPECT, describeWindowQuery, frameQuality, randomCopyEdit, renderFrame, videoSpec } from './synthetic-videos.js';

/** The stored-window columns: variant and HNSW index name (the engine's, see `FrameStore.annIndexNames`). */
export const WINDOW_COLUMNS = [STORED_VARIANT.stripA, STORED_VARIANT.stripB, STORED_VARIANT.quadrant].map((variant) => ({
  variant,
  column: variantColumn(variant),
  index: FrameStore.annIndexNames[variant],
}));

/** Query shapes whose window regions are searched: display aspect of the query (a full-height reframe of the 16:9 videos). */
export const WINDOW_QUERY_SHAPES = [
  { name: '9:16 vertical', aspect: 9 / 16 },
  { name: '1:1 square', aspect: 1 },
  { name: '16:9 copy', aspect: 16 / 9 },
] as const;

export interface WindowQuery {
  shape: string;
  video: number;
  /** Strip regions of the `windowMaxFrames` query frames searched against the strips. */
  strips: Float32Array[];
  /** Quadrant regions of the `quadrantMaxFrames` query frames searched against the quadrant. */
  quadrants: Float32Array[];
}

export interface WindowColumnPoint {
  variant: number;
  column: string;
  /** Stored vectors in the column (non-null). */
  vectors: number;
  graphBytes: number;
  graphBytesPerVector: number;
  /** Row bytes per vector (the rows' share, the same for every window column) + graph bytes per vector. */
  bytesPerVector: number;
  /** Recall@k of this column's HNSW scan against exact search, at the default ef_search. */
  recall: number;
  recallQueries: number;
  /**
   * Of the exact k nearest that are similar enough to be evidence (at or above the column's
   * floor, `stripMinSimilarity` / `quadrantMinSimilarity`), the share the HNSW scan returned: the
   * neighbours a window match is made of, where recall@k also counts the background.
   */
  recallAboveFloor: number;
  /** Exact neighbours at or above the floor, over the recall sample. */
  aboveFloor: number;
  /**
   * How much lower a region's floor (`regionFloor`: its background, the n-th best distinct
   * video's similarity plus a margin, never under the window floor) comes out from the HNSW
   * neighbours than from the exact ones, mean over the recall sample; and the share of regions
   * whose floor is more than 0.01 lower. A less exact neighbour list makes matches look more
   * distinctive than they are.
   */
  floorShift: number;
  floorShiftedShare: number;
}

export interface WindowLatency {
  shape: string;
  queries: number;
  stripVectorsPerQuery: number;
  quadrantVectorsPerQuery: number;
  /** The two strip columns' calls, concurrent (as search.ts issues them). */
  stripKnnMs: Summary | null;
  quadrantKnnMs: Summary | null;
  /** Strips then quadrants: the window queries' part of a second-tier search. */
  totalKnnMs: Summary;
}

export interface WindowGraphPoint {
  /** HNSW degree of the window graphs (the other graphs keep the engine's). */
  m: number;
  efConstruction: number;
  /** Build time of the three window graphs (null: built with the other graphs by the engine's DDL, see `build`). */
  buildSec: number | null;
  graphBytesPerFrame: number;
  /** Rows' share + window graphs, per frame. */
  addedBytesPerFrame: number;
  /** `frames` with all its indexes, per frame. */
  frameBytesPerFrame: number;
  columns: WindowColumnPoint[];
  latency: WindowLatency[];
}

export interface WindowsReport {
  /** Display aspect of the synthetic videos the windows were laid out in. */
  displayAspect: number;
  windowMaxFrames: number;
  quadrantMaxFrames: number;
  /** Window vectors stored, all columns. */
  vectors: number;
  vectorsPerFrame: number;
  /** Heap of a fresh copy of `frames` as loaded, and of one with the window columns null. */
  heapBytes: number;
  heapWithoutWindowsBytes: number;
  rowBytesPerFrame: number;
  rowBytesPerVector: number;
  points: WindowGraphPoint[];
}

/**
 * Window queries: `perShape` copies of each query shape, each `framesPerQuery` frames half a
 * second apart (flat frames dropped, as search drops them), reframed and re-encoded.
 */
export function makeWindowQueries(set: SyntheticSet, total: number, perShape: number, framesPerQuery: number, rng: Prng): WindowQuery[] {
  const videos = Math.ceil(total / set.framesPerVideo);
  const interval = DEFAULT_SEARCH.queryIntervalSec;
  const span = framesPerQuery * interval;
  const out: WindowQuery[] = [];
  for (const shape of WINDOW_QUERY_SHAPES) {
    const width = Math.min(1, shape.aspect / SYNTH_DISPLAY_ASPECT);
    let made = 0;
    let guard = 0;
    while (made < perShape && guard++ < perShape * 20) {
      const v = rng.int(0, videos - 1);
      const count = framesOfVideo(set, v, total);
      if (count < span + 2) continue;
      const t0 = rng.int(0, Math.floor(count - span - 1));
      const spec = videoSpec(set.seed, v, set.framesPerVideo, set.clips);
      const edit = { ...randomCopyEdit(rng), ...(width < 1 ? { reframe: { x: rng.uniform(0, 1 - width), width } } : {}) };
      const rasters = Array.from({ length: framesPerQuery }, (_, i) => renderFrame(spec, t0 + i * interval, set.clips, edit));
      const good = rasters.filter((r) => frameQuality(r) >= DEFAULT_SEARCH.evidence.minQuality);
      if (good.length < Math.min(10, framesPerQuery)) continue;
      const strips = spread(good, DEFAULT_SEARCH.windowMaxFrames).flatMap((r) => describeWindowQuery(r, shape.aspect, 'strip'));
      const quadrants = spread(good, DEFAULT_SEARCH.quadrantMaxFrames).flatMap((r) => describeWindowQuery(r, shape.aspect, 'quadrant'));
      out.push({ shape: shape.name, video: v, strips, quadrants });
      made++;
    }
  }
  return out;
}

/** The window queries of one second-tier search: both strip columns at once, then the quadrant column (search.ts). */
export async function runWindowQuery(store: FrameStore, q: WindowQuery, k: number, ef?: number): Promise<{ stripMs: number; quadrantMs: number }> {
  const t0 = performance.now();
  if (q.strips.length) await Promise.all([store.knn(q.strips, STORED_VARIANT.stripA, k, ef), store.knn(q.strips, STORED_VARIANT.stripB, k, ef)]);
  const t1 = performance.now();
  if (q.quadrants.length) await store.knn(q.quadrants, STORED_VARIANT.quadrant, k, ef);
  return { stripMs: t1 - t0, quadrantMs: performance.now() - t1 };
}

/** Rows' share of the windows: a copy of `frames` with them and one without, both freshly packed. */
export async function windowRowBytes(sql: SqlClient): Promise<{ heapBytes: number; heapWithoutWindowsBytes: number }> {
  const cols = await sql.query<{ name: string }>(
    `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'frames' ORDER BY ordinal_position`,
  );
  const windowCols = new Set<string>(WINDOW_COLUMNS.map((c) => c.column));
  const list = cols.rows.map((c) => `"${c.name}"`).join(', ');
  const without = cols.rows.map((c) => (windowCols.has(c.name) ? 'NULL' : `"${c.name}"`)).join(', ');
  const size = async (select: string) => {
    await sql.exec(`DROP TABLE IF EXISTS bench_frames_copy; CREATE TABLE bench_frames_copy (LIKE frames)`);
    try {
      await sql.exec(`INSERT INTO bench_frames_copy (${list}) SELECT ${select} FROM frames`);
      const r = await sql.query<{ n: string }>(`SELECT pg_relation_size('bench_frames_copy')::text AS n`);
      return Number(r.rows[0].n);
    } finally {
      await sql.exec(`DROP TABLE IF EXISTS bench_frames_copy`);
    }
  };
  return { heapBytes: await size(list), heapWithoutWindowsBytes: await size(without) };
}

/** Exact neighbours of the recall sample, per window column (computed once, whatever the graphs). */
export interface WindowRecallSample {
  queries: Map<number, Float32Array[]>;
  exact: Map<number, ExactHit[][]>;
}

export async function windowRecallSample(sql: SqlClient, queries: readonly WindowQuery[], n: number, k: number, dims: number): Promise<WindowRecallSample> {
  // Spread over the queries rather than the first query's regions alone.
  const pick = (xs: Float32Array[]) => spread(xs, n);
  const strips = pick(queries.flatMap((q) => q.strips));
  const quadrants = pick(queries.flatMap((q) => q.quadrants));
  const byVariant = new Map<number, Float32Array[]>([
    [STORED_VARIANT.stripA, strips],
    [STORED_VARIANT.stripB, strips],
    [STORED_VARIANT.quadrant, quadrants],
  ]);
  const exact = new Map<number, ExactHit[][]>();
  for (const [variant, vecs] of byVariant) exact.set(variant, await exactKnn(sql, vecs, variant, k, dims));
  return { queries: byVariant, exact };
}

/** Sizes, recall and latency of the window graphs as they stand. */
export async function measureWindowPoint(opts: {
  sql: SqlClient;
  store: FrameStore;
  frames: number;
  k: number;
  ann: AnnSettings;
  buildSec: number | null;
  rowBytesPerVector: number;
  rowBytesPerFrame: number;
  queries: readonly WindowQuery[];
  recall: WindowRecallSample;
  log: (s: string) => void;
}): Promise<WindowGraphPoint> {
  const { sql, store, frames, k, queries, log } = opts;
  const columns: WindowColumnPoint[] = [];
  for (const c of WINDOW_COLUMNS) {
    const r = await sql.query<{ vectors: string; bytes: string }>(
      `SELECT (SELECT count(${c.column}) FROM frames)::text AS vectors, pg_relation_size('${c.index}')::text AS bytes`,
    );
    const vectors = Number(r.rows[0].vectors);
    const graphBytes = Number(r.rows[0].bytes);
    const qs = opts.recall.queries.get(c.variant)!;
    const exact = opts.recall.exact.get(c.variant)!;
    const hits = await store.knn(qs, c.variant, k);
    const approx = hitsByQuery(hits, qs.length);
    const recall = recallAtK(approx, exact, k);
    const floor = c.variant === STORED_VARIANT.quadrant ? DEFAULT_SEARCH.quadrantMinSimilarity : DEFAULT_SEARCH.stripMinSimilarity;
    // The region floors search would set from these neighbours and from the exact ones.
    const evidence = { ...DEFAULT_SEARCH.evidence, minFrameSimilarity: floor };
    const asHits = (xs: ReadonlyArray<{ videoId: string; similarity: number }>) =>
      xs.map((h) => ({ ...h, query: 0, frameId: 0, timestampSec: 0, variant: c.variant, quality: 1 }));
    const shifts = exact.map(
      (ex, i) =>
        regionFloor(asHits(ex.map((h) => ({ videoId: h.videoId, similarity: 1 - h.dist }))), evidence) -
        regionFloor(asHits(hits.filter((h) => h.query === i)), evidence),
    );
    let aboveFloor = 0;
    let foundAboveFloor = 0;
    exact.forEach((ex, i) => {
      const want = ex.filter((h) => 1 - h.dist >= floor).length;
      aboveFloor += want;
      foundAboveFloor += Math.min(want, approx[i].filter((h) => 1 - h.dist >= floor).length);
    });
    columns.push({
      variant: c.variant,
      column: c.column,
      vectors,
      graphBytes,
      graphBytesPerVector: graphBytes / Math.max(1, vectors),
      bytesPerVector: opts.rowBytesPerVector + graphBytes / Math.max(1, vectors),
      recall,
      recallQueries: qs.length,
      recallAboveFloor: aboveFloor ? foundAboveFloor / aboveFloor : NaN,
      aboveFloor,
      floorShift: shifts.reduce((a, b) => a + b, 0) / Math.max(1, shifts.length),
      floorShiftedShare: shifts.filter((x) => x > 0.01).length / Math.max(1, shifts.length),
    });
  }
  const frameBytes = Number((await sql.query<{ n: string }>(`SELECT pg_total_relation_size('frames')::text AS n`)).rows[0].n);
  // Warm-up: every query once (steady state is a warm cache), then timed.
  for (const q of queries) await runWindowQuery(store, q, k);
  const latency: WindowLatency[] = [];
  for (const shape of WINDOW_QUERY_SHAPES) {
    const qs = queries.filter((q) => q.shape === shape.name);
    if (!qs.length) continue;
    const strip: number[] = [];
    const quadrant: number[] = [];
    for (const q of qs) {
      const t = await runWindowQuery(store, q, k);
      strip.push(t.stripMs);
      quadrant.push(t.quadrantMs);
    }
    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
    latency.push({
      shape: shape.name,
      queries: qs.length,
      stripVectorsPerQuery: mean(qs.map((q) => q.strips.length)),
      quadrantVectorsPerQuery: mean(qs.map((q) => q.quadrants.length)),
      stripKnnMs: qs.some((q) => q.strips.length) ? summarize(strip) : null,
      quadrantKnnMs: qs.some((q) => q.quadrants.length) ? summarize(quadrant) : null,
      totalKnnMs: summarize(strip.map((s, i) => s + quadrant[i])),
    });
  }
  const graphBytesPerFrame = columns.reduce((s, c) => s + c.graphBytes, 0) / frames;
  const point: WindowGraphPoint = {
    m: opts.ann.windowM,
    efConstruction: opts.ann.efConstruction,
    buildSec: opts.buildSec,
    graphBytesPerFrame,
    addedBytesPerFrame: opts.rowBytesPerFrame + graphBytesPerFrame,
    frameBytesPerFrame: frameBytes / frames,
    columns,
    latency,
  };
  log(
    `  window graphs m ${point.m}: ${point.addedBytesPerFrame.toFixed(0)} B/frame added (rows ${opts.rowBytesPerFrame.toFixed(0)}, graphs ${graphBytesPerFrame.toFixed(0)}); recall@${k} ${columns.map((c) => `${c.column} ${c.recall.toFixed(3)} (above floor ${c.recallAboveFloor.toFixed(3)} of ${c.aboveFloor})`).join(', ')}; ${latency.map((l) => `${l.shape} p50 ${l.totalKnnMs.p50.toFixed(1)} ms`).join(', ')}`,
  );
  return point;
}

/** Drop the window graphs and build them again with the engine's DDL at `ann.windowM` (the other graphs stay). */
export async function rebuildWindowGraphs(sql: SqlClient, descriptor: { id: string; dimensions: number }, ann: AnnSettings): Promise<number> {
  await sql.exec(WINDOW_COLUMNS.map((c) => `DROP INDEX IF EXISTS ${c.index};`).join(' '));
  const t0 = performance.now();
  // bindDescriptor makes the ANN indexes that are missing: here only the window graphs.
  await new FrameStore(sql, ann).bindDescriptor(descriptor.id, descriptor.dimensions);
  return (performance.now() - t0) / 1000;
}

/** The window graphs' settings at degree `m` (everything else as the engine's). */
export function windowAnn(m: number): AnnSettings {
  return { ...DEFAULT_ANN, windowM: m };
}

export function printWindowsReport(w: WindowsReport, k: number, log: (s: string) => void): void {
  log('');
  log(
    `Stored windows (display aspect ${w.displayAspect.toFixed(2)}): ${w.vectors} vectors, ${w.vectorsPerFrame.toFixed(2)} a frame; rows ${w.rowBytesPerFrame.toFixed(0)} B/frame = ${w.rowBytesPerVector.toFixed(0)} B/vector (heap ${(w.heapBytes / 2 ** 20).toFixed(1)} MiB with, ${(w.heapWithoutWindowsBytes / 2 ** 20).toFixed(1)} MiB without)`,
  );
  log(
    formatTable(
      ['window graphs', 'build s', 'column', 'vectors', 'graph B/vector', 'B/vector (row+graph)', `recall@${k}`, 'above floor', 'of', 'floor shift', '>0.01'],
      w.points.flatMap((p) =>
        p.columns.map((c, i) => [
          i ? '' : `m ${p.m}, ef_construction ${p.efConstruction}`,
          i ? null : p.buildSec,
          c.column,
          c.vectors,
          c.graphBytesPerVector,
          c.bytesPerVector,
          c.recall,
          c.recallAboveFloor,
          c.aboveFloor,
          c.floorShift,
          c.floorShiftedShare,
        ]),
      ),
      [0, 1, 0, 0, 0, 0, 3, 3, 0, 4, 2],
    ),
  );
  log(
    formatTable(
      ['window graphs', 'added B/frame', 'of which graphs', 'frame rows + indexes / frame'],
      w.points.map((p) => [`m ${p.m}`, p.addedBytesPerFrame, p.graphBytesPerFrame, p.frameBytesPerFrame]),
      [0, 0, 0, 0],
    ),
  );
  log(
    `Window queries of a second-tier search (ms; strips on ${w.windowMaxFrames} query frames, both strip columns concurrently, then quadrants on ${w.quadrantMaxFrames})`,
  );
  const s = (x: Summary | null, f: 'p50' | 'p95') => (x ? x[f] : null);
  log(
    formatTable(
      ['window graphs', 'query', 'n', 'strip vec', 'quad vec', 'strips p50', 'strips p95', 'quads p50', 'quads p95', 'total p50', 'total p95'],
      w.points.flatMap((p) =>
        p.latency.map((l, i) => [
          i ? '' : `m ${p.m}`,
          l.shape,
          l.queries,
          l.stripVectorsPerQuery,
          l.quadrantVectorsPerQuery,
          s(l.stripKnnMs, 'p50'),
          s(l.stripKnnMs, 'p95'),
          s(l.quadrantKnnMs, 'p50'),
          s(l.quadrantKnnMs, 'p95'),
          l.totalKnnMs.p50,
          l.totalKnnMs.p95,
        ]),
      ),
      [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
    ),
  );
}

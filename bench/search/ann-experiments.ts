/**
 * Exact search (ground truth for ANN recall) and alternative index types measured on the same
 * loaded table, to choose a remedy by measurement when the default per-variant HNSW is too slow
 * to build or query (the embedded store at 1M frames).
 *
 * Alternatives are built for variant 0 (column e0 of `frames`) only, next to the default index. To make sure the
 * planner uses the alternative and not the default HNSW index on the same column, they index
 * a different operator class where the order is identical: the vectors are unit length, so
 * nearest by cosine distance, by L2 distance and by inner product are the same neighbours.
 */
import type { SqlClient, SqlExecutor } from '../../src/db/sql-client.js';
import { pgArray } from '../../src/db/sql-client.js';
import { variantColumn, vectorLiteral } from '../../src/db/frame-store.js';
import type { KnnHit } from '../../src/db/frame-store.js';
import { median, percentile } from '../common/stats.js';

export interface ExactHit {
  frameId: number;
  dist: number;
  videoId: string;
}

/**
 * Exact k nearest neighbours (cosine) of each query among stored vectors of one variant: the
 * same distance expression as FrameStore.knn (halfvec) with index scans disabled, so every row is compared.
 */
export async function exactKnn(sql: SqlClient, queries: readonly Float32Array[], variant: number, k: number, dims: number): Promise<ExactHit[][]> {
  const out: ExactHit[][] = queries.map(() => []);
  const col = variantColumn(variant);
  // Small batches: each query is a full scan.
  for (let s = 0; s < queries.length; s += 8) {
    const batch = queries.slice(s, s + 8);
    const rows = await sql.transaction(async (tx) => {
      await tx.query(`SET LOCAL enable_indexscan = off`);
      await tx.query(`SET LOCAL enable_bitmapscan = off`);
      const r = await tx.query<{ qi: number; frame_id: string; video_id: string; dist: number }>(
        `SELECT q.i::int AS qi, h.id::text AS frame_id, h.video_id::text AS video_id, h.dist
           FROM unnest($1::halfvec[]) WITH ORDINALITY AS q(v, i)
           CROSS JOIN LATERAL (
             SELECT f.id, f.video_id, (f.${col}::halfvec(${dims})) <=> q.v::halfvec(${dims}) AS dist
               FROM frames f WHERE f.${col} IS NOT NULL
              ORDER BY dist LIMIT $2) h`,
        [pgArray(batch.map(vectorLiteral)), k],
      );
      return r.rows;
    });
    for (const r of rows) out[s + r.qi - 1].push({ frameId: Number(r.frame_id), dist: Number(r.dist), videoId: r.video_id });
  }
  for (const l of out) l.sort((a, b) => a.dist - b.dist);
  return out;
}

/**
 * Recall@k of approximate hits against exact ones: the share of the true top-k an ANN result
 * recovers, counting a hit as correct when it is at most as far as the k-th true neighbour (ties
 * between equally distant frames are not misses).
 */
export function recallAtK(approx: ReadonlyArray<ReadonlyArray<{ dist: number }>>, exact: readonly ExactHit[][], k: number, eps = 1e-5): number {
  const per: number[] = [];
  exact.forEach((ex, i) => {
    if (!ex.length) return;
    const want = Math.min(k, ex.length);
    const kth = ex[want - 1].dist;
    const got = (approx[i] ?? []).filter((h) => h.dist <= kth + eps).length;
    per.push(Math.min(1, got / want));
  });
  return per.length ? per.reduce((a, b) => a + b, 0) / per.length : NaN;
}

/** FrameStore.knn hits regrouped by query, as distances. */
export function hitsByQuery(hits: readonly KnnHit[], n: number): Array<Array<{ frameId: number; dist: number }>> {
  const out: Array<Array<{ frameId: number; dist: number }>> = Array.from({ length: n }, () => []);
  for (const h of hits) out[h.query]?.push({ frameId: h.frameId, dist: 1 - h.similarity });
  return out;
}

export interface AnnAlternative {
  name: string;
  description: string;
  /** The engine's own index, already there: measured with the same query shape, never built or dropped here. */
  existing?: boolean;
  /** DDL creating the index (variant 0). */
  create: (dims: number, n: number, mean: Float32Array) => string;
  indexName: string;
  /** Session settings for one parameter value (e.g. probes, ef_search, rerank size). */
  settings: (param: number) => string[];
  /** Query: $1 = vector[] literal, $2 = k, $3 = param. Must return qi, frame_id, dist (cosine). */
  query: (dims: number, mean: Float32Array) => string;
  params: (n: number) => number[];
  paramName: string;
}

function meanLiteral(mean: Float32Array): string {
  return `'${vectorLiteral(mean)}'::vector(${mean.length})`;
}

/**
 * The alternatives' query: k nearest whole-picture vectors per query vector in one statement,
 * ordered by `op` on the column cast to `type` (what the alternative's index serves), always
 * reporting cosine distance so recall is judged alike.
 */
function wholePictureKnn(d: number, type: 'halfvec' | 'vector', op: '<=>' | '<->' | '<#>', where = ''): string {
  return `SELECT q.i::int AS qi, h.id::text AS frame_id, h.dist FROM unnest($1::halfvec[]) WITH ORDINALITY AS q(v, i)
      CROSS JOIN LATERAL (SELECT fv.id, (fv.e0::halfvec(${d})) <=> q.v::halfvec(${d}) AS dist FROM frames fv ${where ? `WHERE ${where}` : ''}
        ORDER BY (fv.e0::${type}(${d})) ${op} q.v::${type}(${d}) LIMIT $2) h`;
}
/**
 * The engine's graph (L2, non-zero vectors, ef_construction 128) with fewer links per node. Each
 * index's predicate is written differently (`* m`), so the planner picks exactly that index.
 */
function l2GraphWithM(m: number): AnnAlternative {
  // Level 0 holds 2m links of 6 bytes: each link fewer than the engine's m 12 saves 12 bytes.
  const saved = (12 - m) * 12;
  return {
    name: `hnsw-l2-m${m}`,
    description: `the engine's graph (L2, non-zero vectors, ef_construction 128) with m ${m}: ${saved} B less per vector at level 0`,
    indexName: `bench_alt_hnsw_l2_m${m}`,
    create: (d) =>
      `CREATE INDEX bench_alt_hnsw_l2_m${m} ON frames USING hnsw ((e0::halfvec(${d})) halfvec_l2_ops) WITH (m = ${m}, ef_construction = 128) WHERE l2_norm(e0) * ${m} > 0`,
    settings: (p) => [`SET LOCAL hnsw.ef_search = ${p}`],
    query: (d) => wholePictureKnn(d, 'halfvec', '<->', `l2_norm(fv.e0) * ${m} > 0`),
    params: () => [60, 80, 100, 120],
    paramName: 'ef_search',
  };
}

export const ALTERNATIVES: AnnAlternative[] = [
  {
    name: 'hnsw-current',
    description: "the engine's index (HNSW halfvec L2 on non-zero vectors, m 12, ef_construction 128), same query shape as the alternatives",
    existing: true,
    indexName: 'frames_e0_l2',
    create: () => '',
    settings: (p) => [`SET LOCAL hnsw.ef_search = ${p}`],
    query: (d) => wholePictureKnn(d, 'halfvec', '<->', 'l2_norm(fv.e0) > 0'),
    params: () => [60, 80, 100, 120],
    paramName: 'ef_search',
  },
  l2GraphWithM(10),
  l2GraphWithM(8),
  {
    name: 'hnsw-halfvec-m16',
    description: 'HNSW on halfvec, m 16, ef_construction 64: the previous graph degree',
    indexName: 'bench_alt_hnsw_halfvec_m16',
    create: (d) => `CREATE INDEX bench_alt_hnsw_halfvec_m16 ON frames USING hnsw ((e0::halfvec(${d})) halfvec_l2_ops) WITH (m = 16, ef_construction = 64)`,
    settings: (p) => [`SET LOCAL hnsw.ef_search = ${p}`],
    query: (d) => wholePictureKnn(d, 'halfvec', '<->'),
    params: () => [60, 80, 100, 120],
    paramName: 'ef_search',
  },
  {
    name: 'hnsw-m8-efc32',
    description: 'HNSW (float), m 8, ef_construction 32: a cheaper graph',
    indexName: 'bench_alt_hnsw_m8',
    create: (d) => `CREATE INDEX bench_alt_hnsw_m8 ON frames USING hnsw ((e0::vector(${d})) vector_l2_ops) WITH (m = 8, ef_construction = 32)`,
    settings: (p) => [`SET LOCAL hnsw.ef_search = ${p}`],
    query: (d) => wholePictureKnn(d, 'vector', '<->'),
    params: () => [40, 100, 200],
    paramName: 'ef_search',
  },
  {
    name: 'ivfflat',
    description: 'IVFFlat (k-means coarse quantiser), lists = frames/1000 (≥ 10)',
    indexName: 'bench_alt_ivfflat',
    create: (d, n) =>
      `CREATE INDEX bench_alt_ivfflat ON frames USING ivfflat ((e0::vector(${d})) vector_ip_ops) WITH (lists = ${Math.max(10, Math.round(n / 1000))})`,
    settings: (p) => [`SET LOCAL ivfflat.probes = ${p}`],
    query: (d) => wholePictureKnn(d, 'vector', '<#>'),
    params: (n) => {
      const lists = Math.max(10, Math.round(n / 1000));
      return [...new Set([Math.max(1, Math.round(lists / 100)), Math.max(2, Math.round(lists / 30)), Math.max(4, Math.round(lists / 10))])];
    },
    paramName: 'probes',
  },
  {
    name: 'bit-hnsw-rerank',
    description: 'HNSW on sign bits (1 per dimension) of the mean-centred vector (Hamming), exact re-ranking of the candidates',
    indexName: 'bench_alt_bit',
    create: (d, _n, mean) =>
      `CREATE INDEX bench_alt_bit ON frames USING hnsw ((binary_quantize((e0::vector(${d})) - ${meanLiteral(mean)})::bit(${d})) bit_hamming_ops) WITH (m = 16, ef_construction = 64)`,
    settings: (p) => [`SET LOCAL hnsw.ef_search = ${Math.min(1000, p)}`],
    query: (d, mean) => `SELECT q.i::int AS qi, h.id::text AS frame_id, h.dist FROM unnest($1::halfvec[]) WITH ORDINALITY AS q(v, i)
      CROSS JOIN LATERAL (
        SELECT c.id, (c.e0::halfvec(${d})) <=> q.v::halfvec(${d}) AS dist FROM (
          SELECT fv.id, fv.e0 FROM frames fv
           ORDER BY (binary_quantize((fv.e0::vector(${d})) - ${meanLiteral(mean)})::bit(${d})) <~> binary_quantize(q.v::vector(${d}) - ${meanLiteral(mean)})::bit(${d})
           LIMIT $3) c
        ORDER BY 2 LIMIT $2) h`,
    params: () => [200, 500, 1000],
    paramName: 'candidates',
  },
];

export interface AlternativeResult {
  name: string;
  description: string;
  buildSec: number;
  indexBytes: number;
  /** Index bytes per indexed vector. */
  bytesPerVector: number;
  usesIndex: boolean;
  points: Array<{ param: number; paramName: string; recall: number; p50Ms60: number; p95Ms60: number; p50Ms2: number }>;
  error?: string;
}

async function timedQuery(
  tx: SqlExecutor,
  text: string,
  params: unknown[],
): Promise<{ ms: number; rows: Array<{ qi: number; frame_id: string; dist: number }> }> {
  const t = performance.now();
  const r = await tx.query<{ qi: number; frame_id: string; dist: number }>(text, params);
  return { ms: performance.now() - t, rows: r.rows };
}

/**
 * Build each alternative index for variant 0, measure build time, size, recall@k and latency of a
 * 60-vector batch (one variant of a 30-frame video query) and a 2-vector batch (an image query),
 * then drop it again.
 */
export async function measureAlternatives(opts: {
  sql: SqlClient;
  dims: number;
  frames: number;
  k: number;
  mean: Float32Array;
  /** Query vectors for recall, with their exact neighbours (variant 0). */
  recallQueries: readonly Float32Array[];
  exact: readonly ExactHit[][];
  /** Batches of 60 (video query) and of 2 (image query) vectors, for latency. */
  videoBatches: ReadonlyArray<readonly Float32Array[]>;
  imageBatches: ReadonlyArray<readonly Float32Array[]>;
  only?: readonly string[];
  log: (s: string) => void;
}): Promise<AlternativeResult[]> {
  const { sql, dims } = opts;
  const results: AlternativeResult[] = [];
  for (const alt of ALTERNATIVES.filter((a) => !opts.only || opts.only.includes(a.name))) {
    const res: AlternativeResult = {
      name: alt.name,
      description: alt.description,
      buildSec: NaN,
      indexBytes: NaN,
      bytesPerVector: NaN,
      usesIndex: false,
      points: [],
    };
    try {
      if (!alt.existing) {
        await sql.exec(`DROP INDEX IF EXISTS ${alt.indexName}`);
        opts.log(`  alternative ${alt.name}: building…`);
        const t0 = performance.now();
        await sql.exec(alt.create(dims, opts.frames, opts.mean));
        res.buildSec = (performance.now() - t0) / 1000;
      }
      const size = await sql.query<{ n: string }>(`SELECT pg_relation_size('${alt.indexName}')::text AS n`);
      res.indexBytes = Number(size.rows[0].n);
      res.bytesPerVector = res.indexBytes / opts.frames;
      const text = alt.query(dims, opts.mean);
      const usesParam = text.includes('$3');
      const plan = await sql.transaction(async (tx) => {
        for (const s of alt.settings(alt.params(opts.frames)[0])) await tx.query(s);
        return tx.query<Record<string, string>>(`EXPLAIN ${text}`, [
          pgArray(opts.recallQueries.slice(0, 2).map(vectorLiteral)),
          opts.k,
          ...(usesParam ? [alt.params(opts.frames)[0]] : []),
        ]);
      });
      res.usesIndex = plan.rows.some((r) => Object.values(r).some((v) => String(v).includes(alt.indexName)));
      for (const param of alt.params(opts.frames)) {
        const run = (vecs: readonly Float32Array[]) =>
          sql.transaction(async (tx) => {
            for (const s of alt.settings(param)) await tx.query(s);
            return timedQuery(tx, text, [pgArray(vecs.map(vectorLiteral)), opts.k, ...(usesParam ? [param] : [])]);
          });
        const rec = await run(opts.recallQueries);
        const approx: Array<Array<{ dist: number }>> = opts.recallQueries.map(() => []);
        for (const r of rec.rows) approx[r.qi - 1].push({ dist: Number(r.dist) });
        const recall = recallAtK(approx, opts.exact, opts.k);
        await run(opts.videoBatches[0]); // warm-up
        const v: number[] = [];
        for (const b of opts.videoBatches) v.push((await run(b)).ms);
        const im: number[] = [];
        for (const b of opts.imageBatches) im.push((await run(b)).ms);
        res.points.push({ param, paramName: alt.paramName, recall, p50Ms60: median(v), p95Ms60: percentile(v, 95), p50Ms2: median(im) });
        opts.log(
          `    ${alt.paramName} ${param}: recall@${opts.k} ${recall.toFixed(3)}, 60 vectors p50 ${median(v).toFixed(1)} ms, 2 vectors p50 ${median(im).toFixed(1)} ms`,
        );
      }
      opts.log(
        `  alternative ${alt.name}: ${alt.existing ? 'existing index' : `built in ${res.buildSec.toFixed(1)} s`}, ${(res.indexBytes / 2 ** 20).toFixed(1)} MiB (${res.bytesPerVector.toFixed(0)} B/vector), uses index: ${res.usesIndex}`,
      );
    } catch (e) {
      res.error = (e as Error).message;
      opts.log(`  alternative ${alt.name}: failed: ${res.error}`);
    } finally {
      if (!alt.existing) await sql.exec(`DROP INDEX IF EXISTS ${alt.indexName}`).catch(() => undefined);
    }
    results.push(res);
  }
  return results;
}

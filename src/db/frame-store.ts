import { randomUUID } from 'node:crypto';
import type { SqlClient, SqlExecutor } from './sql-client.js';
import { pgArray } from './sql-client.js';
import { ingestOwner, ingestOwnerIsGone } from './ingest-owner.js';
import type { VideoRecord, VideoStatus } from './video-record.js';
import { DescriptorMismatchError, NotFoundError } from '../core/errors/retrace-error.js';
import type { AnnSettings } from '../core/settings/store-settings.js';
import { DEFAULT_ANN } from '../core/settings/store-settings.js';
export type { AnnSettings } from '../core/settings/store-settings.js';
export { DEFAULT_ANN } from '../core/settings/store-settings.js';

/** A frame ready to store: its row in `frames` and its descriptor vectors by region variant. */
export interface StoredFrame {
  frameNumber: number;
  timestampSec: number;
  isKeyframe: boolean;
  quality: number;
  /** Vectors keyed by region variant (0 = whole picture, 1 = centre region). */
  vectors: Array<{ variant: number; embedding: Float32Array }>;
}

/** One nearest-neighbour hit for one query vector. */
export interface KnnHit {
  /** Index of the query vector in the batch. */
  query: number;
  videoId: string;
  frameId: number;
  timestampSec: number;
  variant: number;
  quality: number;
  similarity: number;
}

/** A stored frame with its vectors by region variant (see `FrameStore.framesOf`). */
export interface VideoFrameVectors {
  frameId: number;
  timestampSec: number;
  quality: number;
  vectors: Map<number, Float32Array>;
}

/** Parse pgvector's text form `[1,2,3]` (vector and halfvec print alike). */
export function parseVectorText(s: string): Float32Array {
  const body = s.trim().replace(/^\[|\]$/g, '');
  if (!body) return new Float32Array(0);
  const parts = body.split(',');
  const v = new Float32Array(parts.length);
  for (let i = 0; i < parts.length; i++) v[i] = Number(parts[i]);
  return v;
}

/** What an ingest knows about a video before its frames are stored. */
export type NewVideo = Pick<VideoRecord, 'contentHash' | 'path' | 'title' | 'durationSec' | 'fps' | 'width' | 'height' | 'codec' | 'metadata'> & {
  /** The file's size and modification time when it was read (for `sync`'s cheap check). */
  file?: FileStamp;
};

/** A file's size and modification time, as `sync` compares them. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/** What `sync` needs of every ready video: where its file was and what it looked like. */
export interface SyncEntry {
  id: string;
  path: string;
  contentHash: string;
  /** Null for videos indexed before the file's stamp was kept. */
  file: FileStamp | null;
}

/**
 * The videos a search may return: ids, and their stored frames (which decide how the filtered
 * nearest-neighbour search runs, see `knn`).
 */
export interface VideoScope {
  videoIds: readonly string[];
  frames: number;
}

interface VideoRow {
  id: string;
  content_hash: string;
  path: string;
  title: string | null;
  duration_sec: number;
  fps: number | null;
  width: number;
  height: number;
  codec: string;
  status: VideoStatus;
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown>;
  frame_count: number;
  created_at: Date | string;
  updated_at: Date | string;
}

function toRecord(r: VideoRow): VideoRecord {
  return {
    id: r.id,
    contentHash: r.content_hash,
    path: r.path,
    title: r.title,
    durationSec: Number(r.duration_sec),
    fps: r.fps === null ? null : Number(r.fps),
    width: r.width,
    height: r.height,
    codec: r.codec,
    status: r.status,
    error: r.error,
    metadata: r.metadata ?? {},
    frameCount: r.frame_count,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** Short text form of a vector for SQL; 6 significant digits are far below descriptor noise. */
export function vectorLiteral(v: Float32Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) {
    if (i) s += ',';
    s += Number.isFinite(v[i]) ? Number(v[i].toPrecision(6)) : 0;
  }
  return s + ']';
}

/**
 * Stored region variants and their columns in `frames`: column `eN` holds variant N
 * (`STORED_VARIANT`; e2–e4, the stored windows, only in an index built with them). Columns rather
 * than a side table of (frame, variant, vector) rows: every statement here (one row per frame in
 * `addFrames`, one partial HNSW index per column, the cascade and BRIN by video) serves them
 * unchanged, and a null column costs nothing where a side-table row would cost about 60 bytes of
 * header, ids and time before its vector.
 */
const VARIANT_COLUMNS = ['e0', 'e1', 'e2', 'e3', 'e4'] as const;

/** The `frames` column of a stored region variant (the search benchmark's exact search reads it too). */
export function variantColumn(variant: number): (typeof VARIANT_COLUMNS)[number] {
  const c = VARIANT_COLUMNS[variant];
  if (c === undefined) throw new RangeError(`no stored region variant ${variant} (stored: 0 … ${VARIANT_COLUMNS.length - 1})`);
  return c;
}

/** Most tuples a filtered HNSW scan may read per query vector. */
const MAX_SCAN_TUPLES_CAP = 1_000_000;

interface KnnRow {
  qi: number;
  frame_id: string;
  video_id: string;
  ts: number;
  quality: number;
  dist: number;
}

/**
 * pgvector's errors for an HNSW graph that links an element VACUUM has removed: an insert and a
 * vacuum that raced (pgvector before 0.8.3 read the zeroed vector, "different halfvec dimensions
 * 51 and 0"; later versions refuse, "cannot load deleted element"). CI met both after an ingest
 * was killed mid-batch while its abandoned rows were deleted and vacuumed.
 */
export function isDamagedGraphError(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /cannot load deleted element|different (half)?vec(tor)? dimensions \d+ and 0\b/.test(m);
}

const warnedGraphs = new Set<number>();

/** Once per variant and process: search goes on by exact distance, slower, until the index is rebuilt. */
function warnDamagedGraph(variant: number): void {
  if (warnedGraphs.has(variant)) return;
  warnedGraphs.add(variant);
  process.emitWarning(
    `the HNSW index of stored variant ${variant} links a removed element (pgvector insert/vacuum race); searching by exact distance instead. Rebuild it: REINDEX INDEX ${FrameStore.annIndexNames[variant]}`,
    { code: 'RETRACE_DAMAGED_ANN_INDEX' },
  );
}

/**
 * All SQL of retrace, written once against the SqlClient seam so that PGlite and a PostgreSQL
 * server run exactly the same statements.
 */
export class FrameStore {
  private dims = 0;

  constructor(
    readonly sql: SqlClient,
    private readonly ann: AnnSettings = DEFAULT_ANN,
  ) {}

  /**
   * The expression a variant's ANN index is built on; queries must use the identical text to
   * hit the index. The columns are dimensionless so one schema serves every descriptor.
   */
  private vecExpr(variant: number): string {
    return `(${variantColumn(variant)}::halfvec(${this.dims}))`;
  }

  /** Names of the ANN indexes, one per stored variant (the search benchmark drops them for bulk loads). */
  static readonly annIndexNames: readonly string[] = VARIANT_COLUMNS.map((c) => `frames_${c}_l2`);

  /**
   * The partial-index predicate of a variant's ANN index: only non-zero vectors are indexed.
   * Queries repeat it verbatim so that the planner can use the partial index.
   */
  private nonZero(variant: number, alias = ''): string {
    return `l2_norm(${alias}${variantColumn(variant)}) > 0`;
  }

  /**
   * Record (first open) or check (later opens) which descriptor built this index, then make sure
   * its ANN indexes exist: one HNSW per region variant column, on a cast to this descriptor's
   * dimension, so each query region scans only the variant it can match.
   */
  async bindDescriptor(id: string, dimensions: number): Promise<void> {
    const r = await this.sql.query<{ value: { id: string; dimensions: number } }>(`SELECT value FROM retrace_settings WHERE key = 'descriptor'`);
    const stored = r.rows[0]?.value;
    if (stored && (stored.id !== id || stored.dimensions !== dimensions)) throw new DescriptorMismatchError(stored.id, id);
    if (!stored) {
      await this.sql.query(`INSERT INTO retrace_settings (key, value) VALUES ('descriptor', $1::jsonb) ON CONFLICT (key) DO NOTHING`, [
        JSON.stringify({ id, dimensions }),
      ]);
    }
    this.dims = dimensions;
    for (const [variant, name] of FrameStore.annIndexNames.entries()) {
      // The stored windows' graphs (variants 2–4) have a degree of their own (see `AnnSettings.windowM`).
      const m = variant < 2 ? this.ann.m : this.ann.windowM;
      await this.sql.exec(
        `CREATE INDEX IF NOT EXISTS ${name} ON frames
           USING hnsw (${this.vecExpr(variant)} halfvec_l2_ops) WITH (m = ${m}, ef_construction = ${this.ann.efConstruction})
           WHERE ${this.nonZero(variant)}`,
      );
    }
  }

  /**
   * Use the descriptor that built this index without writing anything (a read replica): check it
   * matches when the index records one, and take its dimensions.
   */
  async useDescriptor(id: string, dimensions: number): Promise<void> {
    const r = await this.sql.query<{ value: { id: string; dimensions: number } }>(`SELECT value FROM retrace_settings WHERE key = 'descriptor'`);
    const stored = r.rows[0]?.value;
    if (stored && (stored.id !== id || stored.dimensions !== dimensions)) throw new DescriptorMismatchError(stored.id, id);
    this.dims = dimensions;
  }

  /** Whether a video is ready (listed and searchable) in this database. */
  async isReady(id: string): Promise<boolean> {
    const r = await this.sql.query<{ ok: boolean }>(`SELECT EXISTS (SELECT 1 FROM videos WHERE id = $1 AND status = 'ready') AS ok`, [id]);
    return r.rows[0]?.ok === true;
  }

  /**
   * Whether frames indexed into this index store narrow windows (strips and quadrants, see
   * `windowRegions`): recorded in the index, off unless set.
   */
  async storesWindows(): Promise<boolean> {
    const r = await this.sql.query<{ value: boolean }>(`SELECT value FROM retrace_settings WHERE key = 'stored_windows'`);
    return r.rows[0]?.value === true;
  }

  /** Record whether frames indexed from now on store narrow windows (frames already stored keep what they have). */
  async setStoresWindows(on: boolean): Promise<void> {
    await this.sql.query(
      `INSERT INTO retrace_settings (key, value) VALUES ('stored_windows', $1::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [JSON.stringify(on)],
    );
  }

  async descriptorId(): Promise<string | null> {
    const r = await this.sql.query<{ value: { id: string } }>(`SELECT value FROM retrace_settings WHERE key = 'descriptor'`);
    return r.rows[0]?.value.id ?? null;
  }

  async findByHash(contentHash: string): Promise<VideoRecord | null> {
    const r = await this.sql.query<VideoRow>(`SELECT * FROM videos WHERE content_hash = $1`, [contentHash]);
    return r.rows[0] ? toRecord(r.rows[0]) : null;
  }

  /**
   * Start an ingest: a new invisible ('indexing') video row. A leftover row of an interrupted
   * ingest of the same file is removed first, so re-running an ingest always works, and so are
   * those of other files whose process is gone (see `discardAbandonedIngests`).
   */
  async beginVideo(v: NewVideo): Promise<string> {
    const id = randomUUID();
    await this.discardAbandonedIngests();
    await this.sql.transaction(async (tx) => {
      await tx.query(`DELETE FROM videos WHERE content_hash = $1 AND status <> 'ready'`, [v.contentHash]);
      await tx.query(
        `INSERT INTO videos (id, content_hash, path, title, duration_sec, fps, width, height, codec, status, metadata, file_size, file_mtime_ms, ingest_owner)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'indexing', $10::jsonb, $11, $12, $13)`,
        [
          id,
          v.contentHash,
          v.path,
          v.title,
          v.durationSec,
          v.fps,
          v.width,
          v.height,
          v.codec,
          JSON.stringify(v.metadata),
          v.file?.size ?? null,
          v.file?.mtimeMs ?? null,
          ingestOwner(),
        ],
      );
    });
    return id;
  }

  /** Store a batch of frames with their vectors: one statement, one row per frame. */
  async addFrames(videoId: string, frames: readonly StoredFrame[]): Promise<void> {
    if (!frames.length) return;
    const cols: Array<Array<string | null>> = VARIANT_COLUMNS.map(() => frames.map(() => null));
    frames.forEach((f, i) => {
      for (const v of f.vectors) {
        variantColumn(v.variant);
        cols[v.variant][i] = vectorLiteral(v.embedding);
      }
    });
    // Only the columns some frame fills are written: an index without stored windows sends no
    // arrays of nulls for them.
    const used = VARIANT_COLUMNS.map((_, v) => v).filter((v) => v < 2 || cols[v].some((x) => x !== null));
    // Touching the video is the ingest's heartbeat (see `discardAbandonedIngests`).
    const insert = () =>
      this.sql.query(
        `WITH beat AS (UPDATE videos SET updated_at = now() WHERE id = $1::uuid AND status <> 'ready')
       INSERT INTO frames (video_id, frame_number, timestamp_sec, is_keyframe, quality, ${used.map((v) => VARIANT_COLUMNS[v]).join(', ')})
       SELECT $1::uuid, * FROM unnest($2::int[], $3::float8[], $4::bool[], $5::real[], ${used.map((_, i) => `$${i + 6}::halfvec[]`).join(', ')})`,
        [
          videoId,
          pgArray(frames.map((f) => f.frameNumber)),
          pgArray(frames.map((f) => f.timestampSec)),
          pgArray(frames.map((f) => f.isKeyframe)),
          pgArray(frames.map((f) => f.quality)),
          ...used.map((v) => pgArray(cols[v])),
        ],
      );
    try {
      await insert();
    } catch (e) {
      // An insert walks the graph too: a damaged one (see `isDamagedGraphError`) is rebuilt, once.
      if (!isDamagedGraphError(e)) throw e;
      await this.rebuildAnnIndexes();
      await insert();
    }
  }

  /**
   * Rebuild the ANN indexes from the table (REINDEX): the cure for a graph that links a removed
   * element. It takes as long as building them (15 min for five graphs at 1M frames).
   */
  async rebuildAnnIndexes(): Promise<void> {
    for (const name of FrameStore.annIndexNames) {
      process.emitWarning(`rebuilding ANN index ${name}: it links a removed element (pgvector insert/vacuum race)`, { code: 'RETRACE_DAMAGED_ANN_INDEX' });
      await this.sql.exec(`REINDEX INDEX ${name}`);
    }
  }

  /** Make an ingested video searchable, atomically. */
  async finishVideo(videoId: string, frameCount: number, durationSec: number): Promise<VideoRecord> {
    const r = await this.sql.query<VideoRow>(
      `UPDATE videos SET status = 'ready', frame_count = $2, duration_sec = $3, updated_at = now() WHERE id = $1 RETURNING *`,
      [videoId, frameCount, durationSec],
    );
    if (!r.rows[0]) throw new NotFoundError('Video', videoId);
    await this.summarizeFrameRanges();
    return toRecord(r.rows[0]);
  }

  /**
   * Summarise the BRIN ranges of `frames` written since the last call (`frames_video_brin`,
   * migrations/005), so that `framesOf` and deleting a video skip them: a range that is not
   * summarised yet is read by every such look-up. PGlite has no autovacuum to do it, and on a
   * server autosummarize waits for autovacuum, so a finished video does it at once; it reads only
   * the new pages. If another session holds the lock (summarising or vacuuming), it is left to
   * the next finished video rather than waited for.
   */
  private async summarizeFrameRanges(): Promise<void> {
    try {
      await this.sql.transaction(async (tx) => {
        await tx.query(`SET LOCAL lock_timeout = '500ms'`);
        await tx.query(`SELECT brin_summarize_new_values('frames_video_brin')`);
      });
    } catch (e) {
      if ((e as { code?: string }).code !== '55P03') throw e;
    }
  }

  /**
   * Delete the unfinished videos (and so their frames) of ingests whose process is gone: killed
   * mid-ingest, it could not discard them itself. Returns their ids.
   */
  async discardAbandonedIngests(): Promise<string[]> {
    const { rows } = await this.sql.query<{ id: string; ingest_owner: string | null; idle_ms: number }>(
      `SELECT id, ingest_owner, (EXTRACT(EPOCH FROM (now() - updated_at)) * 1000)::float8 AS idle_ms FROM videos WHERE status <> 'ready'`,
    );
    const gone = rows.filter((r) => ingestOwnerIsGone(r.ingest_owner, Number(r.idle_ms))).map((r) => r.id);
    if (gone.length) await this.sql.query(`DELETE FROM videos WHERE id = ANY($1::uuid[]) AND status <> 'ready'`, [pgArray(gone)]);
    return gone;
  }

  /** Drop a failed or interrupted ingest entirely: the index is left as it was before. */
  async discardVideo(videoId: string): Promise<void> {
    await this.sql.query(`DELETE FROM videos WHERE id = $1 AND status <> 'ready'`, [videoId]);
  }

  async get(id: string): Promise<VideoRecord> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('Video', id);
    const r = await this.sql.query<VideoRow>(`SELECT * FROM videos WHERE id = $1`, [id]);
    if (!r.rows[0]) throw new NotFoundError('Video', id);
    return toRecord(r.rows[0]);
  }

  async getMany(ids: readonly string[]): Promise<Map<string, VideoRecord>> {
    if (!ids.length) return new Map();
    const r = await this.sql.query<VideoRow>(`SELECT * FROM videos WHERE id = ANY($1::uuid[])`, [pgArray(ids)]);
    return new Map(r.rows.map((row) => [row.id, toRecord(row)]));
  }

  async list(options: { limit?: number; offset?: number; status?: VideoStatus } = {}): Promise<VideoRecord[]> {
    const r = await this.sql.query<VideoRow>(`SELECT * FROM videos WHERE ($3::text IS NULL OR status = $3) ORDER BY created_at, id LIMIT $1 OFFSET $2`, [
      options.limit ?? 1000,
      options.offset ?? 0,
      options.status ?? null,
    ]);
    return r.rows.map(toRecord);
  }

  async count(status?: VideoStatus): Promise<number> {
    const r = await this.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM videos WHERE ($1::text IS NULL OR status = $1)`, [status ?? null]);
    return Number(r.rows[0].n);
  }

  async remove(id: string): Promise<void> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('Video', id);
    const r = await this.sql.query<{ id: string }>(`DELETE FROM videos WHERE id = $1 RETURNING id`, [id]);
    if (!r.rows[0]) throw new NotFoundError('Video', id);
  }

  /** Every ready video's path, hash and file stamp: what `sync` compares a folder with. */
  async syncEntries(): Promise<SyncEntry[]> {
    const r = await this.sql.query<{ id: string; path: string; content_hash: string; file_size: string | null; file_mtime_ms: number | null }>(
      `SELECT id, path, content_hash, file_size::text AS file_size, file_mtime_ms FROM videos WHERE status = 'ready' ORDER BY created_at, id`,
    );
    return r.rows.map((row) => ({
      id: row.id,
      path: row.path,
      contentHash: row.content_hash,
      file: row.file_size === null || row.file_mtime_ms === null ? null : { size: Number(row.file_size), mtimeMs: Number(row.file_mtime_ms) },
    }));
  }

  /** Record where a video's file is now and its stamp (a rename followed, or a file confirmed unchanged). */
  async setFile(id: string, path: string, file: FileStamp): Promise<void> {
    const r = await this.sql.query<{ id: string }>(
      `UPDATE videos SET path = $2, file_size = $3, file_mtime_ms = $4, updated_at = now() WHERE id = $1 RETURNING id`,
      [id, path, file.size, file.mtimeMs],
    );
    if (!r.rows[0]) throw new NotFoundError('Video', id);
  }

  /**
   * Ready videos whose title (key `title`) or metadata value equals one of the values of every
   * `where` key (metadata values compared as text, so `hasAudio=true` and `year=1999` match JSON
   * booleans and numbers), with their paths and frame counts. An empty `where` gives every ready video.
   */
  async videosWhere(where: ReadonlyArray<readonly [string, readonly string[]]>): Promise<Array<{ id: string; path: string; frames: number }>> {
    const params: string[] = [];
    const conds = where.map(([key, values]) => {
      params.push(pgArray(values));
      if (key === 'title') return `title = ANY($${params.length}::text[])`;
      params.push(key);
      return `metadata ->> $${params.length} = ANY($${params.length - 1}::text[])`;
    });
    const r = await this.sql.query<{ id: string; path: string; frame_count: number }>(
      `SELECT id, path, frame_count FROM videos WHERE status = 'ready'${conds.map((c) => ` AND ${c}`).join('')}`,
      params,
    );
    return r.rows.map((row) => ({ id: row.id, path: row.path, frames: Number(row.frame_count) }));
  }

  async totals(): Promise<{ videos: number; ready: number; frames: number; vectors: number; durationSec: number }> {
    const r = await this.sql.query<{ videos: string; ready: string; frames: string; vectors: string; dur: number | null }>(
      `SELECT (SELECT count(*) FROM videos)::text AS videos,
              (SELECT count(*) FROM videos WHERE status = 'ready')::text AS ready,
              (SELECT count(*) FROM frames WHERE video_id <> ALL (ARRAY(SELECT id FROM videos WHERE status <> 'ready')))::text AS frames,
              (SELECT ${VARIANT_COLUMNS.map((c) => `count(${c})`).join(' + ')} FROM frames WHERE video_id <> ALL (ARRAY(SELECT id FROM videos WHERE status <> 'ready')))::text AS vectors,
              (SELECT sum(duration_sec) FROM videos WHERE status = 'ready') AS dur`,
    );
    const row = r.rows[0];
    return {
      videos: Number(row.videos),
      ready: Number(row.ready),
      frames: Number(row.frames),
      vectors: Number(row.vectors),
      durationSec: Number(row.dur ?? 0),
    };
  }

  /**
   * k nearest stored vectors (cosine) of one region variant for every query vector, in ONE
   * round trip: the batch is unnested and each element drives an HNSW scan of that variant's
   * index through a lateral join. The scan orders by L2 distance (the index's order; for unit
   * vectors the same as cosine order) and each hit's similarity is 1 − cosine distance between
   * the stored and the query vector. Zero vectors are never returned (see DEFAULT_ANN).
   *
   * Frames of videos that are not ready (still being ingested) are filtered INSIDE the scan, before
   * the LIMIT, with pgvector's iterative index scan: when the filter drops rows the scan goes on
   * past ef_search, so a concurrent ingest cannot push a ready video out of the k nearest. The
   * set of unready videos is read once per statement (an InitPlan), usually empty.
   *
   * With a `scope` (a filtered search) only the scope's videos' frames are returned: exhaustively
   * when they are at most `ann.exactScopeFrames`, else by the same iterative scan with the scope as
   * one more filter (its tuple cap raised with the share of frames filtered out).
   */
  async knn(
    queries: readonly Float32Array[],
    variant: number,
    k: number,
    efSearch = this.ann.efSearch,
    scope?: VideoScope,
    /** Videos never returned, filtered inside the scan like unready ones (a video searched with its own stored frames). */
    exclude: readonly string[] = [],
  ): Promise<KnnHit[]> {
    if (!queries.length || (scope && !scope.videoIds.length)) return [];
    const excluded = pgArray(exclude);
    const D = this.dims;
    const col = this.vecExpr(variant);
    const scan = (exact: boolean) =>
      this.sql.transaction(async (tx) => {
        // A damaged graph (see `isDamagedGraphError`) is bypassed: the planner then sorts by exact distance.
        if (exact) await tx.query(`SELECT set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`);
        if (scope && scope.frames <= this.ann.exactScopeFrames) {
          // A small scope is compared exhaustively: its frames are read once (BRIN on video_id) and
          // every query vector ranks all of them. Exact, so no allowed frame can be missed.
          const r = await tx.query<KnnRow>(
            `WITH scoped AS MATERIALIZED (
             SELECT f.id, f.video_id, f.timestamp_sec, f.quality, ${col} AS v
               FROM frames f
              WHERE f.video_id = ANY($3::uuid[]) AND f.video_id <> ALL($4::uuid[]) AND ${this.nonZero(variant, 'f.')}
           )
           SELECT q.i::int AS qi, h.id::text AS frame_id, h.video_id, h.timestamp_sec AS ts, h.quality, h.dist
             FROM unnest($1::halfvec[]) WITH ORDINALITY AS q(v, i)
             CROSS JOIN LATERAL (
               SELECT s.id, s.video_id, s.timestamp_sec, s.quality, s.v <=> q.v::halfvec(${D}) AS dist
                 FROM scoped s
                ORDER BY s.v <-> q.v::halfvec(${D})
                LIMIT $2
             ) h`,
            [pgArray(queries.map(vectorLiteral)), k, pgArray(scope.videoIds), excluded],
          );
          return r.rows;
        }
        // A large scope filters inside the HNSW scan; the iterative scan goes on until k allowed
        // rows are found, and may read about k / (allowed share) tuples, so its cap is raised to
        // that (four times over) rather than pgvector's 20 000.
        const maxScan = scope
          ? Math.min(MAX_SCAN_TUPLES_CAP, Math.max(20_000, Math.ceil((4 * k * (await this.frameTotal(tx))) / Math.max(1, scope.frames))))
          : 20_000;
        await tx.query(
          `SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.max_scan_tuples', $2, true)`,
          [String(Math.max(efSearch, k)), String(maxScan)],
        );
        const r = await tx.query<KnnRow>(
          `SELECT q.i::int AS qi, h.id::text AS frame_id, h.video_id, h.timestamp_sec AS ts, h.quality, h.dist
           FROM unnest($1::halfvec[]) WITH ORDINALITY AS q(v, i)
           CROSS JOIN LATERAL (
             SELECT f.id, f.video_id, f.timestamp_sec, f.quality, ${col} <=> q.v::halfvec(${D}) AS dist
               FROM frames f
              WHERE f.video_id <> ALL (ARRAY(SELECT id FROM videos WHERE status <> 'ready'))
                AND f.video_id <> ALL ($3::uuid[])
                AND ${this.nonZero(variant, 'f.')}${scope ? ' AND f.video_id = ANY($4::uuid[])' : ''}
              ORDER BY ${col} <-> q.v::halfvec(${D})
              LIMIT $2
           ) h`,
          [pgArray(queries.map(vectorLiteral)), k, excluded, ...(scope ? [pgArray(scope.videoIds)] : [])],
        );
        return r.rows;
      });
    let rows: KnnRow[];
    try {
      rows = await scan(false);
    } catch (e) {
      if (!isDamagedGraphError(e)) throw e;
      warnDamagedGraph(variant);
      rows = await scan(true);
    }
    return rows.map((r) => ({
      query: r.qi - 1,
      videoId: r.video_id,
      frameId: Number(r.frame_id),
      timestampSec: Number(r.ts),
      variant,
      quality: Number(r.quality),
      similarity: 1 - Number(r.dist),
    }));
  }

  /**
   * Every stored frame of some videos between two times, with all its region vectors: the
   * dense side of alignment refinement (a candidate video's frames compared with every query
   * frame, not only the k nearest).
   */
  async framesOf(videoId: string, fromSec = 0, toSec = Number.POSITIVE_INFINITY): Promise<VideoFrameVectors[]> {
    const r = await this.sql.query<{ id: string; ts: number; quality: number } & Record<(typeof VARIANT_COLUMNS)[number], string | null>>(
      `SELECT id::text AS id, timestamp_sec AS ts, quality, ${VARIANT_COLUMNS.map((c) => `${c}::text AS ${c}`).join(', ')}
         FROM frames
        WHERE video_id = $1 AND timestamp_sec >= $2 AND timestamp_sec <= $3
        ORDER BY timestamp_sec, id`,
      [videoId, fromSec, Number.isFinite(toSec) ? toSec : 1e12],
    );
    return r.rows.map((row) => {
      const vectors = new Map<number, Float32Array>();
      VARIANT_COLUMNS.forEach((c, variant) => {
        const text = row[c];
        if (text !== null) vectors.set(variant, parseVectorText(text));
      });
      return { frameId: Number(row.id), timestampSec: Number(row.ts), quality: Number(row.quality), vectors };
    });
  }

  /** Frames of ready videos (from the videos' counts: no scan of `frames`). */
  private async frameTotal(tx: SqlExecutor): Promise<number> {
    const r = await tx.query<{ n: string | null }>(`SELECT sum(frame_count)::text AS n FROM videos WHERE status = 'ready'`);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Timestamps of all sampled frames of a video (sorted), for alignment bookkeeping. */
  async frameTimes(videoId: string): Promise<number[]> {
    const r = await this.sql.query<{ ts: number }>(`SELECT timestamp_sec AS ts FROM frames WHERE video_id = $1 ORDER BY timestamp_sec`, [videoId]);
    return r.rows.map((x) => Number(x.ts));
  }
}

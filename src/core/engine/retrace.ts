import type { FrameDescriptor } from '../descriptors/frame-descriptor.js';
import { BuiltinDescriptor } from '../descriptors/builtin-descriptor.js';
import type { SqlClient } from '../../db/sql-client.js';
import { openDatabase, defaultDatabaseLocation } from '../../db/open-database.js';
import type { AnnSettings } from '../../db/frame-store.js';
import { DEFAULT_ANN, FrameStore } from '../../db/frame-store.js';
import type { MediaLimits } from '../settings/media-settings.js';
import { DEFAULT_LIMITS } from '../settings/media-settings.js';
import type { SamplingOptions } from '../media/frame-sampler.js';
import { DEFAULT_SAMPLING } from '../media/frame-sampler.js';
import { probeMedia } from '../media/probe.js';
import { ingestMany, ingestVideo } from './ingest.js';
import type { IngestContext } from './ingest.js';
import type { IndexManyOptions, IndexOutcome } from './ingest.js';
import { DEFAULT_SEARCH } from '../settings/search-settings.js';
import type { SearchSettings } from '../settings/search-settings.js';
import { searchMedia } from './search.js';
import type { QueryInput } from './query-input.js';
import { syncFolder } from '../library/folder-sync.js';
import type { SyncOptions, SyncSummary } from '../library/folder-sync.js';
import { watchFolder } from '../library/folder-watch.js';
import type { WatchOptions } from '../library/folder-watch.js';
import { dedupLibrary, readRelations } from '../library/dedup.js';
import { DedupStore } from '../../db/dedup-store.js';
import { recurringSegments } from '../library/recurring-segments.js';
import type { RecurringSegment } from '../library/recurring-segments.js';
import { checkSignature, indexSignature, isSignatureFile, makeSignature, searchSignature } from '../signatures/signatures.js';
import type { DedupCluster, DedupOptions, DedupRelation, DedupReport } from '../library/dedup.js';

export { DEFAULT_SEARCH, DEFAULT_VERIFY } from '../settings/search-settings.js';
import type { EngineStats, IndexOptions, IndexResult, MediaInfo, SearchOptions, SearchResult, VideoRecord, VideoStatus } from './types.js';

export interface RetraceOptions {
  /** Embedded data directory, `memory://`, or a `postgres://` URL. Default: `RETRACE_DB` or `./.retrace`. */
  db?: string;
  /**
   * A read replica of `db` (a PostgreSQL streaming standby): searches, listings and `lookup`
   * read it, everything else (ingest, removal, `get`, stats) the primary. It must already hold
   * the index; nothing is written to it. What the primary committed shows there once replayed
   * (`isVisibleOnReplica`).
   */
  readDb?: string;
  /** PostgreSQL only: connections in each pool (primary, replica); default `RETRACE_PG_POOL`, else 4. */
  pool?: number;
  /**
   * Embedded store only: PostgreSQL shared_buffers inside PGlite's WASM heap (default 128MB, or
   * `RETRACE_PGLITE_SHARED_BUFFERS`). '32MB' keeps a long ingest under 300 MB RSS without
   * slowing it, but makes 100k-frame searches about 1.4× slower (bench/RESULTS.md).
   */
  pgliteSharedBuffers?: string;
  /**
   * Create the index if there is none (default true). With false, opening fails with
   * DB_NOT_FOUND unless `db` already holds a retrace index, and nothing is created.
   */
  create?: boolean;
  /**
   * Store narrow windows with every frame indexed from now on: strips and quadrants that let a
   * vertical 9:16 reframe or an off-centre crop keeping 40–60 % of the picture be found (see
   * `windowRegions`), at about twice the storage per frame (bench/RESULTS.md). Recorded in the
   * index: later opens keep it unless told otherwise; off for a new index. Searches compare
   * query windows with them while it is on.
   */
  storedWindows?: boolean;
  /** Frame descriptor; default the built-in one. An index only accepts the descriptor that built it. */
  descriptor?: FrameDescriptor;
  limits?: Partial<MediaLimits>;
  sampling?: Partial<SamplingOptions>;
  /** Frames described and committed per batch while indexing (default 32). */
  batchSize?: number;
  ann?: Partial<AnnSettings>;
  search?: Partial<Omit<SearchSettings, 'evidence' | 'align' | 'refine' | 'verify' | 'stillRescue' | 'loneHits'>> & {
    refine?: Partial<SearchSettings['refine']>;
    stillRescue?: Partial<SearchSettings['stillRescue']>;
    loneHits?: Partial<SearchSettings['loneHits']>;
    verify?: Partial<SearchSettings['verify']>;
    evidence?: Partial<SearchSettings['evidence']>;
    align?: Partial<SearchSettings['align']>;
  };
}

/**
 * The retrace engine: index videos, then find where a clip or picture came from.
 *
 * @example
 * import { Retrace } from '@retrace-video/retrace';
 * const engine = await Retrace.open({ db: './.retrace' });
 * await engine.index('movie.mp4', { title: 'Movie' });
 * const result = await engine.search('clip.mp4');
 * for (const m of result.matches) console.log(m.title, m.score, m.segments);
 * await engine.close();
 */
export class Retrace {
  /** Effective settings after defaults. */
  readonly limits: MediaLimits;
  readonly sampling: SamplingOptions;
  readonly searchSettings: SearchSettings;
  private readonly batchSize: number;
  private closed = false;

  /** Where reads go: the replica's store, or the primary's when there is none. */
  private readonly reader: FrameStore;

  private constructor(
    /** The database seam, for components that keep their own tables (jobs). */
    readonly sql: SqlClient,
    private readonly store: FrameStore,
    readonly descriptor: FrameDescriptor,
    options: RetraceOptions,
    /** Whether this index stores narrow windows (`RetraceOptions.storedWindows`). */
    readonly storedWindows: boolean,
    /** The read replica (`readDb`), or null. */
    readonly readSql: SqlClient | null = null,
    replicaStore: FrameStore | null = null,
  ) {
    this.reader = replicaStore ?? store;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.sampling = { ...DEFAULT_SAMPLING, ...options.sampling };
    this.batchSize = options.batchSize ?? 32;
    const s = options.search ?? {};
    this.searchSettings = {
      ...DEFAULT_SEARCH,
      ...s,
      evidence: { ...DEFAULT_SEARCH.evidence, ...s.evidence },
      align: { ...DEFAULT_SEARCH.align, ...s.align },
      refine: { ...DEFAULT_SEARCH.refine, ...s.refine },
      verify: { ...DEFAULT_SEARCH.verify, ...s.verify },
      stillRescue: { ...DEFAULT_SEARCH.stillRescue, ...s.stillRescue },
      loneHits: { ...DEFAULT_SEARCH.loneHits, ...s.loneHits },
    };
  }

  /**
   * Open (creating if needed, unless `create: false`) an index. Embedded directories are locked
   * against a second process; a `postgres://` URL may be shared.
   *
   * @example
   * const engine = await Retrace.open({ db: 'postgres://user@127.0.0.1/retrace' });
   */
  static async open(options: RetraceOptions = {}): Promise<Retrace> {
    const sql = await openDatabase(options.db ?? defaultDatabaseLocation(), {
      pgliteSharedBuffers: options.pgliteSharedBuffers,
      create: options.create,
      pool: options.pool,
    });
    let readSql: SqlClient | null = null;
    try {
      const descriptor = options.descriptor ?? new BuiltinDescriptor();
      const ann = { ...DEFAULT_ANN, ...options.ann };
      const store = new FrameStore(sql, ann);
      await store.bindDescriptor(descriptor.id, descriptor.dimensions);
      if (options.storedWindows !== undefined && options.storedWindows !== (await store.storesWindows())) await store.setStoresWindows(options.storedWindows);
      // A process killed mid-ingest left its unfinished video behind: nobody else will remove it.
      await store.discardAbandonedIngests();
      let replicaStore: FrameStore | null = null;
      if (options.readDb) {
        // Opened after the primary: its schema and descriptor reach the replica from there.
        readSql = await openDatabase(options.readDb, { create: false, migrate: false, pool: options.pool });
        replicaStore = new FrameStore(readSql, ann);
        await replicaStore.useDescriptor(descriptor.id, descriptor.dimensions);
      }
      const storedWindows = await (replicaStore ?? store).storesWindows();
      return new Retrace(sql, store, descriptor, options, storedWindows, readSql, replicaStore);
    } catch (e) {
      await readSql?.close().catch(() => undefined);
      await sql.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Probe and validate a media file without indexing it.
   *
   * @example
   * const info = await engine.probe('clip.mp4'); // { kind: 'video', durationSec: 12.3, ... }
   */
  probe(path: string): Promise<MediaInfo> {
    return probeMedia(path, this.limits);
  }

  /**
   * Index a video file. Indexing the same bytes again is a no-op reported as `duplicate`.
   * The video becomes searchable only once all its frames are stored; on failure the index is
   * left as it was and a typed RetraceError is thrown.
   *
   * @example
   * const r = await engine.index('film.mkv', { title: 'Film', onProgress: (p) => console.log(p.stage, p.fraction) });
   * console.log(r.videoId, r.status, r.frames);
   */
  async index(path: string, options: IndexOptions = {}): Promise<IndexResult> {
    // A signature (`makeSignature`) is added as a reference without media.
    if (await isSignatureFile(path)) return indexSignature(this.store, this.descriptor, path, options);
    return ingestVideo(this.ingestContext(), path, options);
  }

  /**
   * Index several files, two at a time by default (per-file start-up costs leave a core idle).
   * Each file's outcome is reported as it finishes and returned in input order; a failed file
   * does not stop the others.
   *
   * @example
   * const outcomes = await engine.indexMany(['a.mp4', 'b.mp4'], { onSettled: (i, o) => console.log(i, o.ok) });
   */
  indexMany(paths: readonly string[], options: IndexManyOptions = {}): Promise<IndexOutcome[]> {
    return ingestMany((path, opts) => this.index(path, opts), paths, { decoderThreads: this.sampling.threads, ...options });
  }

  /** What ingest and signatures need: the same sampling and description as every indexed frame. */
  private ingestContext(): IngestContext {
    return {
      store: this.store,
      descriptor: this.descriptor,
      limits: this.limits,
      sampling: this.sampling,
      batchSize: this.batchSize,
      minQuality: this.searchSettings.evidence.minQuality,
      storedWindows: this.storedWindows,
    };
  }

  /**
   * Bring the videos indexed from under a folder in step with its video files: new files are
   * indexed (as `index` would), entries whose file is gone are removed, renamed and moved files
   * keep their entry and id (found by content hash; nothing is re-indexed), and unchanged files
   * are recognised by path, size and modification time without being read. Videos indexed from
   * elsewhere are left alone. The same content twice is one entry; the other copies are reported
   * as `duplicates`. Paths of new and moved entries are stored absolute.
   *
   * @example
   * const s = await engine.sync('/archive/videos');
   * console.log(s.added.length, s.removed.length, s.renamed.length, s.unchanged, s.failed);
   */
  sync(dir: string, options: SyncOptions = {}): Promise<SyncSummary> {
    return syncFolder({ store: this.store, indexMany: (paths, opts) => this.indexMany(paths, opts) }, dir, options);
  }

  /**
   * Sync a folder, then again after every change under it (debounced), until `signal` aborts.
   * Files that failed are not read again until they change.
   *
   * @example
   * const stop = new AbortController();
   * process.once('SIGINT', () => stop.abort());
   * await engine.watch('/archive/videos', { signal: stop.signal, onSync: (s) => console.log(s.added) });
   */
  watch(dir: string, options: Omit<WatchOptions, 'onError'> & { onError?: WatchOptions['onError']; sync?: Omit<SyncOptions, 'signal'> }): Promise<void> {
    const knownFailures = options.sync?.knownFailures ?? new Map();
    return watchFolder(dir, () => this.sync(dir, { ...options.sync, knownFailures, signal: options.signal }), {
      ...options,
      onError: options.onError ?? (() => undefined),
    });
  }

  /**
   * Find indexed videos that contain a copy of a video or still image (JPEG, PNG, WebP), given as
   * a path, a Buffer or a readable stream. Matches come best first with their segments; an
   * empty list means no copy was found.
   *
   * @example
   * const { matches } = await engine.search('clip.mp4');
   * // matches[0].segments[0] → { queryStart: 0, queryEnd: 8, refStart: 31, refEnd: 39, score: 0.93, ... }
   */
  async search(input: QueryInput, options: SearchOptions = {}): Promise<SearchResult> {
    if (typeof input === 'string' && (await isSignatureFile(input))) return searchSignature(this.descriptorSearchContext(), input, options);
    return searchMedia(
      {
        store: this.reader,
        descriptor: this.descriptor,
        limits: this.limits,
        sampling: this.sampling,
        settings: this.searchSettings,
        storedWindows: this.storedWindows,
      },
      input,
      options,
    );
  }

  /**
   * The portable signature of a video file: its frames' descriptor vectors and times as indexing
   * would store them, the descriptor's id, its duration and content hash; no pixels
   * (docs/signature-format.md). `index` adds a signature as a reference without media and
   * `search` searches with one, so two libraries can be matched without exchanging media.
   *
   * @example
   * await writeFile('film.sig', await engine.makeSignature('film.mp4'));
   * const { matches } = await engine.search('film.sig'); // segments verified: 'no-media'
   */
  makeSignature(path: string, options: { title?: string; signal?: AbortSignal } = {}): Promise<Buffer> {
    return makeSignature(this.ingestContext(), path, options);
  }

  /**
   * Check a signature file without using it: whole (BadSignatureError), made with this index's
   * descriptor (SignatureDescriptorMismatchError) and, for `index`, a video's.
   *
   * @example
   * const { kind, frameCount } = await engine.checkSignature('film.sig', 'index');
   */
  checkSignature(path: string, use: 'index' | 'search' = 'search') {
    return checkSignature(path, this.descriptor, use);
  }

  /**
   * Duplicate clusters: every indexed video not searched yet (all of them the first time, or
   * with `full`) is searched against the rest of the library with its own stored frame vectors,
   * its segments verified when its file and the other's are at hand, and what it found is kept.
   * Returns the relations between videos (`duplicate`, `contains`, `contained-in`, `related`,
   * with the shared segments) and the clusters they form. A later run searches only videos
   * indexed since.
   *
   * @example
   * const { clusters, relations } = await engine.dedup();
   * for (const r of relations) console.log(r.a.path, r.type, r.b.path, r.segments);
   */
  dedup(options: DedupOptions = {}): Promise<DedupReport> {
    return dedupLibrary(this.descriptorSearchContext(), options);
  }

  /**
   * The relations and clusters the last `dedup` runs stored, without searching anything (videos
   * indexed since are not in them yet: `pending` counts them).
   *
   * @example
   * const { relations } = await engine.dedupRelations();
   */
  async dedupRelations(): Promise<{ videos: number; pending: number; relations: DedupRelation[]; clusters: DedupCluster[] }> {
    const [stored, pending] = await Promise.all([readRelations(this.store, this.sampling.intervalSec), new DedupStore(this.sql).uncompared()]);
    return { ...stored, pending: pending.length };
  }

  /**
   * Recurring segments: stretches present in 3 or more videos (intros, credits, station logos)
   * and only a part of each, from what the `dedup` runs stored (run `dedup` first; videos
   * indexed since are not in them). `search(…, { ignoreRecurring: true })` gives them no weight.
   *
   * @example
   * await engine.dedup();
   * for (const r of await engine.recurring()) console.log(r.videos, r.durationSec, r.occurrences);
   */
  recurring(options: { minVideos?: number } = {}): Promise<RecurringSegment[]> {
    return recurringSegments(this.store, this.sampling.intervalSec, options.minVideos);
  }

  private descriptorSearchContext() {
    return { store: this.store, descriptor: this.descriptor, settings: this.searchSettings, refIntervalSec: this.sampling.intervalSec };
  }

  /**
   * Indexed videos, oldest first.
   *
   * @example
   * const page = await engine.list({ limit: 50, offset: 0 });
   */
  list(options: { limit?: number; offset?: number; status?: VideoStatus } = {}): Promise<VideoRecord[]> {
    return this.reader.list(options);
  }

  /**
   * Number of videos (optionally of one status), for paging.
   *
   * @example
   * const total = await engine.count();
   */
  count(status?: VideoStatus): Promise<number> {
    return this.reader.count(status);
  }

  /**
   * One video by id; throws NotFoundError (code `NOT_FOUND`) if there is none.
   *
   * @example
   * const v = await engine.get(id);
   */
  get(id: string): Promise<VideoRecord> {
    return this.store.get(id);
  }

  /**
   * One video by id, read where searches read (the replica when there is one), for look-ups
   * that follow a search such as thumbnails. NotFoundError if it is not there (yet).
   *
   * @example
   * const v = await engine.lookup(match.videoId);
   */
  lookup(id: string): Promise<VideoRecord> {
    return this.reader.get(id);
  }

  /**
   * Whether a video is ready on the read replica, so searches there can find it; null without a
   * replica (searches read the primary, where a ready video is visible at once).
   *
   * @example
   * while (!(await engine.isVisibleOnReplica(id))) await new Promise((r) => setTimeout(r, 100));
   */
  async isVisibleOnReplica(id: string): Promise<boolean | null> {
    return this.readSql ? this.reader.isReady(id) : null;
  }

  /** How far the read replica is behind the primary, in seconds (null: no replica, or not a standby). */
  async replicaLagSec(): Promise<number | null> {
    if (!this.readSql) return null;
    const r = await this.readSql.query<{ lag: number | string | null }>(
      `SELECT CASE WHEN pg_is_in_recovery() THEN
                CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp())) END
              END::float8 AS lag`,
    );
    const lag = r.rows[0]?.lag;
    return lag === null || lag === undefined ? null : Number(lag);
  }

  /**
   * Remove a video and all its frames; throws NotFoundError if there is none.
   *
   * @example
   * await engine.remove(id);
   */
  remove(id: string): Promise<void> {
    return this.store.remove(id);
  }

  /**
   * Delete the unfinished videos of ingests whose process is gone (killed mid-ingest); done at
   * every open and ingest already, and periodically by a server that outlives such a process.
   * Returns their ids.
   */
  discardAbandonedIngests(): Promise<string[]> {
    return this.store.discardAbandonedIngests();
  }

  /** Whether the database answers a trivial query (health checks). */
  async isDatabaseReachable(): Promise<boolean> {
    try {
      await this.sql.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Totals: videos, frames, vectors, indexed duration and database size.
   *
   * @example
   * const { videos, frames, bytesPerFrame } = await engine.stats();
   */
  async stats(): Promise<EngineStats> {
    const t = await this.store.totals();
    const bytes = await this.sql.databaseBytes();
    return {
      videos: t.videos,
      readyVideos: t.ready,
      frames: t.frames,
      vectors: t.vectors,
      totalDurationSec: t.durationSec,
      databaseBytes: bytes,
      bytesPerFrame: t.frames ? Math.round(bytes / t.frames) : 0,
      descriptor: this.descriptor.id,
      storedWindows: this.storedWindows,
      store: this.sql.dialect,
      location: this.sql.location,
    };
  }

  /**
   * Close the database (and release the embedded directory's lock).
   *
   * @example
   * await engine.close();
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.readSql?.close().catch(() => undefined);
    await this.sql.close();
  }
}

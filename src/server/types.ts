import type { DedupCluster, DedupOptions, DedupRelation, DedupReport } from '../core/library/dedup.js';
import type { RecurringSegment } from '../core/library/recurring-segments.js';
import type { EngineStats, IndexOptions, MediaInfo, IndexResult, SearchOptions, SearchResult, VideoRecord, VideoStatus } from '../core/engine/types.js';
import type { Logger } from 'pino';
import type { SqlClient } from '../db/sql-client.js';

/** What the server needs from the engine (`Retrace` satisfies it). */
export interface ServerEngine {
  index(path: string, options?: IndexOptions): Promise<IndexResult>;
  search(input: string, options?: SearchOptions): Promise<SearchResult>;
  list(options?: { limit?: number; offset?: number; status?: VideoStatus }): Promise<VideoRecord[]>;
  count(status?: VideoStatus): Promise<number>;
  /** NotFoundError if unknown. */
  get(id: string): Promise<VideoRecord>;
  remove(id: string): Promise<void>;
  stats(): Promise<EngineStats>;
  /** Delete unfinished videos of ingests whose process is gone (swept periodically when present). */
  discardAbandonedIngests?(): Promise<string[]>;
  /** Duplicate clusters (`Retrace.dedup`); an engine without them has no /api/dedup. */
  dedup?(options?: DedupOptions): Promise<DedupReport>;
  dedupRelations?(): Promise<{ videos: number; pending: number; relations: DedupRelation[]; clusters: DedupCluster[] }>;
  recurring?(): Promise<RecurringSegment[]>;
  /** With a read replica: a video by id read there (thumbnail look-ups), NotFoundError if it is not there yet. */
  lookup?(id: string): Promise<VideoRecord>;
  /** With a read replica: whether a video is ready there; null without one. */
  isVisibleOnReplica?(id: string): Promise<boolean | null>;
  /** With a read replica: its replay lag in seconds; null without one. */
  replicaLagSec?(): Promise<number | null>;
  /** Whether the database answers (health checks). */
  isDatabaseReachable(): Promise<boolean>;
  /**
   * Probe and validate a file without indexing it. When present, the server probes every
   * completed upload, so a corrupt, truncated or audio-only file is refused with a 4xx at once
   * instead of as a failed job.
   */
  probe?(path: string): Promise<MediaInfo>;
  /**
   * Check an uploaded signature (`Retrace.checkSignature`) as `probe` checks media: a damaged
   * one, one made with another descriptor, or an image's to index is refused with a 4xx at once.
   */
  checkSignature?(path: string, use: 'index' | 'search'): Promise<unknown>;
  readonly sql: SqlClient;
  /** The read replica searches and listings go to, if any. */
  readonly readSql?: SqlClient | null;
}

export interface ServerOptions {
  /**
   * Token of the local handoff (local-handoff.ts): `POST /api/local/search` answers a
   * `retrace search` on this machine that shows it. Unset: no such route.
   */
  localToken?: string;
  /**
   * Where uploads, indexed media and query files live (default: beside the database, see
   * `defaultServerDataDir`; never inside an embedded database directory). Keep it stable across
   * restarts: queued jobs and indexed videos point into it.
   */
  dataDir?: string;
  /** Largest file accepted (default 4 GiB). */
  maxFileBytes?: number;
  /** Size of the tus PATCH requests the page sends (default 8 MiB); other tus clients choose their own. */
  chunkBytes?: number;
  /** Uploads one client (API key, or IP address) may have receiving bytes (default: DEFAULT_SERVER_LIMITS in limits.ts, as below). */
  maxUploadsPerClient?: number;
  /** Declared bytes one client's unfinished uploads may reserve. */
  maxClientUploadBytes?: number;
  /** Bytes of indexed uploads the server keeps per client (admin keys exempt); 507 STORAGE_QUOTA_EXCEEDED beyond. */
  maxClientStoredBytes?: number;
  /** Uploads and their PATCH requests are refused with 507 when they would leave less free on the data directory's disk. */
  minFreeDiskBytes?: number;
  /** Jobs waiting in this server's queue before submissions get 503 QUEUE_FULL. */
  maxQueuedJobs?: number;
  /** Unfinished jobs one client may have (429 TOO_MANY_JOBS beyond). */
  maxJobsPerClient?: number;
  /** Requests per minute per client, counted in the database (0: off, the default here; `retrace serve` sets 600). */
  rateLimitPerMinute?: number;
  /**
   * Let clients without a key upload queries and read their own searches (by a session cookie),
   * while everything else still needs a key. Only matters once keys exist.
   */
  publicSearch?: boolean;
  /** Keep query files after their search ends (default false: deleted once the search ends). */
  keepQueries?: boolean;
  /** Express's `trust proxy` (e.g. 1 behind one reverse proxy), so per-IP limits see the client's address. */
  trustProxy?: boolean | number | string;
  /** An unfinished upload is deleted this long after its last chunk (default 24 h). */
  uploadTtlMs?: number;
  /** With `keepQueries`, a query file is kept this long after its job ends, for query thumbnails (default 1 h). */
  queryTtlMs?: number;
  /**
   * A finished job (and its result) is deleted this long after it ended (default 7 days), so a
   * long-running server's job table does not grow without bound. Clients poll a job for minutes,
   * not days.
   */
  jobRetentionMs?: number;
  /**
   * Search jobs run at once, in a lane of their own so they never wait behind an ingest
   * (default DEFAULT_SEARCH_CONCURRENCY in limits.ts).
   */
  searchConcurrency?: number;
  /** Index jobs run at once, in their own lane (default DEFAULT_INDEX_CONCURRENCY in limits.ts). */
  indexConcurrency?: number;
  /**
   * Run index jobs in this process (default true). With false the server only stores them, and
   * `retrace worker` processes on the same database claim and run them (`serve --no-worker`).
   */
  runIndexJobs?: boolean;
  /** Runs of a job that keeps failing for a passing reason before it is dead-lettered (default DEFAULT_MAX_ATTEMPTS in job-queue.ts). */
  jobMaxAttempts?: number;
  /** Wait before a job's first retry, doubled for each further one (default DEFAULT_RETRY_BASE_MS in job-queue.ts). */
  jobRetryBaseMs?: number;
  /** How often expired uploads and query files are swept (default 60 s). */
  sweepIntervalMs?: number;
  /** Videos a search returns (default 10). */
  searchLimit?: number;
  /** Thumbnails decoded at once (default 2). */
  thumbnailConcurrency?: number;
  /** Directory of the web page (default: the `public` folder shipped next to the server). */
  publicDir?: string;
  /** Serve the web page at `/` (default true). */
  serveWebPage?: boolean;
  /**
   * Host names (the `Host` header, without port) the server answers besides the loopback
   * names localhost, *.localhost, 127.0.0.1 and [::1]; others get 421 (DNS rebinding
   * protection). `'*'` answers any host (behind a proxy that checks hosts itself).
   */
  allowedHosts?: readonly string[];
  /** Error log (default: `logger` when given, else console.error). */
  log?: (message: string, err?: unknown) => void;
  /**
   * Structured JSON logs (pino): one line per request with its id, method, route, status and
   * time, failures with their request id. `retrace serve` logs to stderr this way.
   */
  logger?: Logger;
}

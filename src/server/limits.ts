import { statfs } from 'node:fs/promises';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * The server's per-client limits and resource guards, with why each default has its value.
 * Every one can be set through ServerOptions; `retrace serve` exposes the rate limit.
 */
export interface ServerLimits {
  /**
   * Requests per minute per client (API key, or IP address without one); 0 turns the limit off.
   * Counted in the database, so every server on one PostgreSQL shares the counters.
   */
  rateLimitPerMinute: number;
  /** Uploads one client may have receiving bytes at once. */
  maxUploadsPerClient: number;
  /** Bytes one client's unfinished uploads may reserve (their declared sizes). */
  maxClientUploadBytes: number;
  /**
   * Bytes of indexed uploads the server keeps for one client (not for admin keys, nor on a server
   * without keys, where everyone is an admin).
   */
  maxClientStoredBytes: number;
  /** Uploads are refused (507) when they would leave less than this free on the data directory's disk. */
  minFreeDiskBytes: number;
  /** Jobs waiting in this server's queue; more answer 503 QUEUE_FULL. */
  maxQueuedJobs: number;
  /** Jobs one client may have queued or running, across every server on the database. */
  maxJobsPerClient: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  // Off when the library is embedded (the host app usually limits requests itself);
  // `retrace serve` uses SERVE_RATE_LIMIT_PER_MINUTE below.
  rateLimitPerMinute: 0,
  // What the whole server allowed before limits were per client: one person's batch of uploads
  // from the page still fits, and no client can take every slot any more.
  maxUploadsPerClient: 8,
  // Two files of the default 4 GiB maximum in flight at once.
  maxClientUploadBytes: 8 * GiB,
  // About 140 hours of 1080p video at 4 Mbit/s from one index key: a large library, yet a
  // quarter of a 1 TB disk, so one key cannot take the space every other one needs. Operators
  // adding more use an admin key or raise it.
  maxClientStoredBytes: 256 * GiB,
  // Room for what the server writes besides uploads: the embedded database beside the data
  // directory (its WAL grows during an ingest), ffmpeg's temporary files, logs.
  minFreeDiskBytes: 1 * GiB,
  // A search takes seconds and an ingest minutes: past 200 waiting jobs a new one would wait
  // too long to be worth queueing, and the client had better come back later.
  maxQueuedJobs: 200,
  // A tenth of the queue: a handful of clients cannot fill it between them; above a normal
  // person's batch of searches or videos to index.
  maxJobsPerClient: 20,
});

/**
 * `retrace serve`'s default: 10 requests a second per client. The page polls a job about once a
 * second (with a key) and sends 8 MiB chunks one after another, far below that; a script in a
 * tight loop is not.
 */
export const SERVE_RATE_LIMIT_PER_MINUTE = 600;

/**
 * Ingests run one at a time by default: an ingest is CPU-bound for minutes (ffmpeg decoding with
 * its own threads, then the descriptors), so on a 2-core machine a second one only halves the
 * speed of both and takes the cores searches need.
 */
export const DEFAULT_INDEX_CONCURRENCY = 1;

/**
 * Searches run two at a time by default, in their own lane: a search is seconds of work, mostly
 * decoding a short query clip, so a second one keeps a long query from holding up a short one,
 * while on 2 cores more would only share them out (and leave nothing for the ingest lane).
 */
export const DEFAULT_SEARCH_CONCURRENCY = 2;

/** Bytes free for unprivileged users on the disk holding `dir`. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

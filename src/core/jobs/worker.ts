import { JOBS_CHANNEL, JobStore, type JobRecord } from './job-store.js';
import { JobQueue, type JobEngine } from './job-queue.js';
import { MediaLedger } from './media-ledger.js';
import { settleIndexJobFile } from './index-job-files.js';
import type { SqlClient } from '../../db/sql-client.js';

/**
 * A worker: a process that runs the index and dedup jobs stored in a shared database, whoever
 * submitted them (`retrace serve --no-worker` API servers, or other workers' peers). It claims the oldest
 * queued job with `FOR UPDATE SKIP LOCKED`, so any number of workers on any number of machines
 * share the queue without running a job twice; it polls, and on PostgreSQL also LISTENs so a
 * new job starts at once. A worker killed mid-job leaves a job whose owner is gone: another
 * worker (or server) notices it within a heartbeat period and queues it again, and the killed
 * ingest's unfinished video, hidden from every listing and search, is deleted when the job runs
 * again. The job's file is read at the path the API server stored it under, so workers must
 * see the servers' data directories at the same paths (one machine, or a shared volume).
 */

export interface WorkerOptions {
  /** The engine that runs ingests, open on the shared database. */
  engine: JobEngine & { readonly sql: SqlClient };
  /** Index jobs run at once (default 1; dedup jobs run one at a time). */
  concurrency?: number;
  /** How often the database is checked for queued jobs (default 1000 ms; a NOTIFY wakes it sooner). */
  pollMs?: number;
  /** Heartbeat period, and how often other processes' jobs are checked for a lost owner (default 5 s). */
  heartbeatMs?: number;
  /** Runs a job gets when it keeps failing for a passing reason (default DEFAULT_MAX_ATTEMPTS). */
  maxAttempts?: number;
  retryBaseMs?: number;
  /** Called when a job this worker ran has ended (after its file is tidied and it is stored). */
  onFinished?: (job: JobRecord) => void;
  log?: (message: string, err?: unknown) => void;
}

export interface RunningWorker {
  readonly queue: JobQueue;
  /** `host:pid:instance`, as in the `owner` column of the jobs it claims. */
  readonly owner: string;
  /** Stop claiming; running jobs are put back in the queue for another worker. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { engine } = options;
  const store = new JobStore(engine.sql);
  const media = new MediaLedger(engine.sql);
  const listen = engine.sql.listen?.bind(engine.sql);
  const queue = new JobQueue({
    store,
    engine,
    // The heavy lanes; searches stay with the API servers, which answer them in seconds.
    lanes: ['index', 'dedup'],
    indexConcurrency: options.concurrency ?? 1,
    pollMs: options.pollMs ?? 1000,
    listen: listen ? (onJob) => listen(JOBS_CHANNEL, onJob) : undefined,
    heartbeatMs: options.heartbeatMs ?? 5000,
    maxAttempts: options.maxAttempts,
    retryBaseMs: options.retryBaseMs,
    log: options.log,
    onSettled: async (job) => {
      await settleIndexJobFile(job, media);
    },
    onEnded: options.onFinished,
  });
  await queue.start();
  return { queue, owner: queue.owner, close: (timeoutMs) => queue.close(timeoutMs) };
}

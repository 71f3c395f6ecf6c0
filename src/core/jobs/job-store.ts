import { randomUUID } from 'node:crypto';
import type { Stage } from '../engine/types.js';
import type { SqlExecutor } from '../../db/sql-client.js';
import { pgArray } from '../../db/sql-client.js';
import { NotFoundError } from '../errors/retrace-error.js';

/**
 * Persistence of background jobs in the `jobs` table (schema v1), over the SQL seam so it runs
 * unchanged on PGlite and PostgreSQL. A job row is the source of truth for everything but live
 * progress between throttled writes (see JobQueue).
 */

import type { SearchFilter } from '../library/search-filter.js';

/** Index and search jobs work on a file; a dedup job on the whole library (`Retrace.dedup`). */
export type JobKind = 'index' | 'search' | 'dedup';

/** What a job works on. Stored as jsonb; index and search jobs need `path`. */
export interface JobInput {
  /** File to index or search with (server-side path); none for a dedup job. */
  path?: string;
  /** Name the file had on the client; shown instead of `path`. */
  fileName?: string;
  /** Index jobs: title and metadata recorded with the video. */
  title?: string;
  metadata?: Record<string, unknown>;
  /** Search jobs: most videos to return. */
  limit?: number;
  /** Search jobs: list this many videos whatever their score (see `SearchOptions.top`). */
  top?: number;
  /** Search jobs: the filter (see `SearchFilter`). */
  where?: SearchFilter['where'];
  folder?: string;
  /** Dedup jobs: search every video again, not only those indexed since the last run. */
  full?: boolean;
  /** The job owns `path`: whoever runs it may delete it once it is no longer needed. */
  ownsFile?: boolean;
  /** Server: whom the job counts against in per-client limits (`key:<id>` or `ip:<address>`). */
  client?: string;
  /** Server: the anonymous public-search session (hash) that submitted it. */
  session?: string | null;
  /** Free-form extra fields callers want kept with the job. */
  [key: string]: unknown;
}

export interface JobError {
  code: string;
  message: string;
}

/** Countable progress: units of work done and to do (a dedup job: videos searched). */
export interface JobItems {
  done: number;
  total: number;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  stage: Stage;
  /** 0–1. */
  progress: number;
  /** Countable progress, for jobs whose work is counted (dedup), else null. */
  items: JobItems | null;
  input: JobInput;
  result: unknown;
  error: JobError | null;
  /** Milliseconds: `queued`, each stage name, `total`. */
  timings: Record<string, number>;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** The API key that submitted the job (server with keys), else null. */
  apiKeyId: string | null;
  /** Runs started (a transient failure runs a job again, see JobQueue's `maxAttempts`). */
  attempts: number;
  /** Failed for good after every attempt failed for a passing reason: the dead-letter state. */
  deadLetter: boolean;
}

/** Stages during which a job is being worked on. */
export const RUNNING_STAGES: readonly Stage[] = ['probing', 'sampling', 'describing', 'storing', 'matching'];
export const TERMINAL_STAGES: readonly Stage[] = ['done', 'failed'];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

interface JobRow {
  id: string;
  kind: string;
  stage: string;
  progress: number | string;
  input: unknown;
  result: unknown;
  error: unknown;
  timings: unknown;
  created_at: Date | string;
  updated_at: Date | string;
  finished_at: Date | string | null;
  api_key_id: string | null;
  attempts: number | string | null;
  dead_letter: boolean | null;
  items: unknown;
}

/** The LISTEN/NOTIFY channel a new job is announced on (payload: its kind). */
export const JOBS_CHANNEL = 'retrace_jobs';

const COLUMNS = 'id, kind, stage, progress, input, result, error, timings, created_at, updated_at, finished_at, api_key_id, attempts, dead_letter, items';

function iso(v: Date | string | null): string | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

function json<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

function fromRow(r: JobRow): JobRecord {
  return {
    id: r.id,
    kind: r.kind as JobKind,
    stage: r.stage as Stage,
    progress: Number(r.progress),
    items: r.items === null || r.items === undefined ? null : json<JobItems>(r.items),
    input: json<JobInput>(r.input),
    result: r.result === null || r.result === undefined ? null : json<unknown>(r.result),
    error: r.error === null || r.error === undefined ? null : json<JobError>(r.error),
    timings: json<Record<string, number>>(r.timings) ?? {},
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    finishedAt: iso(r.finished_at),
    apiKeyId: r.api_key_id ?? null,
    attempts: Number(r.attempts ?? 0),
    deadLetter: r.dead_letter === true,
  };
}

export class JobStore {
  constructor(private readonly sql: SqlExecutor) {}

  async create(kind: JobKind, input: JobInput, id: string = randomUUID(), apiKeyId: string | null = null): Promise<JobRecord> {
    // The notification wakes workers listening on this database (JobQueue's `poll`) at once
    // instead of at their next poll; it is sent when the insert commits.
    const { rows } = await this.sql.query<JobRow>(
      `WITH j AS (INSERT INTO jobs (id, kind, stage, progress, input, api_key_id) VALUES ($1, $2, 'queued', 0, $3::jsonb, $4) RETURNING ${COLUMNS})
       SELECT j.*, pg_notify('${JOBS_CHANNEL}', j.kind) IS NULL AS notified FROM j`,
      [id, kind, JSON.stringify(input), apiKeyId],
    );
    return fromRow(rows[0]);
  }

  /**
   * Create a job of a kind that may have only one unfinished job at a time (`dedup`, by migration
   * 014's unique index), or return the one already queued or running. `created` says which. The
   * index decides, so two processes asking at once still get one job.
   */
  async createSingle(kind: 'dedup', input: JobInput, apiKeyId: string | null = null): Promise<{ job: JobRecord; created: boolean }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.sql.query<JobRow>(
        `WITH j AS (INSERT INTO jobs (id, kind, stage, progress, input, api_key_id) VALUES ($1, $2, 'queued', 0, $3::jsonb, $4)
                    ON CONFLICT (kind) WHERE kind = 'dedup' AND finished_at IS NULL DO NOTHING RETURNING ${COLUMNS})
         SELECT j.*, pg_notify('${JOBS_CHANNEL}', j.kind) IS NULL AS notified FROM j`,
        [randomUUID(), kind, JSON.stringify(input), apiKeyId],
      );
      if (rows[0]) return { job: fromRow(rows[0]), created: true };
      const existing = await this.findUnfinished(kind);
      if (existing) return { job: existing, created: false };
      // The unfinished one ended between the insert and the read: try again.
    }
    throw new Error(`could not create or find an unfinished ${kind} job`);
  }

  /** The oldest unfinished job of `kind` (the only one, for a kind that allows one), or null. */
  async findUnfinished(kind: JobKind): Promise<JobRecord | null> {
    const { rows } = await this.sql.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE kind = $1 AND finished_at IS NULL ORDER BY created_at, id LIMIT 1`, [
      kind,
    ]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** The job, or `null` (also for strings that are not UUIDs, which the column could not hold). */
  async find(id: string): Promise<JobRecord | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.sql.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** The job; NotFoundError if there is none. */
  async get(id: string): Promise<JobRecord> {
    const job = await this.find(id);
    if (!job) throw new NotFoundError('Job', id);
    return job;
  }

  /** Newest first; with `apiKeyId`, only the jobs that key submitted. */
  async list(opts: { limit?: number; offset?: number; kind?: JobKind; apiKeyId?: string } = {}): Promise<JobRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 1000);
    const offset = Math.max(Math.trunc(opts.offset ?? 0), 0);
    const params: unknown[] = [limit, offset];
    const where: string[] = [];
    if (opts.kind) {
      params.push(opts.kind);
      where.push(`kind = $${params.length}`);
    }
    if (opts.apiKeyId !== undefined) {
      params.push(opts.apiKeyId);
      where.push(`api_key_id = $${params.length}`);
    }
    const { rows } = await this.sql.query<JobRow>(
      `SELECT ${COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`,
      params,
    );
    return rows.map(fromRow);
  }

  /** Unfinished jobs waiting to run, oldest first. */
  /** Queued jobs, oldest first, each with how long it still waits out a retry backoff (by the database's clock). */
  async listQueued(): Promise<Array<JobRecord & { waitMs: number }>> {
    const { rows } = await this.sql.query<JobRow & { wait_ms: number | null }>(
      `SELECT ${COLUMNS}, GREATEST(0, EXTRACT(EPOCH FROM (run_after - now())) * 1000)::float8 AS wait_ms
         FROM jobs WHERE finished_at IS NULL AND stage = 'queued' ORDER BY created_at, id`,
    );
    return rows.map((r) => ({ ...fromRow(r), waitMs: Number(r.wait_ms ?? 0) }));
  }

  /** The input files of jobs not yet finished (a sweep must not delete them). */
  async unfinishedInputPaths(): Promise<Set<string>> {
    const { rows } = await this.sql.query<{ path: string | null }>(`SELECT input->>'path' AS path FROM jobs WHERE finished_at IS NULL`);
    return new Set(rows.flatMap((r) => (r.path ? [r.path] : [])));
  }

  async countUnfinished(): Promise<{ queued: number; running: number }> {
    const { rows } = await this.sql.query<{ stage: string; n: number | string }>(
      `SELECT stage, count(*) AS n FROM jobs WHERE finished_at IS NULL GROUP BY stage`,
    );
    let queued = 0;
    let running = 0;
    for (const r of rows) {
      if (r.stage === 'queued') queued += Number(r.n);
      else running += Number(r.n);
    }
    return { queued, running };
  }

  /** Jobs of `kind` waiting to run, on every process sharing the database. */
  async countQueued(kind: JobKind): Promise<number> {
    const { rows } = await this.sql.query<{ n: number | string }>(
      `SELECT count(*) AS n FROM jobs WHERE kind = $1 AND stage = 'queued' AND finished_at IS NULL`,
      [kind],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Unfinished jobs submitted by `client` (JobInput.client), on every server sharing the database. */
  async countUnfinishedOf(client: string): Promise<number> {
    const { rows } = await this.sql.query<{ n: number | string }>(`SELECT count(*) AS n FROM jobs WHERE finished_at IS NULL AND input->>'client' = $1`, [
      client,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Move a queued job to its first running stage. Returns the job, or `null` if it is no longer
   * queued (another worker or process took it, or it was cancelled): the claim is atomic.
   */
  async claim(id: string, stage: Stage = 'probing', owner: string | null = null): Promise<JobRecord | null> {
    const { rows } = await this.sql.query<JobRow>(
      `UPDATE jobs SET stage = $2, owner = $3, attempts = attempts + 1, updated_at = now() WHERE id = $1 AND stage = 'queued' AND finished_at IS NULL RETURNING ${COLUMNS}`,
      [id, stage, owner],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /**
   * Claim the oldest queued job of `kind` whose backoff has passed, whoever submitted it, and
   * move it to `stage` under `owner`; null when there is none. Concurrent claimers skip rows
   * another one has locked, so each job goes to exactly one of them and none waits on another.
   */
  async claimNext(kind: JobKind, stage: Stage = 'probing', owner: string | null = null): Promise<JobRecord | null> {
    const { rows } = await this.sql.query<JobRow>(
      `UPDATE jobs SET stage = $2, owner = $3, attempts = attempts + 1, updated_at = now()
        WHERE id = (SELECT id FROM jobs
                     WHERE kind = $1 AND stage = 'queued' AND finished_at IS NULL AND (run_after IS NULL OR run_after <= now())
                     ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
          AND stage = 'queued' AND finished_at IS NULL
        RETURNING ${COLUMNS}`,
      [kind, stage, owner],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Record progress of an unfinished job (`items` kept as it was when not given). */
  async updateProgress(id: string, stage: Stage, progress: number, timings: Record<string, number>, items?: JobItems | null): Promise<void> {
    await this.sql.query(
      `UPDATE jobs SET stage = $2, progress = $3, timings = $4::jsonb, items = COALESCE($5::jsonb, items), updated_at = now() WHERE id = $1 AND finished_at IS NULL`,
      [id, stage, progress, JSON.stringify(timings), items ? JSON.stringify(items) : null],
    );
  }

  async markDone(id: string, result: unknown, timings: Record<string, number>, items?: JobItems | null): Promise<JobRecord | null> {
    const { rows } = await this.sql.query<JobRow>(
      `UPDATE jobs SET stage = 'done', progress = 1, result = $2::jsonb, error = NULL, timings = $3::jsonb, items = COALESCE($4::jsonb, items),
              updated_at = now(), finished_at = now()
       WHERE id = $1 AND finished_at IS NULL RETURNING ${COLUMNS}`,
      [id, JSON.stringify(result ?? null), JSON.stringify(timings), items ? JSON.stringify(items) : null],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Fail the job for good; `deadLetter` when it failed every attempt for a passing reason. */
  async markFailed(id: string, error: JobError, timings?: Record<string, number>, deadLetter = false): Promise<JobRecord | null> {
    const { rows } = await this.sql.query<JobRow>(
      `UPDATE jobs SET stage = 'failed', error = $2::jsonb, timings = COALESCE($3::jsonb, timings), dead_letter = $4, updated_at = now(), finished_at = now()
       WHERE id = $1 AND finished_at IS NULL RETURNING ${COLUMNS}`,
      [id, JSON.stringify({ code: error.code, message: error.message }), timings ? JSON.stringify(timings) : null, deadLetter],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /**
   * Put a job that failed for a passing reason back in the queue to run again, keeping the error
   * it failed with (shown while it waits). Returns the job, or null if it was finished meanwhile.
   */
  async retry(id: string, error: JobError, delayMs = 0): Promise<JobRecord | null> {
    // run_after: a worker of another process claiming queued jobs honours the backoff too.
    const { rows } = await this.sql.query<JobRow>(
      `UPDATE jobs SET stage = 'queued', progress = 0, items = NULL, error = $2::jsonb, updated_at = now(),
              run_after = now() + ($3::float8 * interval '1 millisecond')
        WHERE id = $1 AND finished_at IS NULL RETURNING ${COLUMNS}`,
      [id, JSON.stringify({ code: error.code, message: error.message }), delayMs],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Put a running job back in the queue (graceful shutdown): it starts over on the next run. */
  async requeue(id: string): Promise<void> {
    await this.sql.query(
      `UPDATE jobs SET stage = 'queued', progress = 0, items = NULL, timings = '{}'::jsonb, updated_at = now() WHERE id = $1 AND finished_at IS NULL`,
      [id],
    );
  }

  /** Heartbeat: mark running jobs as still being worked on. */
  async touch(ids: readonly string[]): Promise<void> {
    if (!ids.length) return;
    await this.sql.query(`UPDATE jobs SET updated_at = now() WHERE id = ANY($1::uuid[]) AND finished_at IS NULL`, [pgArray(ids)]);
  }

  /**
   * After a crash: an unfinished job past `queued` whose runner is gone was interrupted mid-work.
   * `isGone(owner, idleMs)` decides per job, from its owner (null for jobs claimed without one)
   * and how long since its last heartbeat. A lost runner is a passing failure (a worker killed,
   * a machine rebooted), so a job that has had fewer than `maxAttempts` runs goes back in the
   * queue, counted and with a WORKER_LOST error naming the stage it was in, to run once
   * `backoffMs(attempts)` has passed (as after any passing failure: a job that kills its worker
   * each time is not run again at once, over and over); one that has had them all ends failed
   * (ABORTED) in the dead-letter state. Returns both sets.
   */
  async recoverInterrupted(
    isGone: (owner: string | null, idleMs: number) => boolean,
    maxAttempts: number,
    retryBaseMs = 0,
  ): Promise<{ retried: JobRecord[]; failed: JobRecord[] }> {
    const { rows } = await this.sql.query<{ id: string; owner: string | null; idle_ms: number }>(
      `SELECT id, owner, (EXTRACT(EPOCH FROM (now() - updated_at)) * 1000)::float8 AS idle_ms
         FROM jobs WHERE finished_at IS NULL AND stage <> 'queued'`,
    );
    const gone = rows.filter((r) => isGone(r.owner, Number(r.idle_ms))).map((r) => r.id);
    if (!gone.length) return { retried: [], failed: [] };
    // One statement per outcome, each re-checking the row: a peer recovering the same job at the
    // same moment finds it queued or finished and leaves it.
    const retried = await this.sql.query<JobRow>(
      `UPDATE jobs SET error = jsonb_build_object('code', 'WORKER_LOST', 'message',
                 'The process running this job stopped (it was ' || stage || '); it runs again'),
              stage = 'queued', progress = 0, items = NULL, timings = '{}'::jsonb, owner = NULL, updated_at = now(),
              run_after = now() + ($3::float8 * power(2, GREATEST(attempts, 1) - 1) * interval '1 millisecond')
        WHERE id = ANY($1::uuid[]) AND finished_at IS NULL AND stage <> 'queued' AND attempts < $2 RETURNING ${COLUMNS}`,
      [pgArray(gone), maxAttempts, retryBaseMs],
    );
    const failed = await this.sql.query<JobRow>(
      `UPDATE jobs SET error = jsonb_build_object('code', 'ABORTED', 'message',
                 'The process running this job stopped on every one of its ' || attempts || ' runs (the last in ' || stage || ')'),
              stage = 'failed', dead_letter = true, updated_at = now(), finished_at = now()
        WHERE id = ANY($1::uuid[]) AND finished_at IS NULL AND stage <> 'queued' AND attempts >= $2 RETURNING ${COLUMNS}`,
      [pgArray(gone), maxAttempts],
    );
    return { retried: retried.rows.map(fromRow), failed: failed.rows.map(fromRow) };
  }

  /** Delete finished jobs older than `before`; returns how many. */
  async deleteFinishedBefore(before: Date): Promise<number> {
    const { rows } = await this.sql.query<{ id: string }>(`DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1 RETURNING id`, [
      before.toISOString(),
    ]);
    return rows.length;
  }
}

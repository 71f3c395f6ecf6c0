import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { IndexOptions, IndexResult, Progress, SearchOptions, SearchResult, Stage } from '../engine/types.js';
import type { DedupOptions, DedupReport } from '../library/dedup.js';
import { AbortedError, InvalidArgumentError, QueueFullError, RetraceError } from '../errors/retrace-error.js';
import { isTransientError } from './transient.js';
import { JobStore, RUNNING_STAGES, type JobError, type JobInput, type JobKind, type JobRecord } from './job-store.js';

/**
 * Runs index, search and dedup jobs in the background with bounded concurrency.
 *
 * - Each kind runs in its own lane, with its own concurrency: a search never waits behind an
 *   ingest (seconds of work must not queue behind minutes of it), nor an ingest behind searches.
 *   The dedup lane runs one job at a time, and at most one is ever unfinished (`submitSingle`).
 * - Jobs are rows in the `jobs` table (JobStore); the queue keeps only live state in memory.
 * - Progress fans out to subscribers (Server-Sent Events) at most every `notifyIntervalMs`
 *   and on every stage change; it is written to the database at most every `persistIntervalMs`.
 * - `start()` recovers after a restart: jobs that were running when their process died are
 *   marked failed with a reason; queued jobs run. `close()` puts running jobs back in the
 *   queue so a graceful restart resumes them.
 * - Several processes may share one database: each claims jobs atomically under its own owner
 *   id and writes a heartbeat for them, and recovers only jobs whose owner is gone (a dead pid
 *   on this host, or a stale heartbeat from another host), at start and periodically: such a job
 *   runs again (a lost runner is a passing failure) until its attempts are used up.
 * - A queue may run only some lanes (`lanes`: an API server that leaves ingests to workers), and
 *   with `pollMs` it also claims queued jobs that other processes submitted (a worker): the
 *   oldest first, one claimer per job (`JobStore.claimNext`), woken early by `listen`.
 */

/** The part of the engine jobs need. */
export interface JobEngine {
  index(path: string, options?: IndexOptions): Promise<IndexResult>;
  search(input: string, options?: SearchOptions): Promise<SearchResult>;
  /** Dedup jobs fail (INVALID_ARGUMENT) with an engine without it. */
  dedup?(options?: DedupOptions): Promise<DedupReport>;
}

export interface JobContext {
  onProgress: (p: Progress) => void;
  signal: AbortSignal;
}

/** Does the work of one job and returns its result (stored as jsonb). */
export type JobRunner = (job: JobRecord, ctx: JobContext) => Promise<unknown>;

/** A job as it is right now: the stored record plus live details while running. */
export interface JobSnapshot extends JobRecord {
  mediaTimeSec?: number;
  framesDone?: number;
}

export type JobListener = (job: JobSnapshot) => void;

export interface JobQueueOptions {
  store: JobStore;
  /** Used by the default runner. */
  engine?: JobEngine;
  /** Replaces the default runner (engine.index / engine.search). */
  runner?: JobRunner;
  /** Jobs of each kind run at once, unless `searchConcurrency` / `indexConcurrency` says otherwise (default 1). */
  concurrency?: number;
  /** Search jobs run at once, in their own lane (default `concurrency`). */
  searchConcurrency?: number;
  /** Index jobs run at once, in their own lane (default `concurrency`). */
  indexConcurrency?: number;
  /**
   * Runs a job gets when it keeps failing for a passing reason (see `isTransientError`); after
   * the last it ends failed in the dead-letter state (default DEFAULT_MAX_ATTEMPTS).
   */
  maxAttempts?: number;
  /** Wait before the first retry; doubled for each further one (default DEFAULT_RETRY_BASE_MS). */
  retryBaseMs?: number;
  /** Jobs waiting in this queue, both lanes together; `submit` throws QueueFullError beyond (default: no bound). */
  maxQueued?: number;
  persistIntervalMs?: number;
  notifyIntervalMs?: number;
  /** Called once a job is done or failed (after it is stored), e.g. to delete its input file. */
  onSettled?: (job: JobRecord) => void | Promise<void>;
  /** Called with how long a job spent in a stage (metrics). */
  onStageTiming?: (kind: JobKind, stage: Stage, ms: number) => void;
  /** Called with the stored record of a job this queue ran once it has ended (done or failed). */
  onEnded?: (job: JobRecord) => void;
  /** Called when a job finishes, with its outcome and total run time (metrics). */
  onFinished?: (kind: JobKind, outcome: 'done' | 'failed', ms: number) => void;
  /** Where to report errors that have nowhere else to go (default console.error). */
  log?: (message: string, err?: unknown) => void;
  /** How often running jobs' heartbeats are written, and other processes' jobs checked (default 15 s). */
  heartbeatMs?: number;
  /**
   * A running job whose owner cannot be checked (another host) counts as interrupted once its
   * heartbeat is this old (default 4 × heartbeatMs).
   */
  staleMs?: number;
  /** The lanes this queue runs (default both). Jobs of other lanes are stored and left to other processes. */
  lanes?: readonly JobKind[];
  /**
   * Claim queued jobs of the lanes it runs from the database whoever submitted them, checking
   * this often (milliseconds) for new ones: what a worker does. Default: only jobs submitted
   * here or queued when it started.
   */
  pollMs?: number;
  /**
   * Subscribe to announcements of new jobs (PostgreSQL LISTEN on JOBS_CHANNEL), so a polling
   * queue claims them at once rather than at its next poll. Returns the unsubscribe function.
   */
  listen?: (onJob: (kind: string) => void) => Promise<() => Promise<void>>;
}

/**
 * Three runs: a database restart or an OOM-killed ffmpeg passes within seconds, and a third
 * failure in a row says the cause is not passing; more would hold a lane slot for nothing.
 */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** 2 s, then 4 s: long enough for a PostgreSQL restart or failover to finish, short next to an ingest. */
export const DEFAULT_RETRY_BASE_MS = 2000;

/** The wait before a job's next run after `attempts` runs that failed for a passing reason (a lost worker is one). */
export function retryBackoffMs(attempts: number, retryBaseMs = DEFAULT_RETRY_BASE_MS): number {
  return retryBaseMs * 2 ** Math.max(0, attempts - 1);
}

/** Queues of this process that are started and not closed, by owner id. */
const liveOwners = new Set<string>();

/**
 * Whether the process that owns a job is gone. Owners are `host:pid:instance`. On this host the
 * pid is checked directly (and in this process, the queue instance); a job of another host is
 * gone once its heartbeat is stale. Jobs claimed without an owner count as gone (legacy rows).
 */
export function ownerIsGone(owner: string | null, idleMs: number, staleMs: number): boolean {
  if (!owner) return true;
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid)) return idleMs > staleMs;
  if (pid === process.pid) return !liveOwners.has(owner);
  try {
    process.kill(pid, 0);
    return idleMs > staleMs; // alive, or its pid was reused: trust the heartbeat
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

interface Live {
  job: JobSnapshot;
  controller: AbortController;
  claimedAt: number;
  stageStartedAt: number;
  lastPersist: number;
  lastNotify: number;
  notifyTimer: NodeJS.Timeout | null;
  persisting: Promise<void>;
  /** Set by close(): the abort is a shutdown, not a failure. */
  shutdown: boolean;
  /** Set by cancel(). */
  cancelled: boolean;
}

/** Default runner: index or search the job's file with the engine, or dedup the library. */
export function engineRunner(engine: JobEngine): JobRunner {
  return async (job, { onProgress, signal }) => {
    const input = job.input;
    if (job.kind === 'dedup') {
      if (!engine.dedup) throw new InvalidArgumentError('This engine cannot find duplicate clusters');
      return engine.dedup({
        full: input.full === true,
        // Searching the videos is the whole of the work: one stage, counted in videos.
        onProgress: (done, total) => onProgress({ stage: 'matching', fraction: total > 0 ? done / total : 1, items: { done, total } }),
        signal,
      });
    }
    if (!input.path) throw new InvalidArgumentError(`A ${job.kind} job needs a file`);
    if (job.kind === 'index') {
      return engine.index(input.path, {
        title: input.title,
        metadata: input.metadata,
        onProgress,
        signal,
      });
    }
    return engine.search(input.path, {
      limit: input.limit,
      top: input.top,
      where: input.where,
      folder: input.folder,
      displayPath: input.fileName ?? input.path,
      onProgress,
      signal,
    });
  };
}

export function toJobError(err: unknown): JobError {
  if (err instanceof RetraceError) return err.toJSON();
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message: message || 'Unexpected error' };
}

export const JOB_KINDS: readonly JobKind[] = ['search', 'index', 'dedup'];

/** Per-lane figures (see `JobQueue.counts`). */
export type LaneCounts = Record<JobKind, { running: number; queued: number; concurrency: number }>;

export class JobQueue {
  readonly store: JobStore;
  /** Jobs of each kind that run at once. */
  readonly concurrency: Readonly<Record<JobKind, number>>;
  private readonly runner: JobRunner;
  private readonly opts: JobQueueOptions;
  /** Waiting job ids per lane, oldest first. */
  private readonly pending: Record<JobKind, string[]> = { search: [], index: [], dedup: [] };
  private readonly live = new Map<string, Live>();
  private readonly liveIn: Record<JobKind, number> = { search: 0, index: 0, dedup: 0 };
  private readonly pumping: Record<JobKind, boolean> = { search: false, index: false, dedup: false };
  /** Polling queues: the database may hold queued jobs of this lane for us (cleared when a claim finds none). */
  private readonly dbMayHave: Record<JobKind, boolean> = { search: false, index: false, dedup: false };
  /** The lanes this queue runs. */
  readonly lanes: ReadonlySet<JobKind>;
  private poller: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private readonly listeners = new Map<string, Set<JobListener>>();
  private started = false;
  private closed = false;
  private readonly log: (message: string, err?: unknown) => void;
  /** This queue's identity in the `owner` column of the jobs it claims. */
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Jobs waiting out their backoff before they go back in their lane. */
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();

  constructor(opts: JobQueueOptions) {
    this.opts = opts;
    this.store = opts.store;
    const lane = (n: number | undefined) => Math.max(1, Math.trunc(n ?? opts.concurrency ?? 1) || 1);
    // One dedup at a time: each run reads what the previous ones stored.
    this.concurrency = Object.freeze({ search: lane(opts.searchConcurrency), index: lane(opts.indexConcurrency), dedup: 1 });
    this.lanes = new Set(opts.lanes ?? JOB_KINDS);
    if (opts.runner) this.runner = opts.runner;
    else if (opts.engine) this.runner = engineRunner(opts.engine);
    else throw new TypeError('JobQueue needs an engine or a runner');
    this.log = opts.log ?? ((m, e) => console.error(`[retrace jobs] ${m}`, e ?? ''));
  }

  /**
   * Recover and begin running. Unfinished jobs past `queued` whose process is gone were
   * interrupted by a crash: they are queued again (`retried`), or failed once their attempts
   * are used up (`failed`). Queued jobs of the lanes run here are picked up in creation order.
   */
  async start(): Promise<{ resumed: string[]; failed: string[]; retried: string[] }> {
    if (this.started) return { resumed: [], failed: [], retried: [] };
    this.started = true;
    liveOwners.add(this.owner);
    const { failed, retried } = await this.recoverGone();
    const beat = this.opts.heartbeatMs ?? 15_000;
    this.heartbeat = setInterval(() => {
      void this.store.touch([...this.live.keys()]).catch((err) => this.log('could not write job heartbeats', err));
      void this.recoverGone().catch((err) => this.log('could not check for interrupted jobs', err));
    }, beat);
    this.heartbeat.unref();
    const queued = (await this.store.listQueued()).filter((j) => this.lanes.has(j.kind));
    // Jobs still waiting out a backoff (recovered just now, or retried before a restart) wait on.
    for (const job of queued) if (!this.pending[job.kind].includes(job.id) && !this.retryTimers.has(job.id)) this.runAfter(job, job.waitMs);
    if (this.opts.pollMs !== undefined) {
      const wake = () => {
        for (const kind of this.lanes) {
          this.dbMayHave[kind] = true;
          this.pump(kind);
        }
      };
      this.poller = setInterval(wake, Math.max(10, this.opts.pollMs));
      this.poller.unref();
      if (this.opts.listen) {
        try {
          this.unlisten = await this.opts.listen((kind) => {
            if (this.lanes.has(kind as JobKind)) wake();
          });
        } catch (err) {
          this.log('could not listen for new jobs; polling only', err);
        }
      }
      wake();
    }
    for (const kind of this.lanes) this.pump(kind);
    return { resumed: queued.map((j) => j.id), failed: failed.map((j) => j.id), retried: retried.map((j) => j.id) };
  }

  /** QueueFullError if a job submitted now would be refused for want of room. */
  assertRoom(): void {
    const max = this.opts.maxQueued;
    if (max !== undefined && this.queuedCount() + this.submitting >= max) throw new QueueFullError(max);
  }
  /**
   * QueueFullError if a job of `kind` submitted now would be refused for want of room. A lane
   * this queue leaves to workers has no waiting list here: its queued rows in the database count.
   */
  async assertRoomFor(kind: JobKind): Promise<void> {
    if (this.lanes.has(kind)) return this.assertRoom();
    const max = this.opts.maxQueued;
    if (max !== undefined && (await this.store.countQueued(kind)) >= max) throw new QueueFullError(max);
  }
  /** Submissions between the check and the queue (their rows are being written). */
  private submitting = 0;

  /** Store a new job and schedule it; `apiKeyId` records the API key that submitted it. */
  async submit(kind: JobKind, input: JobInput, options: { apiKeyId?: string | null } = {}): Promise<JobRecord> {
    if (this.closed) throw new RetraceError('ABORTED', 'The job queue is shutting down; try again shortly');
    this.assertRoom();
    this.submitting++;
    let job: JobRecord;
    try {
      job = await this.store.create(kind, input, undefined, options.apiKeyId ?? null);
    } finally {
      this.submitting--;
    }
    this.schedule(job);
    return job;
  }

  /**
   * Submit a job of a kind that has at most one unfinished job (dedup), or return the one queued
   * or running already, whoever submitted it, on whichever process shares the database.
   */
  async submitSingle(kind: 'dedup', input: JobInput, options: { apiKeyId?: string | null } = {}): Promise<{ job: JobSnapshot; created: boolean }> {
    if (this.closed) throw new RetraceError('ABORTED', 'The job queue is shutting down; try again shortly');
    this.submitting++;
    let r: { job: JobRecord; created: boolean };
    try {
      r = await this.store.createSingle(kind, input, options.apiKeyId ?? null);
    } finally {
      this.submitting--;
    }
    if (r.created) this.schedule(r.job);
    return { job: r.created ? r.job : await this.get(r.job.id), created: r.created };
  }

  /** Queue a stored job here, or leave it to the workers that claim its lane from the database. */
  private schedule(job: JobRecord): void {
    if (!this.lanes.has(job.kind)) return;
    this.pending[job.kind].push(job.id);
    if (this.started) this.pump(job.kind);
  }

  /** Current state, with live progress if the job is running here. */
  async get(id: string): Promise<JobSnapshot> {
    const live = this.live.get(id);
    if (live) return { ...live.job, timings: { ...live.job.timings } };
    return this.store.get(id);
  }

  async find(id: string): Promise<JobSnapshot | null> {
    const live = this.live.get(id);
    if (live) return { ...live.job, timings: { ...live.job.timings } };
    return this.store.find(id);
  }

  /** Whether the job is running in this queue (its updates reach subscribers as they happen). */
  isRunningHere(id: string): boolean {
    return this.live.has(id);
  }

  /** Position in its lane of this process's queue (0 = next), or -1. */
  position(id: string): number {
    for (const kind of JOB_KINDS) {
      const i = this.pending[kind].indexOf(id);
      if (i >= 0) return i;
    }
    return -1;
  }

  private queuedCount(): number {
    return JOB_KINDS.reduce((n, k) => n + this.pending[k].length, 0);
  }

  /** Jobs running and waiting in this process: in total, and per lane. */
  counts(): { running: number; queued: number; lanes: LaneCounts } {
    // A lane left to workers runs nothing here: concurrency 0.
    const lane = (k: JobKind) => ({ running: this.liveIn[k], queued: this.pending[k].length, concurrency: this.lanes.has(k) ? this.concurrency[k] : 0 });
    return { running: this.live.size, queued: this.queuedCount(), lanes: { search: lane('search'), index: lane('index'), dedup: lane('dedup') } };
  }

  /** Listen to a job's updates; returns the unsubscribe function. */
  subscribe(id: string, listener: JobListener): () => void {
    let set = this.listeners.get(id);
    if (!set) {
      set = new Set();
      this.listeners.set(id, set);
    }
    set.add(listener);
    return () => {
      const s = this.listeners.get(id);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) this.listeners.delete(id);
    };
  }

  /** Cancel a queued or running job (it ends failed with code ABORTED). Finished jobs are returned as they are. */
  async cancel(id: string): Promise<JobRecord> {
    const live = this.live.get(id);
    if (live) {
      live.cancelled = true;
      live.controller.abort(new AbortedError());
      return { ...live.job };
    }
    const job = await this.store.get(id);
    if (job.finishedAt) return job;
    const i = this.pending[job.kind].indexOf(id);
    if (i >= 0) this.pending[job.kind].splice(i, 1);
    clearTimeout(this.retryTimers.get(id));
    this.retryTimers.delete(id);
    const failed = await this.store.markFailed(id, { code: 'ABORTED', message: 'Cancelled before it started' });
    if (failed) {
      this.emit(failed);
      await this.settled(failed);
      return failed;
    }
    return this.store.get(id);
  }

  /**
   * Stop taking jobs. Running jobs are aborted and put back in the queue so the next start
   * resumes them; waits up to `timeoutMs` for them to stop.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const kind of JOB_KINDS) this.pending[kind].length = 0;
    // Their rows stay queued: the next start runs them.
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.poller) clearInterval(this.poller);
    await this.unlisten?.().catch((err) => this.log('could not stop listening for jobs', err));
    const running = [...this.live.values()];
    for (const l of running) {
      l.shutdown = true;
      l.controller.abort(new AbortedError());
    }
    const waits = running.map(
      (l) =>
        new Promise<void>((resolve) => {
          const check = () => (this.live.has(l.job.id) ? setTimeout(check, 20) : resolve());
          check();
        }),
    );
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    liveOwners.delete(this.owner);
    this.listeners.clear();
  }

  /**
   * Recover the running jobs whose process is gone (see `ownerIsGone`): queue them again, or
   * fail them (settled) once their attempts are used up. Returns both.
   */
  private async recoverGone(): Promise<{ retried: JobRecord[]; failed: JobRecord[] }> {
    const staleMs = this.opts.staleMs ?? 4 * (this.opts.heartbeatMs ?? 15_000);
    const r = await this.store.recoverInterrupted(
      (owner, idleMs) => owner !== this.owner && ownerIsGone(owner, idleMs, staleMs),
      this.opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      this.opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
    );
    for (const job of r.failed) {
      this.emit(job);
      await this.settled(job);
    }
    for (const job of r.retried) {
      this.emit(job);
      if (!this.lanes.has(job.kind) || this.closed || this.retryTimers.has(job.id)) continue;
      // Once its backoff has passed, whoever claims it first runs it: this queue, or a worker
      // polling the database (claimNext honours run_after).
      this.runAfter(job, retryBackoffMs(job.attempts, this.opts.retryBaseMs));
    }
    return r;
  }

  /** Put a queued job in its lane after `delayMs` (at once when 0): the in-process side of run_after. */
  private runAfter(job: JobRecord, delayMs: number): void {
    const enqueue = () => {
      this.retryTimers.delete(job.id);
      if (this.closed) return;
      if (this.opts.pollMs !== undefined) this.dbMayHave[job.kind] = true;
      if (!this.pending[job.kind].includes(job.id)) this.pending[job.kind].push(job.id);
      if (this.started) this.pump(job.kind);
    };
    if (delayMs <= 0) {
      enqueue();
      return;
    }
    const timer = setTimeout(enqueue, delayMs);
    timer.unref();
    this.retryTimers.set(job.id, timer);
  }

  /** Start waiting jobs of one lane while it has room: its own first, then (polling) any in the database. */
  private pump(kind: JobKind): void {
    if (this.pumping[kind] || this.closed || !this.lanes.has(kind)) return;
    this.pumping[kind] = true;
    const pending = this.pending[kind];
    const hasRoom = () => !this.closed && this.liveIn[kind] < this.concurrency[kind] && (pending.length > 0 || this.dbMayHave[kind]);
    void (async () => {
      try {
        while (hasRoom()) {
          let job: JobRecord | null = null;
          if (pending.length > 0) {
            const id = pending.shift()!;
            try {
              job = await this.store.claim(id, RUNNING_STAGES[0], this.owner);
            } catch (err) {
              this.log(`could not claim job ${id}`, err);
            }
            if (!job) continue; // cancelled, or taken by another process sharing the database
          } else {
            try {
              job = await this.store.claimNext(kind, RUNNING_STAGES[0], this.owner);
            } catch (err) {
              this.log(`could not claim a queued ${kind} job`, err);
            }
            // None left (or the database is unreachable): wait for the next poll or notification.
            if (!job) {
              this.dbMayHave[kind] = false;
              continue;
            }
          }
          this.run(job);
        }
      } finally {
        this.pumping[kind] = false;
      }
      // Something may have been submitted while the loop was awaiting the database.
      if (hasRoom()) this.pump(kind);
    })();
  }

  private run(claimed: JobRecord): void {
    const now = Date.now();
    const timings: Record<string, number> = { queued: Math.max(0, now - Date.parse(claimed.createdAt)) };
    const live: Live = {
      job: { ...claimed, timings, progress: 0 },
      controller: new AbortController(),
      claimedAt: now,
      stageStartedAt: now,
      lastPersist: 0,
      lastNotify: 0,
      notifyTimer: null,
      persisting: Promise.resolve(),
      shutdown: false,
      cancelled: false,
    };
    this.live.set(claimed.id, live);
    this.liveIn[claimed.kind]++;
    this.emit(live.job);

    const onProgress = (p: Progress) => {
      if (live.controller.signal.aborted || !this.live.has(claimed.id)) return;
      const stageChanged = RUNNING_STAGES.includes(p.stage) && p.stage !== live.job.stage;
      if (stageChanged) this.closeStage(live, p.stage);
      const fraction = Number.isFinite(p.fraction) ? Math.min(1, Math.max(0, p.fraction)) : live.job.progress;
      live.job.progress = Math.max(live.job.progress, fraction);
      if (p.mediaTimeSec !== undefined) live.job.mediaTimeSec = p.mediaTimeSec;
      if (p.framesDone !== undefined) live.job.framesDone = p.framesDone;
      if (p.items) live.job.items = { ...p.items };
      live.job.updatedAt = new Date().toISOString();
      const t = Date.now();
      if (stageChanged || t - live.lastPersist >= (this.opts.persistIntervalMs ?? 1000)) {
        live.lastPersist = t;
        const { stage, progress, items } = live.job;
        const snapshotTimings = { ...live.job.timings };
        live.persisting = live.persisting
          .then(() => this.store.updateProgress(claimed.id, stage, progress, snapshotTimings, items))
          .catch((err) => this.log(`could not store progress of job ${claimed.id}`, err));
      }
      this.notifySoon(live, stageChanged);
    };

    void (async () => {
      let stored: JobRecord | null = null;
      try {
        const result = await this.runner(live.job, { onProgress, signal: live.controller.signal });
        this.finishTimings(live);
        await live.persisting;
        // Tidy the job's files before it shows as done, so whoever sees "done" sees the final state.
        await this.settled({ ...claimed, stage: 'done', progress: 1, result, error: null, timings: live.job.timings });
        stored = await this.store.markDone(claimed.id, result, live.job.timings, live.job.items);
        this.opts.onFinished?.(claimed.kind, 'done', live.job.timings.total ?? 0);
      } catch (err) {
        this.finishTimings(live);
        await live.persisting;
        if (live.shutdown) {
          try {
            await this.store.requeue(claimed.id);
          } catch (e) {
            this.log(`could not requeue job ${claimed.id}`, e);
          }
        } else if (!live.cancelled && isTransientError(err) && claimed.attempts < (this.opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)) {
          stored = await this.retryLater(claimed, toJobError(err));
        } else {
          const error = live.cancelled ? { code: 'ABORTED', message: 'Cancelled while running' } : toJobError(err);
          const deadLetter = !live.cancelled && isTransientError(err);
          await this.settled({ ...claimed, stage: 'failed', result: null, error, timings: live.job.timings });
          try {
            stored = await this.store.markFailed(claimed.id, error, live.job.timings, deadLetter);
          } catch (e) {
            this.log(`could not store failure of job ${claimed.id}`, e);
          }
          this.opts.onFinished?.(claimed.kind, 'failed', live.job.timings.total ?? 0);
        }
      } finally {
        if (live.notifyTimer) clearTimeout(live.notifyTimer);
        this.live.delete(claimed.id);
        this.liveIn[claimed.kind]--;
        if (stored) this.emit(stored);
        if (stored?.finishedAt) this.opts.onEnded?.(stored);
        // A polling queue with a free slot looks for more at once rather than at the next poll.
        if (this.opts.pollMs !== undefined) this.dbMayHave[claimed.kind] = true;
        this.pump(claimed.kind);
      }
    })();
  }

  /**
   * Queue a job again after a transient failure, once its backoff has passed: retryBaseMs
   * doubled for each run it already had. Returns the stored job (queued, with the error).
   */
  private async retryLater(claimed: JobRecord, error: JobError): Promise<JobRecord | null> {
    let stored: JobRecord | null = null;
    const delay = retryBackoffMs(claimed.attempts, this.opts.retryBaseMs);
    try {
      stored = await this.store.retry(claimed.id, error, delay);
    } catch (e) {
      this.log(`could not queue job ${claimed.id} again`, e);
    }
    if (!stored) return null;
    this.runAfter(claimed, delay);
    return stored;
  }

  /** Account the time spent in the current stage and enter `next`. */
  private closeStage(live: Live, next: Stage): void {
    const t = Date.now();
    const prev = live.job.stage;
    const ms = t - live.stageStartedAt;
    live.job.timings = { ...live.job.timings, [prev]: (live.job.timings[prev] ?? 0) + ms };
    this.opts.onStageTiming?.(live.job.kind, prev, ms);
    live.job.stage = next;
    live.stageStartedAt = t;
  }

  private finishTimings(live: Live): void {
    const t = Date.now();
    const prev = live.job.stage;
    if (RUNNING_STAGES.includes(prev)) {
      const ms = t - live.stageStartedAt;
      live.job.timings = { ...live.job.timings, [prev]: (live.job.timings[prev] ?? 0) + ms };
      this.opts.onStageTiming?.(live.job.kind, prev, ms);
      live.stageStartedAt = t;
    }
    live.job.timings.total = t - live.claimedAt;
  }

  private notifySoon(live: Live, immediate: boolean): void {
    const interval = this.opts.notifyIntervalMs ?? 150;
    const t = Date.now();
    if (immediate || t - live.lastNotify >= interval) {
      if (live.notifyTimer) {
        clearTimeout(live.notifyTimer);
        live.notifyTimer = null;
      }
      live.lastNotify = t;
      this.emit({ ...live.job });
      return;
    }
    if (!live.notifyTimer) {
      live.notifyTimer = setTimeout(
        () => {
          live.notifyTimer = null;
          if (!this.live.has(live.job.id)) return;
          live.lastNotify = Date.now();
          this.emit({ ...live.job });
        },
        interval - (t - live.lastNotify),
      );
    }
  }

  private emit(job: JobSnapshot): void {
    const set = this.listeners.get(job.id);
    if (!set) return;
    // Listeners get their own copy: the live record keeps changing.
    const snapshot: JobSnapshot = { ...job, timings: { ...job.timings } };
    for (const l of [...set]) {
      try {
        l(snapshot);
      } catch (err) {
        this.log(`job listener failed for ${job.id}`, err);
      }
    }
  }

  private async settled(job: JobRecord): Promise<void> {
    if (!this.opts.onSettled) return;
    try {
      await this.opts.onSettled(job);
    } catch (err) {
      this.log(`onSettled failed for job ${job.id}`, err);
    }
  }
}

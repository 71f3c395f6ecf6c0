import type { Request } from 'express';
import { InvalidArgumentError } from '../core/errors/retrace-error.js';
import type { JobQueue, JobSnapshot } from '../core/jobs/job-queue.js';
import type { ApiKeyStore } from '../core/auth/api-keys.js';
import type { ServerMetrics } from './metrics.js';
import type { UploadStore } from './upload-store.js';
import type { MediaLedger } from '../core/jobs/media-ledger.js';
import { redactPaths, scrubPaths } from './redact.js';
import type { ServerEngine } from './types.js';

/** Everything the route modules share. */
export interface ServerContext {
  engine: ServerEngine;
  uploads: UploadStore;
  jobs: JobQueue;
  metrics: ServerMetrics;
  keys: ApiKeyStore;
  media: MediaLedger;
  dirs: { root: string; uploads: string; media: string; queries: string };
  settings: {
    maxFileBytes: number;
    /** Size of the tus PATCH requests the page sends. */
    chunkBytes: number;
    queryTtlMs: number;
    jobRetentionMs: number;
    searchLimit: number;
    maxJobsPerClient: number;
    maxClientStoredBytes: number;
    /** Keep query files after their search ends (for query thumbnails) instead of deleting them. */
    keepQueries: boolean;
  };
  thumbnails: Limiter;
  /** Open Server-Sent Event streams, ended on shutdown. */
  streams: Set<{ end(): void }>;
  startedAt: number;
  log: (message: string, err?: unknown) => void;
}

/** Runs at most `max` tasks at once; refuses work when `maxWaiting` are already waiting. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(
    private readonly max: number,
    private readonly maxWaiting = 64,
  ) {}
  get busy(): boolean {
    return this.waiting.length >= this.maxWaiting;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Parse an optional integer query/body value within bounds. */
export function intParam(value: unknown, name: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

export function numParam(value: unknown, name: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
  return n;
}

/** The JSON shape of a job over HTTP (server paths are not exposed). */
export function jobView(req: Request, ctx: ServerContext, j: JobSnapshot, includeResult: boolean) {
  const base = `${req.baseUrl}/jobs/${j.id}`;
  const position = ctx.jobs.position(j.id);
  return {
    id: j.id,
    kind: j.kind,
    stage: j.stage,
    progress: j.progress,
    fileName: j.input.fileName ?? null,
    title: j.input.title ?? null,
    error: j.error && { code: j.error.code, message: scrubPaths(j.error.message) },
    // Runs started, and whether it failed every one of them for a passing reason (dead letter).
    attempts: j.attempts,
    deadLetter: j.deadLetter,
    timings: j.timings,
    mediaTimeSec: j.mediaTimeSec ?? null,
    framesDone: j.framesDone ?? null,
    // Countable progress ({done, total}): a dedup job's videos searched so far, of those to search.
    items: j.items ?? null,
    queuePosition: position >= 0 ? position : null,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    finishedAt: j.finishedAt,
    ...(includeResult ? { result: j.stage === 'done' ? redactPaths(j.result) : null } : {}),
    links: {
      self: base,
      events: `${base}/events`,
      result: `${base}/result`,
      ...(j.kind === 'search' && j.input.mediaKind !== 'signature' ? { queryThumbnail: `${base}/thumbnail` } : {}),
    },
  };
}

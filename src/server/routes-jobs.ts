import { stat } from 'node:fs/promises';
import { Router, type Response } from 'express';
import { NotFoundError, RetraceError, type RetraceErrorCode } from '../core/errors/retrace-error.js';
import { isUuid, type JobKind } from '../core/jobs/job-store.js';
import { scopeAllows } from '../core/auth/api-keys.js';
import type { JobSnapshot } from '../core/jobs/job-queue.js';
import { extractFrameJpeg } from '../core/media/thumbnail.js';
import { HTTP_STATUS, HttpError } from './errors.js';
import { intParam, jobView, numParam, type ServerContext } from './context.js';
import { assertVisible, needs, principal } from './auth.js';
import { redactPaths } from './redact.js';

const TERMINAL = new Set(['done', 'failed']);

/** Who submitted a job: the key, or the anonymous session. */
function jobOwner(job: JobSnapshot): { keyId: string | null; session: string | null } {
  return { keyId: job.apiKeyId, session: typeof job.input.session === 'string' ? job.input.session : null };
}

/**
 * NotFoundError unless the caller may see the job: its own, or any for an admin. A dedup job is
 * the library's, not its submitter's: every index key may follow it, as every index key may
 * start it (a second start returns the running one) and read its result at GET /api/dedup.
 */
function assertMayRead(res: Response, job: JobSnapshot): void {
  if (job.kind === 'dedup') {
    const who = principal(res);
    if (who.session !== undefined || !scopeAllows(who.scope, 'index')) throw new NotFoundError('Job', job.id);
    return;
  }
  assertVisible(res, jobOwner(job), 'Job', job.id);
}

export function jobsRouter(ctx: ServerContext): Router {
  const { jobs } = ctx;
  const router = Router();
  // Any key may use the jobs routes; which jobs it sees is decided per job below. Anonymous
  // public-search clients may read (and cancel) their own searches, not list jobs.
  router.use('/jobs', needs('search', 'Reading jobs', { anonymous: true }));

  /** The job if the caller may see it (its own, or any for an admin); 404 otherwise. */
  const load = async (id: string, res: Response): Promise<JobSnapshot> => {
    if (!isUuid(id)) throw new NotFoundError('Job', id);
    const job = await jobs.get(id);
    assertMayRead(res, job);
    return job;
  };

  router.get('/jobs', needs('search', 'Listing jobs'), async (req, res) => {
    const limit = intParam(req.query.limit, 'limit', { min: 1, max: 200, fallback: 20 });
    const offset = intParam(req.query.offset, 'offset', { min: 0, max: 1e9, fallback: 0 });
    const kind = req.query.kind;
    if (kind !== undefined && kind !== 'index' && kind !== 'search' && kind !== 'dedup')
      throw new HttpError(400, 'INVALID_ARGUMENT', 'kind must be "index", "search" or "dedup"');
    const who = principal(res);
    // Admins (and everyone on a server without keys) list all jobs; other keys their own.
    const list = await jobs.store.list({
      limit,
      offset,
      kind: kind as JobKind | undefined,
      ...(who.scope === 'admin' ? {} : { apiKeyId: who.keyId ?? '' }),
    });
    const items = await Promise.all(list.map(async (j) => jobView(req, ctx, (await jobs.find(j.id)) ?? j, false)));
    res.json({ items, limit, offset, ...jobs.counts() });
  });

  router.get('/jobs/:id', async (req, res) => {
    const job = await load(req.params.id, res);
    res.setHeader('Cache-Control', 'no-store');
    res.json(jobView(req, ctx, job, true));
  });

  /** The result alone: for a search, exactly what `retrace search --json` prints. */
  router.get('/jobs/:id/result', async (req, res) => {
    const job = await load(req.params.id, res);
    if (job.stage === 'done') {
      res.json(redactPaths(job.result));
      return;
    }
    if (job.stage === 'failed') {
      const err = job.error ?? { code: 'INTERNAL', message: 'Job failed' };
      if (err.code in HTTP_STATUS) throw new RetraceError(err.code as RetraceErrorCode, err.message);
      throw new HttpError(500, err.code, err.message);
    }
    throw new HttpError(409, 'JOB_NOT_FINISHED', `Job ${job.id} is not finished yet (stage ${job.stage}, ${Math.round(job.progress * 100)}%)`, {
      'Retry-After': '1',
    });
  });

  router.delete('/jobs/:id', async (req, res) => {
    await load(req.params.id, res);
    const job = await jobs.cancel(req.params.id);
    res.json(jobView(req, ctx, (await jobs.find(job.id)) ?? job, false));
  });

  /** Live progress as Server-Sent Events: one `job` event per update; the stream ends when the job does. */
  router.get('/jobs/:id/events', async (req, res) => {
    if (!isUuid(req.params.id)) throw new NotFoundError('Job', req.params.id);
    const id = req.params.id;
    const pending: JobSnapshot[] = [];
    let ready = false;
    let ended = false;
    let heartbeat: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const handle = { end: () => finish() };
    const send = (j: JobSnapshot) => {
      if (ended) return;
      res.write(`id: ${Date.parse(j.updatedAt) || Date.now()}\nevent: job\ndata: ${JSON.stringify(jobView(req, ctx, j, false))}\n\n`);
      if (TERMINAL.has(j.stage)) finish();
    };
    const finish = () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      clearInterval(heartbeat);
      clearInterval(poll);
      ctx.streams.delete(handle);
      res.end();
    };
    // Subscribe before reading the state so no update falls between the two.
    const unsubscribe = jobs.subscribe(id, (j) => (ready ? send(j) : pending.push(j)));
    let job: JobSnapshot;
    try {
      job = await jobs.get(id);
      assertMayRead(res, job);
    } catch (err) {
      unsubscribe();
      throw err;
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    ctx.streams.add(handle);
    req.on('close', finish);
    heartbeat = setInterval(() => {
      if (!ended) res.write(': keep-alive\n\n');
    }, 15_000);
    heartbeat.unref();
    ready = true;
    send(job);
    // The job may have ended while its state was being read.
    const end = pending.find((j) => TERMINAL.has(j.stage));
    if (end) send(end);
    // A job run by another process (a worker, with `serve --no-worker`) sends this one no
    // updates: its stored row is followed instead, as often as the runner writes it.
    let lastSeen = job.updatedAt;
    poll = setInterval(() => {
      if (ended || jobs.isRunningHere(id)) return;
      jobs.store.find(id).then(
        (j) => {
          if (!j || ended || j.updatedAt === lastSeen) return;
          lastSeen = j.updatedAt;
          send(j);
        },
        (err) => ctx.log(`could not read job ${id} for its event stream`, err),
      );
    }, 1000);
    poll.unref();
  });

  /** A frame of a search job's query file (kept for a while after the job ends). */
  router.get('/jobs/:id/thumbnail', async (req, res) => {
    const job = await load(req.params.id, res);
    const path = job.input.path;
    if (job.kind !== 'search' || !path) throw new HttpError(400, 'INVALID_ARGUMENT', 'Only search jobs have query thumbnails');
    // A signature holds descriptors, not pixels: there is no frame to show.
    if (job.input.mediaKind === 'signature') throw new HttpError(404, 'NOT_FOUND', `Job ${job.id} searched with a signature: it has no media, so no thumbnail`);
    const t = numParam(req.query.t, 't', { min: 0, max: 1e7, fallback: 0 });
    const w = intParam(req.query.w, 'w', { min: 32, max: 1280, fallback: 320 });
    try {
      await stat(path);
    } catch {
      // Deleted when the search ended (unless the server keeps queries), or swept later.
      throw new HttpError(410, 'QUERY_DELETED', `The query file of job ${job.id} is no longer kept, so it has no thumbnail`);
    }
    const jpeg = await thumbnail(ctx, path, job.input.mediaKind === 'image' ? 0 : t, w);
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('Cache-Control', 'private, max-age=3600');
    res.end(jpeg);
  });

  return router;
}

/** One frame as JPEG, at most `ctx.thumbnails` decodes at once; near the end, steps back until a frame exists. */
export async function thumbnail(ctx: ServerContext, path: string, t: number, w: number): Promise<Buffer> {
  if (ctx.thumbnails.busy) throw new HttpError(503, 'BUSY', 'Too many thumbnails being made; try again shortly', { 'Retry-After': '1' });
  return ctx.thumbnails.run(async () => {
    // Past the last decodable frame (or in a still image) ffmpeg yields nothing: step back, then try the start.
    const times = t > 0 ? [...new Set([t, Math.max(0, t - 1), 0])] : [0];
    let last: unknown;
    for (const at of times) {
      try {
        return await extractFrameJpeg(path, at, w);
      } catch (err) {
        if (!(err instanceof RetraceError && err.code === 'CORRUPT_MEDIA')) throw err;
        last = err;
      }
    }
    throw last;
  });
}

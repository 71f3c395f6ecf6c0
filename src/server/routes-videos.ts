import { rm, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { Router, type Request } from 'express';
import type { VideoRecord } from '../core/engine/types.js';
import { FileNotFoundError, NotFoundError } from '../core/errors/retrace-error.js';
import { isUuid } from '../core/jobs/job-store.js';
import { intParam, numParam, type ServerContext } from './context.js';
import { thumbnail } from './routes-jobs.js';
import { needs } from './auth.js';
import { redactPaths } from './redact.js';

/** Whether `path` lies inside `dir` (files the server stored itself and may delete). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function videoView(req: Request, v: VideoRecord) {
  const base = `${req.baseUrl}/videos/${v.id}`;
  return { ...redactPaths(v), links: { self: base, stream: `${base}/stream`, thumbnail: `${base}/thumbnail` } };
}

export function videosRouter(ctx: ServerContext): Router {
  const { engine } = ctx;
  const router = Router();

  const load = async (id: string): Promise<VideoRecord> => {
    if (!isUuid(id)) throw new NotFoundError('Video', id);
    return engine.get(id);
  };
  /** A video indexed from a signature has no file to stream or take frames from. */
  const withMedia = (v: VideoRecord): VideoRecord => {
    if (v.metadata.media === false) throw new FileNotFoundError(`${v.title ?? v.id} (indexed from a signature, without media)`);
    return v;
  };
  /**
   * For reading a video's file (stream, thumbnail): read where searches read (the replica), so
   * the primary is spared the look-ups that follow every search; a video indexed moments ago and
   * not replayed there yet is read from the primary rather than missing.
   */
  const lookup = async (id: string): Promise<VideoRecord> => {
    if (!isUuid(id)) throw new NotFoundError('Video', id);
    if (!engine.lookup) return engine.get(id);
    try {
      return await engine.lookup(id);
    } catch (err) {
      if (err instanceof NotFoundError) return engine.get(id);
      throw err;
    }
  };

  // Listing the library needs an index key. A single video (its record, stream and frames) is
  // open to search keys too: search results name matched videos by id and the page shows them.
  router.get('/videos', needs('index', 'Listing the library'), async (req, res) => {
    const limit = intParam(req.query.limit, 'limit', { min: 1, max: 200, fallback: 20 });
    const offset = intParam(req.query.offset, 'offset', { min: 0, max: 1e9, fallback: 0 });
    // Only ready videos: an ingest under way (or one a killed worker left, until it is swept) is
    // followed through its job, never shown half-done in the library.
    const [items, total] = await Promise.all([engine.list({ limit, offset, status: 'ready' }), engine.count('ready')]);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ items: items.map((v) => videoView(req, v)), total, limit, offset });
  });

  router.use('/videos', needs('search', 'Reading videos'));

  router.get('/videos/:id', async (req, res) => {
    const video = await load(req.params.id);
    // With a read replica: whether searches (which read it) can find this video yet.
    const replicaVisible = (await engine.isVisibleOnReplica?.(video.id)) ?? null;
    res.setHeader('Cache-Control', 'no-store');
    res.json({ ...videoView(req, video), ...(replicaVisible === null ? {} : { replicaVisible }) });
  });

  router.delete('/videos/:id', needs('admin', 'Deleting a video'), async (req: Request<{ id: string }>, res) => {
    const video = await load(req.params.id);
    await engine.remove(video.id);
    // Delete the file only if the server stored it (uploaded through the API).
    if (isInside(ctx.dirs.media, video.path)) await rm(video.path, { force: true });
    res.status(204).end();
  });

  /** The video file with HTTP Range support (seeking in a <video> element). */
  router.get('/videos/:id/stream', async (req, res, next) => {
    const video = withMedia(await lookup(req.params.id));
    const path = resolve(video.path);
    try {
      const s = await stat(path);
      if (!s.isFile()) throw new Error('not a file');
    } catch {
      throw new FileNotFoundError(video.path);
    }
    res.sendFile(path, { dotfiles: 'allow', acceptRanges: true, lastModified: true, maxAge: 0, headers: { 'Cache-Control': 'private, no-cache' } }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });

  /** One frame of the video as JPEG: `?t=` seconds (default 0), `?w=` width in pixels (default 320). */
  router.get('/videos/:id/thumbnail', async (req, res) => {
    const video = withMedia(await lookup(req.params.id));
    const t = numParam(req.query.t, 't', { min: 0, max: 1e7, fallback: 0 });
    const w = intParam(req.query.w, 'w', { min: 32, max: 1280, fallback: 320 });
    const end = video.durationSec > 0 ? Math.max(0, video.durationSec - 0.05) : 0;
    const jpeg = await thumbnail(ctx, resolve(video.path), Math.min(t, end), w);
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('Cache-Control', 'private, max-age=3600');
    res.end(jpeg);
  });

  return router;
}

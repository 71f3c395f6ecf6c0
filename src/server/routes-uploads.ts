import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { InvalidArgumentError, StorageQuotaError, TooManyJobsError } from '../core/errors/retrace-error.js';
import { HttpError, describeError } from './errors.js';
import { intParam, jobView, type ServerContext } from './context.js';
import type { UploadState } from './upload-store.js';
import { assertVisible, clientId, needs, ownerOf, principal } from './auth.js';
import { requireScope } from '../core/auth/api-keys.js';
import { parseFilter } from '../core/library/search-filter.js';
import { createTusEndpoint, parseUploadChecksum, parseUploadMetadata } from './tus.js';

function uploadView(req: Request, s: UploadState) {
  return {
    id: s.id,
    fileName: s.fileName,
    size: s.size,
    purpose: s.purpose,
    status: s.status,
    /** Bytes stored (tus `Upload-Offset`); a resumed upload goes on from here. */
    offset: s.offset,
    /** The same, by the name the page reads. */
    receivedBytes: s.offset,
    jobId: s.jobId,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    expiresAt: s.expiresAt,
    links: {
      self: `${req.baseUrl}/uploads/${s.id}`,
      complete: `${req.baseUrl}/uploads/${s.id}/complete`,
      ...(s.jobId ? { job: `${req.baseUrl}/jobs/${s.jobId}` } : {}),
    },
  };
}

/**
 * Runs `fn` after every earlier call with the same key has finished: one client's completions
 * one at a time, so its job count is read and the job added as one step (checked in parallel,
 * each of several completions saw room for itself and all got through).
 */
function keyedTurns() {
  const last = new Map<string, Promise<unknown>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const before = last.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const settled = mine.catch(() => {});
    last.set(key, settled);
    try {
      return await mine;
    } finally {
      if (last.get(key) === settled) last.delete(key);
    }
  };
}

export function uploadsRouter(ctx: ServerContext): Router {
  const { uploads, jobs, metrics } = ctx;
  const router = Router();

  const reject = (code: string) => metrics.uploadsRejected.inc({ code });
  const clientTurn = keyedTurns();

  const tus = createTusEndpoint({
    directory: uploads.tusDir,
    maxFileBytes: ctx.settings.maxFileBytes,
    ttlMs: uploads.limits.ttlMs,
  });

  // Anonymous clients of a public-search server may upload queries (index uploads need a key, below).
  router.use('/uploads', needs('search', 'Uploading', { anonymous: true }));

  /** The upload if the caller may use it (its own, or any for an admin); 404 otherwise. */
  const own = (id: string, res: Response): UploadState => {
    const state = uploads.get(id);
    assertVisible(res, { keyId: state.apiKeyId, session: state.session }, 'Upload', id);
    return state;
  };

  /**
   * Index uploads need an index key, and what the server keeps for a client is bounded (admins,
   * and servers without keys, are not).
   */
  const assertMayUpload = async (req: Request, res: Response, purpose: unknown, size: unknown) => {
    if (purpose !== 'index') return;
    requireScope(principal(res), 'index', 'Uploading a video to index');
    if (principal(res).scope !== 'admin' && typeof size === 'number') {
      const stored = await ctx.media.bytesOf(clientId(req, res));
      if (stored + size > ctx.settings.maxClientStoredBytes) throw new StorageQuotaError(stored, size, ctx.settings.maxClientStoredBytes);
    }
  };

  /**
   * tus 1.0 requests (they carry `Tus-Resumable`; OPTIONS is tus discovery). Everything retrace
   * enforces is checked here, before tus reads a byte: owner, scope, per-client limits, free
   * disk, checksum header; tus then moves the bytes. Its own refusals (wrong offset 409, body
   * past the declared length 413, expired 410) come back as tus's plain-text answers.
   */
  const tusRequest = async (req: Request<{ id?: string }>, res: Response, next: NextFunction) => {
    const base = `${req.baseUrl}/uploads`;
    const id = req.params.id;
    if (req.get('tus-resumable') === undefined && req.method !== 'OPTIONS') {
      // Creation is tus only (the JSON chunk protocol was retired); GET and DELETE of an upload
      // are plain requests too (below).
      if (id === undefined && req.method === 'POST') {
        reject('TUS_REQUIRED');
        throw new HttpError(
          412,
          'TUS_REQUIRED',
          `Uploads speak tus 1.0 (https://tus.io): create one with POST ${base}, headers Tus-Resumable: 1.0.0, Upload-Length and Upload-Metadata (filename, purpose)`,
          { 'Tus-Version': '1.0.0' },
        );
      }
      next();
      return;
    }
    try {
      const checksum = parseUploadChecksum(req.get('upload-checksum'));
      const length = Number(req.get('content-length') ?? 0);
      if (req.method === 'OPTIONS') {
        await tus.handle(req, res, { base });
        return;
      }
      if (id === undefined) {
        if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} ${base} is not a tus request; create uploads with POST`);
        const lengthHeader = req.get('upload-length');
        if (lengthHeader === undefined || !/^\d{1,16}$/.test(lengthHeader)) {
          throw new InvalidArgumentError('Upload-Length must give the file size in bytes (this server does not defer the length)');
        }
        // Concatenation (parallel uploads) is not among this server's tus extensions (see
        // Tus-Extension). @tus/server answers it with 501, a server fault to monitoring; it is
        // the client's request this server does not take, so 400 like any other refused header.
        if (req.get('upload-concat') !== undefined) {
          throw new InvalidArgumentError('Upload-Concat: this server does not support the tus concatenation extension; upload the file as one upload');
        }
        const size = Number(lengthHeader);
        const meta = parseUploadMetadata(req.get('upload-metadata'));
        // Uppy and tus-js-client name the file `filename` or `name`, its type `filetype` or `type`.
        const input = {
          fileName: meta.filename ?? meta.name,
          size,
          purpose: meta.purpose,
          mimeType: meta.filetype ?? meta.type ?? undefined,
          title: meta.title,
          sha256: meta.sha256,
        };
        await assertMayUpload(req, res, input.purpose, size);
        if (length > 0) await uploads.assertRoomForBytes(length);
        const owner = ownerOf(res);
        const state = await uploads.create(input, { apiKeyId: owner.keyId, session: owner.session, client: clientId(req, res) });
        await tus.handle(req, res, { base, id: state.id, ...(checksum ? { checksum } : {}) });
        // tus refused it (say a bad header): nothing is kept.
        if (res.statusCode !== 201) await uploads.remove(state.id).catch(() => {});
        else if (length > 0) await uploads.tusProgress(state.id).catch(() => {});
        return;
      }
      const state = own(id, res);
      if (req.method === 'PATCH') {
        uploads.assertReceiving(id);
        // Free disk space, before a byte is written (without a length, for the rest of the file).
        await uploads.assertRoomForBytes(Number.isFinite(length) && length > 0 ? length : state.size - state.offset);
        // Also after a dropped connection the bytes that arrived are recorded, kept for the resume.
        // The write ends when the connection does: @tus/server's promise for a request whose
        // client went away may not settle, and must not keep the upload "being written" forever.
        await uploads.tusWrite(
          id,
          () =>
            new Promise<void>((resolve, reject) => {
              res.once('close', () => resolve());
              tus.handle(req, res, { base, ...(checksum ? { checksum } : {}) }).then(resolve, reject);
            }),
        );
        if (res.statusCode === 204) metrics.uploadBytes.inc({}, length);
        return;
      }
      if (req.method === 'DELETE') {
        // Termination (tus extension) answered here, not by @tus/server: the upload's record is
        // UploadStore's, and deleting it with the bytes before answering means no later request
        // sees one without the other. A completed upload's bytes are a job's file by now; only
        // the record is left to forget.
        await uploads.remove(id);
        res.setHeader('Tus-Resumable', '1.0.0');
        res.status(204).end();
        return;
      }
      if (req.method === 'HEAD' && state.status !== 'receiving') {
        res.setHeader('Tus-Resumable', '1.0.0');
        res.setHeader('Upload-Offset', String(state.size));
        res.setHeader('Upload-Length', String(state.size));
        res.setHeader('Cache-Control', 'no-store');
        res.status(200).end();
        return;
      }
      await tus.handle(req, res, { base });
    } catch (err) {
      reject(describeError(err).body.error.code);
      throw err;
    }
  };
  // Two routes, not one of two paths: metrics and logs label requests by route pattern.
  router.all('/uploads', tusRequest);
  router.all('/uploads/:id', tusRequest);

  router.get('/uploads/:id', async (req, res) => {
    own(req.params.id, res);
    // The bytes on disk, not the count recorded after the last PATCH (one may still be landing).
    const state = await uploads.tusProgress(req.params.id);
    const view = uploadView(req, state);
    res.setHeader('Upload-Offset', String(view.offset));
    res.setHeader('Upload-Length', String(state.size));
    res.setHeader('Cache-Control', 'no-store');
    res.json(view);
  });

  // Termination without tus headers, for clients that only know plain HTTP.
  router.delete('/uploads/:id', async (req, res) => {
    own(req.params.id, res);
    await uploads.remove(req.params.id);
    res.status(204).end();
  });

  router.post('/uploads/:id/complete', async (req, res) => {
    const id = req.params.id;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const before = own(id, res);
    if (before.status === 'completed' && before.jobId) {
      // Completing twice (say the first answer was lost) returns the same job.
      const job = await jobs.get(before.jobId);
      res.json({ upload: uploadView(req, before), job: jobView(req, ctx, job, false) });
      return;
    }
    if (body.sha256 !== undefined && typeof body.sha256 !== 'string') throw new InvalidArgumentError('sha256 must be a string');
    const limit = intParam(body.limit, 'limit', { min: 1, max: 100, fallback: ctx.settings.searchLimit });
    // Search filters and --top, as the library takes them; checked now, not when the job runs.
    const filter = parseFilter({ where: body.where, folder: body.folder });
    const top = body.top === undefined ? undefined : intParam(body.top, 'top', { min: 1, max: 100, fallback: 1 });
    // Within this client's turn: its share of the queue is checked and its job added as one step.
    const { state, job } = await clientTurn(before.client, async () => {
      let done;
      try {
        // Room in the queue and in the client's share of it, checked before the upload is consumed,
        // so a refused client can complete the same upload later without sending it again.
        await jobs.assertRoomFor(before.purpose);
        if ((await jobs.store.countUnfinishedOf(before.client)) >= ctx.settings.maxJobsPerClient) throw new TooManyJobsError(ctx.settings.maxJobsPerClient);
        done = await uploads.complete(
          id,
          (sniff) => join(before.purpose === 'index' ? ctx.dirs.media : ctx.dirs.queries, `${randomUUID()}.${sniff.ext}`),
          body.sha256 as string | undefined,
        );
      } catch (err) {
        reject(describeError(err).body.error.code);
        throw err;
      }
      const { state, path, sniff } = done;
      try {
        // Corrupt, truncated or audio-only files (and damaged or foreign signatures) are refused now, not as a failed job later.
        if (sniff.kind === 'signature') await ctx.engine.checkSignature?.(path, state.purpose);
        else if (ctx.engine.probe) await ctx.engine.probe(path);
        const job = await jobs.submit(
          state.purpose,
          {
            path,
            fileName: state.fileName,
            uploadId: state.id,
            ownsFile: true,
            client: state.client,
            session: state.session,
            ...(state.purpose === 'index'
              ? {
                  title: state.title ?? state.fileName.replace(/\.[A-Za-z0-9]{1,8}$/, ''),
                  metadata: {
                    originalName: state.fileName,
                    uploadedAt: new Date().toISOString(),
                    format: sniff.label,
                    ...(state.mimeType ? { mimeType: state.mimeType } : {}),
                  },
                }
              : { limit, mediaKind: sniff.kind, ...filter, ...(top !== undefined ? { top } : {}) }),
          },
          { apiKeyId: state.apiKeyId },
        );
        return { state, job };
      } catch (err) {
        reject(describeError(err).body.error.code);
        await rm(path, { force: true });
        await uploads.remove(id).catch(() => {});
        throw err;
      }
    });
    const after = await uploads.markCompleted(id, job.id);
    metrics.uploadsCompleted.inc({ purpose: state.purpose });
    res.status(201).setHeader('Location', `${req.baseUrl}/jobs/${job.id}`);
    res.json({ upload: uploadView(req, after), job: jobView(req, ctx, job, false) });
  });

  return router;
}

import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from 'pino';
import { RetraceError, type RetraceErrorCode } from '../core/errors/retrace-error.js';
import { scrubPaths } from './redact.js';

/**
 * The one place that turns errors into HTTP responses. Every error body is
 * `{"error": {"code": "...", "message": "..."}}`.
 */

/** HTTP status per library error code. `Record` makes a new code a compile error until it has a row here. */
export const HTTP_STATUS: Record<RetraceErrorCode, number> = {
  EMPTY_FILE: 400,
  FILE_NOT_FOUND: 404,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA: 415,
  NO_VIDEO_STREAM: 422,
  CORRUPT_MEDIA: 422,
  DECODER_KILLED: 503,
  MEDIA_TOO_LONG: 422,
  TOO_MANY_FRAMES: 422,
  INVALID_DIMENSIONS: 422,
  FFMPEG_NOT_FOUND: 500,
  FFMPEG_UNUSABLE: 500,
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  // The server opens (and creates) its database at start; a missing one is its configuration's fault.
  DB_NOT_FOUND: 500,
  DB_LOCKED: 503,
  DB_ERROR: 500,
  // Raised by restore (CLI), never in a request.
  DB_NOT_EMPTY: 409,
  // In a request only an uploaded signature made with another descriptor raises it: the client's
  // file, not the server's fault. (The server's own database is checked at start-up.)
  DESCRIPTOR_MISMATCH: 422,
  DESCRIPTOR_ERROR: 500,
  BAD_SIGNATURE: 422,
  UPLOAD_ERROR: 400,
  // tus checksum extension.
  CHECKSUM_MISMATCH: 460,
  SIZE_MISMATCH: 409,
  TOO_MANY_UPLOADS: 429,
  // Per-client limits: the client may go on once it finishes or cancels something of its own.
  UPLOAD_QUOTA_EXCEEDED: 429,
  TOO_MANY_JOBS: 429,
  RATE_LIMITED: 429,
  // RFC 4918: the server cannot store what the request needs. Not the client's fault, so not a 4xx.
  INSUFFICIENT_STORAGE: 507,
  // RFC 4331 (WebDAV quotas) answers a request over the client's quota with 507 as well; waiting
  // does not help, so not a 429.
  STORAGE_QUOTA_EXCEEDED: 507,
  // The whole server is busy, not this client over its share.
  QUEUE_FULL: 503,
  ABORTED: 503,
  // A job's worker died; the job runs again, so a client asking now should ask again later.
  WORKER_LOST: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  // RFC 9110: "the request was directed at a server that is unable or unwilling to produce an
  // authoritative response" for that host — exactly a Host outside the allowed list.
  HOST_NOT_ALLOWED: 421,
  // Raised at start-up, never in a request.
  INSECURE_SERVER: 500,
};

/** Headers that go with some codes (RFC 6750: a 401 names the scheme, a 403 the missing scope). */
function headersFor(err: RetraceError): Record<string, string> | undefined {
  if (err.code === 'UNAUTHORIZED') return { 'WWW-Authenticate': 'Bearer realm="retrace"' };
  if (err.code === 'FORBIDDEN') {
    const needed = typeof err.details?.needed === 'string' ? err.details.needed : '';
    return { 'WWW-Authenticate': `Bearer realm="retrace", error="insufficient_scope", scope="${needed}"` };
  }
  // Errors that know when trying again makes sense (a full queue, a full disk).
  if (typeof err.details?.retryAfterSec === 'number') return { 'Retry-After': String(err.details.retryAfterSec) };
  return undefined;
}

/** An error that only makes sense over HTTP (route not found, job not finished yet, …). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Status and body for any thrown value. Unknown errors become a 500 that does not leak internals. */
export function describeError(err: unknown): { status: number; body: ErrorBody; headers?: Record<string, string>; internal: boolean } {
  if (err instanceof RetraceError) {
    const status = HTTP_STATUS[err.code] ?? 500;
    return { status, body: { error: { code: err.code, message: scrubPaths(err.message) } }, headers: headersFor(err), internal: status >= 500 };
  }
  if (err instanceof HttpError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message } }, headers: err.headers, internal: err.status >= 500 };
  }
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string; expose?: boolean } | null;
  // body-parser errors carry a 4xx status.
  const status = e && (e.status ?? e.statusCode);
  if (typeof status === 'number' && status >= 400 && status < 500) {
    let code = 'INVALID_ARGUMENT';
    let message = e?.message ?? 'Bad request';
    if (e?.type === 'entity.parse.failed') message = 'Request body is not valid JSON';
    else if (e?.type === 'entity.too.large') {
      code = 'FILE_TOO_LARGE';
      message = 'Request body is too large';
    } else if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') message = 'Unsupported request body encoding';
    return { status, body: { error: { code, message } }, internal: false };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'Internal server error' } }, internal: true };
}

/** Errors Node raises when the other end of the connection went away. */
const HANGUP_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ECANCELED']);

/** Whether `err` only says the client hung up (closed the tab, lost its network, cancelled). */
export function isClientHangup(err: unknown, req: Request, res: Response): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'string' && HANGUP_CODES.has(e.code)) return true;
  // A body cut short ("Request aborted", a tus PATCH whose client left), with the socket gone.
  // (Not req.destroyed alone: a request whose body was read to the end is destroyed too.)
  const gone = req.socket?.destroyed === true || res.destroyed || (req.destroyed && !req.complete);
  return gone && !(err instanceof RetraceError) && !(err instanceof HttpError);
}

export function errorHandler(log: (message: string, err?: unknown) => void, logger?: Logger): ErrorRequestHandler {
  return (err, req: Request, res, next) => {
    // Nobody is left to answer, and it is not the server's failure: no log, no stack trace.
    if (isClientHangup(err, req, res)) {
      if (!res.destroyed) res.destroy();
      return;
    }
    const { status, body, headers, internal } = describeError(err);
    if (internal) {
      const reqId = typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
      if (logger) logger.error({ reqId, method: req.method, url: req.originalUrl, err }, 'request failed');
      else log(`${req.method} ${req.originalUrl} failed${reqId ? ` (request ${reqId})` : ''}`, err);
    }
    if (res.headersSent) {
      // A stream (SSE, video) broke mid-way: all we can do is end it.
      res.end();
      return;
    }
    if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (status === 429 || status === 503) res.setHeader('Retry-After', res.getHeader('Retry-After') ?? '5');
    // Read and discard a body we refuse, so the client sees the answer instead of a reset connection.
    if (!req.complete) req.resume();
    res.status(status).json(body);
    void next;
  };
}

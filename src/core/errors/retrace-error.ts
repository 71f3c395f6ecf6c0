/**
 * Every failure retrace reports on purpose is a RetraceError with a stable `code`.
 * The CLI maps codes to exit codes and the server to HTTP statuses, each in one place,
 * so adding an error means adding a row to those tables, not a new branch.
 */
export type RetraceErrorCode =
  | 'EMPTY_FILE'
  | 'FILE_NOT_FOUND'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA'
  | 'NO_VIDEO_STREAM'
  | 'CORRUPT_MEDIA'
  | 'DECODER_KILLED'
  | 'MEDIA_TOO_LONG'
  | 'TOO_MANY_FRAMES'
  | 'INVALID_DIMENSIONS'
  | 'FFMPEG_NOT_FOUND'
  | 'FFMPEG_UNUSABLE'
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'DB_NOT_FOUND'
  | 'DB_LOCKED'
  | 'DB_ERROR'
  | 'DB_NOT_EMPTY'
  | 'DESCRIPTOR_MISMATCH'
  | 'DESCRIPTOR_ERROR'
  | 'BAD_SIGNATURE'
  | 'UPLOAD_ERROR'
  | 'CHECKSUM_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'TOO_MANY_UPLOADS'
  | 'UPLOAD_QUOTA_EXCEEDED'
  | 'STORAGE_QUOTA_EXCEEDED'
  | 'INSUFFICIENT_STORAGE'
  | 'RATE_LIMITED'
  | 'QUEUE_FULL'
  | 'TOO_MANY_JOBS'
  | 'ABORTED'
  | 'WORKER_LOST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'HOST_NOT_ALLOWED'
  | 'INSECURE_SERVER';

/** Base class: `code` is stable and safe to branch on; `message` is for people. */
export class RetraceError extends Error {
  readonly code: RetraceErrorCode;
  readonly details?: Record<string, unknown>;
  constructor(code: RetraceErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }
  /** The `{ code, message }` shape used in CLI JSON output and HTTP error bodies. */
  toJSON(): { code: RetraceErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The input file has zero bytes. */
export class EmptyFileError extends RetraceError {
  constructor(path: string) {
    super('EMPTY_FILE', `File is empty: ${path}`);
  }
}
/** The input path does not exist or is not a regular file. */
export class FileNotFoundError extends RetraceError {
  constructor(path: string) {
    super('FILE_NOT_FOUND', `No such file: ${path}`);
  }
}
/** The input is larger than the configured `maxFileBytes`. */
export class FileTooLargeError extends RetraceError {
  constructor(bytes: number, limit: number) {
    super('FILE_TOO_LARGE', `File is ${formatBytes(bytes)}, over the limit of ${formatBytes(limit)}`, { details: { bytes, limit } });
  }
}
/** ffprobe could not recognise the file as audio, video or image media. */
export class UnsupportedMediaError extends RetraceError {
  constructor(message: string, cause?: unknown) {
    super('UNSUPPORTED_MEDIA', message, { cause });
  }
}
/** The file is media but has no video stream (for example an audio-only file). */
export class NoVideoStreamError extends RetraceError {
  constructor(path: string) {
    super('NO_VIDEO_STREAM', `No video stream in ${path} (audio-only or data-only file)`);
  }
}
/** The container was recognised but decoding failed or produced no frames (truncated or damaged). */
export class CorruptMediaError extends RetraceError {
  constructor(message: string, cause?: unknown) {
    super('CORRUPT_MEDIA', message, { cause });
  }
}
/**
 * The decoder (ffmpeg) was killed by a signal from outside retrace (the OOM killer, an operator):
 * nothing says the file is bad, and a job that hit it is retried.
 */
export class DecoderKilledError extends RetraceError {
  constructor(signal: string) {
    super('DECODER_KILLED', `The decoder (ffmpeg) was killed by ${signal} while reading the file`, { details: { signal } });
  }
}
/** The video is longer than the configured `maxDurationSec`. */
export class MediaTooLongError extends RetraceError {
  constructor(durationSec: number, limit: number) {
    super('MEDIA_TOO_LONG', `Video lasts ${durationSec.toFixed(1)} s, over the limit of ${limit} s`, { details: { durationSec, limit } });
  }
}
/** Sampling would store more frames than `maxFramesPerVideo`. */
export class TooManyFramesError extends RetraceError {
  constructor(limit: number) {
    super('TOO_MANY_FRAMES', `Video yields more than ${limit} sampled frames; raise maxFramesPerVideo or the sampling interval`);
  }
}
/** Width or height outside the accepted range. */
export class InvalidDimensionsError extends RetraceError {
  constructor(width: number, height: number, min: number, max: number) {
    super('INVALID_DIMENSIONS', `Video is ${width}×${height}; each side must be between ${min} and ${max} pixels`, { details: { width, height } });
  }
}
/** No usable ffmpeg/ffprobe binary was found. */
export class FfmpegNotFoundError extends RetraceError {
  constructor(message: string) {
    super('FFMPEG_NOT_FOUND', message);
  }
}
/**
 * An ffmpeg or ffprobe binary was found but cannot be used: not an executable file, or it fails
 * to run `-version` (wrong architecture, missing libraries, a broken wrapper). An environment
 * problem, not a problem with the media.
 */
export class FfmpegUnusableError extends RetraceError {
  constructor(message: string, cause?: unknown) {
    super('FFMPEG_UNUSABLE', message, { cause });
  }
}
/** A caller passed an argument that cannot be used. */
export class InvalidArgumentError extends RetraceError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}
/** A path that must name a folder (`sync`) names a file. */
export class NotADirectoryError extends RetraceError {
  constructor(path: string) {
    super('INVALID_ARGUMENT', `Not a folder: ${path}`, { details: { path } });
  }
}
/** A search filter (`where`, `folder`) that cannot be applied. */
export class InvalidFilterError extends RetraceError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}
/** A video, job or upload id that does not exist. */
export class NotFoundError extends RetraceError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', `${what} not found: ${id}`, { details: { id } });
  }
}
/** Another process holds the embedded data directory. */
export class DatabaseLockedError extends RetraceError {
  constructor(dir: string, pid: number | undefined) {
    super(
      'DB_LOCKED',
      `Database directory ${dir} is in use by another process${pid ? ` (pid ${pid})` : ''}; close it first or use a PostgreSQL server for concurrent access`,
    );
  }
}
/**
 * The database named does not exist, or holds no retrace index, and the caller asked not to
 * create one (`Retrace.open({ create: false })`: the CLI's search, list, stats and remove).
 */
export class DatabaseNotFoundError extends RetraceError {
  constructor(location: string, reason: string) {
    super('DB_NOT_FOUND', `No retrace index at ${location}: ${reason}`, { details: { location } });
  }
}
/** The database failed in a way retrace did not expect. */
export class DatabaseError extends RetraceError {
  constructor(message: string, cause?: unknown) {
    super('DB_ERROR', message, { cause });
  }
}
/** The database was built with a different descriptor than the one configured. */
export class DescriptorMismatchError extends RetraceError {
  constructor(stored: string, configured: string) {
    super(
      'DESCRIPTOR_MISMATCH',
      `This index was built with descriptor "${stored}" but "${configured}" is configured; use the same descriptor or a new database`,
    );
  }
}
/**
 * A video signature (`retrace signatures make`) made with another descriptor than this index's:
 * its vectors cannot be compared with the stored ones.
 */
export class SignatureDescriptorMismatchError extends RetraceError {
  constructor(signature: string, index: string) {
    super(
      'DESCRIPTOR_MISMATCH',
      `The signature was made with descriptor "${signature}" but this index uses "${index}"; make it again with the index's descriptor`,
      {
        details: { signature, index },
      },
    );
  }
}
/** A signature file that is not one, is truncated or damaged, or of a version this retrace cannot read. */
export class BadSignatureError extends RetraceError {
  constructor(message: string) {
    super('BAD_SIGNATURE', message);
  }
}
/** A descriptor (for example an ONNX model) could not be loaded or run. */
export class DescriptorError extends RetraceError {
  constructor(message: string, cause?: unknown) {
    super('DESCRIPTOR_ERROR', message, { cause });
  }
}
/** A restore into a database that already holds videos (it only loads into an empty index). */
export class DatabaseNotEmptyError extends RetraceError {
  constructor(location: string, videos: number) {
    super('DB_NOT_EMPTY', `${location} already holds ${videos} videos; restore into an empty database`, { details: { videos } });
  }
}
/** The operation was cancelled through an AbortSignal. */
export class AbortedError extends RetraceError {
  constructor() {
    super('ABORTED', 'Operation was aborted');
  }
}
/**
 * The process running a job stopped (killed, crashed, its machine gone) before the job ended.
 * Passing: the job is queued again for another worker, this error kept on it while it waits
 * (JobStore.recoverInterrupted writes the same code and message in SQL).
 */
export class WorkerLostError extends RetraceError {
  constructor(stage: string) {
    super('WORKER_LOST', `The process running this job stopped (it was ${stage}); it runs again`);
  }
}

/** A request that needs an API key came without one, or with one that is unknown or revoked. */
export class UnauthorizedError extends RetraceError {
  constructor(message = 'This server requires an API key: send "Authorization: Bearer <key>" (create one with `retrace keys create`)') {
    super('UNAUTHORIZED', message);
  }
}
/** A valid API key whose scope does not allow the action. */
export class ForbiddenError extends RetraceError {
  constructor(action: string, needed: string, have: string) {
    super('FORBIDDEN', `${action} needs a key with scope "${needed}" or above; this key has scope "${have}"`, { details: { needed, have } });
  }
}
/** The request's Host header is not one this server answers to (DNS rebinding protection). */
export class HostNotAllowedError extends RetraceError {
  constructor(host: string) {
    super(
      'HOST_NOT_ALLOWED',
      `This server does not answer to host "${host.slice(0, 100)}"; start it with --allowed-host ${host.replace(/:\d+$/, '').slice(0, 100) || 'NAME'} to allow it`,
    );
  }
}
/** `retrace serve` on a non-loopback address while no API key exists (and no explicit opt-out). */
export class InsecureServerError extends RetraceError {
  constructor(host: string) {
    super(
      'INSECURE_SERVER',
      `Refusing to serve on ${host} without API keys: anyone who can reach it could delete videos and read other people's searches. Create a key first (retrace keys create --scope admin), listen on 127.0.0.1, or pass --insecure-no-auth`,
    );
  }
}

/** The client already has `limit` uploads receiving bytes. */
export class TooManyUploadsError extends RetraceError {
  constructor(limit: number) {
    super('TOO_MANY_UPLOADS', `You have ${limit} uploads in progress (the limit per client); finish or cancel one, or wait for unfinished ones to expire`, {
      details: { limit },
    });
  }
}
/** The client's unfinished uploads would hold more bytes than its quota. */
export class UploadQuotaError extends RetraceError {
  constructor(heldBytes: number, wantedBytes: number, limit: number) {
    super(
      'UPLOAD_QUOTA_EXCEEDED',
      `Your unfinished uploads already reserve ${formatBytes(heldBytes)}; ${formatBytes(wantedBytes)} more would pass the limit of ${formatBytes(limit)} per client. Finish or cancel an upload first`,
      { details: { heldBytes, wantedBytes, limit } },
    );
  }
}
/** The videos the server keeps for a client would pass its quota of stored bytes. */
export class StorageQuotaError extends RetraceError {
  constructor(storedBytes: number, wantedBytes: number, limit: number) {
    super(
      'STORAGE_QUOTA_EXCEEDED',
      `The server keeps ${formatBytes(storedBytes)} of videos you uploaded; ${formatBytes(wantedBytes)} more would pass your quota of ${formatBytes(limit)}. An admin can remove videos or raise the quota`,
      { details: { storedBytes, wantedBytes, limit } },
    );
  }
}
/** The server's disk would drop below its free-space threshold. */
export class InsufficientStorageError extends RetraceError {
  constructor(wantedBytes: number) {
    // Neither the free space nor the threshold: how full the server's disk is is not the client's business.
    super('INSUFFICIENT_STORAGE', `The server has no room for ${formatBytes(wantedBytes)} more right now; try again later`, {
      details: { wantedBytes, retryAfterSec: 300 },
    });
  }
}
/** The client sent more requests in the window than the server allows. */
export class RateLimitedError extends RetraceError {
  constructor(limit: number, windowSec: number) {
    super('RATE_LIMITED', `Too many requests: the limit is ${limit} per ${windowSec} s per client; wait for the time in Retry-After`, {
      details: { limit, windowSec },
    });
  }
}
/** The job queue holds as many waiting jobs as it may. */
export class QueueFullError extends RetraceError {
  constructor(limit: number) {
    super('QUEUE_FULL', `The server has ${limit} jobs waiting, its limit; try again later`, { details: { limit, retryAfterSec: 30 } });
  }
}
/** The client already has as many unfinished jobs as one client may. */
export class TooManyJobsError extends RetraceError {
  constructor(limit: number) {
    super('TOO_MANY_JOBS', `You have ${limit} jobs queued or running (the limit per client); wait for one to finish`, {
      details: { limit, retryAfterSec: 10 },
    });
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Narrow an unknown thrown value to a RetraceError, wrapping anything else as `fallback`. */
export function asRetraceError(err: unknown, fallback: (message: string, cause: unknown) => RetraceError): RetraceError {
  if (err instanceof RetraceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return fallback(message, err);
}

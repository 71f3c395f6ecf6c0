import type { RetraceErrorCode } from '../core/errors/retrace-error.js';
import { RetraceError } from '../core/errors/retrace-error.js';

/**
 * Documented exit codes. 0 success; 1 some inputs failed (index) or an unexpected error;
 * 2 usage; the rest by error family so scripts can branch without parsing messages.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  badMedia: 3,
  tooLarge: 4,
  notFound: 5,
  database: 6,
  environment: 7,
  /** Refused for safety: serving on a public address without keys, or a key missing or too weak. */
  refused: 8,
} as const;

const BY_CODE: Record<RetraceErrorCode, number> = {
  EMPTY_FILE: EXIT.badMedia,
  UNSUPPORTED_MEDIA: EXIT.badMedia,
  NO_VIDEO_STREAM: EXIT.badMedia,
  CORRUPT_MEDIA: EXIT.badMedia,
  DECODER_KILLED: EXIT.failed,
  INVALID_DIMENSIONS: EXIT.badMedia,
  FILE_TOO_LARGE: EXIT.tooLarge,
  MEDIA_TOO_LONG: EXIT.tooLarge,
  TOO_MANY_FRAMES: EXIT.tooLarge,
  FILE_NOT_FOUND: EXIT.notFound,
  NOT_FOUND: EXIT.notFound,
  DB_NOT_FOUND: EXIT.notFound,
  DB_LOCKED: EXIT.database,
  DB_ERROR: EXIT.database,
  DB_NOT_EMPTY: EXIT.database,
  DESCRIPTOR_MISMATCH: EXIT.database,
  FFMPEG_NOT_FOUND: EXIT.environment,
  FFMPEG_UNUSABLE: EXIT.environment,
  DESCRIPTOR_ERROR: EXIT.environment,
  BAD_SIGNATURE: EXIT.badMedia,
  INVALID_ARGUMENT: EXIT.usage,
  UPLOAD_ERROR: EXIT.failed,
  CHECKSUM_MISMATCH: EXIT.failed,
  SIZE_MISMATCH: EXIT.failed,
  TOO_MANY_UPLOADS: EXIT.failed,
  // Server-side limits; the CLI does not meet them, but a script through the library may.
  UPLOAD_QUOTA_EXCEEDED: EXIT.tooLarge,
  STORAGE_QUOTA_EXCEEDED: EXIT.tooLarge,
  INSUFFICIENT_STORAGE: EXIT.environment,
  RATE_LIMITED: EXIT.failed,
  QUEUE_FULL: EXIT.failed,
  TOO_MANY_JOBS: EXIT.failed,
  ABORTED: EXIT.failed,
  WORKER_LOST: EXIT.failed,
  UNAUTHORIZED: EXIT.refused,
  FORBIDDEN: EXIT.refused,
  HOST_NOT_ALLOWED: EXIT.refused,
  INSECURE_SERVER: EXIT.refused,
};

export function exitCodeFor(err: unknown): number {
  return err instanceof RetraceError ? (BY_CODE[err.code] ?? EXIT.failed) : EXIT.failed;
}

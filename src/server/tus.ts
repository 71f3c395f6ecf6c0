import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { open, truncate, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { InvalidArgumentError } from '../core/errors/retrace-error.js';
import { isUuid } from '../core/jobs/job-store.js';

/**
 * tus 1.0 (core, creation, creation-with-upload, termination, expiration, checksum) for
 * `/api/uploads`, through @tus/server and @tus/file-store. What retrace decides about an upload
 * (who owns it, per-client limits, free disk, sniffing, the job) stays in routes-uploads.ts and
 * UploadStore, which run before a request reaches tus; this module only moves bytes.
 */

/** Checksum algorithms accepted in `Upload-Checksum` (node's names; the tus ones are the same). */
export const TUS_CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const;
type ChecksumAlgorithm = (typeof TUS_CHECKSUM_ALGORITHMS)[number];

/** What one request tells tus that tus cannot learn from the request itself. */
interface TusRequestContext {
  /** The id UploadStore reserved for a creation request (tus asks `namingFunction` for it). */
  id?: string;
  /** `<mount>/api/uploads`, for the Location header (the app may be mounted under a prefix). */
  base: string;
  checksum?: { algorithm: ChecksumAlgorithm; digest: string };
}

const requestContext = new AsyncLocalStorage<TusRequestContext>();

/** The tus checksum status (not in RFC 9110): the PATCH's bytes were discarded. */
/** As @tus/file-store answers a missing bytes file (410) and a failed write (500). */
const UPLOAD_GONE = { status_code: 410, body: 'The file for this url no longer exists\n' };
const FILE_WRITE_ERROR = { status_code: 500, body: 'Something went wrong receiving the file\n' };
const CHECKSUM_MISMATCH = { status_code: 460, body: 'Checksum Mismatch: the bytes of this request were discarded; send them again\n' };

/**
 * @tus/file-store plus the checksum extension, which @tus/server 2.x does not implement: the
 * request body is hashed as it is written and, on a mismatch, the file is cut back to the offset
 * the request started at, so the upload resumes from there. Without `creation-defer-length`:
 * retrace checks quotas and free disk against the size at creation.
 */
class ChecksumFileStore extends FileStore {
  constructor(options: { directory: string; expirationPeriodInMilliseconds: number }) {
    super(options);
    this.extensions = [...this.extensions.filter((e) => e !== 'creation-defer-length'), 'checksum'];
  }

  /**
   * @tus/file-store's write, with the bytes file opened before the body is touched. An upload
   * terminated (DELETE, answered by UploadStore beside tus's locks) while this PATCH was between
   * tus's look-up and its write used to make tus open a missing path: 500, with the server's
   * path in the body (found by test/server/upload-fuzz.test.ts). Now that is 410, the upload is
   * gone; and once the file is open, a DELETE only unlinks it under this write.
   */
  override async write(readable: IncomingMessage | Readable, id: string, offset: number): Promise<number> {
    let file: FileHandle;
    try {
      file = await open(join(this.directory, id), 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw UPLOAD_GONE;
      throw err;
    }
    const want = requestContext.getStore()?.checksum;
    if (!want) return writeAt(file, readable, offset);
    const hash = createHash(want.algorithm);
    const hashing = new PassThrough();
    hashing.on('data', (chunk: Buffer) => hash.update(chunk));
    pipeline(readable, hashing, () => {});
    let end: number;
    try {
      end = await writeAt(file, hashing, offset);
    } catch (err) {
      // Bytes that cannot be checked are not kept (tus checksum extension).
      await truncate(join(this.directory, id), offset).catch(() => {});
      throw err;
    }
    if (hash.digest('base64') !== want.digest) {
      await truncate(join(this.directory, id), offset).catch(() => {});
      throw CHECKSUM_MISMATCH;
    }
    return end;
  }
}

/** Write `readable` into the open `file` from `offset` (closing it); the new offset. A failed write is tus's 500, as in @tus/file-store. */
async function writeAt(file: FileHandle, readable: Readable, offset: number): Promise<number> {
  let received = 0;
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipelineAsync(readable, counting, file.createWriteStream({ start: offset }));
  } catch {
    throw FILE_WRITE_ERROR;
  }
  return offset + received;
}

/** `Upload-Checksum: <algorithm> <base64>` → what to check, or InvalidArgumentError (400, as tus asks for an unsupported algorithm). */
export function parseUploadChecksum(header: string | undefined): TusRequestContext['checksum'] {
  if (header === undefined) return undefined;
  const m = /^\s*([A-Za-z0-9-]+)\s+([A-Za-z0-9+/]+={0,2})\s*$/.exec(header);
  if (!m) throw new InvalidArgumentError('Upload-Checksum must be "<algorithm> <base64 digest>"');
  const algorithm = m[1].toLowerCase();
  if (!(TUS_CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new InvalidArgumentError(`Upload-Checksum algorithm "${m[1]}" is not supported; use one of ${TUS_CHECKSUM_ALGORITHMS.join(', ')}`);
  }
  return { algorithm: algorithm as ChecksumAlgorithm, digest: m[2] };
}

/** `Upload-Metadata` (comma-separated `key base64value`) → decoded values; InvalidArgumentError when malformed. */
export function parseUploadMetadata(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const pair of header.split(',')) {
    const [key, value, ...rest] = pair.trim().split(' ');
    if (!key || rest.length > 0 || !/^[\x21-\x7e]+$/.test(key) || (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value))) {
      throw new InvalidArgumentError('Upload-Metadata must be comma-separated "key base64value" pairs');
    }
    out[key] = value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

export interface TusEndpoint {
  /** Hand a request to tus once retrace has checked it; resolves when the response is sent. */
  handle(req: IncomingMessage, res: ServerResponse, context: TusRequestContext): Promise<void>;
}

export function createTusEndpoint(options: {
  directory: string;
  maxFileBytes: number;
  /** Unfinished uploads expire this long after creation (`Upload-Expires`); UploadStore sweeps them. */
  ttlMs: number;
}): TusEndpoint {
  const server = new Server({
    path: '/api/uploads',
    datastore: new ChecksumFileStore({ directory: options.directory, expirationPeriodInMilliseconds: options.ttlMs }),
    maxSize: options.maxFileBytes,
    relativeLocation: true,
    // No Access-Control-Allow-Origin: CORS stays off, as on every other route.
    allowedOrigins: () => false,
    exposedHeaders: ['Upload-Checksum'],
    namingFunction: () => {
      const id = requestContext.getStore()?.id;
      // Only creation requests that UploadStore accepted reach tus with an id.
      if (!id) throw { status_code: 500, body: 'upload id not reserved\n' };
      return id;
    },
    generateUrl: (_req, { id }) => `${requestContext.getStore()?.base ?? '/api/uploads'}/${id}`,
    // The last path segment, whatever prefix the app is mounted under.
    getFileIdFromRequest: (req) => {
      const last = new URL(req.url).pathname.split('/').pop() ?? '';
      return isUuid(last) ? last : undefined;
    },
  });
  return {
    handle: (req, res, context) => requestContext.run(context, () => server.handle(req, res)),
  };
}

import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EmptyFileError,
  FileTooLargeError,
  InsufficientStorageError,
  InvalidArgumentError,
  NotFoundError,
  RetraceError,
  TooManyUploadsError,
  UnsupportedMediaError,
  UploadQuotaError,
  formatBytes,
} from '../core/errors/retrace-error.js';
import { isUuid } from '../core/jobs/job-store.js';
import { HttpError } from './errors.js';
import { looksLikeMedia, sniffFile, type SniffResult } from './sniff.js';

/**
 * Resumable uploads on disk, in the spirit of tus: an upload is created with its total size,
 * bytes arrive as chunks at any offset, in any order, possibly in parallel or twice; the
 * server records which byte ranges it holds, so a client can ask and send only what is
 * missing. Each upload is `<id>.part` (bytes, written in place at their offsets) and
 * `<id>.json` (state), so uploads survive a server restart. Unfinished uploads expire.
 */

export type UploadPurpose = 'search' | 'index';
export type UploadStatus = 'receiving' | 'completed';
/**
 * How the bytes arrive: `tus` (tus 1.0 through @tus/server, bytes in `tus/<id>` written by
 * @tus/file-store, in order) or `chunks` (retrace's earlier multipart chunks at any offset).
 */
export type UploadProtocol = 'tus' | 'chunks';

export interface UploadState {
  id: string;
  fileName: string;
  size: number;
  purpose: UploadPurpose;
  mimeType: string | null;
  sha256: string | null;
  title: string | null;
  /** Chunk size the client should use (any size up to `maxChunkBytes` is accepted). */
  chunkSize: number;
  maxChunkBytes: number;
  /** Stored byte ranges, sorted and merged, as half-open [start, end). */
  received: Array<[number, number]>;
  status: UploadStatus;
  protocol: UploadProtocol;
  jobId: string | null;
  /** The API key that created the upload (null without keys); only it or an admin may use it. */
  apiKeyId: string | null;
  /** The anonymous public-search session that created it (hash), else null. */
  session: string | null;
  /** Whom the upload counts against in per-client limits (`key:<id>` or `ip:<address>`). */
  client: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
}

export interface UploadLimits {
  maxFileBytes: number;
  chunkBytes: number;
  maxChunkBytes: number;
  /** Uploads receiving bytes per client. */
  maxUploadsPerClient: number;
  /** Declared bytes of one client's uploads receiving bytes. */
  maxClientUploadBytes: number;
  /** Bytes that must stay free on the upload directory's disk. */
  minFreeDiskBytes: number;
  ttlMs: number;
}

/** Who creates an upload. */
export interface UploadOwner {
  apiKeyId: string | null;
  session?: string | null;
  client: string;
}

export interface CreateUploadInput {
  fileName?: unknown;
  size?: unknown;
  purpose?: unknown;
  sha256?: unknown;
  mimeType?: unknown;
  title?: unknown;
}

export function receivedBytes(ranges: ReadonlyArray<[number, number]>): number {
  return ranges.reduce((n, [a, b]) => n + (b - a), 0);
}

/** Insert [start, end) into sorted, merged ranges (touching ranges merge). */
export function addRange(ranges: ReadonlyArray<[number, number]>, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let s = start;
  let e = end;
  let placed = false;
  for (const [a, b] of ranges) {
    if (b < s) out.push([a, b]);
    else if (a > e) {
      if (!placed) {
        out.push([s, e]);
        placed = true;
      }
      out.push([a, b]);
    } else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  if (!placed) out.push([s, e]);
  return out;
}

/** Gaps of [0, size) not covered by `ranges`. */
export function missingRanges(ranges: ReadonlyArray<[number, number]>, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let pos = 0;
  for (const [a, b] of ranges) {
    if (a > pos) out.push([pos, a]);
    pos = Math.max(pos, b);
  }
  if (pos < size) out.push([pos, size]);
  return out;
}

interface Entry {
  state: UploadState;
  /** Chunk writes in progress. */
  writing: number;
  completing: boolean;
  /** Serialises writes of the state file. */
  saving: Promise<void>;
  deleted: boolean;
}

export interface CompletedUpload {
  state: UploadState;
  /** The stored file, moved out of the upload area. */
  path: string;
  sniff: SniffResult;
}

export class UploadStore {
  private readonly entries = new Map<string, Entry>();
  readonly dir: string;
  /** Where multer writes incoming chunks before they are copied into place. */
  readonly chunkDir: string;

  constructor(
    dir: string,
    readonly limits: UploadLimits,
    /** Free bytes on the disk holding `dir` (injectable so tests can set a threshold, not fake a disk). */
    private readonly freeBytes: (dir: string) => Promise<number>,
  ) {
    this.dir = dir;
    this.chunkDir = join(dir, 'incoming');
    this.tusDir = join(dir, 'tus');
  }

  /** Where @tus/file-store keeps the bytes (`<id>`) and its own record (`<id>.json`) of tus uploads. */
  readonly tusDir: string;

  /** Create the directories, reload uploads from disk, drop stray chunk files. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rm(this.chunkDir, { recursive: true, force: true });
    await mkdir(this.chunkDir, { recursive: true });
    await mkdir(this.tusDir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      const m = /^([0-9a-f-]{36})\.json$/.exec(name);
      if (!m) {
        // A .part without state cannot be resumed.
        const p = /^([0-9a-f-]{36})\.part$/.exec(name);
        if (p) {
          try {
            await stat(join(this.dir, `${p[1]}.json`));
          } catch {
            await rm(join(this.dir, name), { force: true });
          }
        }
        continue;
      }
      try {
        const state = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as UploadState;
        if (state.id !== m[1]) throw new Error('id mismatch');
        // Uploads saved before keys (or before per-client limits) have no owner fields.
        state.apiKeyId ??= null;
        state.session ??= null;
        state.client ??= state.apiKeyId ? `key:${state.apiKeyId}` : 'unknown';
        state.protocol ??= 'chunks';
        this.entries.set(state.id, { state, writing: 0, completing: false, saving: Promise.resolve(), deleted: false });
      } catch {
        await rm(join(this.dir, name), { force: true });
        await rm(join(this.dir, `${m[1]}.part`), { force: true });
      }
    }
    // tus bytes without a state of ours (a crash between the two writes) belong to nobody.
    for (const name of await readdir(this.tusDir)) {
      const id = name.replace(/\.json$/, '');
      if (!this.entries.has(id)) await rm(join(this.tusDir, name), { force: true });
    }
  }

  partPath(id: string): string {
    return this.entries.get(id)?.state.protocol === 'tus' ? join(this.tusDir, id) : join(this.dir, `${id}.part`);
  }
  private statePath(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  /** Uploads still receiving bytes. */
  activeCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state.status === 'receiving') n++;
    return n;
  }

  completedCount(): number {
    return this.entries.size - this.activeCount();
  }

  /** Uploads receiving bytes that count against `client`. */
  private receivingOf(client: string): UploadState[] {
    const out: UploadState[] = [];
    for (const e of this.entries.values()) if (e.state.status === 'receiving' && e.state.client === client) out.push(e.state);
    return out;
  }

  /** Limits per client, so one client's unfinished uploads never lock out another. */
  private assertQuota(client: string, size: number): void {
    const mine = this.receivingOf(client);
    if (mine.length >= this.limits.maxUploadsPerClient) throw new TooManyUploadsError(this.limits.maxUploadsPerClient);
    const held = mine.reduce((n, u) => n + u.size, 0);
    if (held + size > this.limits.maxClientUploadBytes) throw new UploadQuotaError(held, size, this.limits.maxClientUploadBytes);
  }

  /** Bytes every upload still receiving has declared but not yet sent: space already promised. */
  private promisedBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state.status === 'receiving') n += e.state.size - receivedBytes(e.state.received);
    return n;
  }

  /** InsufficientStorageError unless `bytes` more (beyond what is promised) leave the disk above its threshold. */
  async assertRoom(bytes: number, promised = this.promisedBytes()): Promise<void> {
    const free = await this.freeBytes(this.dir);
    if (free - promised - bytes < this.limits.minFreeDiskBytes) throw new InsufficientStorageError(bytes);
  }

  /** Before a chunk's body is read: its bytes land twice for a moment (multer's file, then the upload), within the space promised. */
  async assertRoomForChunk(length: number): Promise<void> {
    await this.assertRoom(2 * Math.min(length, this.limits.maxChunkBytes), 0);
  }

  /**
   * Check and record a new upload. For `tus`, @tus/file-store creates the bytes file right after
   * (under the id returned here), so the checks and limits are the same for both protocols.
   */
  async create(input: CreateUploadInput, owner: UploadOwner = { apiKeyId: null, client: 'local' }, protocol: UploadProtocol = 'chunks'): Promise<UploadState> {
    const { fileName, size, purpose, sha256, mimeType, title } = input;
    if (typeof fileName !== 'string' || fileName.trim() === '' || fileName.length > 255 || /[\u0000-\u001f]/.test(fileName)) {
      throw new InvalidArgumentError('fileName must be a non-empty string of at most 255 characters');
    }
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new InvalidArgumentError('size must be the file size in bytes (a non-negative integer)');
    }
    if (size === 0) throw new EmptyFileError(fileName);
    if (size > this.limits.maxFileBytes) throw new FileTooLargeError(size, this.limits.maxFileBytes);
    if (purpose !== 'search' && purpose !== 'index') throw new InvalidArgumentError('purpose must be "search" or "index"');
    if (sha256 !== undefined && sha256 !== null && (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256))) {
      throw new InvalidArgumentError('sha256 must be 64 hexadecimal characters');
    }
    if (mimeType !== undefined && mimeType !== null && (typeof mimeType !== 'string' || mimeType.length > 255)) {
      throw new InvalidArgumentError('mimeType must be a string');
    }
    if (title !== undefined && title !== null && (typeof title !== 'string' || title.length > 500)) {
      throw new InvalidArgumentError('title must be a string of at most 500 characters');
    }
    if (!looksLikeMedia(fileName, typeof mimeType === 'string' ? mimeType : undefined)) {
      throw new UnsupportedMediaError(
        `"${fileName}" is not a video or image file; upload a video (mp4, webm, mov, mkv, avi, …) or an image (jpg, png, webp, …)`,
      );
    }
    this.assertQuota(owner.client, size);
    await this.assertRoom(size);
    // Again after the await: another request of the same client may have created one meanwhile.
    this.assertQuota(owner.client, size);
    const now = Date.now();
    const state: UploadState = {
      id: randomUUID(),
      fileName: fileName.trim(),
      size,
      purpose,
      mimeType: typeof mimeType === 'string' ? mimeType : null,
      sha256: typeof sha256 === 'string' ? sha256.toLowerCase() : null,
      title: typeof title === 'string' && title.trim() ? title.trim() : null,
      chunkSize: Math.min(this.limits.chunkBytes, this.limits.maxChunkBytes),
      maxChunkBytes: this.limits.maxChunkBytes,
      received: [],
      status: 'receiving',
      protocol,
      jobId: null,
      apiKeyId: owner.apiKeyId,
      session: owner.session ?? null,
      client: owner.client,
      createdAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.limits.ttlMs).toISOString(),
    };
    // Counted from now on, before the first await, so parallel creates see it.
    const entry: Entry = { state, writing: 0, completing: false, saving: Promise.resolve(), deleted: false };
    this.entries.set(state.id, entry);
    try {
      if (protocol === 'chunks') await writeFile(this.partPath(state.id), Buffer.alloc(0));
      await this.save(entry);
    } catch (err) {
      await this.discard(state.id);
      throw err;
    }
    return { ...state };
  }

  get(id: string): UploadState {
    return { ...this.entry(id).state };
  }

  private entry(id: string): Entry {
    const e = isUuid(id) ? this.entries.get(id) : undefined;
    if (!e || e.deleted) throw new NotFoundError('Upload', id);
    return e;
  }

  /** Throws unless the upload can take a chunk; call before reading the request body. */
  assertReceiving(id: string, offset?: number): void {
    const e = this.entry(id);
    if (e.state.status !== 'receiving') throw new HttpError(409, 'UPLOAD_ERROR', `Upload ${id} is already complete`);
    if (e.completing) throw new HttpError(409, 'UPLOAD_ERROR', `Upload ${id} is being completed; it takes no more chunks`);
    if (offset !== undefined && offset >= e.state.size) {
      throw new RetraceError('CHUNK_OUT_OF_RANGE', `Chunk offset ${offset} is at or past the end of the ${e.state.size}-byte file`);
    }
  }

  /**
   * Copy a chunk (a file multer stored) into the upload at `offset`. Overlapping or repeated
   * chunks simply overwrite the same bytes. The caller deletes `chunkPath` afterwards.
   */
  async writeChunk(id: string, offset: number, chunkPath: string, length: number, sha256?: string): Promise<UploadState> {
    const e = this.entry(id);
    this.assertReceiving(id);
    const { size } = e.state;
    if (e.state.protocol === 'tus') throw new HttpError(409, 'UPLOAD_ERROR', `Upload ${id} was created with tus; send its bytes with PATCH (tus 1.0)`);
    if (length === 0) throw new InvalidArgumentError('Chunk is empty');
    if (length > this.limits.maxChunkBytes) throw new FileTooLargeError(length, this.limits.maxChunkBytes);
    if (offset + length > size) {
      throw new RetraceError('CHUNK_OUT_OF_RANGE', `Chunk [${offset}, ${offset + length}) runs past the end of the ${size}-byte file`);
    }
    e.writing++;
    try {
      if (sha256) {
        const actual = await hashFile(chunkPath);
        if (actual !== sha256.toLowerCase()) {
          throw new RetraceError('CHECKSUM_MISMATCH', `Chunk at offset ${offset} has SHA-256 ${actual}, expected ${sha256.toLowerCase()}; send it again`);
        }
      }
      await copyInto(chunkPath, this.partPath(id), offset, length);
      if (e.deleted) throw new NotFoundError('Upload', id);
      const now = Date.now();
      e.state.received = addRange(e.state.received, offset, offset + length);
      e.state.updatedAt = new Date(now).toISOString();
      e.state.expiresAt = new Date(now + this.limits.ttlMs).toISOString();
      await this.save(e);
      return { ...e.state };
    } finally {
      e.writing--;
    }
  }

  /**
   * Check and finish an upload: every byte present, the size on disk right, the SHA-256 right
   * (if one was given, now or at creation), the content a video or image. On success the file
   * is moved to `dest(sniff)` and the upload is marked completed. A checksum mismatch or
   * a non-media file deletes the upload; missing bytes leave it resumable.
   */
  async complete(id: string, dest: (sniff: SniffResult) => string, sha256?: string): Promise<CompletedUpload> {
    const e = this.entry(id);
    if (e.state.status === 'completed') throw new HttpError(409, 'UPLOAD_ERROR', `Upload ${id} is already complete (job ${e.state.jobId})`);
    if (e.completing) throw new HttpError(409, 'UPLOAD_ERROR', `Upload ${id} is already being completed`);
    if (e.writing > 0)
      throw new HttpError(409, 'UPLOAD_ERROR', `Upload ${id} still has ${e.writing} request(s) writing bytes; complete it once they are acknowledged`);
    if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) throw new InvalidArgumentError('sha256 must be 64 hexadecimal characters');
    e.completing = true;
    try {
      const { size } = e.state;
      // tus bytes arrive in order: what is on disk is the received prefix.
      if (e.state.protocol === 'tus') await this.syncTusOffset(e);
      const missing = missingRanges(e.state.received, size);
      if (missing.length > 0) {
        const have = receivedBytes(e.state.received);
        const shown = missing
          .slice(0, 5)
          .map(([a, b]) => `${a}-${b - 1}`)
          .join(', ');
        throw new RetraceError(
          'SIZE_MISMATCH',
          `Upload is incomplete: ${formatBytes(have)} of ${formatBytes(size)} received; missing bytes ${shown}${missing.length > 5 ? ', …' : ''}. Send the missing ranges, then complete again`,
          { details: { missing } },
        );
      }
      const onDisk = (await stat(this.partPath(id))).size;
      if (onDisk !== size) {
        await this.discard(id);
        throw new RetraceError('SIZE_MISMATCH', `Stored file has ${onDisk} bytes but the upload declared ${size}; the upload was discarded, start again`);
      }
      const expected = (sha256 ?? e.state.sha256 ?? undefined)?.toLowerCase();
      if (expected) {
        const actual = await hashFile(this.partPath(id));
        if (actual !== expected) {
          await this.discard(id);
          throw new RetraceError('CHECKSUM_MISMATCH', `File SHA-256 is ${actual} but ${expected} was expected; the upload was discarded, start again`);
        }
      }
      const sniff = await sniffFile(this.partPath(id));
      if (!sniff) {
        await this.discard(id);
        throw new UnsupportedMediaError(`"${e.state.fileName}" is not a recognised video or image format (the upload was discarded)`);
      }
      const target = dest(sniff);
      await rename(this.partPath(id), target);
      // @tus/file-store's record of the upload; ours says it is complete.
      if (e.state.protocol === 'tus') await rm(join(this.tusDir, `${id}.json`), { force: true });
      return { state: { ...e.state }, path: target, sniff };
    } finally {
      e.completing = false;
    }
  }

  /** Bytes of a tus upload on disk, as its received range; also refreshes `updatedAt`. */
  private async syncTusOffset(e: Entry): Promise<void> {
    const onDisk = await stat(join(this.tusDir, e.state.id)).then(
      (s) => s.size,
      () => 0,
    );
    const prefix: Array<[number, number]> = onDisk > 0 ? [[0, Math.min(onDisk, e.state.size)]] : [];
    if (receivedBytes(prefix) === receivedBytes(e.state.received)) return;
    e.state.received = prefix;
    e.state.updatedAt = new Date().toISOString();
    await this.save(e);
  }

  /**
   * Run a tus PATCH: counted as a write while it lasts, so the upload is neither completed nor
   * swept as expired under it; then record how many bytes are stored (also after a dropped one).
   */
  async tusWrite<T>(id: string, write: () => Promise<T>): Promise<T> {
    const e = this.entry(id);
    e.writing++;
    try {
      return await write();
    } finally {
      e.writing--;
      await this.tusProgress(id).catch(() => {});
    }
  }

  /** After a tus PATCH (or an interrupted one): record how many bytes are stored now. */
  async tusProgress(id: string): Promise<UploadState> {
    const e = this.entry(id);
    if (e.state.status === 'receiving' && e.state.protocol === 'tus') await this.syncTusOffset(e);
    return { ...e.state };
  }

  /** Record the job created from a completed upload. */
  async markCompleted(id: string, jobId: string): Promise<UploadState> {
    const e = this.entry(id);
    const now = Date.now();
    e.state.status = 'completed';
    e.state.jobId = jobId;
    e.state.updatedAt = new Date(now).toISOString();
    e.state.expiresAt = new Date(now + this.limits.ttlMs).toISOString();
    await this.save(e);
    return { ...e.state };
  }

  /** Delete an upload and its bytes (tus termination). */
  async remove(id: string): Promise<void> {
    this.entry(id);
    await this.discard(id);
  }

  private async discard(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (e) {
      e.deleted = true;
      this.entries.delete(id);
      await e.saving.catch(() => {});
    }
    await rm(join(this.dir, `${id}.part`), { force: true });
    await rm(join(this.tusDir, id), { force: true });
    await rm(join(this.tusDir, `${id}.json`), { force: true });
    await rm(this.statePath(id), { force: true });
  }

  /** Delete uploads whose expiry has passed; returns their ids. */
  async sweep(now = Date.now()): Promise<string[]> {
    const gone: string[] = [];
    for (const [id, e] of [...this.entries]) {
      if (e.writing > 0 || e.completing) continue;
      if (Date.parse(e.state.expiresAt) <= now) {
        gone.push(id);
        await this.discard(id);
      }
    }
    return gone;
  }

  private save(e: Entry): Promise<void> {
    const snapshot = JSON.stringify(e.state);
    const id = e.state.id;
    const next = e.saving
      .catch(() => {})
      .then(async () => {
        if (e.deleted) return;
        const tmp = `${this.statePath(id)}.${randomUUID().slice(0, 8)}.tmp`;
        await writeFile(tmp, snapshot);
        if (e.deleted) {
          await rm(tmp, { force: true });
          return;
        }
        await rename(tmp, this.statePath(id));
      });
    e.saving = next;
    return next;
  }
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Copy `length` bytes of `src` into `dest` at `offset` (positioned writes; parallel chunks do not interfere). */
async function copyInto(src: string, dest: string, offset: number, length: number): Promise<void> {
  const input = await open(src, 'r');
  let output;
  try {
    try {
      output = await open(dest, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HttpError(404, 'NOT_FOUND', 'Upload was deleted while a chunk was arriving');
      throw err;
    }
    const buf = Buffer.allocUnsafe(Math.min(length, 1 << 20));
    let done = 0;
    while (done < length) {
      const { bytesRead } = await input.read(buf, 0, Math.min(buf.length, length - done), done);
      if (bytesRead === 0) throw new RetraceError('UPLOAD_ERROR', 'Chunk file ended early');
      let w = 0;
      while (w < bytesRead) {
        const { bytesWritten } = await output.write(buf, w, bytesRead - w, offset + done + w);
        w += bytesWritten;
      }
      done += bytesRead;
    }
  } finally {
    await input.close();
    await output?.close();
  }
}

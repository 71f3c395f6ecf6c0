import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
 * What retrace keeps about resumable uploads (tus 1.0, see tus.ts): an upload is created with
 * its total size, its bytes arrive in order through @tus/server into `tus/<id>`, and this store
 * holds the rest in `<id>.json` — owner, purpose, per-client limits, expiry — so uploads survive
 * a server restart. Unfinished uploads expire.
 */

export type UploadPurpose = 'search' | 'index';
export type UploadStatus = 'receiving' | 'completed';

export interface UploadState {
  id: string;
  fileName: string;
  size: number;
  purpose: UploadPurpose;
  mimeType: string | null;
  sha256: string | null;
  title: string | null;
  /** Bytes stored from the start (tus `Upload-Offset`), as last seen on disk. */
  offset: number;
  status: UploadStatus;
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

interface Entry {
  state: UploadState;
  /** PATCH requests writing bytes now. */
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

  constructor(
    dir: string,
    readonly limits: UploadLimits,
    /** Free bytes on the disk holding `dir` (injectable so tests can set a threshold, not fake a disk). */
    private readonly freeBytes: (dir: string) => Promise<number>,
  ) {
    this.dir = dir;
    this.tusDir = join(dir, 'tus');
  }

  /** Where @tus/file-store keeps the bytes (`<id>`) and its own record (`<id>.json`) of tus uploads. */
  readonly tusDir: string;

  /** Create the directories and reload uploads from disk. */
  async init(): Promise<void> {
    await mkdir(this.tusDir, { recursive: true });
    // Left by the retired multipart chunk protocol (stray chunks, never resumable with tus).
    await rm(join(this.dir, 'incoming'), { recursive: true, force: true });
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.part')) await rm(join(this.dir, name), { force: true });
      const m = /^([0-9a-f-]{36})\.json$/.exec(name);
      if (!m) continue;
      try {
        const saved = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as UploadState & { protocol?: string; received?: Array<[number, number]> };
        const { protocol, received, ...state } = saved;
        if (state.id !== m[1]) throw new Error('id mismatch');
        // Saved before the chunk protocol went (byte ranges, a protocol). An unfinished chunk
        // upload has no tus bytes to resume: its client starts again.
        if (state.offset === undefined) {
          if (state.status === 'receiving' && protocol !== 'tus') throw new Error('unfinished chunk protocol upload');
          state.offset = received?.[0]?.[0] === 0 ? received[0][1] : 0;
        }
        // Uploads saved before keys (or before per-client limits) have no owner fields.
        state.apiKeyId ??= null;
        state.session ??= null;
        state.client ??= state.apiKeyId ? `key:${state.apiKeyId}` : 'unknown';
        this.entries.set(state.id, { state, writing: 0, completing: false, saving: Promise.resolve(), deleted: false });
      } catch {
        await this.discard(m[1]);
      }
    }
    // tus bytes without a state of ours (a crash between the two writes) belong to nobody.
    for (const name of await readdir(this.tusDir)) {
      const id = name.replace(/\.json$/, '');
      if (!this.entries.has(id)) await rm(join(this.tusDir, name), { force: true });
    }
  }

  /** The bytes of upload `id`, as @tus/file-store writes them. */
  partPath(id: string): string {
    return join(this.tusDir, id);
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
    for (const e of this.entries.values()) if (e.state.status === 'receiving') n += e.state.size - e.state.offset;
    return n;
  }

  /** InsufficientStorageError unless `bytes` more (beyond what is promised) leave the disk above its threshold. */
  async assertRoom(bytes: number, promised = this.promisedBytes()): Promise<void> {
    const free = await this.freeBytes(this.dir);
    if (free - promised - bytes < this.limits.minFreeDiskBytes) throw new InsufficientStorageError(bytes);
  }

  /**
   * Before a request body of `length` bytes is read. Its bytes were promised when the upload was
   * created; this catches a disk that something else has filled since.
   */
  async assertRoomForBytes(length: number): Promise<void> {
    await this.assertRoom(length, 0);
  }

  /** Check and record a new upload; @tus/file-store creates the bytes file right after, under the id returned here. */
  async create(input: CreateUploadInput, owner: UploadOwner = { apiKeyId: null, client: 'local' }): Promise<UploadState> {
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
      offset: 0,
      status: 'receiving',
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

  /** Throws unless the upload can take bytes; call before reading the request body. */
  assertReceiving(id: string): void {
    const e = this.entry(id);
    if (e.state.status !== 'receiving') throw new HttpError(409, 'UPLOAD_ERROR', `Upload ${id} is already complete`);
    if (e.completing) throw new HttpError(409, 'UPLOAD_ERROR', `Upload ${id} is being completed; it takes no more bytes`);
  }

  /**
   * Check and finish an upload: every byte present, the size on disk right, the SHA-256 right
   * (if one was given, now or at creation), the content a video or image. On success the file
   * is moved to `dest(sniff)`; the caller marks the upload completed once its job exists. A
   * checksum mismatch or a non-media file deletes the upload; missing bytes leave it resumable.
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
      await this.syncOffset(e);
      const { offset } = e.state;
      if (offset < size) {
        throw new RetraceError(
          'SIZE_MISMATCH',
          `Upload is incomplete: ${formatBytes(offset)} of ${formatBytes(size)} received; missing bytes ${offset}-${size - 1}. Send the rest from offset ${offset} (tus PATCH), then complete again`,
          { details: { offset } },
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
      await rm(join(this.tusDir, `${id}.json`), { force: true });
      return { state: { ...e.state }, path: target, sniff };
    } finally {
      e.completing = false;
    }
  }

  /** Record the bytes on disk as the offset (tus bytes arrive in order); also refreshes `updatedAt`. */
  private async syncOffset(e: Entry): Promise<void> {
    const onDisk = await stat(this.partPath(e.state.id)).then(
      (s) => s.size,
      () => 0,
    );
    const offset = Math.min(onDisk, e.state.size);
    if (offset === e.state.offset) return;
    e.state.offset = offset;
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
    if (e.state.status === 'receiving') await this.syncOffset(e);
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

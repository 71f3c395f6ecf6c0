/**
 * Keeping a library in step with a folder: the videos indexed from under the folder become
 * exactly its video files. New files are indexed, entries whose file is gone are removed, a file
 * moved or renamed keeps its entry (found by content hash, its stored path updated, nothing
 * re-indexed), and unchanged files cost one stat each: a file is hashed only when its path, size
 * or modification time differ from what the library recorded.
 *
 * The same content twice in the folder is one entry (a library holds each content once): the
 * entry keeps the path it has while that file exists, and the other copies are reported as
 * duplicates (and hashed again on every sync, having no entry of their own). Entries indexed
 * from outside the folder are never removed or changed, except that a file moved from there into
 * the folder (the old file gone) is followed like any rename.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FileStamp, FrameStore, SyncEntry } from '../../db/frame-store.js';
import { sha256File } from '../media/content-hash.js';
import { isUnder, videoFilesUnder } from '../media/video-files.js';
import { AbortedError, FileNotFoundError, NotADirectoryError, RetraceError } from '../errors/retrace-error.js';
import type { IndexManyOptions, IndexOutcome } from '../engine/ingest.js';
import type { Progress } from '../engine/types.js';

export interface SyncOptions {
  /** Files indexed at once (default 2, as `indexMany`). */
  concurrency?: number;
  /** The new files about to be indexed (called once, before the first), e.g. to size a progress display. */
  onIndexing?: (paths: readonly string[]) => void;
  /** Indexing progress of each new file. */
  onProgress?: (path: string, p: Progress) => void;
  /** Each outcome as it is decided (unchanged files are only counted). */
  onChange?: (change: SyncChange) => void;
  /**
   * Failures to leave alone: a file whose stamp equals the one it failed at is reported failed
   * again without being read (a watcher re-syncing does not decode a broken file over and over).
   */
  knownFailures?: Map<string, { file: FileStamp; error: SyncError }>;
  signal?: AbortSignal;
  /** Stored in the metadata of every file indexed (`--meta`). */
  metadata?: Record<string, unknown>;
}

export interface SyncError {
  code: string;
  message: string;
}

export type SyncChange =
  | { kind: 'added'; path: string; videoId: string }
  | { kind: 'removed'; path: string; videoId: string; reason: 'file gone' | 'content changed' }
  | { kind: 'renamed'; from: string; to: string; videoId: string }
  | { kind: 'duplicate'; path: string; videoId: string; of: string }
  | { kind: 'failed'; path: string; error: SyncError };

export interface SyncSummary {
  /** The folder, absolute. */
  dir: string;
  added: Array<{ path: string; videoId: string }>;
  removed: Array<{ path: string; videoId: string; reason: 'file gone' | 'content changed' }>;
  renamed: Array<{ from: string; to: string; videoId: string }>;
  /** Files whose entry was already right. */
  unchanged: number;
  /** Files with the same content as another entry (`of`: the path that entry keeps). */
  duplicates: Array<{ path: string; videoId: string; of: string }>;
  failed: Array<{ path: string; error: SyncError }>;
  /** Files read to compute their hash (the cheap check could not tell). */
  hashed: number;
  timingsMs: { total: number };
}

export interface FolderSyncDeps {
  store: FrameStore;
  /** Index files with the engine's validation (`Retrace.indexMany`). */
  indexMany: (paths: readonly string[], options: IndexManyOptions) => Promise<IndexOutcome[]>;
}

function errorOf(e: unknown): SyncError {
  return e instanceof RetraceError ? e.toJSON() : { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };
}

async function stampOf(path: string): Promise<FileStamp | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : null;
  } catch {
    return null;
  }
}

const sameStamp = (a: FileStamp | null, b: FileStamp | null) => !!a && !!b && a.size === b.size && a.mtimeMs === b.mtimeMs;

/** Bring the entries indexed from under `dir` in step with its video files; see the module comment. */
export async function syncFolder(deps: FolderSyncDeps, dir: string, opts: SyncOptions = {}): Promise<SyncSummary> {
  const t0 = performance.now();
  const root = resolve(dir);
  const rootStat = await stat(root).catch(() => null);
  if (!rootStat) throw new FileNotFoundError(dir);
  if (!rootStat.isDirectory()) throw new NotADirectoryError(dir);
  const checkAbort = () => {
    if (opts.signal?.aborted) throw new AbortedError();
  };
  const summary: SyncSummary = { dir: root, added: [], removed: [], renamed: [], unchanged: 0, duplicates: [], failed: [], hashed: 0, timingsMs: { total: 0 } };
  const report = (c: SyncChange) => {
    if (c.kind === 'added') summary.added.push({ path: c.path, videoId: c.videoId });
    else if (c.kind === 'removed') summary.removed.push({ path: c.path, videoId: c.videoId, reason: c.reason });
    else if (c.kind === 'renamed') summary.renamed.push({ from: c.from, to: c.to, videoId: c.videoId });
    else if (c.kind === 'duplicate') summary.duplicates.push({ path: c.path, videoId: c.videoId, of: c.of });
    else summary.failed.push({ path: c.path, error: c.error });
    opts.onChange?.(c);
  };

  const files = new Map<string, FileStamp>();
  for (const path of await videoFilesUnder(root)) {
    const s = await stampOf(path);
    if (s) files.set(path, s); // gone between the listing and the stat: not in the folder
  }
  const entries = await deps.store.syncEntries();
  const byPath = new Map<string, SyncEntry[]>();
  const byHash = new Map<string, SyncEntry>();
  for (const e of entries) {
    const p = resolve(e.path);
    byPath.set(p, [...(byPath.get(p) ?? []), e]);
    byHash.set(e.contentHash, e);
  }
  /** Entries whose content is at a path in the folder now (or that are left alone), by id → that path. */
  const kept = new Map<string, string>();

  // 1. The cheap check: an entry at this path with this size and modification time.
  const unknown: Array<{ path: string; file: FileStamp; hash?: string }> = [];
  for (const [path, file] of files) {
    const same = (byPath.get(path) ?? []).find((e) => sameStamp(e.file, file));
    if (same && !kept.has(same.id)) {
      kept.set(same.id, path);
      summary.unchanged++;
    } else unknown.push({ path, file });
  }

  // 2. The others are hashed; an entry at the same path with the same hash is unchanged (touched).
  for (const f of unknown) {
    checkAbort();
    const failure = opts.knownFailures?.get(f.path);
    if (failure && sameStamp(failure.file, f.file)) {
      report({ kind: 'failed', path: f.path, error: failure.error });
      continue;
    }
    try {
      f.hash = await sha256File(f.path);
      summary.hashed++;
    } catch (e) {
      report({ kind: 'failed', path: f.path, error: errorOf(e) });
    }
  }
  const identified = unknown.filter((f): f is typeof f & { hash: string } => f.hash !== undefined);
  const rest: typeof identified = [];
  for (const f of identified) {
    const e = (byPath.get(f.path) ?? []).find((x) => x.contentHash === f.hash);
    if (e && !kept.has(e.id)) {
      await deps.store.setFile(e.id, e.path, f.file);
      kept.set(e.id, f.path);
      summary.unchanged++;
    } else rest.push(f);
  }

  // 3. Known content at a new path: a rename or move, unless the entry's own file is still there.
  const newContent = new Map<string, string>();
  const toIndex: Array<{ path: string; hash: string }> = [];
  const waitingDuplicates: Array<{ path: string; hash: string }> = [];
  for (const f of rest) {
    checkAbort();
    const e = byHash.get(f.hash);
    if (!e) {
      if (newContent.has(f.hash)) waitingDuplicates.push(f);
      else {
        newContent.set(f.hash, f.path);
        toIndex.push(f);
      }
      continue;
    }
    const keptAt = kept.get(e.id);
    if (keptAt !== undefined) {
      report({ kind: 'duplicate', path: f.path, videoId: e.id, of: keptAt });
      continue;
    }
    const old = resolve(e.path);
    // Its old path still holds it: outside the folder (never touched), or inside but not a file
    // sync looks at (another extension). A path in the folder that was listed and not kept holds
    // other content now, or is gone.
    const oldHoldsIt = !files.has(old) && (await stampOf(old)) !== null && (!isUnder(root, old) || (await sha256File(old).catch(() => '')) === e.contentHash);
    if (oldHoldsIt) {
      kept.set(e.id, old);
      report({ kind: 'duplicate', path: f.path, videoId: e.id, of: e.path });
      continue;
    }
    await deps.store.setFile(e.id, f.path, f.file);
    kept.set(e.id, f.path);
    report({ kind: 'renamed', from: e.path, to: f.path, videoId: e.id });
  }

  // 4. Entries from under the folder that no file holds any more.
  for (const e of entries) {
    const p = resolve(e.path);
    if (kept.has(e.id) || !isUnder(root, p)) continue;
    let reason: 'file gone' | 'content changed';
    if (files.has(p)) reason = 'content changed';
    else if ((await stampOf(p)) === null) reason = 'file gone';
    else continue; // a file sync does not list (another extension), indexed by name: left alone
    checkAbort();
    await deps.store.remove(e.id);
    report({ kind: 'removed', path: e.path, videoId: e.id, reason });
  }

  // 5. New content, indexed as `index` would (same validation), two files at a time.
  const newIds = new Map<string, string>();
  const newErrors = new Map<string, SyncError>();
  if (toIndex.length) {
    opts.onIndexing?.(toIndex.map((f) => f.path));
    await deps.indexMany(
      toIndex.map((f) => f.path),
      {
        concurrency: opts.concurrency,
        signal: opts.signal,
        metadata: opts.metadata,
        onProgress: (i, p) => opts.onProgress?.(toIndex[i].path, p),
        onSettled: (i, outcome) => {
          const f = toIndex[i];
          if (!outcome.ok) {
            const error = errorOf(outcome.error);
            const file = files.get(f.path);
            if (file && error.code !== 'ABORTED') opts.knownFailures?.set(f.path, { file, error });
            newErrors.set(f.hash, error);
            report({ kind: 'failed', path: f.path, error });
            return;
          }
          const r = outcome.result;
          opts.knownFailures?.delete(f.path);
          newIds.set(f.hash, r.videoId);
          // 'duplicate': another process indexed the same content meanwhile.
          if (r.status === 'indexed') report({ kind: 'added', path: f.path, videoId: r.videoId });
          else report({ kind: 'duplicate', path: f.path, videoId: r.videoId, of: r.video.path });
        },
      },
    );
  }
  for (const f of waitingDuplicates) {
    const videoId = newIds.get(f.hash);
    if (videoId) report({ kind: 'duplicate', path: f.path, videoId, of: newContent.get(f.hash)! });
    else report({ kind: 'failed', path: f.path, error: newErrors.get(f.hash) ?? { code: 'ABORTED', message: 'Operation was aborted' } });
  }
  checkAbort();
  summary.timingsMs.total = Math.round(performance.now() - t0);
  return summary;
}

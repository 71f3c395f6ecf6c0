/**
 * `sync --watch`: sync once, then again whenever something changes under the folder, until
 * stopped. Changes are debounced (a copy in progress fires many events; the sync runs once it
 * has been quiet for `debounceMs`), and syncs never overlap: changes during a sync start another
 * one after it. Node 20's recursive `fs.watch` covers subfolders on Linux too (inotify per folder,
 * new subfolders included).
 */
import { watch } from 'node:fs';
import type { SyncSummary } from './folder-sync.js';

export interface WatchOptions {
  /** Quiet time after the last change before syncing (default 1000 ms). */
  debounceMs?: number;
  /** Stops watching; a sync in progress is aborted by the same signal if the caller passes it on. */
  signal: AbortSignal;
  onSync: (summary: SyncSummary) => void;
  /** A sync that failed as a whole (the folder removed, the database gone): watching goes on. */
  onError: (error: unknown) => void;
}

/** Resolves once `signal` aborts and the sync in progress (if any) has ended. */
export async function watchFolder(dir: string, sync: () => Promise<SyncSummary>, o: WatchOptions): Promise<void> {
  if (o.signal.aborted) return;
  const debounceMs = o.debounceMs ?? 1000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        if (o.signal.aborted) break;
        try {
          o.onSync(await sync());
        } catch (e) {
          if (!o.signal.aborted) o.onError(e);
        }
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const watcher = watch(dir, { recursive: true, signal: o.signal });
  watcher.on('error', (e) => {
    if (!o.signal.aborted) o.onError(e);
  });
  watcher.on('change', () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void run();
    }, debounceMs);
  });
  await run();
  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  if (timer) clearTimeout(timer);
  watcher.close();
  await running;
}

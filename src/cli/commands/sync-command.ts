import { constants as osConstants } from 'node:os';
import type { Retrace } from '../../core/engine/retrace.js';
import type { SyncChange, SyncSummary } from '../../core/library/folder-sync.js';
import type { Progress } from '../../core/engine/types.js';
import { EXIT } from '../exit-codes.js';
import { IndexProgress } from '../progress.js';

export interface SyncCommandOptions {
  json: boolean;
  watch: boolean;
  /** Watch mode: quiet time after a change before syncing (default 1000 ms). */
  debounceMs?: number;
  /** Stored in the metadata of every file indexed. */
  metadata?: Record<string, string>;
}

function changeLine(c: SyncChange): string {
  switch (c.kind) {
    case 'added':
      return `added      ${c.path}  ${c.videoId}\n`;
    case 'removed':
      return `removed    ${c.path}  ${c.videoId} (${c.reason})\n`;
    case 'renamed':
      return `renamed    ${c.from} → ${c.to}  ${c.videoId}\n`;
    case 'duplicate':
      return `duplicate  ${c.path}  same content as ${c.of}  ${c.videoId}\n`;
    case 'failed':
      return `failed     ${c.path}: [${c.error.code}] ${c.error.message}\n`;
  }
}

function summaryLine(s: SyncSummary): string {
  return (
    `${s.dir}: ${s.added.length} added, ${s.removed.length} removed, ${s.renamed.length} renamed, ${s.unchanged} unchanged, ` +
    `${s.duplicates.length} duplicate${s.duplicates.length === 1 ? '' : 's'}, ${s.failed.length} failed (${s.hashed} hashed, ${(s.timingsMs.total / 1000).toFixed(1)} s)\n`
  );
}

/**
 * `retrace sync DIR`: one line per change as it happens (failures on stderr) and a summary line;
 * with `--json`, one summary object per sync. `--watch` syncs again after every change under DIR
 * until SIGINT, SIGTERM or SIGHUP, which ends it cleanly with exit 0 (a sync in progress is
 * abandoned as an interrupted index is). Exit 1 when files failed (one-shot sync).
 */
export async function syncCommand(engine: Retrace, dir: string, options: SyncCommandOptions): Promise<number> {
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(128 + (osConstants.signals[signal] ?? 1));
    interrupted = signal;
    controller.abort();
    if (!options.json) process.stderr.write(`\nretrace: ${signal}: stopping${options.watch ? ' watching' : ''}\n`);
  };
  const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  // Progress of the files being indexed, as `retrace index` shows it (none with --json).
  let progress: IndexProgress | null = null;
  let indexing: string[] = [];
  const safely = (what: () => void) => {
    try {
      what();
    } catch {
      // Output trouble (a closed pipe, an odd terminal) must not stop a sync.
    }
  };
  const onIndexing = (paths: readonly string[]) =>
    safely(() => {
      progress?.close();
      indexing = [...paths];
      progress = options.json ? null : new IndexProgress(process.stderr, paths.length);
    });
  const onProgress = (path: string, p: Progress) => safely(() => progress?.update(indexing.indexOf(path), path, p));
  const write = (stream: NodeJS.WriteStream, text: string) =>
    safely(() => {
      progress?.suspend();
      stream.write(text);
      progress?.resume();
    });
  const onChange = (c: SyncChange) => {
    // A new file settled: its progress line is done.
    if (c.kind === 'added' || c.kind === 'failed' || c.kind === 'duplicate') {
      const at = indexing.indexOf(c.path);
      if (at >= 0) safely(() => progress?.finish(at));
    }
    if (options.json) return;
    write(c.kind === 'failed' ? process.stderr : process.stdout, changeLine(c));
  };
  const print = (s: SyncSummary) => {
    safely(() => progress?.close());
    progress = null;
    indexing = [];
    write(process.stdout, options.json ? JSON.stringify(s) + '\n' : summaryLine(s));
  };
  const syncOptions = { onChange, onIndexing, onProgress, metadata: options.metadata };
  try {
    if (options.watch) {
      await engine.watch(dir, {
        signal: controller.signal,
        debounceMs: options.debounceMs,
        sync: syncOptions,
        onSync: print,
        onError: (e) => process.stderr.write(`retrace sync: ${(e as Error)?.message ?? String(e)}\n`),
      });
      if (!options.json) process.stderr.write('retrace: stopped watching\n');
      return EXIT.ok;
    }
    const summary = await engine.sync(dir, { ...syncOptions, signal: controller.signal });
    print(summary);
    return summary.failed.length ? EXIT.failed : EXIT.ok;
  } catch (e) {
    // Interrupted: what was done stays done (each change is committed on its own).
    if (interrupted) return 128 + (osConstants.signals[interrupted] ?? 1);
    throw e;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    safely(() => progress?.close());
  }
}

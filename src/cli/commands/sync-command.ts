import { constants as osConstants } from 'node:os';
import type { Retrace } from '../../core/engine/retrace.js';
import type { SyncChange, SyncSummary } from '../../core/library/folder-sync.js';
import { EXIT } from '../exit-codes.js';

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
  const onChange = (c: SyncChange) => {
    if (options.json) return;
    if (c.kind === 'failed') process.stderr.write(changeLine(c));
    else process.stdout.write(changeLine(c));
  };
  const print = (s: SyncSummary) => process.stdout.write(options.json ? JSON.stringify(s) + '\n' : summaryLine(s));
  try {
    if (options.watch) {
      await engine.watch(dir, {
        signal: controller.signal,
        debounceMs: options.debounceMs,
        sync: { onChange, metadata: options.metadata },
        onSync: print,
        onError: (e) => process.stderr.write(`retrace sync: ${(e as Error)?.message ?? String(e)}\n`),
      });
      if (!options.json) process.stderr.write('retrace: stopped watching\n');
      return EXIT.ok;
    }
    const summary = await engine.sync(dir, { signal: controller.signal, onChange, metadata: options.metadata });
    print(summary);
    return summary.failed.length ? EXIT.failed : EXIT.ok;
  } catch (e) {
    // Interrupted: what was done stays done (each change is committed on its own).
    if (interrupted) return 128 + (osConstants.signals[interrupted] ?? 1);
    throw e;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

import { stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { VIDEO_EXTENSIONS, videoFilesUnder } from '../../core/media/video-files.js';
import type { Retrace } from '../../core/engine/retrace.js';
import { RetraceError } from '../../core/errors/retrace-error.js';
import { IndexProgress, type ProgressStream } from '../progress.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';

/** Files named on the command line are taken as given; folders contribute their video files, recursively, sorted. */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    const s = await stat(input).catch(() => null);
    if (s?.isDirectory()) out.push(...(await videoFilesUnder(input)));
    else out.push(input);
  }
  return out;
}

export interface IndexLine {
  path: string;
  videoId: string | null;
  status: 'indexed' | 'duplicate' | 'failed';
  durationSec: number;
  frames: number;
  error?: { code: string; message: string };
}

export interface IndexCommandOptions {
  json: boolean;
  /** Files in flight at once (default 2). */
  concurrency?: number;
  /** Stored in every file's metadata (`--meta KEY=VALUE`). */
  metadata?: Record<string, string>;
  /** Where progress goes (default stderr); `--json` shows none. */
  progress?: ProgressStream;
}

/** Exit code of a process ended by `signal`, as shells report it (SIGINT 130, SIGTERM 143). */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 1);
}

/**
 * `retrace index`: one result per file, two files in flight; a failed file does not stop the
 * others, except for an error that would fail every one of them (ffmpeg missing or broken, the
 * database failing), which stops the run with its own exit code (7, 6). Progress is a bar on a
 * terminal with a width and plain lines elsewhere, and nothing it does can stop indexing.
 * SIGINT, SIGTERM or SIGHUP stops cleanly: files in flight are abandoned (their rows removed, as
 * for any failed file), files not started are skipped, the database is closed, and the exit code
 * is 128 + the signal's number (SIGINT 130, SIGTERM 143). A second signal quits at once.
 */
export async function indexCommand(engine: Retrace, inputs: readonly string[], options: IndexCommandOptions): Promise<number> {
  const { json } = options;
  const files = await expandInputs(inputs);
  if (!files.length) {
    process.stderr.write(`retrace index: no video files in ${inputs.join(', ')} (looked for ${[...VIDEO_EXTENSIONS].join(' ')})\n`);
    return EXIT.ok;
  }
  const progress = new IndexProgress(options.progress ?? process.stderr, files.length, { mode: json ? 'off' : undefined });
  /** Progress and result lines only report: a failure there must never reach the ingest. */
  const safely = (what: () => void) => {
    try {
      what();
    } catch {
      // Ignored on purpose: output trouble (a closed pipe, an odd terminal) is not an indexing failure.
    }
  };
  const print = (stream: NodeJS.WriteStream, line: string) =>
    safely(() => {
      progress.suspend();
      stream.write(line);
      progress.resume();
    });

  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let finished = 0;
  const t0 = Date.now();
  let totalSec = 0;

  const controller = new AbortController();
  let interrupted: NodeJS.Signals | null = null;
  /** Exit code of an error no other file can escape (ffmpeg unusable, database failing): the run stops. */
  let stoppedBy: number | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      process.stderr.write(`\nretrace: ${signal} again: quitting at once\n`);
      process.exit(signalExitCode(signal));
    }
    interrupted = signal;
    controller.abort();
    print(process.stderr, `\nretrace: ${signal}: stopping; files not finished are left out of the index (${signal} again quits at once)\n`);
  };
  // SIGHUP: the terminal was closed under a running index.
  const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  try {
    await engine.indexMany(files, {
      concurrency: options.concurrency ?? 2,
      signal: controller.signal,
      metadata: options.metadata,
      onProgress: (i, p) => safely(() => progress.update(i, files[i], p)),
      onSettled: (i, outcome) =>
        safely(() => {
          const path = files[i];
          finished++;
          progress.finish(i);
          let line: IndexLine;
          if (outcome.ok) {
            ok++;
            const r = outcome.result;
            line = { path, videoId: r.videoId, status: r.status, durationSec: r.durationSec, frames: r.frames };
            totalSec += r.status === 'indexed' ? r.durationSec : 0;
          } else {
            const e = outcome.error;
            const err = e instanceof RetraceError ? e.toJSON() : { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };
            line = { path, videoId: null, status: 'failed', durationSec: 0, frames: 0, error: err };
            const code = exitCodeFor(e);
            if (stoppedBy === null && !interrupted && (code === EXIT.environment || code === EXIT.database)) {
              stoppedBy = code;
              controller.abort();
            }
            if (controller.signal.aborted && err.code === 'ABORTED') skipped++;
            else failed++;
          }
          if (json) {
            print(process.stdout, JSON.stringify(line) + '\n');
          } else if (line.status !== 'failed') {
            print(
              process.stdout,
              `${line.status.padEnd(10)} ${path}  ${line.durationSec.toFixed(1)} s, ${line.frames} frames  ${line.videoId}  (${finished}/${files.length})\n`,
            );
          } else if (!(controller.signal.aborted && line.error!.code === 'ABORTED')) {
            print(process.stderr, `failed     ${path}: [${line.error!.code}] ${line.error!.message}\n`);
          }
        }),
    });
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    safely(() => progress.close());
  }
  if (!json) {
    const wall = (Date.now() - t0) / 1000;
    const notDone = skipped ? `, ${skipped} not indexed (${interrupted ? 'interrupted' : 'stopped by the error above'})` : '';
    print(
      process.stdout,
      `\n${ok} of ${files.length} files ok, ${failed} failed${notDone}; ${totalSec.toFixed(0)} s of video in ${wall.toFixed(1)} s (${wall > 0 ? (totalSec / wall).toFixed(1) : '–'}× realtime)\n`,
    );
  }
  if (interrupted) return signalExitCode(interrupted);
  if (stoppedBy !== null) return stoppedBy;
  return failed ? EXIT.failed : EXIT.ok;
}

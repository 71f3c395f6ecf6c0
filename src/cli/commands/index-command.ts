import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Retrace } from '../../core/engine/retrace.js';
import { RetraceError } from '../../core/errors/retrace-error.js';
import { ProgressBar } from '../progress-bar.js';
import { EXIT } from '../exit-codes.js';

const VIDEO_EXTENSIONS = new Set([
  '.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.wmv', '.asf', '.flv', '.mpg', '.mpeg', '.ts', '.m2ts', '.mts', '.vob', '.3gp', '.ogv',
]);

/** Files named on the command line are taken as given; folders contribute their video files, recursively, sorted. */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && VIDEO_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const input of inputs) {
    const s = await stat(input).catch(() => null);
    if (s?.isDirectory()) await walk(input);
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

/** `retrace index`: one result per file, two files in flight; a failed file does not stop the others. */
export async function indexCommand(engine: Retrace, inputs: readonly string[], json: boolean, concurrency = 2): Promise<number> {
  const files = await expandInputs(inputs);
  let failed = 0;
  let finished = 0;
  const t0 = Date.now();
  let totalSec = 0;
  // One bar line, showing whichever file reported last.
  const bars = files.map((path, i) => (json ? null : new ProgressBar(`[${i + 1}/${files.length}] ${path}`)));
  await engine.indexMany(files, {
    concurrency,
    onProgress: (i, p) => bars[i]?.update(p),
    onSettled: (i, outcome) => {
      const path = files[i];
      let line: IndexLine;
      if (outcome.ok) {
        const r = outcome.result;
        line = { path, videoId: r.videoId, status: r.status, durationSec: r.durationSec, frames: r.frames };
        totalSec += r.status === 'indexed' ? r.durationSec : 0;
      } else {
        failed++;
        const e = outcome.error;
        const err = e instanceof RetraceError ? e.toJSON() : { code: 'INTERNAL', message: (e as Error).message };
        line = { path, videoId: null, status: 'failed', durationSec: 0, frames: 0, error: err };
      }
      finished++;
      bars[i]?.done();
      if (json) {
        process.stdout.write(JSON.stringify(line) + '\n');
      } else if (line.status === 'failed') {
        process.stderr.write(`failed     ${path}: [${line.error!.code}] ${line.error!.message}\n`);
      } else {
        process.stdout.write(`${line.status.padEnd(10)} ${path}  ${line.durationSec.toFixed(1)} s, ${line.frames} frames  ${line.videoId}  (${finished}/${files.length})\n`);
      }
    },
  });
  if (!json) {
    const wall = (Date.now() - t0) / 1000;
    process.stdout.write(`\n${files.length - failed} of ${files.length} files ok, ${failed} failed; ${totalSec.toFixed(0)} s of video in ${wall.toFixed(1)} s (${wall > 0 ? (totalSec / wall).toFixed(1) : '–'}× realtime)\n`);
  }
  return failed ? EXIT.failed : EXIT.ok;
}

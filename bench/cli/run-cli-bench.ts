/**
 * Whole-process figures of the CLI as a user runs it (issue 17):
 *
 * - `retrace index FILE` into a new embedded index and into an existing one: peak RSS of the
 *   largest process (GNU time's %M: the retrace process or any ffmpeg it ran), CPU and wall;
 * - `retrace search CLIP` against an embedded index of a corpus (indexed once into a temporary
 *   directory): total wall, the engine's own time (`timingsMs.total` of --json) and start-up =
 *   wall − engine time (Node, loading modules, opening and closing the index, printing).
 *
 * Every command runs `runs` times as its own process through /usr/bin/time; medians are
 * reported with the load average before and after, since the machine is shared. RSS and CPU
 * hardly move with load; wall times do.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveFfmpegPaths } from '../../src/index.js';
import { describeMachine, machineInfo } from '../common/machine.js';
import { median } from '../common/stats.js';
import { writeJsonReport } from '../common/json.js';

/** bin/retrace.js of this checkout (from bench/cli or dist/bench/cli). */
function retraceBin(): string {
  for (const rel of ['../../bin/retrace.js', '../../../bin/retrace.js']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('bin/retrace.js not found beside the benchmark');
}

const TIME = '/usr/bin/time';

export interface ProcessRun {
  peakRssMb: number;
  cpuSec: number;
  wallSec: number;
  exitCode: number;
  stdout: string;
}

/** The retrace launcher the runs use: this checkout's, unless `setRetraceBin` named another (a build of an older commit, for before/after figures). */
let bin: string | null = null;
export function setRetraceBin(path: string): void {
  bin = path;
}

/** Run `node bin/retrace.js ...args` under GNU time. */
export function timedRetrace(args: readonly string[], env: NodeJS.ProcessEnv = {}): ProcessRun {
  if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed: apt-get install time`);
  const out = join(mkdtempSync(join(tmpdir(), 'retrace-bench-time-')), 'time.txt');
  const r = spawnSync(TIME, ['-o', out, '-f', '%M %U %S %e', process.execPath, bin ?? retraceBin(), ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const line = readFileSync(out, 'utf8').trim().split('\n').pop() ?? '';
  rmSync(join(out, '..'), { recursive: true, force: true });
  const [kb, user, sys, wall] = line.split(/\s+/).map(Number);
  if (!Number.isFinite(kb)) throw new Error(`cannot read GNU time's output: ${line}\n${r.stderr}`);
  return { peakRssMb: kb / 1024, cpuSec: user + sys, wallSec: wall, exitCode: r.status ?? -1, stdout: r.stdout };
}

export interface Medians {
  runs: number;
  peakRssMb: number;
  maxPeakRssMb: number;
  cpuSec: number;
  wallSec: number;
}

function medians(runs: readonly ProcessRun[]): Medians {
  return {
    runs: runs.length,
    peakRssMb: median(runs.map((r) => r.peakRssMb)),
    maxPeakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    cpuSec: median(runs.map((r) => r.cpuSec)),
    wallSec: median(runs.map((r) => r.wallSec)),
  };
}

export interface CliBenchOptions {
  /** Video indexed by the index runs (e.g. a 10-minute 720p clip). */
  ingest?: string;
  /** Folder indexed once for the search runs. */
  corpus?: string;
  /** Clip searched for; default 10 s cut from the first 720p video of the corpus. */
  query?: string;
  runs: number;
  json?: string;
  log: (line: string) => void;
}

/** A 10 s 720p H.264 clip cut from the corpus: the first video of 1280×720 or more and 15 s or longer. */
function makeQuery(corpus: string, into: string): string {
  const { ffmpeg, ffprobe } = resolveFfmpegPaths();
  const files = execFileSync('find', [corpus, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  for (const f of files) {
    let probe: string;
    try {
      probe = execFileSync(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:format=duration', '-of', 'csv=p=0', f], {
        encoding: 'utf8',
      });
    } catch {
      continue;
    }
    const nums = probe
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    const [w, h, d] = nums;
    if (w >= 1280 && h >= 720 && d >= 15) {
      const out = join(into, 'query-10s.mp4');
      execFileSync(ffmpeg, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-ss',
        '5',
        '-i',
        f,
        '-t',
        '10',
        '-vf',
        'scale=1280:720',
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-an',
        out,
      ]);
      return out;
    }
  }
  throw new Error(`no video of 720p and 15 s or more in ${corpus} to cut a query from: give --query`);
}

export async function runCliBench(o: CliBenchOptions) {
  const machine = machineInfo(resolveFfmpegPaths().ffmpeg);
  o.log(describeMachine(machine));
  const scratch = mkdtempSync(join(tmpdir(), 'retrace-bench-cli-'));
  const report: Record<string, unknown> = { machine, runs: o.runs };
  try {
    if (o.ingest) {
      o.log(`index ${o.ingest}, ${o.runs} runs each`);
      const newRuns: ProcessRun[] = [];
      for (let i = 0; i < o.runs; i++) {
        const db = join(scratch, `new-${i}`);
        newRuns.push(timedRetrace(['index', o.ingest, '--db', db, '--json']));
        rmSync(db, { recursive: true, force: true });
      }
      // The existing index already holds another video (4 s of testsrc2), made by a first process.
      const base = join(scratch, 'existing-base');
      const seed = join(scratch, 'seed.mp4');
      execFileSync(resolveFfmpegPaths().ffmpeg, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x240:rate=25:duration=4',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        seed,
      ]);
      const seeded = timedRetrace(['index', seed, '--db', base, '--json']);
      if (seeded.exitCode !== 0) throw new Error('could not make the existing index');
      const existingRuns: ProcessRun[] = [];
      for (let i = 0; i < o.runs; i++) {
        const db = join(scratch, `existing-${i}`);
        cpSync(base, db, { recursive: true });
        existingRuns.push(timedRetrace(['index', o.ingest, '--db', db, '--json']));
        rmSync(db, { recursive: true, force: true });
      }
      const failed = [...newRuns, ...existingRuns].filter((r) => r.exitCode !== 0).length;
      report.index = { input: o.ingest, newIndex: medians(newRuns), existingIndex: medians(existingRuns), failedRuns: failed };
      const n = medians(newRuns);
      const e = medians(existingRuns);
      o.log(
        `  new index:      peak RSS median ${n.peakRssMb.toFixed(0)} MB (max ${n.maxPeakRssMb.toFixed(0)}), CPU ${n.cpuSec.toFixed(2)} s, wall ${n.wallSec.toFixed(2)} s`,
      );
      o.log(
        `  existing index: peak RSS median ${e.peakRssMb.toFixed(0)} MB (max ${e.maxPeakRssMb.toFixed(0)}), CPU ${e.cpuSec.toFixed(2)} s, wall ${e.wallSec.toFixed(2)} s`,
      );
      if (failed) o.log(`  ${failed} index runs failed`);
      o.log(
        `  load ${loadavg()
          .map((x) => x.toFixed(2))
          .join('/')}`,
      );
    }
    if (o.corpus) {
      const db = join(scratch, 'corpus-index');
      o.log(`indexing ${o.corpus} once for the search runs`);
      const indexed = timedRetrace(['index', o.corpus, '--db', db, '--json']);
      if (indexed.exitCode !== 0 && indexed.exitCode !== 1) throw new Error(`indexing the corpus failed (exit ${indexed.exitCode})`);
      const query = o.query ?? makeQuery(o.corpus, scratch);
      o.log(`search ${query}, ${o.runs} runs (one warm-up)`);
      timedRetrace(['search', query, '--db', db, '--json']);
      const runs: Array<ProcessRun & { engineSec: number; startupSec: number; matches: number }> = [];
      for (let i = 0; i < o.runs; i++) {
        const r = timedRetrace(['search', query, '--db', db, '--json']);
        const parsed = JSON.parse(r.stdout) as { timingsMs: { total: number }; matches: unknown[] };
        const engineSec = parsed.timingsMs.total / 1000;
        runs.push({ ...r, engineSec, startupSec: r.wallSec - engineSec, matches: parsed.matches.length });
      }
      const m = medians(runs);
      const search = {
        query,
        ...m,
        engineSec: median(runs.map((r) => r.engineSec)),
        startupSec: median(runs.map((r) => r.startupSec)),
        matches: runs[0]?.matches ?? 0,
      };
      report.search = search;
      o.log(
        `  search: wall median ${search.wallSec.toFixed(2)} s (engine ${search.engineSec.toFixed(2)} s, start-up ${search.startupSec.toFixed(2)} s), CPU ${search.cpuSec.toFixed(2)} s, peak RSS ${search.peakRssMb.toFixed(0)} MB, ${search.matches} matches`,
      );
      o.log(
        `  load ${loadavg()
          .map((x) => x.toFixed(2))
          .join('/')}`,
      );
    }
    report.loadAfter = loadavg().map((x) => Math.round(x * 100) / 100);
    if (o.json) o.log(`report: ${await writeJsonReport(o.json, report)}`);
    return report;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

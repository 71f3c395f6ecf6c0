/**
 * `retrace bench ingest --vs-decode <folder|files>` (issue 17, part 4): what `retrace index`
 * costs against the floor set by ffmpeg decoding the same files with the same decoder flags.
 *
 * Both sides run as separate processes, one after the other, and both are measured the same way:
 *  - ingest: `node bin/retrace.js index <files> --db <scratch dir> --json`, exactly what a user runs,
 *    into a new embedded index (start-up, creating the index, probing, hashing and every ffmpeg
 *    it starts included);
 *  - decode: for every file `ffmpeg <the sampler's decoder arguments> -f null -` (threads,
 *    -skip_loop_filter, software decoding, the stream retrace reads), no filter, no consumer.
 *    Threads are the ones `retrace index` gives each file of this run (`ingestManyDecoderThreads`),
 *    unless `--decode-threads N` asks for a fixed ruler (issue 17 quotes 1 thread).
 *
 * CPU is the process tree's user + system time, read as the growth of this process's cutime +
 * cstime (/proc/self/stat) across each run. Why that is correct: when a process is reaped, the
 * kernel adds its own times and the times of every descendant it reaped itself to its parent's
 * children totals. The retrace CLI waits for each ffmpeg/ffprobe it starts, so one figure holds
 * the whole tree, and nothing else this process starts runs at the same time. (Node's
 * `resourceUsage()` covers only the calling process, and /proc/<pid>/stat read before exit
 * would miss children reaped later.) Probing for durations happens before any timed run.
 *
 * With `--repeat N` the two sides alternate N times and medians are reported: CPU times move a
 * little with the machine's load (shared caches, SMT), wall times a lot.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { probeMedia, resolveFfmpegPaths } from '../../src/index.js';
import { decoderArgs } from '../../src/core/media/frame-sampler.js';
import { fpsModeArgs } from '../../src/core/media/ffmpeg-binaries.js';
import { DEFAULT_LIMITS, DEFAULT_SAMPLING } from '../../src/core/settings/media-settings.js';
import { DEFAULT_INDEX_CONCURRENCY, ingestManyDecoderThreads } from '../../src/core/engine/ingest.js';
import { cpuSince, cpuTimes } from '../common/cpu.js';
import { expandInputs } from '../common/inputs.js';
import { writeJsonReport } from '../common/json.js';
import { describeMachine, machineInfo } from '../common/machine.js';
import type { MachineInfo } from '../common/machine.js';
import { median } from '../common/stats.js';
import { formatTable } from '../common/table.js';

export interface VsDecodeOptions {
  inputs: string[];
  /** Alternating ingest/decode passes; medians reported (default 1). */
  repeat?: number;
  json?: string;
  log?: (s: string) => void;
  /** The retrace launcher to time (default: bin/retrace.js of this checkout, which runs dist/). */
  retraceBin?: string;
  /** Decoder threads of the decode pass (default: those `retrace index` uses for this run). */
  decodeThreads?: number;
}

export interface PassFigures {
  /** Process-tree user + system CPU, s. */
  cpuSec: number;
  wallSec: number;
  /** Seconds of video per second of wall time. */
  realtime: number;
}

export interface VsDecodeRun {
  repeat: number;
  ingest: PassFigures & { frames: number; indexed: number; failed: number };
  decode: PassFigures & { perFileCpuSec: number[] };
  /** Ingest CPU ÷ decode CPU of this repeat. */
  cpuRatio: number;
  /** 1-minute load average before the ingest and after the decode. */
  load: [number, number];
}

export interface VsDecodeReport {
  kind: 'ingest-vs-decode';
  version: 1;
  machine: MachineInfo;
  retraceBin: string;
  /** Decoder threads of the decode pass, and whether they were forced by `--decode-threads`. */
  decodeThreads: { threads: number; forced: boolean };
  /** The decode command of the first file, as run. */
  decodeCommand: string[];
  ingestCommand: string[];
  files: Array<{ path: string; durationSec: number; width: number; height: number; codec: string }>;
  durationSec: number;
  runs: VsDecodeRun[];
  /** Medians over runs. */
  ingest: PassFigures;
  decode: PassFigures;
  cpuRatio: number;
  /** Issue 17's target for `cpuRatio`. */
  target: number;
}

/** Issue 17: `retrace index` CPU at most this multiple of ffmpeg's decode CPU. */
const TARGET_RATIO = 1.25;

/** bin/retrace.js of this checkout (from bench/ingest or dist/bench/ingest). */
function defaultRetraceBin(): string {
  for (const rel of ['../../bin/retrace.js', '../../../bin/retrace.js']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('bin/retrace.js not found beside the benchmark');
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSec: number;
  cpuSec: number;
}

/** Run a process to its end; CPU is what reaping it (and its reaped descendants) added to our children totals. */
async function runMeasured(cmd: string, args: readonly string[]): Promise<Finished> {
  const cpu0 = cpuTimes();
  const t0 = performance.now();
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  p.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
  // 'close' comes after the process was reaped and its pipes drained.
  const code = await new Promise<number | null>((resolve) => {
    p.on('close', (c) => resolve(c));
    p.on('error', (e) => {
      stderr += String(e);
      resolve(-1);
    });
  });
  const wallSec = (performance.now() - t0) / 1000;
  return { code, stdout, stderr, wallSec, cpuSec: cpuSince(cpu0).childrenMs / 1000 };
}

/**
 * Measure `retrace index` against ffmpeg's decode of the same files; prints a table and
 * returns (and optionally writes) the report.
 *
 * @example
 * const r = await runVsDecode({ inputs: ['/videos'], repeat: 3 });
 * console.log(r.cpuRatio);
 */
export async function runVsDecode(opts: VsDecodeOptions): Promise<VsDecodeReport> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const repeat = Math.max(1, opts.repeat ?? 1);
  const bin = opts.retraceBin ?? defaultRetraceBin();
  const { ffmpeg } = resolveFfmpegPaths();
  const machine = machineInfo(ffmpeg);
  const paths = await expandInputs(opts.inputs);
  if (!paths.length) throw new Error(`no video files found in ${opts.inputs.join(', ')}`);

  // The CLI indexes with its default concurrency; the decode pass uses the same threads per file.
  const threads = opts.decodeThreads ?? ingestManyDecoderThreads(paths.length, DEFAULT_INDEX_CONCURRENCY);
  // Probed before anything is timed (ffprobe's CPU would land in the children totals).
  const files: VsDecodeReport['files'] = [];
  const decodeCommands: string[][] = [];
  for (const path of paths) {
    const info = await probeMedia(path, DEFAULT_LIMITS);
    if (info.kind !== 'video') throw new Error(`${path} is not a video`);
    files.push({ path, durationSec: info.durationSec, width: info.width, height: info.height, codec: info.codec });
    decodeCommands.push([...decoderArgs({ path, info, sampling: { ...DEFAULT_SAMPLING, threads } }), ...fpsModeArgs(ffmpeg, 'passthrough'), '-f', 'null', '-']);
  }
  const durationSec = files.reduce((s, f) => s + f.durationSec, 0);
  log(`ingest vs decode: ${files.length} file(s), ${durationSec.toFixed(1)} s of video, ${repeat} alternating run(s)`);
  log(`machine: ${describeMachine(machine)}`);
  log(`retrace: ${bin}; decode pass with ${threads} thread(s)${opts.decodeThreads ? ' (forced)' : ', as retrace index uses for this run'}`);

  const runs: VsDecodeRun[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'retrace-bench-vs-decode-'));
  let ingestCommand: string[] = [];
  try {
    for (let r = 0; r < repeat; r++) {
      const load0 = loadavg()[0];
      const db = join(scratch, `index-${r}`);
      const args = [bin, 'index', ...paths, '--db', db, '--json'];
      ingestCommand = [process.execPath, ...args];
      const ing = await runMeasured(process.execPath, args);
      const lines = ing.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { status: string; frames: number });
      const failed = lines.filter((l) => l.status === 'failed').length;
      if (ing.code !== 0 || failed)
        throw new Error(`retrace index failed (exit ${ing.code}, ${failed} file(s) failed): ${ing.stderr.trim().split('\n').slice(-3).join(' ')}`);
      await rm(db, { recursive: true, force: true });

      let decodeCpu = 0;
      let decodeWall = 0;
      const perFile: number[] = [];
      for (const [i, args] of decodeCommands.entries()) {
        const d = await runMeasured(ffmpeg, args);
        if (d.code !== 0) throw new Error(`ffmpeg failed on ${basename(paths[i])} (exit ${d.code}): ${d.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
        decodeCpu += d.cpuSec;
        decodeWall += d.wallSec;
        perFile.push(d.cpuSec);
      }
      const run: VsDecodeRun = {
        repeat: r,
        ingest: {
          cpuSec: ing.cpuSec,
          wallSec: ing.wallSec,
          realtime: durationSec / ing.wallSec,
          frames: lines.reduce((s, l) => s + (l.frames ?? 0), 0),
          indexed: lines.filter((l) => l.status === 'indexed').length,
          failed,
        },
        decode: { cpuSec: decodeCpu, wallSec: decodeWall, realtime: durationSec / decodeWall, perFileCpuSec: perFile },
        cpuRatio: ing.cpuSec / decodeCpu,
        load: [load0, loadavg()[0]],
      };
      runs.push(run);
      log(
        `  run ${r + 1}: ingest ${run.ingest.cpuSec.toFixed(2)} s CPU (${run.ingest.wallSec.toFixed(1)} s wall), ` +
          `decode ${decodeCpu.toFixed(2)} s CPU (${decodeWall.toFixed(1)} s wall), ratio ${run.cpuRatio.toFixed(3)}, load ${run.load.map((x) => x.toFixed(2)).join('→')}`,
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const med = (g: (r: VsDecodeRun) => number) => median(runs.map(g));
  const ingest = { cpuSec: med((r) => r.ingest.cpuSec), wallSec: med((r) => r.ingest.wallSec), realtime: 0 };
  ingest.realtime = durationSec / ingest.wallSec;
  const decode = { cpuSec: med((r) => r.decode.cpuSec), wallSec: med((r) => r.decode.wallSec), realtime: 0 };
  decode.realtime = durationSec / decode.wallSec;
  const report: VsDecodeReport = {
    kind: 'ingest-vs-decode',
    version: 1,
    machine,
    retraceBin: bin,
    decodeThreads: { threads, forced: opts.decodeThreads !== undefined },
    decodeCommand: [ffmpeg, ...decodeCommands[0]],
    ingestCommand,
    files,
    durationSec,
    runs,
    ingest,
    decode,
    cpuRatio: med((r) => r.cpuRatio),
    target: TARGET_RATIO,
  };
  log('');
  log(
    formatTable(
      ['pass', 'CPU s', 'wall s', '× realtime'],
      [
        ['retrace index (new embedded index)', ingest.cpuSec, ingest.wallSec, ingest.realtime],
        ['ffmpeg decode, same flags, -f null', decode.cpuSec, decode.wallSec, decode.realtime],
      ],
      [0, 2, 2, 1],
    ),
  );
  log(
    `CPU ratio (median of per-run ratios): ${report.cpuRatio.toFixed(3)} (target ≤ ${TARGET_RATIO}); load ${runs.map((r) => r.load[0].toFixed(2)).join(', ')}`,
  );
  log(`decode command: ${report.decodeCommand.join(' ')}`);
  if (opts.json) log(`wrote ${await writeJsonReport(opts.json, report)}`);
  return report;
}

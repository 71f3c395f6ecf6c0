/**
 * The ingest benchmark: what indexing costs per frame and per second of video, against the
 * floor set by ffmpeg decoding the same sampled stream.
 *
 * For every input file (and every repeat) it runs, in this order:
 *  1. ffmpeg alone: the sampler's exact command (same input options, filters, threads) with the
 *     raw-video pipe replaced by `-f null -` — the decode floor;
 *  2. the engine: `Retrace.index()` on a scratch index, with memory sampled (this process, VmHWM
 *     reset first where the kernel allows, and ffmpeg children through /proc) and every progress
 *     event recorded; its `IndexResult.timingsMs` give probe, hash, decode (waiting for frames),
 *     describe and store;
 *  3. (first repeat only) an instrumented pass over the same frames without storage, timing the
 *     stages the engine does not time itself: border detection, quality, region crops,
 *     description and the SQL text of the vectors.
 * Then micro-benchmarks (Benchmark.js) of the per-frame functions on real frames.
 *
 * Figures are medians over repeats; the report holds every run. Wall time is disturbed by other
 * work on a shared machine, so CPU time (this process + reaped children) is reported as well.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { BuiltinDescriptor, Retrace, probeMedia, resolveFfmpegPaths, sampleFrames } from '../../src/index.js';
import type { IndexResult, MediaInfo, Progress } from '../../src/index.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { crop } from '../../src/core/frames/raster.js';
import { DEFAULT_SAMPLING, samplerArgs } from '../../src/core/media/frame-sampler.js';
import { candidateSampling, selectFrames } from '../../src/core/engine/frame-selection.js';
import { DEFAULT_EVIDENCE } from '../../src/core/search/evidence.js';
import { detectContentRect } from '../../src/core/frames/border-detection.js';
import { frameQuality } from '../../src/core/frames/frame-quality.js';
import { storedRegions } from '../../src/core/frames/region-variants.js';
import { vectorLiteral } from '../../src/db/frame-store.js';

import { cpuSince, cpuTimes } from '../common/cpu.js';
import { nullSinkArgs, runFfmpeg } from '../common/ffmpeg-run.js';
import type { FfmpegRun } from '../common/ffmpeg-run.js';
import { expandInputs } from '../common/inputs.js';
import { writeJsonReport } from '../common/json.js';
import { describeMachine, machineInfo } from '../common/machine.js';
import type { MachineInfo } from '../common/machine.js';
import { MemorySampler, readProcStatus } from '../common/memory.js';
import type { MemoryReport } from '../common/memory.js';
import { runMicro } from '../common/micro.js';
import type { MicroResult } from '../common/micro.js';
import { median, percentile, round } from '../common/stats.js';
import { formatTable } from '../common/table.js';

export interface IngestBenchOptions {
  /** Video files and/or folders (searched recursively for video extensions). */
  inputs: string[];
  /** Index to ingest into: a PGlite directory, `memory://` or a `postgres://` URL. Default: a fresh temporary PGlite directory, removed afterwards. Videos the bench indexes are removed again after each run. */
  db?: string;
  /** Write the JSON report here. */
  json?: string;
  log?: (s: string) => void;
  /** Runs per file (default 1); figures are medians. */
  repeat?: number;
  /** Run the Benchmark.js micro-benchmarks (default true). */
  micro?: boolean;
  /** Seconds per micro-benchmark case (default 1). */
  microMaxTimeSec?: number;
  /** Skip the instrumented per-stage pass (default false). */
  skipStagePass?: boolean;
  /** Log a progress line every this many seconds of wall time during long ingests (default 10; 0 = never). */
  progressLogEverySec?: number;
  /**
   * Also ingest the whole input set in one pass, as `retrace index <folder>` would, with this many
   * files in flight at once for each value given (e.g. [1, 2]): total wall and CPU per pass.
   */
  setPasses?: number[];
}

export interface SetPass {
  concurrency: number;
  files: number;
  durationSec: number;
  wallSec: number;
  cpuSec: number;
  realtime: number;
  peakRssMb: number;
}

/** Milliseconds per stage, summed over a file's frames. */
export interface StageTimes {
  probe: number;
  hash: number;
  /** Waiting for the next decoded frame from the ffmpeg pipe (the engine's `sample`). */
  decode: number;
  /** From the instrumented pass: black-bar detection. */
  border: number;
  /** From the instrumented pass: quality score of the border-free picture. */
  quality: number;
  /** From the instrumented pass: cropping the stored regions. */
  regions: number;
  describe: number;
  store: number;
  /** From the instrumented pass: SQL text of the vectors (inside `store` in the engine). */
  vectorText: number;
  /** Engine total minus its timed stages: border, quality, regions, bookkeeping. */
  engineOther: number;
  total: number;
}

export interface ProgressStats {
  events: number;
  /** Largest wall-clock gap between two progress events (or start/end), s. */
  maxGapSec: number;
  /** Fractions never went backwards. */
  monotonic: boolean;
  lastFraction: number;
  /** Largest media time reported before completion, s. */
  maxMediaTimeSec: number;
  stages: string[];
}

export interface IngestRun {
  repeat: number;
  ffmpeg: FfmpegRun;
  status: IndexResult['status'];
  frames: number;
  /** Duration the engine recorded (measured by decoding when the header has none). */
  durationSec: number;
  wallMs: number;
  cpuMs: { self: number; children: number; total: number };
  timingsMs: Record<string, number>;
  memory: MemoryReport;
  /** VmHWM after resetting it just before this ingest (null if the reset is not permitted). */
  vmHwmDuringMb: number | null;
  progress: ProgressStats;
}

export interface StagePass {
  frames: number;
  /** Wall time of the whole pass (decode included), ms. */
  wallMs: number;
  decodeMs: number;
  totalsMs: { border: number; quality: number; regions: number; describe: number; vectorText: number };
  /** Per-frame latency distribution of border + quality + regions + describe, ms. */
  perFrame: { p50: number; p95: number; max: number };
}

export interface IngestFileReport {
  path: string;
  name: string;
  durationSec: number;
  width: number;
  height: number;
  codec: string;
  fps: number | null;
  sizeBytes: number;
  frames: number;
  /** Medians over runs. */
  ffmpegWallMs: number;
  ffmpegCpuMs: number;
  ffmpegPeakRssMb: number | null;
  ingestWallMs: number;
  ingestCpuMs: number;
  /** Seconds of video per wall second. */
  realtime: number;
  ffmpegRealtime: number;
  /** Ingest wall / ffmpeg-alone wall (target ≤ 1.3). */
  ratioToFfmpeg: number;
  /** Ingest CPU / ffmpeg-alone CPU. */
  cpuRatioToFfmpeg: number;
  stagesMs: StageTimes;
  peakRssMb: number;
  peakFfmpegRssMb: number | null;
  progress: ProgressStats;
  stagePass: StagePass | null;
  runs: IngestRun[];
  skipped?: string;
}

export interface TargetCheck {
  measure: string;
  target: string;
  value: number | null;
  pass: boolean | null;
  note?: string;
}

export interface GroupTotals {
  files: number;
  durationSec: number;
  frames: number;
  ingestWallSec: number;
  ffmpegWallSec: number;
  ingestCpuSec: number;
  ffmpegCpuSec: number;
  realtime: number;
  ffmpegRealtime: number;
  ratioToFfmpeg: number;
  cpuRatioToFfmpeg: number;
  /** Stage ms per frame, weighted over all frames of the group. */
  perFrameMs: StageTimes;
}

export interface IngestBenchReport {
  kind: 'ingest';
  version: 1;
  machine: MachineInfo;
  settings: {
    db: string;
    dialect: string;
    descriptor: string;
    sampling: typeof DEFAULT_SAMPLING;
    repeat: number;
    ffmpeg: string;
    exampleCommand: string[];
  };
  files: IngestFileReport[];
  totals: GroupTotals;
  /** 720p H.264 files only (the 30× / 1.3× target). */
  totals720pH264: GroupTotals | null;
  peakRssMb: number;
  peakFfmpegRssMb: number | null;
  micro: MicroResult[];
  /** Whole-set passes (folder ingest), if asked for. */
  setPasses: SetPass[];
  targets: TargetCheck[];
  wallSec: number;
}

const STAGES: Array<keyof StageTimes> = ['probe', 'hash', 'decode', 'border', 'quality', 'regions', 'describe', 'store', 'vectorText', 'engineOther', 'total'];

function emptyStages(): StageTimes {
  return { probe: 0, hash: 0, decode: 0, border: 0, quality: 0, regions: 0, describe: 0, store: 0, vectorText: 0, engineOther: 0, total: 0 };
}

/** Reset this process's VmHWM so it measures from now on (Linux ≥ 4.0); false if not allowed. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function readVmHwmMb(): number | null {
  return readProcStatus('self')?.hwmMb ?? null;
}

class ProgressTracker {
  private readonly t0 = performance.now();
  private last = this.t0;
  private lastLog = this.t0;
  readonly stats: ProgressStats = { events: 0, maxGapSec: 0, monotonic: true, lastFraction: 0, maxMediaTimeSec: 0, stages: [] };

  constructor(
    private readonly log: ((s: string) => void) | null,
    private readonly logEverySec: number,
    private readonly label: string,
  ) {}

  on = (p: Progress): void => {
    const now = performance.now();
    this.stats.maxGapSec = Math.max(this.stats.maxGapSec, (now - this.last) / 1000);
    this.last = now;
    if (p.fraction < this.stats.lastFraction - 1e-9) this.stats.monotonic = false;
    this.stats.lastFraction = p.fraction;
    this.stats.events++;
    if (p.mediaTimeSec !== undefined && p.stage !== 'done') this.stats.maxMediaTimeSec = Math.max(this.stats.maxMediaTimeSec, p.mediaTimeSec);
    if (!this.stats.stages.includes(p.stage)) this.stats.stages.push(p.stage);
    if (this.log && this.logEverySec > 0 && (now - this.lastLog) / 1000 >= this.logEverySec) {
      this.lastLog = now;
      const rss = process.memoryUsage().rss / 2 ** 20;
      this.log(
        `  … ${this.label}: ${(p.fraction * 100).toFixed(1)}% ${p.stage}` +
          (p.mediaTimeSec !== undefined ? ` at ${p.mediaTimeSec.toFixed(0)} s of media` : '') +
          (p.framesDone !== undefined ? `, ${p.framesDone} frames` : '') +
          `, ${((now - this.t0) / 1000).toFixed(0)} s elapsed, rss ${rss.toFixed(0)} MB`,
      );
    }
  };

  finish(): ProgressStats {
    this.stats.maxGapSec = Math.max(this.stats.maxGapSec, (performance.now() - this.last) / 1000);
    return this.stats;
  }
}

/** Decode once more and time the per-frame stages the engine does not time, without storage. */
async function stagePass(path: string, info: MediaInfo, descriptor: BuiltinDescriptor): Promise<StagePass> {
  const totals = { border: 0, quality: 0, regions: 0, describe: 0, vectorText: 0 };
  const perFrame: number[] = [];
  let decodeMs = 0;
  let frames = 0;
  const t0 = performance.now();
  let t = performance.now();
  // The engine's own selection: 'decode' is the wait for the next kept frame, so it includes
  // decoding the motion candidates and choosing among them.
  const candidates = sampleFrames({ path, info, output: descriptor.input, sampling: candidateSampling(DEFAULT_SAMPLING) });
  for await (const f of selectFrames(candidates, { sampling: DEFAULT_SAMPLING, minQuality: DEFAULT_EVIDENCE.minQuality })) {
    decodeMs += performance.now() - t;
    const f0 = performance.now();
    let a = f0;
    const content = detectContentRect(f.raster);
    let b = performance.now();
    totals.border += b - a;
    a = b;
    frameQuality(crop(f.raster, content));
    b = performance.now();
    totals.quality += b - a;
    a = b;
    const regions = storedRegions(f.raster, content);
    b = performance.now();
    totals.regions += b - a;
    a = b;
    const vecs = await descriptor.describe(regions.map((r) => r.raster));
    b = performance.now();
    totals.describe += b - a;
    a = b;
    for (const v of vecs) vectorLiteral(v);
    b = performance.now();
    totals.vectorText += b - a;
    perFrame.push(b - f0);
    frames++;
    t = performance.now();
  }
  return {
    frames,
    wallMs: performance.now() - t0,
    decodeMs,
    totalsMs: totals,
    perFrame: { p50: percentile(perFrame, 50), p95: percentile(perFrame, 95), max: perFrame.length ? Math.max(...perFrame) : NaN },
  };
}

/** A few real frames for the micro-benchmarks: every n-th sampled frame of the first input. */
async function microFrames(path: string, info: MediaInfo, descriptor: BuiltinDescriptor, want = 8): Promise<Raster[]> {
  const all: Raster[] = [];
  for await (const f of sampleFrames({ path, info, output: descriptor.input, sampling: DEFAULT_SAMPLING })) {
    all.push(f.raster);
    if (all.length >= 64) break;
  }
  if (all.length <= want) return all;
  return Array.from({ length: want }, (_, i) => all[Math.floor((i * all.length) / want)]);
}

function runMicroSuite(frames: Raster[], descriptor: BuiltinDescriptor, maxTimeSec: number): MicroResult[] {
  if (!frames.length) return [];
  let i = 0;
  const next = () => frames[i++ % frames.length];
  let sink = 0;
  const contents = frames.map((f) => detectContentRect(f));
  const regionSets = frames.map((f, k) => storedRegions(f, contents[k]));
  const vectors = regionSets.map((rs) => rs.map((r) => descriptor.describeOne(r.raster)));
  const results = runMicro(
    [
      {
        name: 'border: detectContentRect',
        fn: () => {
          sink += detectContentRect(next()).width;
        },
      },
      {
        name: 'quality: frameQuality(crop)',
        fn: () => {
          const k = i++ % frames.length;
          sink += frameQuality(crop(frames[k], contents[k]));
        },
      },
      {
        name: 'regions: storedRegions',
        fn: () => {
          const k = i++ % frames.length;
          sink += storedRegions(frames[k], contents[k]).length;
        },
      },
      {
        name: 'describe: 2 regions',
        fn: () => {
          const rs = regionSets[i++ % regionSets.length];
          for (const r of rs) sink += descriptor.describeOne(r.raster)[0];
        },
      },
      {
        name: 'store text: 2 × vectorLiteral',
        fn: () => {
          const vs = vectors[i++ % vectors.length];
          for (const v of vs) sink += vectorLiteral(v).length;
        },
      },
    ],
    { maxTimeSec },
  );
  if (sink === 42) console.log(''); // keep the work observable
  return results;
}

function groupTotals(files: readonly IngestFileReport[]): GroupTotals | null {
  const ok = files.filter((f) => !f.skipped);
  if (!ok.length) return null;
  const sum = (g: (f: IngestFileReport) => number) => ok.reduce((s, f) => s + g(f), 0);
  const durationSec = sum((f) => f.durationSec);
  const frames = sum((f) => f.frames);
  const ingestWallSec = sum((f) => f.ingestWallMs) / 1000;
  const ffmpegWallSec = sum((f) => f.ffmpegWallMs) / 1000;
  const ingestCpuSec = sum((f) => f.ingestCpuMs) / 1000;
  const ffmpegCpuSec = sum((f) => f.ffmpegCpuMs) / 1000;
  const perFrameMs = emptyStages();
  for (const k of STAGES) perFrameMs[k] = frames ? sum((f) => f.stagesMs[k]) / frames : NaN;
  return {
    files: ok.length,
    durationSec,
    frames,
    ingestWallSec,
    ffmpegWallSec,
    ingestCpuSec,
    ffmpegCpuSec,
    realtime: durationSec / ingestWallSec,
    ffmpegRealtime: durationSec / ffmpegWallSec,
    ratioToFfmpeg: ingestWallSec / ffmpegWallSec,
    cpuRatioToFfmpeg: ingestCpuSec / ffmpegCpuSec,
    perFrameMs,
  };
}

function is720pH264(f: IngestFileReport): boolean {
  return f.codec === 'h264' && Math.min(f.width, f.height) === 720;
}

/**
 * Run the ingest benchmark over files and folders; prints tables through `log` and returns (and
 * optionally writes) the JSON report.
 *
 * @example
 * const report = await runIngestBench({ inputs: ['/videos'], json: 'ingest.json' });
 * console.log(report.totals.realtime);
 */
export async function runIngestBench(opts: IngestBenchOptions): Promise<IngestBenchReport> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const repeat = Math.max(1, opts.repeat ?? 1);
  const tStart = performance.now();
  const { ffmpeg } = resolveFfmpegPaths();
  const machine = machineInfo(ffmpeg);
  const paths = await expandInputs(opts.inputs);
  if (!paths.length) throw new Error(`no video files found in ${opts.inputs.join(', ')}`);

  const scratch = opts.db ? null : await mkdtemp(join(tmpdir(), 'retrace-bench-ingest-'));
  const db = opts.db ?? join(scratch!, 'index');
  const descriptor = new BuiltinDescriptor();
  const engine = await Retrace.open({ db, descriptor });
  log(`ingest bench: ${paths.length} file(s), ${repeat} run(s) each, index ${engine.sql.dialect} ${engine.sql.location}`);
  log(`machine: ${describeMachine(machine)}`);

  const files: IngestFileReport[] = [];
  let exampleCommand: string[] = [];
  let microResults: MicroResult[] = [];
  const setPasses: SetPass[] = [];
  try {
    for (const path of paths) {
      const name = basename(path);
      let info: MediaInfo;
      try {
        info = await probeMedia(path, engine.limits);
      } catch (e) {
        log(`  ${name}: skipped (${(e as Error).message})`);
        files.push({ ...skippedFile(path), skipped: (e as Error).message });
        continue;
      }
      if (info.kind !== 'video') {
        files.push({ ...skippedFile(path), skipped: 'not a video' });
        continue;
      }
      const args = nullSinkArgs(samplerArgs({ path, info, output: descriptor.input, sampling: candidateSampling(engine.sampling) }));
      if (!exampleCommand.length) exampleCommand = [ffmpeg, ...args];
      const runs: IngestRun[] = [];
      let stage: StagePass | null = null;
      let skipped: string | undefined;
      for (let r = 0; r < repeat; r++) {
        const ff = await runFfmpeg(ffmpeg, args);
        if (ff.exitCode !== 0) {
          skipped = `ffmpeg alone failed (exit ${ff.exitCode}): ${ff.stderrTail.trim().split('\n').slice(-1)[0] ?? ''}`;
          break;
        }
        const tracker = new ProgressTracker(log, opts.progressLogEverySec ?? 10, name);
        const hwmReset = resetPeakRss();
        const mem = new MemorySampler({ childNames: ['ffmpeg', 'ffprobe'] }).start();
        const cpu0 = cpuTimes();
        const t0 = performance.now();
        let result: IndexResult;
        try {
          result = await engine.index(path, { onProgress: tracker.on });
        } catch (e) {
          mem.stop();
          skipped = `ingest failed: ${(e as Error).message}`;
          break;
        }
        const wallMs = performance.now() - t0;
        const cpu = cpuSince(cpu0);
        const memory = mem.stop();
        runs.push({
          repeat: r,
          ffmpeg: ff,
          status: result.status,
          frames: result.frames,
          durationSec: result.durationSec,
          wallMs,
          cpuMs: { self: cpu.selfMs, children: cpu.childrenMs, total: cpu.selfMs + cpu.childrenMs },
          timingsMs: result.timingsMs,
          memory,
          vmHwmDuringMb: hwmReset ? readVmHwmMb() : null,
          progress: tracker.finish(),
        });
        if (result.status === 'duplicate') {
          skipped = 'already in the index (duplicate): not re-ingested, not timed';
          break;
        }
        // Leave the index as it was, and let the next repeat ingest again.
        await engine.remove(result.videoId);
        if (r === 0 && !opts.skipStagePass) stage = await stagePass(path, info, descriptor);
      }
      if (opts.micro !== false && !microResults.length && !skipped) {
        const frames = await microFrames(path, info, descriptor);
        microResults = runMicroSuite(frames, descriptor, opts.microMaxTimeSec ?? 1);
      }
      const report = fileReport(path, info, runs, stage, skipped);
      files.push(report);
      log(
        report.skipped
          ? `  ${name}: skipped (${report.skipped})`
          : `  ${name}: ${report.durationSec.toFixed(1)} s, ${report.frames} frames, ingest ${(report.ingestWallMs / 1000).toFixed(2)} s ` +
              `(${report.realtime.toFixed(1)}× realtime), ffmpeg alone ${(report.ffmpegWallMs / 1000).toFixed(2)} s, ratio ${report.ratioToFfmpeg.toFixed(2)}`,
      );
    }
    for (const concurrency of opts.setPasses ?? []) {
      const okPaths = files.filter((f) => !f.skipped).map((f) => f.path);
      if (!okPaths.length) break;
      log(`whole-set pass: ${okPaths.length} files, ${concurrency} in flight…`);
      const mem = new MemorySampler({ childNames: ['ffmpeg', 'ffprobe'] }).start();
      const cpu0 = cpuTimes();
      const t0 = performance.now();
      // Exactly what `retrace index <folder>` runs.
      let durationSec = 0;
      const done: string[] = [];
      for (const o of await engine.indexMany(okPaths, { concurrency })) {
        if (!o.ok) throw o.error;
        durationSec += o.result.durationSec;
        done.push(o.result.videoId);
      }
      const wallSec = (performance.now() - t0) / 1000;
      const cpu = cpuSince(cpu0);
      const m = mem.stop();
      for (const id of done) await engine.remove(id);
      setPasses.push({
        concurrency,
        files: okPaths.length,
        durationSec,
        wallSec,
        cpuSec: (cpu.selfMs + cpu.childrenMs) / 1000,
        realtime: durationSec / wallSec,
        peakRssMb: m.peakRssSampledMb,
      });
      log(`  ${(durationSec / wallSec).toFixed(1)}× realtime (${wallSec.toFixed(1)} s wall, ${((cpu.selfMs + cpu.childrenMs) / 1000).toFixed(1)} s CPU)`);
    }
  } finally {
    await engine.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }

  const totals = groupTotals(files);
  if (!totals) throw new Error('no file could be ingested');
  const totals720 = groupTotals(files.filter(is720pH264));
  const ok = files.filter((f) => !f.skipped);
  const peakRssMb = Math.max(...ok.map((f) => f.peakRssMb));
  const ffPeaks = ok.map((f) => f.peakFfmpegRssMb).filter((x): x is number => x !== null);
  const peakFfmpegRssMb = ffPeaks.length ? Math.max(...ffPeaks) : null;
  const longest = ok.reduce((a, b) => (b.durationSec > a.durationSec ? b : a));

  const targets: TargetCheck[] = [
    { measure: 'ingest, whole input set, × realtime', target: '≥ 50', value: round(totals.realtime, 1), pass: totals.realtime >= 50 },
    {
      measure: 'ingest, 720p H.264 at 1 frame/s, × realtime',
      target: '≥ 30',
      value: totals720 ? round(totals720.realtime, 1) : null,
      pass: totals720 ? totals720.realtime >= 30 : null,
      note: totals720 ? `${totals720.files} file(s)` : 'no 720p H.264 input',
    },
    {
      measure: 'ingest time ÷ ffmpeg decode of the same stream (720p H.264)',
      target: '≤ 1.3',
      value: totals720 ? round(totals720.ratioToFfmpeg, 2) : null,
      pass: totals720 ? totals720.ratioToFfmpeg <= 1.3 : null,
    },
    { measure: 'ingest time ÷ ffmpeg decode, whole input set', target: '≤ 1.3', value: round(totals.ratioToFfmpeg, 2), pass: totals.ratioToFfmpeg <= 1.3 },
    {
      measure: `peak RSS during ingest (longest input: ${longest.name}, ${(longest.durationSec / 60).toFixed(1)} min)`,
      target: longest.durationSec >= 3600 ? '≤ 300 MB (2-hour video)' : '≤ 300 MB (target is for a 2-hour video)',
      value: round(longest.peakRssMb, 0),
      pass: longest.peakRssMb <= 300,
    },
  ];

  const report: IngestBenchReport = {
    kind: 'ingest',
    version: 1,
    machine,
    settings: {
      db: engine.sql.location,
      dialect: engine.sql.dialect,
      descriptor: descriptor.id,
      sampling: { ...engine.sampling },
      repeat,
      ffmpeg,
      exampleCommand,
    },
    files,
    totals,
    totals720pH264: totals720,
    peakRssMb,
    peakFfmpegRssMb,
    micro: microResults,
    setPasses,
    targets,
    wallSec: (performance.now() - tStart) / 1000,
  };
  printIngestReport(report, log);
  if (opts.json) log(`wrote ${await writeJsonReport(opts.json, report)}`);
  return report;
}

function skippedFile(path: string): IngestFileReport {
  return {
    path,
    name: basename(path),
    durationSec: 0,
    width: 0,
    height: 0,
    codec: '',
    fps: null,
    sizeBytes: 0,
    frames: 0,
    ffmpegWallMs: NaN,
    ffmpegCpuMs: NaN,
    ffmpegPeakRssMb: null,
    ingestWallMs: NaN,
    ingestCpuMs: NaN,
    realtime: NaN,
    ffmpegRealtime: NaN,
    ratioToFfmpeg: NaN,
    cpuRatioToFfmpeg: NaN,
    stagesMs: emptyStages(),
    peakRssMb: NaN,
    peakFfmpegRssMb: null,
    progress: { events: 0, maxGapSec: 0, monotonic: true, lastFraction: 0, maxMediaTimeSec: 0, stages: [] },
    stagePass: null,
    runs: [],
  };
}

function fileReport(path: string, info: MediaInfo, runs: IngestRun[], stage: StagePass | null, skipped: string | undefined): IngestFileReport {
  const base = skippedFile(path);
  const meta = { durationSec: info.durationSec, width: info.width, height: info.height, codec: info.codec, fps: info.fps, sizeBytes: info.sizeBytes };
  if (skipped || !runs.length) return { ...base, ...meta, runs, skipped: skipped ?? 'no run' };
  const med = (g: (r: IngestRun) => number) => median(runs.map(g));
  const tm = (k: string) => med((r) => r.timingsMs[k] ?? 0);
  const frames = runs[0].frames;
  // Containers without a duration in the header get it from decoding (as the engine does).
  const durationSec = info.durationSec > 0 ? info.durationSec : runs[0].durationSec;
  const stagesMs: StageTimes = {
    probe: tm('probe'),
    hash: tm('hash'),
    decode: tm('sample'),
    border: stage?.totalsMs.border ?? NaN,
    quality: stage?.totalsMs.quality ?? NaN,
    regions: stage?.totalsMs.regions ?? NaN,
    describe: tm('describe'),
    store: tm('store'),
    vectorText: stage?.totalsMs.vectorText ?? NaN,
    engineOther: med((r) => Math.max(0, r.timingsMs.total - ['probe', 'hash', 'sample', 'describe', 'store'].reduce((s, k) => s + (r.timingsMs[k] ?? 0), 0))),
    total: tm('total'),
  };
  const ingestWallMs = med((r) => r.wallMs);
  const ffmpegWallMs = med((r) => r.ffmpeg.wallMs);
  const ingestCpuMs = med((r) => r.cpuMs.total);
  const ffmpegCpuMs = med((r) => r.ffmpeg.cpuMs);
  const ffPeaks = runs.map((r) => r.ffmpeg.peakRssMb).filter((x): x is number => x !== null);
  const childPeaks = runs.map((r) => r.memory.peakChildMb).filter((x): x is number => x !== null);
  const worstProgress = runs.reduce((a, b) => (b.progress.maxGapSec > a.progress.maxGapSec ? b : a)).progress;
  return {
    ...base,
    ...meta,
    durationSec,
    frames,
    ffmpegWallMs,
    ffmpegCpuMs,
    ffmpegPeakRssMb: ffPeaks.length ? Math.max(...ffPeaks) : null,
    ingestWallMs,
    ingestCpuMs,
    realtime: durationSec / (ingestWallMs / 1000),
    ffmpegRealtime: durationSec / (ffmpegWallMs / 1000),
    ratioToFfmpeg: ingestWallMs / ffmpegWallMs,
    cpuRatioToFfmpeg: ingestCpuMs / ffmpegCpuMs,
    stagesMs,
    peakRssMb: Math.max(...runs.map((r) => Math.max(r.memory.peakRssSampledMb, r.vmHwmDuringMb ?? 0))),
    peakFfmpegRssMb: childPeaks.length ? Math.max(...childPeaks) : null,
    progress: worstProgress,
    stagePass: stage,
    runs,
  };
}

/** Print the report's tables. */
export function printIngestReport(r: IngestBenchReport, log: (s: string) => void): void {
  const ok = r.files.filter((f) => !f.skipped);
  log('');
  log('Per file (medians over runs; "ratio" = ingest wall ÷ ffmpeg-alone wall, "cpu ratio" = same on CPU time)');
  log(
    formatTable(
      ['file', 'size', 'codec', 'dur s', 'frames', 'ffmpeg s', 'ingest s', '× RT', 'ratio', 'cpu ratio', 'peak RSS MB', 'ffmpeg MB'],
      ok.map((f) => [
        f.name,
        `${f.width}×${f.height}`,
        f.codec,
        f.durationSec,
        f.frames,
        f.ffmpegWallMs / 1000,
        f.ingestWallMs / 1000,
        f.realtime,
        f.ratioToFfmpeg,
        f.cpuRatioToFfmpeg,
        f.peakRssMb,
        f.peakFfmpegRssMb,
      ]),
      [0, 0, 0, 1, 0, 2, 2, 1, 2, 2, 0, 0],
    ),
  );
  for (const f of r.files.filter((x) => x.skipped)) log(`skipped ${f.name}: ${f.skipped}`);
  const groups: Array<[string, GroupTotals | null]> = [
    ['all inputs', r.totals],
    ['720p H.264', r.totals720pH264],
  ];
  log('');
  log('Totals');
  log(
    formatTable(
      ['group', 'files', 'video s', 'frames', 'ingest s', 'ffmpeg s', '× RT', 'ffmpeg × RT', 'ratio', 'cpu ratio'],
      groups
        .filter(([, g]) => g)
        .map(([n, g]) => [
          n,
          g!.files,
          g!.durationSec,
          g!.frames,
          g!.ingestWallSec,
          g!.ffmpegWallSec,
          g!.realtime,
          g!.ffmpegRealtime,
          g!.ratioToFfmpeg,
          g!.cpuRatioToFfmpeg,
        ]),
      [0, 0, 1, 0, 2, 2, 1, 1, 2, 2],
    ),
  );
  log('');
  log(
    'Per-frame latency by stage, ms/frame (probe and hash are per file, spread over its frames; border/quality/regions/vector text from the instrumented pass)',
  );
  log(
    formatTable(
      ['group', ...STAGES],
      groups.filter(([, g]) => g).map(([n, g]) => [n, ...STAGES.map((k) => g!.perFrameMs[k])]),
      [0, ...STAGES.map(() => 3)],
    ),
  );
  if (r.micro.length) {
    log('');
    log('Micro-benchmarks (Benchmark.js, real 128×128 frames)');
    log(
      formatTable(
        ['case', 'ms/call', 'calls/s', '± %', 'samples'],
        r.micro.map((m) => [m.name, m.meanMs, m.hz, m.rmePct, m.samples]),
        [0, 4, 0, 1, 0],
      ),
    );
  }
  if (r.setPasses.length) {
    log('');
    log('Whole-set passes (every input ingested in one go, as `retrace index <folder>` does; N files in flight)');
    log(
      formatTable(
        ['in flight', 'files', 'video s', 'wall s', 'CPU s', '× RT', 'peak RSS MB'],
        r.setPasses.map((p) => [p.concurrency, p.files, p.durationSec, p.wallSec, p.cpuSec, p.realtime, p.peakRssMb]),
        [0, 0, 1, 2, 2, 1, 0],
      ),
    );
  }
  log('');
  log(
    `Peak RSS during ingest: ${r.peakRssMb.toFixed(0)} MB (this process); ffmpeg child peak ${r.peakFfmpegRssMb === null ? 'n/a' : r.peakFfmpegRssMb.toFixed(0) + ' MB'}`,
  );
  log('');
  log('Targets');
  log(
    formatTable(
      ['measure', 'target', 'value', 'pass', 'note'],
      r.targets.map((t) => [t.measure, t.target, t.value === null ? null : String(t.value), t.pass, t.note ?? '']),
    ),
  );
  log(`(${r.wallSec.toFixed(0)} s; machine shared with other work: see load ${r.machine.loadAverage.join('/')} at start)`);
}

/**
 * The performance benchmarks in quick mode, so they never rot: a generated clip through the
 * ingest bench, and a 2k-frame index (memory PGlite) through the search bench. Only the shape
 * and sanity of the reports are checked — never timings (the machine is shared; benchmarks
 * report, tests don't judge speed).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resolveFfmpegPaths } from '../../src/index.js';
import { DEFAULT_ANN } from '../../src/db/frame-store.js';
import { runIngestBench } from '../../bench/ingest/run-ingest-bench.js';
import type { IngestBenchReport } from '../../bench/ingest/run-ingest-bench.js';
import { runSearchBench } from '../../bench/search/run-search-bench.js';
import type { SearchBenchReport } from '../../bench/search/run-search-bench.js';

let dir: string;
let clip: string;

function isPositiveFinite(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retrace-perf-quick-'));
  clip = join(dir, 'clip.mp4');
  const { ffmpeg } = resolveFfmpegPaths();
  // 12 s of changing 320×240 H.264: enough frames for both benches.
  const r = spawnSync(ffmpeg, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=25:duration=12',
    '-vf',
    "hue=h=t*40,drawbox=x='mod(t*60,280)':y=60:w=40:h=120:color=white@0.8:t=fill",
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    clip,
  ]);
  if (r.status !== 0) throw new Error(`could not generate the test clip: ${r.stderr.toString()}`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('performance benchmarks, quick mode', () => {
  it('ingest bench reports per-stage latency, realtime factor, ffmpeg ratio and memory', async () => {
    const lines: string[] = [];
    const json = join(dir, 'ingest.json');
    const report: IngestBenchReport = await runIngestBench({ inputs: [clip], json, log: (s) => lines.push(s), microMaxTimeSec: 0.05 });
    expect(report.kind).toBe('ingest');
    expect(report.files).toHaveLength(1);
    const f = report.files[0];
    expect(f.skipped).toBeUndefined();
    expect(f.frames).toBeGreaterThanOrEqual(10);
    expect(f.durationSec).toBeCloseTo(12, 0);
    for (const x of [f.ingestWallMs, f.ffmpegWallMs, f.realtime, f.ratioToFfmpeg, f.peakRssMb, report.totals.realtime]) expect(isPositiveFinite(x)).toBe(true);
    for (const k of ['probe', 'decode', 'border', 'describe', 'store', 'total'] as const) expect(Number.isFinite(report.totals.perFrameMs[k])).toBe(true);
    expect(f.progress.events).toBeGreaterThan(1);
    expect(f.progress.monotonic).toBe(true);
    expect(f.progress.lastFraction).toBe(1);
    expect(report.micro.map((m) => m.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^border/), expect.stringMatching(/^describe/)]));
    expect(report.targets.length).toBeGreaterThanOrEqual(4);
    expect(report.settings.exampleCommand.join(' ')).toContain('-f null -');
    expect(lines.join('\n')).toContain('Per-frame latency by stage');
    const written = JSON.parse(await readFile(json, 'utf8')) as IngestBenchReport;
    expect(written.kind).toBe('ingest');
    expect(written.files[0].frames).toBe(f.frames);
  }, 300_000);

  it('search bench fills an index and reports build time, storage, recall and latency', async () => {
    const lines: string[] = [];
    const json = join(dir, 'search.json');
    const report: SearchBenchReport = await runSearchBench({
      frames: 2000,
      quick: true,
      db: 'memory://',
      sources: [clip],
      cacheDir: join(dir, 'cache'),
      json,
      log: (s) => lines.push(s),
    });
    expect(report.kind).toBe('search');
    expect(report.settings.frames).toBe(2000);
    expect(report.settings.vectors).toBe(4000);
    expect(isPositiveFinite(report.load.seconds)).toBe(true);
    expect(isPositiveFinite(report.build.seconds)).toBe(true);
    expect(isPositiveFinite(report.storage.frameBytesPerFrame)).toBe(true);
    expect(report.storage.relations.map((r) => r.name)).toEqual(expect.arrayContaining(['frames', 'frames_e0_l2', 'frames_e1_l2']));
    expect(report.recall.atDefault).toBeGreaterThanOrEqual(0);
    expect(report.recall.atDefault).toBeLessThanOrEqual(1);
    expect(report.recall.sweep.length).toBeGreaterThanOrEqual(1);
    expect(report.image.knnMs.n).toBeGreaterThan(0);
    expect(report.video.knnMs.n).toBeGreaterThan(0);
    expect(report.video.alignMs?.n).toBe(report.video.knnMs.n);
    expect(isPositiveFinite(report.video.knnMs.p50)).toBe(true);
    expect(report.incrementalInsert?.frames).toBeGreaterThan(0);
    expect(report.e2e?.copy?.totalMs.n).toBeGreaterThan(0);
    expect(report.e2e?.miss?.totalMs.n).toBeGreaterThan(0);
    expect(report.distribution.syntheticRandomPairs).toHaveLength(report.distribution.percentiles.length);
    expect(report.targets.some((t) => t.measure.startsWith('storage per frame'))).toBe(true);
    expect(lines.join('\n')).toContain('Recall@');
    // Without --stored-windows the report has no windows part.
    expect(report.windows).toBeUndefined();
    expect(report.settings.storedWindows).toBeUndefined();
    const written = JSON.parse(await readFile(json, 'utf8')) as SearchBenchReport;
    expect(written.settings.frames).toBe(2000);
  }, 300_000);

  it('search bench with stored windows reports their bytes, the window queries and their recall, at the default window degree and at m 8', async () => {
    const lines: string[] = [];
    const report: SearchBenchReport = await runSearchBench({
      frames: 600,
      quick: true,
      db: 'memory://',
      sources: [clip],
      cacheDir: join(dir, 'cache'),
      e2e: false,
      storedWindows: true,
      windowM: [8],
      log: (s) => lines.push(s),
    });
    const w = report.windows!;
    expect(report.settings.storedWindows).toBe(true);
    // Strips on three frames in four (two on two of them, one on the third) and a quadrant on every frame.
    expect(w.vectorsPerFrame).toBeGreaterThan(2);
    expect(w.vectorsPerFrame).toBeLessThanOrEqual(3);
    expect(report.settings.vectors).toBe(2 * 600 + w.vectors);
    expect(w.heapBytes).toBeGreaterThan(w.heapWithoutWindowsBytes);
    expect(report.storage.relations.map((r) => r.name)).toEqual(expect.arrayContaining(['frames_e2_l2', 'frames_e3_l2', 'frames_e4_l2']));
    expect(w.points.map((p) => p.m)).toEqual([DEFAULT_ANN.windowM, 8]);
    for (const p of w.points) {
      expect(p.columns.map((c) => c.column)).toEqual(['e2', 'e3', 'e4']);
      for (const c of p.columns) {
        expect(c.vectors).toBeGreaterThan(0);
        expect(isPositiveFinite(c.graphBytesPerVector)).toBe(true);
        expect(c.recall).toBeGreaterThanOrEqual(0);
        expect(c.recall).toBeLessThanOrEqual(1);
        expect(Number.isFinite(c.floorShift)).toBe(true);
      }
      // 9:16 queries compare strips (a vertical window of a wide reference) and the quadrants of
      // portrait references; 16:9 ones mostly quadrants (the engine's geometry on the content
      // rectangle border detection leaves).
      const shape = (name: string) => p.latency.find((l) => l.shape === name)!;
      expect(shape('9:16 vertical').stripVectorsPerQuery).toBeGreaterThan(0);
      expect(shape('16:9 copy').quadrantVectorsPerQuery).toBeGreaterThan(shape('16:9 copy').stripVectorsPerQuery);
      expect(shape('16:9 copy').totalKnnMs.n).toBeGreaterThan(0);
    }
    expect(lines.join('\n')).toContain('Window queries of a second-tier search');
  }, 300_000);
});

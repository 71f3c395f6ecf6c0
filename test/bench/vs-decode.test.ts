/**
 * `retrace bench ingest --vs-decode` on a tiny generated clip: the report's shape, and that both
 * CPU figures (process trees of `retrace index` and of ffmpeg's decode) were actually measured.
 * Speed is never judged here. Runs the built CLI (dist/), as the benchmark does.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ingestCli } from '../../bench/ingest/main.js';
import type { VsDecodeReport } from '../../bench/ingest/vs-decode.js';
import { makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';

let dir: TempDir;
let clip: string;

beforeAll(async () => {
  dir = await makeTempDir('retrace-vs-decode-');
  clip = await makeClip(dir, 'clip', { source: 'mandelbrot', durationSec: 4 });
});

afterAll(async () => {
  await dir?.cleanup();
});

describe('bench ingest --vs-decode', () => {
  it('reports the CPU of retrace index and of the decode of the same file, their ratio and realtime factors', async () => {
    const lines: string[] = [];
    const json = dir.file('vs-decode.json');
    const code = await ingestCli(['--vs-decode', clip, '--json', json], (l) => lines.push(l));
    expect(code).toBe(0);
    const r = JSON.parse(await readFile(json, 'utf8')) as VsDecodeReport;
    expect(r.kind).toBe('ingest-vs-decode');
    expect(r.files).toHaveLength(1);
    expect(r.durationSec).toBeCloseTo(4, 0);
    expect(r.runs).toHaveLength(1);
    expect(r.runs[0].ingest.indexed).toBe(1);
    expect(r.runs[0].ingest.frames).toBeGreaterThanOrEqual(4);
    expect(r.ingest.cpuSec).toBeGreaterThan(0);
    expect(r.decode.cpuSec).toBeGreaterThan(0);
    for (const x of [r.cpuRatio, r.ingest.realtime, r.decode.realtime, r.ingest.wallSec, r.decode.wallSec]) {
      expect(Number.isFinite(x) && x > 0).toBe(true);
    }
    expect(r.cpuRatio).toBeCloseTo(r.ingest.cpuSec / r.decode.cpuSec, 6);
    // The decode floor uses the sampler's decoder flags and no filter.
    const cmd = r.decodeCommand.join(' ');
    expect(cmd).toContain('-skip_loop_filter all');
    expect(cmd).toMatch(/-threads \d/);
    expect(cmd).toContain('-f null -');
    expect(cmd).not.toContain('-vf');
    expect(lines.join('\n')).toContain('CPU ratio');
  }, 300_000);
});

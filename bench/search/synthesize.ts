/**
 * Fill the synthetic-descriptor cache up to N frames without touching a database, so that the
 * slow part of a large run (rendering and describing ~1M frames, about 35 min) can happen in the
 * background while other work goes on:
 *
 *   node dist/bench/search/synthesize.js --frames 1M [--seed 1] [--frames-per-video 300] [--stored-windows]
 *
 * With --stored-windows the frames' stored windows are cached too (a file of their own).
 */
import { numberFlag, parseFlags } from '../common/args.js';
import { benchCacheDir } from '../common/cache-dir.js';
import { loadSourceClips } from './source-frames.js';
import { ensureSynthetic, ensureSyntheticWindows, syntheticSet } from './synthetic-cache.js';
import { DEFAULT_SOURCES } from './run-search-bench.js';

async function main(): Promise<void> {
  const p = parseFlags(process.argv.slice(2), { values: ['frames', 'seed', 'frames-per-video', 'sources'], switches: ['stored-windows'] });
  const frames = numberFlag(p, 'frames');
  if (!frames) throw new Error('--frames N is required');
  const seed = numberFlag(p, 'seed') ?? 1;
  const fpv = numberFlag(p, 'frames-per-video') ?? 300;
  const cacheDir = benchCacheDir();
  const clips = await loadSourceClips(p.values.get('sources')?.split(',') ?? [DEFAULT_SOURCES], cacheDir, console.log);
  const set = syntheticSet(clips, seed, fpv, cacheDir);
  // One extra video beyond N, as the search benchmark uses for its incremental-insert measurement.
  const total = (Math.ceil(frames / fpv) + 1) * fpv;
  const r = await ensureSynthetic(set, total, console.log);
  console.log(`${set.cacheFile}: ${r.generated} frames generated in ${r.seconds.toFixed(0)} s (covers ${total})`);
  if (p.switches.has('stored-windows')) {
    const w = await ensureSyntheticWindows(set, total, console.log);
    console.log(`${set.windowsFile}: ${w.generated} frames' windows generated in ${w.seconds.toFixed(0)} s (covers ${total})`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);

/**
 * How long `child_process.spawn()` blocks the event loop as the process grows: fork() copies the
 * page tables of everything resident, and the engine spawns ffprobe and ffmpeg for every file
 * after PGlite has made the process large. Prints the median synchronous cost of spawning
 * /bin/true at three sizes: fresh, after opening PGlite, and with 1 GiB more resident.
 *
 *   node dist/bench/ingest/spawn-cost.js
 */
import { spawn } from 'node:child_process';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { median } from '../common/stats.js';

async function spawnCost(label: string, out: Array<{ label: string; rssMb: number; spawnMs: number }>): Promise<void> {
  const ts: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const p = spawn('/bin/true', [], { stdio: 'ignore' });
    ts.push(performance.now() - t);
    await new Promise((r) => p.on('close', r));
  }
  out.push({ label, rssMb: process.memoryUsage().rss / 2 ** 20, spawnMs: median(ts) });
}

export async function measureSpawnCost(): Promise<Array<{ label: string; rssMb: number; spawnMs: number }>> {
  const out: Array<{ label: string; rssMb: number; spawnMs: number }> = [];
  await spawnCost('fresh process', out);
  const db = await PGlite.create({ extensions: { vector } });
  await spawnCost('after opening PGlite', out);
  const big = Buffer.alloc(2 ** 30, 1);
  await spawnCost('with 1 GiB more resident', out);
  if (big[12345] !== 1) throw new Error('unreachable');
  await db.close();
  return out;
}

if (process.argv[1] && /spawn-cost\.(js|ts)$/.test(process.argv[1])) {
  measureSpawnCost().then(
    (rows) => {
      for (const r of rows)
        console.log(`${r.label.padEnd(26)} rss ${r.rssMb.toFixed(0).padStart(5)} MB   spawn() blocks ${r.spawnMs.toFixed(2)} ms (median of 15)`);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

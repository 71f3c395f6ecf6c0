/**
 * What the database-backed rate limit costs a request: GET /api/jobs?limit=1 against two servers
 * on one scratch database, one without the limit and one with it (a limit no client reaches),
 * over loopback, alternating blocks so load changes on a shared machine hit both alike.
 *
 *   npx vite-node bench/server/rate-limit-overhead.ts -- [--db postgres://…] [--requests 2000] [--clients 1]
 */
import { loadavg } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Retrace } from '../../src/core/engine/retrace.js';
import { startServer } from '../../src/server/index.js';
import { scratchDatabase } from '../common/scratch-db.js';
import { roundSummary, summarize } from '../common/stats.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { db: { type: 'string' }, requests: { type: 'string', default: '2000' }, clients: { type: 'string', default: '1' } },
});
const total = Number(values.requests);
const clients = Number(values.clients);

const db = await scratchDatabase({ db: values.db, name: 'retrace_bench_ratelimit' });
const engine = await Retrace.open({ db: db.location });
const dir = await mkdtemp(join(tmpdir(), 'retrace-bench-rl-'));
const quiet = { log: () => {} };
const off = await startServer({ engine, port: 0, dataDir: join(dir, 'off'), ...quiet });
const on = await startServer({ engine, port: 0, dataDir: join(dir, 'on'), rateLimitPerMinute: 1_000_000_000, ...quiet });
const load = loadavg()[0];

async function block(url: string, n: number, into: number[]): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < n) {
        const s = performance.now();
        const r = await fetch(new URL('/api/jobs?limit=1', url));
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        into.push(performance.now() - s);
      }
    }),
  );
  return performance.now() - t0;
}

const lat = { off: [] as number[], on: [] as number[] };
const wall = { off: 0, on: 0 };
// Warm-up, then alternating blocks of 100.
await block(off.url, 100, []);
await block(on.url, 100, []);
for (let done = 0; done < total; done += 100) {
  wall.off += await block(off.url, 100, lat.off);
  wall.on += await block(on.url, 100, lat.on);
}
const out = {
  store: db.dialect,
  clients,
  requestsEach: lat.off.length,
  loadAtStart: Number(load.toFixed(2)),
  loadAtEnd: Number(loadavg()[0].toFixed(2)),
  latencyMsWithout: roundSummary(summarize(lat.off), 2),
  latencyMsWith: roundSummary(summarize(lat.on), 2),
  requestsPerSecWithout: Math.round((lat.off.length / wall.off) * 1000),
  requestsPerSecWith: Math.round((lat.on.length / wall.on) * 1000),
};
console.log(JSON.stringify(out, null, 2));
await on.close();
await off.close();
await engine.close();
await db.dispose();
await rm(dir, { recursive: true, force: true });

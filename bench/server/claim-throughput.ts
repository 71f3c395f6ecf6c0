/**
 * What claiming jobs from the database costs (issue 18): `--jobs` index jobs are queued, then
 * `--workers` polling queues (as `retrace worker` sets them up, in this one process, each with
 * its own owner id) claim and run them with a runner that does nothing, so the figure is the
 * queue's own overhead per job: the claim (`FOR UPDATE SKIP LOCKED`), the done write and the
 * progress write. Reported: jobs per second, and whether any job ran twice.
 *
 *   npx vite-node bench/server/claim-throughput.ts -- --db postgres://postgres@127.0.0.1:54329/retrace_test [--jobs 2000] [--workers 4] [--concurrency 2]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { openDatabase } from '../../src/db/open-database.js';
import { JobQueue } from '../../src/core/jobs/job-queue.js';
import { JobStore } from '../../src/core/jobs/job-store.js';
import { scratchDatabase } from '../common/scratch-db.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    db: { type: 'string' },
    jobs: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '2' },
  },
});
const total = Number(values.jobs);
const workers = Number(values.workers);
const concurrency = Number(values.concurrency);

const scratch = await scratchDatabase({ db: values.db, name: 'retrace_bench_claims' });
const sql = await openDatabase(scratch.location, { pool: workers * concurrency + 2 });
const store = new JobStore(sql);
try {
  // Queued in one statement: the benchmark times the claims, not the submissions.
  await sql.query(
    `INSERT INTO jobs (id, kind, stage, progress, input, created_at)
     SELECT gen_random_uuid(), 'index', 'queued', 0, jsonb_build_object('path', '/bench/' || i || '.mp4'), now() + i * interval '1 microsecond'
       FROM generate_series(1, $1) AS i`,
    [total],
  );
  const runs = new Map<string, number>();
  let finished = 0;
  const load0 = loadavg()[0];
  const t0 = performance.now();
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  const queues = Array.from(
    { length: workers },
    () =>
      new JobQueue({
        store,
        runner: async (job) => {
          runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
          return null;
        },
        lanes: ['index'],
        indexConcurrency: concurrency,
        pollMs: 1000,
        log: () => undefined,
        onEnded: () => {
          if (++finished === total) resolveAll();
        },
      }),
  );
  await Promise.all(queues.map((q) => q.start()));
  await all;
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(queues.map((q) => q.close()));
  const twice = [...runs.values()].filter((n) => n > 1).length;
  console.log(
    JSON.stringify({
      store: sql.dialect,
      jobs: total,
      workers,
      concurrency,
      seconds: Number(seconds.toFixed(2)),
      jobsPerSecond: Math.round(total / seconds),
      ranTwice: twice,
      load: [load0, loadavg()[0]].map((l) => Number(l.toFixed(1))),
    }),
  );
} finally {
  await sql.close();
  await scratch.dispose();
}

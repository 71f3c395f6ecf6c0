import type { Retrace } from '../../core/engine/retrace.js';
import type { IndexResult } from '../../core/engine/types.js';
import type { DedupReport } from '../../core/library/dedup.js';
import { startWorker } from '../../core/jobs/worker.js';
import { EXIT } from '../exit-codes.js';

/** `retrace worker`: run the index and dedup jobs stored in a shared PostgreSQL database until SIGINT/SIGTERM. */
export async function workerCommand(engine: Retrace, options: { concurrency?: number }): Promise<number> {
  if (engine.sql.dialect !== 'postgres') {
    process.stderr.write('retrace worker needs a PostgreSQL database (--db postgres://…): an embedded index cannot be shared with a server\n');
    await engine.close();
    return EXIT.usage;
  }
  const concurrency = options.concurrency ?? 1;
  let worker;
  try {
    worker = await startWorker({
      engine,
      concurrency,
      log: (m, e) => process.stderr.write(`retrace worker: ${m}${e ? `: ${(e as Error)?.message ?? String(e)}` : ''}\n`),
      // One line per job, for operators and scripts counting who ran what.
      onFinished: (job) => {
        const name = job.kind === 'dedup' ? 'duplicate clusters' : (job.input.fileName ?? job.input.title ?? job.id);
        let what = `failed (${job.error?.code})`;
        if (job.stage === 'done' && job.kind === 'dedup') {
          const d = job.result as DedupReport | null;
          what = `done (${d?.compared ?? 0} videos searched, ${d?.relations.length ?? 0} relations)`;
        } else if (job.stage === 'done') {
          const r = job.result as IndexResult | null;
          what = `done (${r?.status ?? 'indexed'}, ${r?.frames ?? 0} frames)`;
        }
        process.stdout.write(`job ${job.id} ${what}: ${name}, attempt ${job.attempts}, ${job.timings.total ?? 0} ms\n`);
      },
    });
  } catch (e) {
    await engine.close().catch(() => undefined);
    throw e;
  }
  process.stdout.write(`retrace worker ${worker.owner} is running index jobs and dedup jobs (database: ${engine.sql.location}; ${concurrency} at once)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('shutting down: running jobs go back in the queue…\n');
  await worker.close();
  await engine.close();
  return EXIT.ok;
}

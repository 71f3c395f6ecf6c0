import type { JobRecord, JobStore } from '../../src/core/jobs/job-store.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` every 20 ms until it returns something truthy; fail after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await sleep(20);
  }
}

/** A job's stored record once it has finished, whichever process ran it. */
export function jobFinished(store: JobStore, timeoutMs?: number): (id: string) => Promise<JobRecord> {
  return (id) =>
    waitFor(async () => {
      const j = await store.get(id);
      return j.finishedAt ? j : null;
    }, timeoutMs);
}

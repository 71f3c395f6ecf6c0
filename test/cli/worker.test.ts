/**
 * `retrace worker` as a real process (issue 18, part 1): it runs index jobs it did not submit,
 * and when one is killed with SIGKILL in the middle of an ingest, another finishes the job and
 * nothing of the half-done ingest remains. Needs PostgreSQL (RETRACE_TEST_DB=pg): an embedded
 * index cannot be shared between processes, which the first test checks the worker refuses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open-database.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { JobStore, type JobRecord } from '../../src/core/jobs/job-store.js';
import { createTestDatabase, isPglite, type TestDatabase } from '../helpers/test-database.js';
import { makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { BIN, ensureCliBuilt, runCli } from './run-cli.js';

let tmp: TempDir;
let db: TestDatabase;
let sql: SqlClient | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ensureCliBuilt();
  tmp = await makeTempDir('retrace-worker-cli-');
  db = await createTestDatabase();
}, 300_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sql?.close();
  await db?.dispose();
  await tmp?.cleanup();
});

/** A `retrace worker` process; resolves once it says it is running. */
async function startWorker(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'worker', '--db', db.location], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const t0 = Date.now();
  while (!out.includes('is running index jobs')) {
    if (child.exitCode !== null) throw new Error(`worker exited: ${out}`);
    if (Date.now() - t0 > 60_000) throw new Error(`worker did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => out };
}

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('retrace worker', () => {
  it('refuses an embedded index and a concurrency of 0', async () => {
    const embedded = await runCli(['worker', '--db', tmp.file('embedded')]);
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toMatch(/needs a PostgreSQL database/);
    expect((await runCli(['worker', '--concurrency', '0', '--db', tmp.file('embedded')])).code).toBe(2);
  });

  it.skipIf(isPglite)(
    'runs a job it did not submit; killed mid-ingest (SIGKILL), its job is finished by another worker and the half-done video is gone',
    async () => {
      sql = await openDatabase(db.location);
      const store = new JobStore(sql);
      const short = await makeClip(tmp, 'worker-short', { source: 'mandelbrot', durationSec: 3 });
      const long = await makeClip(tmp, 'worker-long', { source: 'seahorse', durationSec: 40, width: 640, height: 480 });

      const a = await startWorker();
      const first = await store.create('index', { path: short, fileName: 'worker-short.mp4' });
      const done = await waitFor(async () => ((await store.get(first.id)).finishedAt ? store.get(first.id) : null), 60_000);
      expect(done).toMatchObject({ stage: 'done', attempts: 1 });
      await waitFor(async () => a.output().includes(`job ${first.id} done`), 5000);

      const victim = await store.create('index', { path: long, fileName: 'worker-long.mp4' });
      // Killed once its ingest has a video row and frames under way.
      let running: JobRecord | null = null;
      await waitFor(async () => {
        running = await store.get(victim.id);
        return ['describing', 'storing'].includes(running.stage) || running.finishedAt;
      }, 60_000);
      expect(running!.finishedAt).toBeNull();
      a.child.kill('SIGKILL');
      await new Promise((r) => a.child.once('exit', r));
      const b = await startWorker();
      const after = await waitFor(async () => {
        const j = await store.get(victim.id);
        return j.finishedAt ? j : null;
      }, 120_000);
      expect(after).toMatchObject({ stage: 'done', attempts: 2 });
      expect(b.output()).toContain(`job ${victim.id} done`);
      const { rows } = await sql.query<{ status: string; n: string }>(`SELECT status, count(*)::text AS n FROM videos GROUP BY status`);
      expect(rows).toEqual([{ status: 'ready', n: '2' }]);
      b.child.kill('SIGTERM');
      const code = await new Promise((r) => b.child.once('exit', (c) => r(c)));
      expect(code).toBe(0);
    },
    300_000,
  );
});

/**
 * Workers (issue 18): queues that claim the jobs of a shared database whoever submitted them.
 * Runs on PGlite and, with RETRACE_TEST_DB=pg, on PostgreSQL; several queues in one process
 * stand for several processes (each has its own owner id, as a worker on another machine would).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { SqlClient } from '../../src/db/sql-client.js';
import { JobQueue, type JobRunner } from '../../src/core/jobs/job-queue.js';
import { JOBS_CHANNEL, JobStore, type JobRecord } from '../../src/core/jobs/job-store.js';
import { startWorker } from '../../src/core/jobs/worker.js';
import { isPglite, openTestDatabase, type OpenTestDatabase } from '../helpers/test-database.js';
import { makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { jobFinished, sleep, waitFor } from '../helpers/wait-for.js';
import { json, openTestEngine, readJobEvents, startTestServer, uploadFile, waitForJob } from './server-helpers.js';

let db: OpenTestDatabase;
let sql: SqlClient;
let store: JobStore;
let tmp: TempDir;

beforeAll(async () => {
  db = await openTestDatabase();
  sql = db.sql;
  store = new JobStore(sql);
  tmp = await makeTempDir('retrace-workers-');
});

afterAll(async () => {
  await db?.close();
  await tmp?.cleanup();
});

const finished = (id: string) => jobFinished(store, 15_000)(id);

/** A runner that records which queue ran which job, and takes `ms` per job. */
function recordingRunner(name: string, ran: Map<string, string[]>, ms: number): JobRunner {
  return async (job, { onProgress }) => {
    ran.set(job.id, [...(ran.get(job.id) ?? []), name]);
    onProgress({ stage: 'sampling', fraction: 0.5 });
    await sleep(ms);
    return { ranBy: name };
  };
}

/** A queue set up as `retrace worker` sets one up: the index lane only, claiming from the database. */
function workerQueue(runner: JobRunner, extra: Partial<ConstructorParameters<typeof JobQueue>[0]> = {}): JobQueue {
  return new JobQueue({ store, runner, lanes: ['index'], pollMs: 25, heartbeatMs: 50, log: () => {}, ...extra });
}

describe('workers', () => {
  it('two workers claim index jobs neither submitted, each job once, and share them', async () => {
    // The submitter stands for `serve --no-worker`: it stores index jobs and runs none.
    const submitter = new JobQueue({ store, runner: () => Promise.reject(new Error('must not run')), lanes: ['search'], log: () => {} });
    await submitter.start();
    const ran = new Map<string, string[]>();
    const a = workerQueue(recordingRunner('a', ran, 40));
    const b = workerQueue(recordingRunner('b', ran, 40));
    await Promise.all([a.start(), b.start()]);
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 8; i++) jobs.push(await submitter.submit('index', { path: `/shared-${i}.mp4` }));
    expect(submitter.position(jobs[0].id)).toBe(-1); // not waiting in the submitter
    expect(submitter.counts().lanes.index).toEqual({ running: 0, queued: 0, concurrency: 0 });
    const done = await Promise.all(jobs.map((j) => finished(j.id)));
    expect(done.every((j) => j.stage === 'done' && j.attempts === 1)).toBe(true);
    // Every job ran exactly once, and both workers took some.
    expect(jobs.map((j) => ran.get(j.id)?.length)).toEqual(jobs.map(() => 1));
    const by = new Set(done.map((j) => (j.result as { ranBy: string }).ranBy));
    expect(by).toEqual(new Set(['a', 'b']));
    await Promise.all([a.close(), b.close(), submitter.close()]);
  });

  it('claims the oldest queued job of a lane atomically: concurrent claimers never get the same one', async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await store.create('index', { path: `/race-${i}.mp4` })).id);
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claimNext('index', 'probing', `racer-${i}`)));
    const got = claims.filter((c): c is JobRecord => c !== null).map((c) => c.id);
    expect(new Set(got).size).toBe(got.length);
    expect(got.sort()).toEqual([...ids].sort());
    for (const id of ids) await store.markDone(id, null, {});
  });

  it('a search lane queue never claims index jobs, and a worker never claims searches', async () => {
    const search = await store.create('search', { path: '/q.mp4' });
    expect(await store.claimNext('index', 'probing', 'w')).toBeNull();
    const claimed = await store.claimNext('search', 'matching', 's');
    expect(claimed?.id).toBe(search.id);
    await store.markDone(search.id, null, {});
  });

  it('a job whose worker was killed mid-job is run again by another worker, the lost run counted', async () => {
    // The killed worker: a real process that has exited, whose claim and half-done progress remain.
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    const job = await store.create('index', { path: '/killed-mid-job.mp4' });
    await store.claim(job.id, 'probing', `${hostname()}:${deadPid}:killed`);
    await store.updateProgress(job.id, 'describing', 0.6, { probing: 10 });
    const ran = new Map<string, string[]>();
    const survivor = workerQueue(recordingRunner('survivor', ran, 5));
    await survivor.start();
    const after = await finished(job.id);
    expect(after).toMatchObject({ stage: 'done', attempts: 2, deadLetter: false, result: { ranBy: 'survivor' } });
    expect(ran.get(job.id)).toEqual(['survivor']);
    await survivor.close();
  });

  it('notices a worker killed while the survivor is already running (periodic check), not only at start', async () => {
    const ran = new Map<string, string[]>();
    const survivor = workerQueue(recordingRunner('survivor', ran, 5));
    await survivor.start();
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    // Stored and claimed by the doomed process in one transaction: the survivor cannot take it first.
    const job = await sql.transaction(async (tx) => {
      const own = new JobStore(tx);
      const j = await own.create('index', { path: '/killed-later.mp4' });
      await own.claim(j.id, 'sampling', `${hostname()}:${deadPid}:killed`);
      return j;
    });
    const after = await finished(job.id);
    expect(after).toMatchObject({ stage: 'done', attempts: 2, result: { ranBy: 'survivor' } });
    await survivor.close();
  });

  it('a job retried after a passing failure waits out its backoff whichever worker claims it', async () => {
    const job = await store.create('index', { path: '/backoff.mp4' });
    await store.claimNext('index', 'probing', 'first');
    await store.retry(job.id, { code: 'DB_ERROR', message: 'connection lost' }, 60_000);
    expect(await store.claimNext('index', 'probing', 'second')).toBeNull();
    await sql.query(`UPDATE jobs SET run_after = now() - interval '1 second' WHERE id = $1`, [job.id]);
    expect((await store.claimNext('index', 'probing', 'second'))?.attempts).toBe(2);
    await store.markDone(job.id, null, {});
  });

  it('a dedup job is one for every server that asks; a worker runs it, and its counted progress is stored for them to read', async () => {
    // Two API servers that leave the heavy lanes to workers (`serve --no-worker`).
    const serverA = new JobQueue({ store, runner: () => Promise.reject(new Error('must not run')), lanes: ['search'], log: () => {} });
    const serverB = new JobQueue({ store, runner: () => Promise.reject(new Error('must not run')), lanes: ['search'], log: () => {} });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const worker = workerQueue(
      async (job, { onProgress }) => {
        onProgress({ stage: 'matching', fraction: 0.5, items: { done: 1, total: 2 } });
        await gate;
        onProgress({ stage: 'matching', fraction: 1, items: { done: 2, total: 2 } });
        return { kind: job.kind };
      },
      { lanes: ['index', 'dedup'] },
    );
    await Promise.all([serverA.start(), serverB.start(), worker.start()]);
    try {
      const first = await serverA.submitSingle('dedup', {});
      const second = await serverB.submitSingle('dedup', { full: true });
      expect(first.created).toBe(true);
      expect(second).toMatchObject({ created: false, job: { id: first.job.id } });
      // Stored by the worker, so a server that does not run it reads it from the row.
      const midway = await waitFor(async () => {
        const j = await store.get(first.job.id);
        return j.items?.done === 1 ? j : null;
      });
      expect(midway).toMatchObject({ stage: 'matching', items: { done: 1, total: 2 } });
      expect((await serverB.submitSingle('dedup', {})).job.id).toBe(first.job.id);
      release();
      const done = await finished(first.job.id);
      expect(done).toMatchObject({ stage: 'done', items: { done: 2, total: 2 }, result: { kind: 'dedup' } });
      // Once it has ended, asking again starts a new run.
      const next = await serverB.submitSingle('dedup', {});
      expect(next.created).toBe(true);
      expect(next.job.id).not.toBe(first.job.id);
      expect((await finished(next.job.id)).stage).toBe('done');
    } finally {
      release();
      await Promise.all([serverA.close(), serverB.close(), worker.close()]);
    }
  });

  it('a server that leaves index jobs to workers still bounds them: its queue limit counts the queued rows', async () => {
    const waiting = await store.countQueued('index');
    const submitter = new JobQueue({
      store,
      runner: () => Promise.reject(new Error('must not run')),
      lanes: ['search'],
      maxQueued: waiting + 2,
      log: () => {},
    });
    await submitter.start();
    const held = [await submitter.submit('index', { path: '/held-1.mp4' }), await submitter.submit('index', { path: '/held-2.mp4' })];
    await expect(submitter.assertRoomFor('index')).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    await expect(submitter.assertRoomFor('search')).resolves.toBeUndefined();
    for (const j of held) await store.markFailed(j.id, { code: 'ABORTED', message: 'test over' });
    await expect(submitter.assertRoomFor('index')).resolves.toBeUndefined();
    await submitter.close();
  });

  it.skipIf(isPglite)('on PostgreSQL a new job is announced to listening workers (LISTEN/NOTIFY)', async () => {
    const heard: string[] = [];
    const stop = await sql.listen!(JOBS_CHANNEL, (kind) => heard.push(kind));
    const job = await store.create('index', { path: '/announced.mp4' });
    await waitFor(async () => heard.includes('index'), 5000);
    await stop();
    await store.markDone(job.id, null, {});
  });

  it('an API server without a worker stores an upload as an index job, and a worker on the same database indexes it', async () => {
    const t = await openTestEngine();
    const srv = await startTestServer(t.engine, join(tmp.path, 'no-worker'), { runIndexJobs: false });
    try {
      const clip = await makeClip(tmp, 'worker-clip', { source: 'mandelbrot', durationSec: 3 });
      const { jobId } = await uploadFile(srv.url, clip, 'index');
      await sleep(500);
      const waiting = await json(srv.url, `/api/jobs/${jobId}`);
      expect(waiting.body).toMatchObject({ stage: 'queued', attempts: 0 });
      // Its event stream follows the job although another queue runs it (from the stored row).
      const events = readJobEvents(srv.url, jobId, 60_000);
      // The same engine object serves both: an embedded database takes one opener per directory.
      const ended: JobRecord[] = [];
      const worker = await startWorker({ engine: t.engine, pollMs: 50, onFinished: (j) => ended.push(j), log: () => {} });
      try {
        const job = await waitForJob(srv.url, jobId, 60_000);
        expect(job).toMatchObject({ stage: 'done', attempts: 1 });
        expect(ended.map((j) => j.id)).toEqual([jobId]);
        const stream = await events;
        expect(stream.events.at(-1)).toMatchObject({ stage: 'done', progress: 1 });
        const list = await json(srv.url, '/api/videos');
        expect(list.body.total).toBe(1);
      } finally {
        await worker.close();
      }
    } finally {
      await srv.close();
      await t.close();
    }
  });
});

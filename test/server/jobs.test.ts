import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import type { SqlClient } from '../../src/db/sql-client.js';
import { AbortedError, CorruptMediaError, DatabaseError, DecoderKilledError } from '../../src/core/errors/retrace-error.js';
import { isTransientError } from '../../src/core/jobs/transient.js';
import { JobQueue, type JobRunner, type JobSnapshot } from '../../src/core/jobs/job-queue.js';
import { JobStore } from '../../src/core/jobs/job-store.js';
import { createServer } from '../../src/server/index.js';
import { Counter, Histogram, MetricsRegistry } from '../../src/server/metrics.js';
import { HTTP_STATUS, describeError } from '../../src/server/errors.js';
import { sniffBytes } from '../../src/server/sniff.js';
import { createTestDatabase, openTestDatabase, type OpenTestDatabase } from '../helpers/test-database.js';
import { jobFinished, sleep, waitFor } from '../helpers/wait-for.js';
import { makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { json, startTestServer, tusMetadata, tusRequest } from './server-helpers.js';
import { Retrace } from '../../src/core/engine/retrace.js';

let db: OpenTestDatabase;
let sql: SqlClient;
let store: JobStore;
let tmp: TempDir;

beforeAll(async () => {
  db = await openTestDatabase();
  sql = db.sql;
  store = new JobStore(sql);
  tmp = await makeTempDir('retrace-jobs-');
});

afterAll(async () => {
  await db?.close();
  await tmp?.cleanup();
});

const finished = (id: string) => jobFinished(store)(id);

/** A runner that reports the stages an index goes through and waits `ms` in each. */
function steppingRunner(ms: number, track?: { running: number; max: number }): JobRunner {
  return async (job, { onProgress, signal }) => {
    if (track) {
      track.running++;
      track.max = Math.max(track.max, track.running);
    }
    try {
      const stages = ['probing', 'sampling', 'describing', 'storing'] as const;
      for (let i = 0; i < stages.length; i++) {
        if (signal.aborted) throw new AbortedError();
        onProgress({ stage: stages[i], fraction: i / stages.length, framesDone: i * 10 });
        await sleep(ms);
      }
      return { echo: job.input.path };
    } finally {
      if (track) track.running--;
    }
  };
}

describe('JobQueue', () => {
  it('runs jobs with bounded concurrency and stores results and timings', async () => {
    const track = { running: 0, max: 0 };
    const queue = new JobQueue({ store, runner: steppingRunner(15, track), concurrency: 2, log: () => {} });
    await queue.start();
    const jobs = await Promise.all([1, 2, 3, 4, 5].map((i) => queue.submit('index', { path: `/x/${i}.mp4` })));
    const done = await Promise.all(jobs.map((j) => finished(j.id)));
    expect(track.max).toBe(2);
    for (const [i, j] of done.entries()) {
      expect(j.stage).toBe('done');
      expect(j.progress).toBe(1);
      expect(j.result).toEqual({ echo: `/x/${i + 1}.mp4` });
      expect(j.timings.total).toBeGreaterThan(0);
      expect(j.timings.sampling).toBeGreaterThan(0);
      expect(j.timings.queued).toBeGreaterThanOrEqual(0);
    }
    await queue.close();
  });

  it('runs each kind in its own lane: a full index lane does not hold up searches, and the reverse', async () => {
    // Index jobs are held until the test lets them go; searches return at once.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const track = { search: { running: 0, max: 0 }, index: { running: 0, max: 0 }, dedup: { running: 0, max: 0 } };
    const runner: JobRunner = async (job) => {
      const t = track[job.kind];
      t.max = Math.max(t.max, ++t.running);
      try {
        if (job.kind === 'index') await gate;
        return { echo: job.input.path };
      } finally {
        t.running--;
      }
    };
    const queue = new JobQueue({ store, runner, searchConcurrency: 2, indexConcurrency: 1, log: () => {} });
    await queue.start();
    try {
      // One after the other: submitted together, their rows may be written in either order.
      const ingests = [];
      for (const i of [1, 2]) ingests.push(await queue.submit('index', { path: `/lane/${i}.mp4` }));
      const searches = await Promise.all([1, 2, 3].map((i) => queue.submit('search', { path: `/lane/q${i}.mp4` })));
      for (const s of searches) expect((await finished(s.id)).stage).toBe('done');
      expect(queue.counts().lanes).toEqual({
        search: { running: 0, queued: 0, concurrency: 2 },
        index: { running: 1, queued: 1, concurrency: 1 },
        dedup: { running: 0, queued: 0, concurrency: 1 },
      });
      expect(queue.position(ingests[1].id)).toBe(0);
      release();
      for (const j of ingests) expect((await finished(j.id)).stage).toBe('done');
      expect(track.index.max).toBe(1);
      expect(track.search.max).toBeLessThanOrEqual(2);
    } finally {
      release();
      await queue.close();
    }
  });

  it('runs a job again after a passing failure, with a growing wait, until it succeeds', async () => {
    let runs = 0;
    const runner: JobRunner = async (job) => {
      if (job.input.path !== '/retry/ok.mp4') return {}; // a job an earlier test left queued
      if (++runs < 3) throw new DecoderKilledError('SIGKILL');
      return { attempts: job.attempts };
    };
    // The waits the queue asks for (odd values, so no other timer of the queue matches them).
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const queue = new JobQueue({ store, runner, maxAttempts: 3, retryBaseMs: 37, log: () => {} });
    await queue.start();
    try {
      const job = await queue.submit('index', { path: '/retry/ok.mp4' });
      const done = await finished(job.id);
      expect(done).toMatchObject({ stage: 'done', attempts: 3, deadLetter: false, result: { attempts: 3 } });
      expect(timers.mock.calls.map((c) => c[1]).filter((ms) => ms === 37 || ms === 74)).toEqual([37, 74]);
    } finally {
      timers.mockRestore();
      await queue.close();
    }
  });

  it('dead-letters a job that fails every attempt for a passing reason, and fails others at once', async () => {
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
    const runner: JobRunner = async (job) => {
      throw job.input.path?.includes('bad') ? new CorruptMediaError('broken') : new DatabaseError('query failed', lost);
    };
    const deleted: string[] = [];
    const queue = new JobQueue({ store, runner, maxAttempts: 2, retryBaseMs: 10, onSettled: (j) => void deleted.push(j.id), log: () => {} });
    await queue.start();
    try {
      const flaky = await queue.submit('index', { path: '/retry/db.mp4' });
      const bad = await queue.submit('index', { path: '/retry/bad.mp4' });
      expect(await finished(flaky.id)).toMatchObject({ stage: 'failed', attempts: 2, deadLetter: true, error: { code: 'DB_ERROR' } });
      expect(await finished(bad.id)).toMatchObject({ stage: 'failed', attempts: 1, deadLetter: false, error: { code: 'CORRUPT_MEDIA' } });
      // Input files are tidied once the job has failed for good, not between attempts.
      expect(deleted.sort()).toEqual([flaky.id, bad.id].sort());
    } finally {
      await queue.close();
    }
  });

  it('tells passing failures (lost database connection, decoder killed) from lasting ones', () => {
    expect(isTransientError(new DecoderKilledError('SIGKILL'))).toBe(true);
    expect(isTransientError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isTransientError(new DatabaseError('query failed', Object.assign(new Error('x'), { code: '08006' })))).toBe(true);
    expect(isTransientError(new DatabaseError('syntax', Object.assign(new Error('x'), { code: '42601' })))).toBe(false);
    expect(isTransientError(new CorruptMediaError('broken'))).toBe(false);
    expect(isTransientError(new AbortedError())).toBe(false);
    expect(isTransientError(new Error('unexpected'))).toBe(false);
  });

  it('fans progress out to subscribers, in order, ending with the final state', async () => {
    const stageTimes: string[] = [];
    const queue = new JobQueue({
      store,
      runner: steppingRunner(30),
      concurrency: 1,
      notifyIntervalMs: 0,
      log: () => {},
      onStageTiming: (_k, s) => stageTimes.push(s),
    });
    await queue.start();
    const job = await queue.submit('search', { path: '/q.mp4' });
    const seen: JobSnapshot[] = [];
    const unsubscribe = queue.subscribe(job.id, (j) => seen.push(j));
    await finished(job.id);
    await waitFor(async () => seen.some((s) => s.stage === 'done'));
    unsubscribe();
    expect(seen.map((s) => s.stage)).toEqual(expect.arrayContaining(['probing', 'sampling', 'describing', 'storing', 'done']));
    for (let i = 1; i < seen.length; i++) expect(seen[i].progress).toBeGreaterThanOrEqual(seen[i - 1].progress);
    expect(seen.at(-1)!.stage).toBe('done');
    expect(stageTimes).toEqual(['probing', 'sampling', 'describing', 'storing']);
    await queue.close();
  });

  it('stores a failure as {code, message}', async () => {
    const queue = new JobQueue({
      store,
      runner: async () => {
        throw new CorruptMediaError('Decoding failed at 3.2 s');
      },
      log: () => {},
    });
    await queue.start();
    const job = await queue.submit('index', { path: '/bad.mp4' });
    const j = await finished(job.id);
    expect(j.stage).toBe('failed');
    expect(j.error).toEqual({ code: 'CORRUPT_MEDIA', message: 'Decoding failed at 3.2 s' });
    const queue2 = new JobQueue({
      store,
      runner: async () => {
        throw new Error('boom');
      },
      log: () => {},
    });
    await queue2.start();
    const k = await finished((await queue2.submit('index', { path: '/bad2.mp4' })).id);
    expect(k.error).toEqual({ code: 'INTERNAL', message: 'boom' });
    await queue.close();
    await queue2.close();
  });

  it('deleting old finished jobs keeps unfinished ones, whatever their age', async () => {
    const done = await store.create('index', { path: '/old-done.mp4' });
    await store.claim(done.id);
    await store.markFailed(done.id, { code: 'INTERNAL', message: 'x' });
    const waiting = await store.create('index', { path: '/old-waiting.mp4' });
    const running = await store.create('index', { path: '/old-running.mp4' });
    await store.claim(running.id);
    expect(await store.deleteFinishedBefore(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await store.find(done.id)).toBeNull();
    expect(await store.find(waiting.id)).not.toBeNull();
    expect(await store.find(running.id)).not.toBeNull();
    await store.markFailed(running.id, { code: 'ABORTED', message: 'test over' });
    await store.markFailed(waiting.id, { code: 'ABORTED', message: 'test over' });
  });

  it('after a crash, runs interrupted jobs again (the lost run counted) and runs queued ones', async () => {
    // A previous process claimed one job and queued another, then died.
    const interrupted = await store.create('index', { path: '/was-running.mp4' });
    await store.claim(interrupted.id);
    await store.updateProgress(interrupted.id, 'sampling', 0.4, {});
    const waiting = await store.create('search', { path: '/was-queued.mp4' });
    const queue = new JobQueue({ store, runner: steppingRunner(5), log: () => {} });
    const recovered = await queue.start();
    expect(recovered.retried).toContain(interrupted.id);
    expect(recovered.failed).not.toContain(interrupted.id);
    expect(recovered.resumed).toContain(waiting.id);
    const a = await finished(interrupted.id);
    expect(a).toMatchObject({ stage: 'done', attempts: 2, deadLetter: false });
    const b = await finished(waiting.id);
    expect(b.stage).toBe('done');
    await queue.close();
  });

  it('after a crash, an interrupted job waits out the same growing backoff as a passing failure, also across another restart', async () => {
    // Killed on its second run: the wait before the third is retryBaseMs doubled once.
    const job = await store.create('index', { path: '/killed-twice.mp4' });
    await store.claim(job.id);
    await sql.query(`UPDATE jobs SET attempts = 2 WHERE id = $1`, [job.id]);
    const base = 400;
    let ranAt = 0;
    const runner: JobRunner = async (j) => {
      if (j.id === job.id) ranAt = Date.now();
      return {};
    };
    const startedAt = Date.now();
    const q1 = new JobQueue({ store, runner, maxAttempts: 3, retryBaseMs: base, log: () => {} });
    expect((await q1.start()).retried).toContain(job.id);
    const waiting = await store.get(job.id);
    expect(waiting).toMatchObject({ stage: 'queued', error: { code: 'WORKER_LOST' } });
    // The wait is in the database (run_after), which workers claiming queued jobs honour...
    const { rows } = await sql.query<{ wait: number }>(`SELECT (EXTRACT(EPOCH FROM (run_after - now())) * 1000)::float8 AS wait FROM jobs WHERE id = $1`, [
      job.id,
    ]);
    expect(Number(rows[0].wait)).toBeGreaterThan(2 * base - 300);
    expect(Number(rows[0].wait)).toBeLessThanOrEqual(2 * base);
    // ...and so does this process after another restart before it has passed.
    await q1.close();
    const q2 = new JobQueue({ store, runner, maxAttempts: 3, retryBaseMs: base, log: () => {} });
    await q2.start();
    try {
      const done = await finished(job.id);
      expect(done).toMatchObject({ stage: 'done', attempts: 3 });
      expect(ranAt - startedAt).toBeGreaterThanOrEqual(2 * base - 50);
    } finally {
      await q2.close();
    }
  });

  it('after a crash, fails for good (dead letter) an interrupted job that had used up its attempts', async () => {
    const job = await store.create('index', { path: '/killed-every-time.mp4' });
    await store.claim(job.id);
    await sql.query(`UPDATE jobs SET attempts = 3 WHERE id = $1`, [job.id]);
    const queue = new JobQueue({ store, runner: steppingRunner(1), maxAttempts: 3, log: () => {} });
    const recovered = await queue.start();
    expect(recovered.failed).toContain(job.id);
    const a = await store.get(job.id);
    expect(a).toMatchObject({ stage: 'failed', deadLetter: true, error: { code: 'ABORTED' } });
    expect(a.error?.message).toMatch(/stopped on every one of its 3 runs.*probing/);
    await queue.close();
  });

  it('a graceful close puts the running job back in the queue and the next start runs it', async () => {
    let started = 0;
    const blocking: JobRunner = (_job, { onProgress, signal }) =>
      new Promise((_resolve, reject) => {
        started++;
        onProgress({ stage: 'sampling', fraction: 0.2 });
        signal.addEventListener('abort', () => reject(new AbortedError()));
      });
    const q1 = new JobQueue({ store, runner: blocking, log: () => {} });
    await q1.start();
    const job = await q1.submit('index', { path: '/long.mp4' });
    await waitFor(async () => started > 0);
    await q1.close();
    const mid = await store.get(job.id);
    expect(mid.stage).toBe('queued');
    expect(mid.finishedAt).toBeNull();
    const q2 = new JobQueue({ store, runner: steppingRunner(5), log: () => {} });
    const r = await q2.start();
    expect(r.resumed).toContain(job.id);
    expect((await finished(job.id)).stage).toBe('done');
    await q2.close();
  });

  it('cancels queued and running jobs', async () => {
    const blocking: JobRunner = (_job, { signal }) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new AbortedError()));
      });
    const queue = new JobQueue({ store, runner: blocking, concurrency: 1, log: () => {} });
    await queue.start();
    const running = await queue.submit('index', { path: '/a.mp4' });
    const queued = await queue.submit('index', { path: '/b.mp4' });
    await waitFor(async () => (await store.get(running.id)).stage !== 'queued');
    await queue.cancel(queued.id);
    await queue.cancel(running.id);
    const a = await finished(running.id);
    const b = await finished(queued.id);
    expect(a.error).toEqual({ code: 'ABORTED', message: 'Cancelled while running' });
    expect(b.error).toEqual({ code: 'ABORTED', message: 'Cancelled before it started' });
    await queue.close();
  });

  it('with several processes on one database, recovers only the jobs of processes that are gone', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    const claimAs = async (owner: string) => {
      const j = await store.create('index', { path: `/peer-${owner}.mp4` });
      await store.claim(j.id, 'sampling', owner);
      return j.id;
    };
    const livePeer = await claimAs(`${hostname()}:${process.ppid}:peer`);
    const deadPeer = await claimAs(`${hostname()}:${deadPid}:peer`);
    const freshRemote = await claimAs('another-host:4242:peer');
    const staleRemote = await claimAs('yet-another-host:4242:peer');
    await sql.query(`UPDATE jobs SET updated_at = now() - interval '10 minutes' WHERE id = $1`, [staleRemote]);
    const queue = new JobQueue({ store, runner: steppingRunner(1), staleMs: 60_000, log: () => {} });
    const { retried } = await queue.start();
    expect(retried).toEqual(expect.arrayContaining([deadPeer, staleRemote]));
    expect(retried).not.toContain(livePeer);
    expect(retried).not.toContain(freshRemote);
    for (const id of [deadPeer, staleRemote]) expect(await finished(id)).toMatchObject({ stage: 'done', attempts: 2 });
    expect((await store.get(livePeer)).stage).toBe('sampling');
    await queue.close();
    for (const id of [livePeer, freshRemote]) await store.markFailed(id, { code: 'ABORTED', message: 'test over' });
  });

  it("a second queue in the same process leaves the first one's running job alone", async () => {
    let started = 0;
    const blocking: JobRunner = (_job, { signal }) =>
      new Promise((_resolve, reject) => {
        started++;
        signal.addEventListener('abort', () => reject(new AbortedError()));
      });
    const q1 = new JobQueue({ store, runner: blocking, log: () => {} });
    await q1.start();
    const job = await q1.submit('index', { path: '/busy.mp4' });
    await waitFor(async () => started > 0);
    const q2 = new JobQueue({ store, runner: steppingRunner(1), heartbeatMs: 20, log: () => {} });
    const r = await q2.start();
    expect(r.failed).not.toContain(job.id);
    expect(r.retried).not.toContain(job.id);
    await sleep(100); // several periodic checks
    expect((await store.get(job.id)).finishedAt).toBeNull();
    await q2.close();
    await q1.close();
  });

  it('a claimed job is never run twice (two workers on one database)', async () => {
    const job = await store.create('index', { path: '/once.mp4' });
    const [a, b] = await Promise.all([store.claim(job.id), store.claim(job.id)]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    await store.markDone(job.id, null, {});
  });
});

describe('server restart', () => {
  it('deletes finished jobs once their retention has passed', async () => {
    const dbx = await createTestDatabase();
    const engine = await Retrace.open({ db: dbx.location });
    try {
      const s = new JobStore(engine.sql);
      const old = await s.create('search', { path: join(tmp.path, 'q-old.mp4') });
      await s.claim(old.id);
      await s.markDone(old.id, { matches: [] }, {});
      await new Promise((r) => setTimeout(r, 20));
      // Retention of 10 ms: the finished job is past it by the time the server sweeps at start-up.
      const srv = await startTestServer(engine, join(tmp.path, 'srv-retention'), { jobRetentionMs: 10, sweepIntervalMs: 50 });
      try {
        await waitFor(async () => ((await json(srv.url, `/api/jobs/${old.id}`)).status === 404 ? true : null), 10_000);
      } finally {
        await srv.close();
      }
    } finally {
      await engine.close();
      await dbx.dispose();
    }
  });
  it('sweeps away a video left unfinished by an ingest of another process that is gone', async () => {
    const dbx = await createTestDatabase();
    const engine = await Retrace.open({ db: dbx.location });
    const srv = await startTestServer(engine, join(tmp.path, 'srv-abandoned'), { sweepIntervalMs: 50 });
    try {
      await srv.app.ready;
      // As a `retrace index` on another host would leave it, an hour after it died.
      const id = randomUUID();
      await engine.sql.query(
        `INSERT INTO videos (id, content_hash, path, status, ingest_owner, updated_at) VALUES ($1, $2, '/v/killed.mp4', 'indexing', 'another-host:42', now() - interval '1 hour')`,
        [id, 'f'.repeat(64)],
      );
      await waitFor(async () => ((await json(srv.url, `/api/videos/${id}`)).status === 404 ? true : null), 10_000);
    } finally {
      await srv.close();
      await engine.close();
      await dbx.dispose();
    }
  });

  it('runs a job interrupted by a crash again, counting the lost run, and resumes queued jobs, over HTTP', async () => {
    const dbx = await createTestDatabase();
    const engine = await Retrace.open({ db: dbx.location });
    const dataDir = join(tmp.path, 'srv');
    try {
      const s = new JobStore(engine.sql);
      // Both files are gone, so each run ends FILE_NOT_FOUND: a clear code instead of a vanished job.
      const j = await s.create('index', { path: join(dataDir, 'media', 'gone.mp4'), fileName: 'gone.mp4', ownsFile: true });
      await s.claim(j.id);
      const queuedInput = join(tmp.path, 'missing-input.mp4');
      const q = await s.create('index', { path: queuedInput, fileName: 'missing.mp4' });
      const srv = await startTestServer(engine, dataDir);
      try {
        const settled = async (id: string) => {
          const t0 = Date.now();
          let body;
          do {
            body = (await json(srv.url, `/api/jobs/${id}`)).body;
            if (body.finishedAt) break;
            await sleep(50);
          } while (Date.now() - t0 < 20_000);
          return body;
        };
        expect(await settled(j.id)).toMatchObject({ stage: 'failed', attempts: 2, error: { code: 'FILE_NOT_FOUND' } });
        expect(await settled(q.id)).toMatchObject({ stage: 'failed', attempts: 1, error: { code: 'FILE_NOT_FOUND' } });
        const res = await json(srv.url, `/api/jobs/${q.id}/result`);
        expect(res.status).toBe(404);
      } finally {
        await srv.close();
      }
    } finally {
      await engine.close();
      await dbx.dispose();
    }
  });

  it('shows a job that failed every attempt for a passing reason as dead-lettered, over HTTP', async () => {
    const dbx = await createTestDatabase();
    const real = await Retrace.open({ db: dbx.location });
    const engine = Object.create(real) as Retrace;
    engine.index = async () => {
      throw new DecoderKilledError('SIGKILL');
    };
    const srv = await startTestServer(engine, join(tmp.path, 'dead'), { jobMaxAttempts: 2, jobRetryBaseMs: 10 });
    try {
      await srv.app.ready;
      const job = await srv.app.jobs.submit('index', { path: join(tmp.path, 'any.mp4'), fileName: 'any.mp4' });
      const seen = await waitFor(async () => {
        const r = await json(srv.url, `/api/jobs/${job.id}`);
        return r.body.finishedAt ? r.body : null;
      });
      expect(seen).toMatchObject({ stage: 'failed', attempts: 2, deadLetter: true, error: { code: 'DECODER_KILLED' } });
    } finally {
      await srv.close();
      await real.close();
      await dbx.dispose();
    }
  });

  it('createServer can be mounted under a prefix in another app', async () => {
    const dbx = await createTestDatabase();
    const engine = await Retrace.open({ db: dbx.location });
    const express = (await import('express')).default;
    const parent = express();
    const app = createServer(engine, { dataDir: join(tmp.path, 'mounted'), log: () => {} });
    parent.use('/retrace', app);
    const server = parent.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    try {
      const base = `http://127.0.0.1:${port}`;
      const h = await json(base, '/retrace/api/health');
      expect(h.status).toBe(200);
      const page = await fetch(`${base}/retrace/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('src="app.js"');
      const up = await tusRequest(base, '/retrace/api/uploads', 'POST', {
        'upload-length': '10',
        'upload-metadata': tusMetadata({ filename: 'a.mp4', purpose: 'search' }),
      });
      expect(up.status).toBe(201);
      const id = up.headers.get('location')!.split('/').pop()!;
      expect(up.headers.get('location')).toBe(`/retrace/api/uploads/${id}`);
      const state = await json(base, `/retrace/api/uploads/${id}`);
      expect(state.body.links.complete).toBe(`/retrace/api/uploads/${id}/complete`);
    } finally {
      await app.shutdown();
      await new Promise((r) => server.close(r));
      await engine.close();
      await dbx.dispose();
    }
  });
});

describe('pieces', () => {
  it('maps every library error code to a 4xx or 5xx status, and hides unknown errors', () => {
    for (const [code, status] of Object.entries(HTTP_STATUS)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
    const d = describeError(new Error('secret /etc/passwd detail'));
    expect(d.status).toBe(500);
    expect(d.body).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error' } });
  });

  it('renders Prometheus text', () => {
    const reg = new MetricsRegistry();
    const h: Histogram = reg.histogram('t_seconds', 'help', [0.1, 1]);
    const c: Counter = reg.counter('t_total', 'count');
    h.observe({ route: '/a"b' }, 0.05);
    h.observe({ route: '/a"b' }, 0.5);
    h.observe({ route: '/a"b' }, 5);
    c.inc({ code: 'X' }, 2);
    reg.gauge('t_gauge', 'g', () => 3);
    const text = reg.render();
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{route="/a\\"b",le="0.1"} 1');
    expect(text).toContain('t_seconds_bucket{route="/a\\"b",le="1"} 2');
    expect(text).toContain('t_seconds_bucket{route="/a\\"b",le="+Inf"} 3');
    expect(text).toContain('t_seconds_sum{route="/a\\"b"} 5.55');
    expect(text).toContain('t_seconds_count{route="/a\\"b"} 3');
    expect(text).toContain('t_total{code="X"} 2');
    expect(text).toContain('t_gauge 3');
  });

  it('recognises media containers by their first bytes', () => {
    expect(sniffBytes(Buffer.from('\x00\x00\x00\x18ftypisom\x00\x00\x02\x00', 'latin1'))?.ext).toBe('mp4');
    expect(sniffBytes(Buffer.from('\x00\x00\x00\x14ftypqt  ', 'latin1'))?.ext).toBe('mov');
    expect(sniffBytes(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84, ...Buffer.from('webm')]))?.ext).toBe('webm');
    expect(sniffBytes(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))?.kind).toBe('image');
    expect(sniffBytes(Buffer.from('RIFF\x00\x00\x00\x00AVI LIST', 'latin1'))?.ext).toBe('avi');
    expect(sniffBytes(Buffer.from('hello, this is text'))).toBeNull();
    expect(sniffBytes(Buffer.from('\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00', 'latin1'))).toBeNull();
    // A retrace signature: searched or indexed without media.
    expect(sniffBytes(Buffer.from('RTSG\x01\x00\x00\x00', 'latin1'))).toEqual({ kind: 'signature', ext: 'sig', label: 'retrace signature' });
  });
});

/**
 * Limits on a real server (127.0.0.1, real database): the rate limit counted in the database
 * and shared by servers on it, per-client upload quotas, the free-disk threshold, the bounded
 * job queue. Each rule has a test that fails without it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import { Retrace } from '../../src/core/engine/retrace.js';
import { JobStore } from '../../src/core/jobs/job-store.js';
import type { RunningServer } from '../../src/server/index.js';
import { SqlRateLimitStore } from '../../src/server/rate-limit-store.js';
import { isPglite } from '../helpers/test-database.js';
import { makeClip, makeStill, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { listFiles, openTestEngine, request127, startTestServer, tusMetadata, type TestEngine } from './server-helpers.js';

let te: TestEngine;
let tmp: TempDir;
let still: Buffer;
const key = {} as Record<'a' | 'b', { id: string; key: string }>;

beforeAll(async () => {
  tmp = await makeTempDir('retrace-limits-');
  te = await openTestEngine();
  still = await readFile(await makeStill(tmp, 'q.jpg', 'mandelbrot', { width: 192, height: 144 }));
  const keys = new ApiKeyStore(te.engine.sql);
  key.a = await keys.create({ scope: 'index', name: 'client a' });
  key.b = await keys.create({ scope: 'index', name: 'client b' });
});

afterAll(async () => {
  await te?.close();
  await tmp?.cleanup();
});

/** A tus creation as `key` (no bytes yet); `id` is the new upload's. */
async function createUpload(base: string, apiKey: string, fileName: string, size: number, purpose: 'search' | 'index') {
  const r = await request127(base, 'POST', '/api/uploads', {
    key: apiKey,
    headers: { 'tus-resumable': '1.0.0', 'upload-length': String(size), 'upload-metadata': tusMetadata({ filename: fileName, purpose }) },
  });
  return { ...r, id: r.headers.get('location')?.split('/').pop() ?? '' };
}

/** A tus PATCH of all of `bytes` as `key`. */
function patch(base: string, apiKey: string, id: string, bytes: Buffer) {
  return request127(base, 'PATCH', `/api/uploads/${id}`, {
    key: apiKey,
    headers: { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    bytes,
  });
}

/** Create an upload of the test still as `who`; returns the response. */
function createQuery(base: string, who: 'a' | 'b', size = still.length) {
  return createUpload(base, key[who].key, 'q.jpg', size, 'search');
}

/** Upload the whole still as `who` (not completed); returns the upload id. */
/** The real engine, with its searches held until the test releases them. */
function searchesHeld(): { engine: Retrace; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const engine = Object.create(te.engine) as Retrace;
  engine.search = async (...args: Parameters<Retrace['search']>) => {
    await gate;
    return te.engine.search(...args);
  };
  return { engine, release };
}

async function sendQuery(base: string, who: 'a' | 'b'): Promise<string> {
  const created = await createQuery(base, who);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const sent = await patch(base, key[who].key, created.id, still);
  expect(sent.status, JSON.stringify(sent.body)).toBe(204);
  return created.id;
}

/** Poll a job as `who` until it ends (bounded). */
async function waitForJob(base: string, id: string, who: 'a' | 'b'): Promise<{ stage: string }> {
  for (let i = 0; i < 1200; i++) {
    const r = await request127(base, 'GET', `/api/jobs/${id}`, { key: key[who].key });
    if (r.status !== 200) throw new Error(`job ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    if (r.body.stage === 'done' || r.body.stage === 'failed') return r.body;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`job ${id} did not end`);
}

function complete(base: string, who: 'a' | 'b', uploadId: string) {
  return request127(base, 'POST', `/api/uploads/${uploadId}/complete`, { key: key[who].key, body: {} });
}

describe('rate limit (--rate-limit 60)', () => {
  let srvA: RunningServer;
  let srvB: RunningServer;
  let second: Retrace | null = null;

  beforeAll(async () => {
    srvA = await startTestServer(te.engine, join(tmp.path, 'rate-a'), { rateLimitPerMinute: 60 });
    // A second server on the same database: on PostgreSQL through its own engine and connections;
    // an embedded directory opens once per process, so there the two apps share the engine.
    second = isPglite ? null : await Retrace.open({ db: te.db.location });
    srvB = await startTestServer(second ?? te.engine, join(tmp.path, 'rate-b'), { rateLimitPerMinute: 60 });
  });
  afterAll(async () => {
    await srvA?.close();
    await srvB?.close();
    await second?.close();
  });

  const clear = () => new SqlRateLimitStore(te.engine.sql).resetAll();

  it('answers the 61st request in a minute with 429 RATE_LIMITED and Retry-After, per key; /api/health is exempt', async () => {
    await clear();
    for (let i = 0; i < 60; i++) {
      const r = await request127(srvA.url, 'GET', '/api/jobs', { key: key.a.key });
      expect(r.status, `request ${i + 1}`).toBe(200);
    }
    const over = await request127(srvA.url, 'GET', '/api/jobs', { key: key.a.key });
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${over.headers.get('retry-after')}`).toBe(true);
    // Another key has its own budget; health checks never count.
    expect((await request127(srvA.url, 'GET', '/api/jobs', { key: key.b.key })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await request127(srvA.url, 'GET', '/api/health', { key: key.a.key })).status).toBe(200);
  });

  it('counts requests refused for a missing or wrong key per IP address, against the same limit', async () => {
    await clear();
    for (let i = 0; i < 60; i++) {
      const r = await request127(srvA.url, 'GET', '/api/jobs', i % 2 ? {} : { key: `rtk_0123456789abcdef_${'x'.repeat(43)}` });
      expect(r.status, `request ${i + 1}`).toBe(401);
    }
    const over = await request127(srvA.url, 'GET', '/api/jobs');
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('RATE_LIMITED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // A client with a key has its own budget; another address is not refused.
    expect((await request127(srvA.url, 'GET', '/api/jobs', { key: key.a.key })).status).toBe(200);
    expect((await request127(srvA.url, 'GET', '/api/jobs', { from: '127.0.0.2' })).status).toBe(401);
  });

  it('counts requests to every server on the database together', async () => {
    await clear();
    for (let i = 0; i < 60; i++) {
      const r = await request127(i % 2 ? srvA.url : srvB.url, 'GET', '/api/jobs', { key: key.a.key });
      expect(r.status, `request ${i + 1}`).toBe(200);
    }
    expect((await request127(srvB.url, 'GET', '/api/jobs', { key: key.a.key })).status).toBe(429);
    expect((await request127(srvA.url, 'GET', '/api/jobs', { key: key.a.key })).status).toBe(429);
  });

  it('starts a new window once the old one has ended', async () => {
    await clear();
    for (let i = 0; i < 61; i++) await request127(srvA.url, 'GET', '/api/jobs', { key: key.b.key });
    expect((await request127(srvA.url, 'GET', '/api/jobs', { key: key.b.key })).status).toBe(429);
    // End the window in the database instead of waiting a minute.
    await te.engine.sql.query(`UPDATE rate_limit_hits SET reset_at = now() - interval '1 second'`);
    expect((await request127(srvA.url, 'GET', '/api/jobs', { key: key.b.key })).status).toBe(200);
    await clear();
  });
});

describe('behind a reverse proxy (trustProxy 1)', () => {
  it('counts anonymous clients by the address the proxy saw, and ignores the header when not told to trust it', async () => {
    // A separate database without keys: everyone is anonymous, counted per IP address.
    const open = await openTestEngine();
    const behind = await startTestServer(open.engine, join(tmp.path, 'proxy'), { rateLimitPerMinute: 2, trustProxy: 1 });
    const direct = await startTestServer(open.engine, join(tmp.path, 'direct'), { rateLimitPerMinute: 2 });
    try {
      const get = (base: string, forwarded: string) =>
        fetch(new URL('/api/jobs', base), { headers: { 'x-forwarded-for': forwarded } }).then(async (r) => (await r.arrayBuffer(), r.status));
      expect([await get(behind.url, '198.51.100.1'), await get(behind.url, '198.51.100.1'), await get(behind.url, '198.51.100.1')]).toEqual([200, 200, 429]);
      expect(await get(behind.url, '198.51.100.2')).toBe(200);
      // Without trustProxy the header is the client's say-so: all three are 127.0.0.1.
      expect([await get(direct.url, '203.0.113.1'), await get(direct.url, '203.0.113.2'), await get(direct.url, '203.0.113.3')]).toEqual([200, 200, 429]);
    } finally {
      await behind.close();
      await direct.close();
      await open.close();
    }
  });
});

describe('per-client upload quotas and the free-disk threshold', () => {
  let srv: RunningServer;
  const dataDir = () => join(tmp.path, 'quota');

  beforeAll(async () => {
    srv = await startTestServer(te.engine, dataDir(), { maxUploadsPerClient: 2, maxClientUploadBytes: 3 * still.length });
  });
  afterAll(() => srv?.close());

  const remove = (who: 'a' | 'b', id: string) => request127(srv.url, 'DELETE', `/api/uploads/${id}`, { key: key[who].key });

  it("one client's unfinished uploads do not block another's", async () => {
    const mine = [(await createQuery(srv.url, 'a')).id, (await createQuery(srv.url, 'a')).id];
    const refused = await createQuery(srv.url, 'a');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('TOO_MANY_UPLOADS');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const other = await createQuery(srv.url, 'b');
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    // Finishing (here: cancelling) one frees a slot for its owner.
    expect((await remove('a', mine[0])).status).toBe(204);
    const again = await createQuery(srv.url, 'a');
    expect(again.status).toBe(201);
    for (const id of [mine[1], again.id]) await remove('a', id);
    await remove('b', other.id);
  });

  it("limits the bytes one client's unfinished uploads reserve, not another's", async () => {
    const big = await createQuery(srv.url, 'a', 2 * still.length);
    expect(big.status).toBe(201);
    const over = await createQuery(srv.url, 'a', 2 * still.length);
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('UPLOAD_QUOTA_EXCEEDED');
    const other = await createQuery(srv.url, 'b', 2 * still.length);
    expect(other.status).toBe(201);
    await remove('a', big.id);
    await remove('b', other.id);
  });

  it('answers 507 INSUFFICIENT_STORAGE below the free-space threshold, before a byte is stored', async () => {
    const before = await listFiles(dataDir());
    // The threshold is the server's setting; the disk is the real one.
    const full = await startTestServer(te.engine, join(tmp.path, 'full'), { minFreeDiskBytes: Number.MAX_SAFE_INTEGER });
    try {
      const r = await createQuery(full.url, 'a');
      expect(r.status).toBe(507);
      expect(r.body.error.code).toBe('INSUFFICIENT_STORAGE');
      expect(r.body.error.message).not.toMatch(/\d+(\.\d+)? (GiB|TiB)/);
      expect(await listFiles(join(tmp.path, 'full', 'uploads'))).toEqual([]);
    } finally {
      await full.close();
    }
    // A PATCH is checked too: the upload exists, then the disk "fills".
    const created = await createQuery(srv.url, 'a');
    expect(created.status).toBe(201);
    const limits = srv.app.uploads.limits;
    const saved = limits.minFreeDiskBytes;
    limits.minFreeDiskBytes = Number.MAX_SAFE_INTEGER;
    try {
      const sent = await patch(srv.url, key.a.key, created.id, still);
      expect(sent.status).toBe(507);
      expect(sent.body.error.code).toBe('INSUFFICIENT_STORAGE');
    } finally {
      limits.minFreeDiskBytes = saved;
    }
    const state = await request127(srv.url, 'GET', `/api/uploads/${created.id}`, { key: key.a.key });
    expect(state.body.offset).toBe(0);
    await remove('a', created.id);
    expect(await listFiles(dataDir())).toEqual(before);
  });
});

describe('per-client quota on the stored videos', () => {
  it('refuses an index upload past the quota with 507 STORAGE_QUOTA_EXCEEDED, for that client only, until a video is removed', async () => {
    const clip = await readFile(await makeClip(tmp, 'stored', { source: 'life', durationSec: 2, width: 192, height: 144 }));
    const admin = (await new ApiKeyStore(te.engine.sql).create({ scope: 'admin' })).key;
    const srv = await startTestServer(te.engine, join(tmp.path, 'stored'), { maxClientStoredBytes: Math.floor(1.5 * clip.length) });
    const indexUpload = (who: 'a' | 'b') => createUpload(srv.url, key[who].key, 'v.mp4', clip.length, 'index');
    try {
      const first = await indexUpload('a');
      expect(first.status).toBe(201);
      expect((await patch(srv.url, key.a.key, first.id, clip)).status).toBe(204);
      const done = await complete(srv.url, 'a', first.id);
      expect(done.status, JSON.stringify(done.body)).toBe(201);
      const job = (await waitForJob(srv.url, done.body.job.id, 'a')) as { stage: string; result: { videoId: string } };
      expect(job.stage).toBe('done');

      const over = await indexUpload('a');
      expect(over.status).toBe(507);
      expect(over.body.error.code).toBe('STORAGE_QUOTA_EXCEEDED');
      // Another client's quota is its own; an admin has none.
      const other = await indexUpload('b');
      expect(other.status).toBe(201);
      await request127(srv.url, 'DELETE', `/api/uploads/${other.id}`, { key: key.b.key });
      const byAdmin = await createUpload(srv.url, admin, 'v.mp4', clip.length, 'index');
      expect(byAdmin.status).toBe(201);
      await request127(srv.url, 'DELETE', `/api/uploads/${byAdmin.id}`, { key: admin });

      // Removing the video frees the quota.
      expect((await request127(srv.url, 'DELETE', `/api/videos/${job.result.videoId}`, { key: admin })).status).toBe(204);
      const again = await indexUpload('a');
      expect(again.status).toBe(201);
      await request127(srv.url, 'DELETE', `/api/uploads/${again.id}`, { key: key.a.key });
    } finally {
      await srv.close();
    }
  });
});

describe('bounded job queue', () => {
  it('answers 429 TOO_MANY_JOBS when one client has its share unfinished, and others still get in', async () => {
    const srv = await startTestServer(te.engine, join(tmp.path, 'share'), { maxJobsPerClient: 2 });
    const store = new JobStore(te.engine.sql);
    // Two unfinished jobs of client a, as another server on the database would have them.
    const held = await Promise.all([0, 1].map(() => store.create('search', { path: '/nonexistent', client: `key:${key.a.id}` }, undefined, key.a.id)));
    try {
      const upload = await sendQuery(srv.url, 'a');
      const refused = await complete(srv.url, 'a', upload);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('TOO_MANY_JOBS');
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      // Client b is not held up by a's jobs.
      const other = await complete(srv.url, 'b', await sendQuery(srv.url, 'b'));
      expect(other.status, JSON.stringify(other.body)).toBe(201);
      // The refused upload was kept: once a's jobs end, the same upload completes.
      for (const j of held) await store.markFailed(j.id, { code: 'ABORTED', message: 'test' });
      const later = await complete(srv.url, 'a', upload);
      expect(later.status, JSON.stringify(later.body)).toBe(201);
      await waitForJob(srv.url, later.body.job.id, 'a');
    } finally {
      for (const j of held) await store.markFailed(j.id, { code: 'ABORTED', message: 'test' });
      await srv.close();
    }
  });

  it('lets several completions at once by one client through only up to its share (checked and added as one step)', async () => {
    const { engine, release } = searchesHeld();
    const srv = await startTestServer(engine, join(tmp.path, 'at-once'), { maxJobsPerClient: 2, searchConcurrency: 1 });
    try {
      const uploads = [];
      for (let i = 0; i < 4; i++) uploads.push(await sendQuery(srv.url, 'a'));
      const answers = await Promise.all(uploads.map((id) => complete(srv.url, 'a', id)));
      expect(answers.map((r) => r.status).sort()).toEqual([201, 201, 429, 429]);
      expect(
        answers.filter((r) => r.status === 429).every((r) => r.body.error.code === 'TOO_MANY_JOBS' && /^\d+$/.test(r.headers.get('retry-after') ?? '')),
      ).toBe(true);
      release();
      for (const r of answers.filter((r) => r.status === 201)) expect((await waitForJob(srv.url, r.body.job.id, 'a')).stage).toBe('done');
    } finally {
      release();
      await srv.close();
    }
  });

  it('answers 503 QUEUE_FULL with Retry-After when the queue is full, and takes the upload once there is room', async () => {
    const { engine, release } = searchesHeld();
    const srv = await startTestServer(engine, join(tmp.path, 'queue'), { maxQueuedJobs: 1, searchConcurrency: 1 });
    try {
      const first = await complete(srv.url, 'a', await sendQuery(srv.url, 'a'));
      expect(first.status).toBe(201);
      const second = await complete(srv.url, 'b', await sendQuery(srv.url, 'b'));
      expect(second.status).toBe(201);
      const thirdUpload = await sendQuery(srv.url, 'b');
      const full = await complete(srv.url, 'b', thirdUpload);
      expect(full.status).toBe(503);
      expect(full.body.error.code).toBe('QUEUE_FULL');
      expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
      release();
      expect((await waitForJob(srv.url, first.body.job.id, 'a')).stage).toBe('done');
      expect((await waitForJob(srv.url, second.body.job.id, 'b')).stage).toBe('done');
      const later = await complete(srv.url, 'b', thirdUpload);
      expect(later.status, JSON.stringify(later.body)).toBe(201);
      expect((await waitForJob(srv.url, later.body.job.id, 'b')).stage).toBe('done');
    } finally {
      release();
      await srv.close();
    }
  });
});

/**
 * Duplicate clusters over HTTP: POST /api/dedup starts a job that compares the videos indexed
 * since the last run (one such job at a time), GET /api/dedup reads what is stored. Both read the
 * whole library, so a search key may not.
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import type { RunningServer } from '../../src/server/index.js';
import { makeExcerptLibrary, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeTestServer, json, openTestEngine, startTestServer, type TestEngine } from './server-helpers.js';

let dir: TempDir;
let te: TestEngine;
let server: RunningServer;
const key: Record<'search' | 'index', string> = {} as never;
let sigVideo: string;
let dedupJobId = '';

beforeAll(async () => {
  dir = await makeTempDir('retrace-api-dedup-');
  const { original, excerpt, other } = await makeExcerptLibrary(dir);
  te = await openTestEngine();
  await te.engine.index(original);
  await te.engine.index(excerpt);
  // A reference without media: no thumbnail or stream to serve.
  await writeFile(dir.file('other.sig'), await te.engine.makeSignature(other));
  sigVideo = (await te.engine.index(dir.file('other.sig'))).videoId;
  const keys = new ApiKeyStore(te.engine.sql);
  key.search = (await keys.create({ scope: 'search' })).key;
  key.index = (await keys.create({ scope: 'index' })).key;
  server = await startTestServer(te.engine, dir.file('data'));
}, 300_000);

afterAll(() => closeTestServer(server, te, dir));

const as = (who: keyof typeof key) => ({ authorization: `Bearer ${key[who]}` });

describe('/api/dedup', () => {
  it('needs an index key', async () => {
    expect((await json(server.url, '/api/dedup', { headers: as('search') })).status).toBe(403);
    expect((await json(server.url, '/api/dedup', { method: 'POST', headers: as('search') })).status).toBe(403);
  });

  it('POST answers 202 with a dedup job at once; a POST while it is unfinished answers the same job', async () => {
    const before = await json(server.url, '/api/dedup', { headers: as('index') });
    expect(before.status).toBe(200);
    expect(before.body.pending).toBe(3);
    expect(before.body.relations).toEqual([]);
    expect(before.body.job).toBeNull();
    // Sent together: the second arrives while the first is queued or running.
    const [first, second] = await Promise.all([
      json(server.url, '/api/dedup', { method: 'POST', headers: as('index') }),
      json(server.url, '/api/dedup', { method: 'POST', headers: as('index') }),
    ]);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(second.status, JSON.stringify(second.body)).toBe(202);
    expect(first.body.kind).toBe('dedup');
    expect(first.headers.get('location')).toBe(`/api/jobs/${first.body.id}`);
    expect(second.body.id).toBe(first.body.id);
    dedupJobId = first.body.id;
  });

  it('the job counts the videos it searched, and its result is what engine.dedup finds', async () => {
    const job = await waitFor(async () => {
      const r = await json(server.url, `/api/jobs/${dedupJobId}`, { headers: as('index') });
      return r.body.finishedAt ? r.body : null;
    }, 120_000);
    expect(job.stage, JSON.stringify(job.error)).toBe('done');
    expect(job.items).toEqual({ done: 3, total: 3 });
    const result = (await json(server.url, `/api/jobs/${dedupJobId}/result`, { headers: as('index') })).body;
    expect(result.compared).toBe(3);
    expect(result.relations).toHaveLength(1);
    expect(['contains', 'contained-in']).toContain(result.relations[0].type);
    expect(result.relations[0].a.path).not.toContain('/');
    // The same library searched again from scratch by the engine finds the same relation.
    const direct = await te.engine.dedup({ full: true });
    const shape = (r: { a: { id: string }; b: { id: string }; type: string; segments: unknown[] }) => ({
      a: r.a.id,
      b: r.b.id,
      type: r.type,
      segments: r.segments,
    });
    expect(result.relations.map(shape)).toEqual(direct.relations.map(shape));
    expect(result.clusters.map((c: { videos: { id: string }[] }) => c.videos.map((v) => v.id))).toEqual(direct.clusters.map((c) => c.videos.map((v) => v.id)));
    const after = await json(server.url, '/api/dedup?recurring=1', { headers: as('index') });
    expect(after.body.pending).toBe(0);
    expect(after.body.job).toBeNull();
    expect(after.body.recurring).toEqual([]);
    expect(after.body.relations.map(shape)).toEqual(direct.relations.map(shape));
  }, 150_000);

  it('a POST once the job has ended starts a new one', async () => {
    const again = await json(server.url, '/api/dedup', { method: 'POST', headers: as('index') });
    expect(again.status).toBe(202);
    expect(again.body.id).not.toBe(dedupJobId);
    const job = await waitFor(async () => {
      const r = await json(server.url, `/api/jobs/${again.body.id}`, { headers: as('index') });
      return r.body.finishedAt ? r.body : null;
    }, 60_000);
    expect(job.stage).toBe('done');
    // Nothing indexed since: nothing to search.
    expect(job.items).toEqual({ done: 0, total: 0 });
  }, 90_000);

  it('a video indexed from a signature has no thumbnail', async () => {
    const res = await json(server.url, `/api/videos/${sigVideo}/thumbnail`, { headers: as('index') });
    expect(res.status).toBe(404);
  });
});

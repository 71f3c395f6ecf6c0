/**
 * Duplicate clusters over HTTP: POST /api/dedup compares the videos indexed since the last run,
 * GET /api/dedup reads what is stored. Both read the whole library, so a search key may not.
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import type { RunningServer } from '../../src/server/index.js';
import { editClip, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { json, openTestEngine, startTestServer, type TestEngine } from './server-helpers.js';

let dir: TempDir;
let te: TestEngine;
let server: RunningServer;
const key: Record<'search' | 'index', string> = {} as never;
let sigVideo: string;

beforeAll(async () => {
  dir = await makeTempDir('retrace-api-dedup-');
  const original = await makeClip(dir, 'original', { source: 'rotatingPattern', durationSec: 12, rate: 15 });
  const excerpt = await editClip(original, dir, 'excerpt', { start: 2, duration: 6 });
  te = await openTestEngine();
  await te.engine.index(original);
  await te.engine.index(excerpt);
  // A reference without media: no thumbnail or stream to serve.
  const other = await makeClip(dir, 'other', { source: 'seahorse', durationSec: 6, rate: 15 });
  await writeFile(dir.file('other.sig'), await te.engine.makeSignature(other));
  sigVideo = (await te.engine.index(dir.file('other.sig'))).videoId;
  const keys = new ApiKeyStore(te.engine.sql);
  key.search = (await keys.create({ scope: 'search' })).key;
  key.index = (await keys.create({ scope: 'index' })).key;
  server = await startTestServer(te.engine, dir.file('data'));
}, 300_000);

afterAll(async () => {
  await server?.close();
  await te?.close();
  await dir?.cleanup();
});

const as = (who: keyof typeof key) => ({ authorization: `Bearer ${key[who]}` });

describe('/api/dedup', () => {
  it('needs an index key', async () => {
    expect((await json(server.url, '/api/dedup', { headers: as('search') })).status).toBe(403);
    expect((await json(server.url, '/api/dedup', { method: 'POST', headers: as('search') })).status).toBe(403);
  });

  it('compares new videos on POST, then GET reads the stored relation without paths on disk', async () => {
    const before = await json(server.url, '/api/dedup', { headers: as('index') });
    expect(before.status).toBe(200);
    expect(before.body.pending).toBe(3);
    expect(before.body.relations).toEqual([]);
    const run = await json(server.url, '/api/dedup', { method: 'POST', headers: as('index') });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body.compared).toBe(3);
    const after = await json(server.url, '/api/dedup?recurring=1', { headers: as('index') });
    expect(after.body.pending).toBe(0);
    expect(after.body.recurring).toEqual([]);
    expect(after.body.relations).toHaveLength(1);
    const r = after.body.relations[0];
    expect(['contains', 'contained-in']).toContain(r.type);
    expect(r.a.path).not.toContain('/');
    expect(after.body.clusters).toHaveLength(1);
  });

  it('a video indexed from a signature has no thumbnail', async () => {
    const res = await json(server.url, `/api/videos/${sigVideo}/thumbnail`, { headers: as('index') });
    expect(res.status).toBe(404);
  });
});

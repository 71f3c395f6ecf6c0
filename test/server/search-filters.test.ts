/**
 * The HTTP API takes the library's search filters and `top` when a search upload is completed:
 * `where` (an object or a list of "key=value"), `folder` and `top`. A filter that cannot be
 * applied is refused with 400 INVALID_ARGUMENT before any job exists.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.js';
import { editClip, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { TEST_DB_KIND } from '../helpers/test-database.js';
import { closeTestServer, json, openTestEngine, startTestServer, tusUpload, waitForJob, type TestEngine } from './server-helpers.js';

let dir: TempDir;
let te: TestEngine;
let server: RunningServer;
let base: string;
let query: string;
const id: Record<string, string> = {};

beforeAll(async () => {
  dir = await makeTempDir('retrace-api-filters-');
  const size = { width: 192, height: 144 };
  const [original, other] = await Promise.all([
    makeClip(dir, 'original', { source: 'mandelbrot', durationSec: 8, ...size }),
    makeClip(dir, 'other', { source: 'life', durationSec: 4, ...size }),
  ]);
  query = await editClip(original, dir, 'query', { start: 2, duration: 5 });
  te = await openTestEngine();
  id.original = (await te.engine.index(original, { metadata: { collection: 'news' } })).videoId;
  id.other = (await te.engine.index(other, { metadata: { collection: 'sport' } })).videoId;
  server = await startTestServer(te.engine, dir.file('data'));
  base = server.url;
}, 300_000);

afterAll(() => closeTestServer(server, te, dir));

/** Upload the query and complete it with `body`; the completion's response. */
async function searchUpload(body: Record<string, unknown>) {
  const { id } = await tusUpload(base, await readFile(query), { filename: 'query.mp4', purpose: 'search' });
  return json(base, `/api/uploads/${id}/complete`, { body });
}

async function matchesOf(body: Record<string, unknown>): Promise<Array<{ videoId: string; belowThreshold?: boolean }>> {
  const done = await searchUpload(body);
  expect(done.status, JSON.stringify(done.body)).toBe(201);
  const job = await waitForJob(base, done.body.job.id as string);
  expect(job.stage, JSON.stringify(job.error)).toBe('done');
  return (await json(base, `/api/jobs/${job.id}/result`)).body.matches;
}

describe(`search filters over HTTP on ${TEST_DB_KIND}`, () => {
  it('where (object or "key=value" list) and folder restrict the matches; top lists near misses flagged', async () => {
    expect((await matchesOf({})).map((m) => m.videoId)).toEqual([id.original]);
    expect(await matchesOf({ where: { collection: 'sport' } })).toEqual([]);
    expect((await matchesOf({ where: ['collection=news'] })).map((m) => m.videoId)).toEqual([id.original]);
    expect(await matchesOf({ folder: dir.file('elsewhere') })).toEqual([]);
    const top = await matchesOf({ top: 2 });
    expect(top.map((m) => [m.videoId, m.belowThreshold])).toEqual([
      [id.original, undefined],
      [id.other, true],
    ]);
  });

  it('a filter that cannot be applied is 400 INVALID_ARGUMENT', async () => {
    for (const body of [{ where: 'collection=news' }, { where: { collection: { nested: 1 } } }, { where: ['novalue'] }, { folder: 3 }, { top: 0 }]) {
      const r = await searchUpload(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ARGUMENT');
    }
  });
});

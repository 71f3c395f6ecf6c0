/**
 * What a server keeps and says about its disk: query files go when their search ends (unless
 * keepQueries), files live beside the database, no response names a server path, and a client
 * that hangs up is not a server failure.
 */
import { realpathSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServerDataDir } from '../../src/server/app.js';
import { startServer } from '../../src/server/index.js';
import { isPglite } from '../helpers/test-database.js';
import { makeClip, makeStill, makeTempDir, problemFiles, type TempDir } from '../helpers/media-fixtures.js';
import {
  createUpload,
  dropTusPatch,
  json,
  listFiles,
  openTestEngine,
  startTestServer,
  tusUpload,
  uploadFile,
  waitForJob,
  type TestEngine,
} from './server-helpers.js';

let te: TestEngine;
let tmp: TempDir;
let clip = '';
let still = '';
let cliVideoId = '';

beforeAll(async () => {
  tmp = await makeTempDir('retrace-privacy-');
  te = await openTestEngine();
  clip = await makeClip(tmp, 'holiday', { source: 'mandelbrot', durationSec: 3, width: 192, height: 144 });
  still = await makeStill(tmp, 'still.jpg', 'mandelbrot', { width: 192, height: 144 });
  // Indexed as the CLI does: the record keeps the absolute path on this machine.
  cliVideoId = (await te.engine.index(clip)).videoId!;
});

afterAll(async () => {
  await te?.close();
  await tmp?.cleanup();
});

describe('query files', () => {
  it('are deleted when their search ends; the query thumbnail then answers 410', async () => {
    const dataDir = join(tmp.path, 'delete');
    const srv = await startTestServer(te.engine, dataDir);
    try {
      const { jobId } = await uploadFile(srv.url, still, 'search');
      const job = await waitForJob(srv.url, jobId);
      expect(job.stage).toBe('done');
      expect(job.result.matches[0]?.videoId).toBe(cliVideoId);
      expect(await listFiles(join(dataDir, 'queries'))).toEqual([]);
      const thumb = await json(srv.url, `/api/jobs/${jobId}/thumbnail`);
      expect(thumb.status).toBe(410);
      expect(thumb.body.error.code).toBe('QUERY_DELETED');
    } finally {
      await srv.close();
    }
  });

  it('are kept (for query thumbnails) when the server is told to keep them', async () => {
    const dataDir = join(tmp.path, 'keep');
    const srv = await startTestServer(te.engine, dataDir, { keepQueries: true });
    try {
      const { jobId } = await uploadFile(srv.url, still, 'search');
      expect((await waitForJob(srv.url, jobId)).stage).toBe('done');
      expect(await listFiles(join(dataDir, 'queries'))).toHaveLength(1);
      expect((await fetch(new URL(`/api/jobs/${jobId}/thumbnail`, srv.url))).status).toBe(200);
    } finally {
      await srv.close();
    }
  });
});

describe('where the server keeps files', () => {
  it('beside the database by default, not in the working directory', async () => {
    const saved = process.env.XDG_DATA_HOME;
    // A PostgreSQL database has no directory here: its files go under $XDG_DATA_HOME/retrace.
    process.env.XDG_DATA_HOME = join(tmp.path, 'xdg');
    try {
      const expected = defaultServerDataDir(te.engine.sql);
      if (isPglite) expect(expected).toBe(`${te.db.dir}-server`);
      else expect(expected.startsWith(join(tmp.path, 'xdg', 'retrace', 'server-'))).toBe(true);
      expect(expected.startsWith(process.cwd())).toBe(false);
      const srv = await startServer({ engine: te.engine, port: 0, host: '127.0.0.1', log: () => {} });
      try {
        expect(srv.app.dataDir).toBe(expected);
        expect((await listFiles(expected)).length).toBeGreaterThanOrEqual(0);
      } finally {
        await srv.close();
        await rm(expected, { recursive: true, force: true });
      }
    } finally {
      if (saved === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = saved;
    }
  });
});

describe('no server path in any response', () => {
  it('lists, gets, job views, results and errors name files, never where they are', async () => {
    const dataDir = join(tmp.path, 'paths');
    const srv = await startTestServer(te.engine, dataDir);
    const base = srv.url;
    const texts: Array<[string, string]> = [];
    const grab = async (path: string, init?: RequestInit) => {
      const r = await fetch(new URL(path, base), init);
      const body = r.headers.get('content-type')?.startsWith('image/') || r.headers.get('content-type')?.startsWith('video/') ? '' : await r.text();
      const head: string[] = [];
      r.headers.forEach((v, k) => head.push(`${k}: ${v}`));
      texts.push([path, `${r.status} ${head.join('\n')}\n${body}`]);
      return r.status;
    };
    try {
      // An uploaded video, a search, a failed upload, a video whose file went missing.
      const indexed = await uploadFile(base, clip, 'index', { fileName: 'upload.mp4' });
      const indexJob = await waitForJob(base, indexed.jobId);
      const search = await uploadFile(base, still, 'search');
      await waitForJob(base, search.jobId);
      const gone = await makeClip(tmp, 'gone', { source: 'life', durationSec: 3, width: 192, height: 144 });
      const goneId = (await te.engine.index(gone)).videoId!;
      await rm(gone);
      const text = await problemFiles.textAsMp4(tmp);
      const badUpload = (await tusUpload(base, await readFile(text), { filename: 'bad.mp4', purpose: 'search' })).id;

      for (const p of [
        '/api/health',
        '/api/stats',
        '/api/videos?limit=200',
        `/api/videos/${cliVideoId}`,
        `/api/videos/${indexJob.result?.videoId ?? indexJob.id}`,
        '/api/jobs?limit=200',
        `/api/jobs/${indexed.jobId}`,
        `/api/jobs/${indexed.jobId}/result`,
        `/api/jobs/${search.jobId}`,
        `/api/jobs/${search.jobId}/result`,
        `/api/uploads/${indexed.uploadId}`,
        `/api/videos/${goneId}/stream`,
        `/api/videos/${goneId}/thumbnail`,
      ])
        await grab(p);
      expect(
        await grab(`/api/uploads/${badUpload}/complete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      ).toBeGreaterThanOrEqual(400);
      // The errors above are real: a missing file and a non-video.
      expect(texts.find(([p]) => p.endsWith('/stream'))![1]).toMatch(/^404 /);

      const roots = new Set([dataDir, tmp.path, realpathSync(tmp.path), process.cwd()]);
      if (te.db.dir) roots.add(te.db.dir);
      for (const [path, t] of texts) {
        for (const root of roots) expect(t.includes(root), `${path} names ${root}:\n${t.slice(0, 400)}`).toBe(false);
        // Nor any other absolute file path (URLs' paths start with /api/).
        expect(t.match(/(?<![\w.:/-])\/(?:tmp|home|work|var|usr|root|srv|data|mnt)\/[^\s"]*/g), path).toBeNull();
      }
    } finally {
      await srv.close();
    }
  });
});

describe('clients that hang up', () => {
  it('are not logged as server failures', async () => {
    const logs: string[] = [];
    const srv = await startTestServer(te.engine, join(tmp.path, 'aborts'), { log: (m, e) => logs.push(`${m} ${String(e ?? '')}`) });
    try {
      const bytes = await readFile(clip);
      const created = await createUpload(srv.url, 'cut.mp4', bytes.length, 'search');
      const url = new URL(`/api/uploads/${created.id}`, srv.url).href;
      // A PATCH cut off mid-body, twice.
      await dropTusPatch(url, 0, bytes, Math.floor(bytes.length / 2));
      const kept = Number((await json(srv.url, `/api/uploads/${created.id}`)).body.offset);
      await dropTusPatch(url, kept, bytes.subarray(kept), 200);
      // A video stream and an event stream dropped after the first bytes.
      for (const path of [`/api/videos/${cliVideoId}/stream`]) {
        await new Promise<void>((resolve) => {
          const req = request(new URL(path, srv.url), (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          });
          req.on('error', () => resolve());
          req.end();
        });
      }
      // The server has dealt with the cut requests once it answers the next one about the upload.
      const state = await json(srv.url, `/api/uploads/${created.id}`);
      expect(state.status).toBe(200);
      expect(state.body.offset).toBeGreaterThanOrEqual(kept);
      expect(logs).toEqual([]);
    } finally {
      await srv.close();
    }
  });
});

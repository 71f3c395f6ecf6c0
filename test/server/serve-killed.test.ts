/**
 * `retrace serve` killed with SIGKILL mid-ingest of an uploaded video: after a restart the
 * stored upload is ingested again (not deleted), the video ends up indexed once, and nothing
 * half-done shows in list, stats or search meanwhile. The real command, killed for real.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killHard, leftovers, spawnRetrace, type RetraceChild } from '../helpers/killed-child.js';
import { ffmpeg, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { ensureCliBuilt } from '../cli/run-cli.js';
import { json, listFiles, tusUpload, waitForJob } from './server-helpers.js';

let dir: TempDir;
let db: TestDatabase;
let long: string;
let query: string;
let dataDir: string;
const children: Array<RetraceChild['child']> = [];

beforeAll(async () => {
  ensureCliBuilt();
  dir = await makeTempDir('retrace-serve-killed-');
  db = await createTestDatabase();
  dataDir = join(dir.path, 'data');
  // Twenty minutes at a cheap size: small to upload, many seconds to index, so the kill lands mid-ingest.
  long = dir.file('long.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=5', '-t', '1200', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '5', long]);
  query = dir.file('query.mp4');
  await ffmpeg(['-ss', '60', '-i', long, '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast', query]);
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await db?.dispose();
  await dir?.cleanup();
});

/** `retrace serve` on a free loopback port; resolves with its URL once it is listening. */
async function serve(): Promise<RetraceChild & { url: string }> {
  const run = spawnRetrace(['serve', '--db', db.location, '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir]);
  const { child, exited } = run;
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      out += t;
      const m = /serving (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`serve exited before listening: ${out} ${err}`)));
    setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), 60_000);
  });
  return { ...run, url };
}

describe('serve killed with SIGKILL mid-ingest', () => {
  it('ingests the stored upload again after a restart, once, with nothing half-done visible', async () => {
    const first = await serve();
    const { id: uploadId } = await tusUpload(first.url, await readFile(long), { filename: 'long.mp4', purpose: 'index' }, { chunkSize: 4 * 1024 * 1024 });
    const done = await json(first.url, `/api/uploads/${uploadId}/complete`, { body: {} });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    const jobId = done.body.job.id as string;

    // Past a fifth of the ingest, frames are being stored: kill it there.
    const t0 = Date.now();
    let seen: { stage: string; progress: number } | undefined;
    while (Date.now() - t0 < 120_000) {
      seen = (await json(first.url, `/api/jobs/${jobId}`)).body;
      if (seen && seen.stage !== 'queued' && seen.stage !== 'probing' && seen.progress >= 0.2) break;
      if (seen?.stage === 'done' || seen?.stage === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen?.stage, 'the ingest ended before the kill').not.toMatch(/done|failed/);
    expect(await killHard(first)).toBe('SIGKILL');

    // The kill left an unfinished video with frames, and the upload's file in the media folder.
    const left = await leftovers(db.location);
    expect(left.unfinished).toBe(1);
    expect(left.frames).toBeGreaterThan(0);
    const stored = (await listFiles(join(dataDir, 'media'))).map((f) => join(dataDir, 'media', f));
    expect(stored).toHaveLength(1);

    const second = await serve();
    try {
      // While it indexes again, nothing of the video is visible.
      const during = await json(second.url, `/api/jobs/${jobId}`);
      expect(during.body.stage).not.toBe('failed');
      expect((await json(second.url, '/api/videos')).body.items).toEqual([]);
      const statsDuring = (await json(second.url, '/api/stats')).body.engine;
      expect(statsDuring).toMatchObject({ readyVideos: 0 });

      const job = await waitForJob(second.url, jobId, 300_000);
      expect(job.stage, JSON.stringify(job.error)).toBe('done');
      expect(job.attempts).toBe(2);
      // The file the client uploaded is the indexed video's, still in place.
      expect(existsSync(stored[0])).toBe(true);

      const videos = (await json(second.url, '/api/videos')).body.items as Array<{ id: string; status: string; frameCount: number }>;
      expect(videos).toHaveLength(1);
      expect(videos[0].status).toBe('ready');
      const stats = (await json(second.url, '/api/stats')).body.engine;
      expect(stats).toMatchObject({ videos: 1, readyVideos: 1, frames: videos[0].frameCount });
      expect(await listFiles(join(dataDir, 'uploads'))).toEqual(expect.not.arrayContaining([expect.stringMatching(/^tus\/[0-9a-f-]{36}$/)]));

      const { id: queryUpload } = await tusUpload(second.url, await readFile(query), { filename: 'query.mp4', purpose: 'search' });
      const search = await json(second.url, `/api/uploads/${queryUpload}/complete`, { body: {} });
      const found = await waitForJob(second.url, search.body.job.id);
      expect(found.result.matches).toHaveLength(1);
      expect(found.result.matches[0].videoId).toBe(videos[0].id);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 600_000);
});

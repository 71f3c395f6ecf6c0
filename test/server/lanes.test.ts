/**
 * Searches and ingests run in separate lanes of the server's job queue: a search never waits
 * behind an ingest. Real engine runs on generated clips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Retrace } from '../../src/core/engine/retrace.js';
import type { JobSnapshot } from '../../src/core/jobs/job-queue.js';
import { ffmpeg, makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { openTestEngine, startTestServer, type TestEngine } from './server-helpers.js';

let te: TestEngine;
let tmp: TempDir;
let base: string;
let long: string;

beforeAll(async () => {
  te = await openTestEngine();
  tmp = await makeTempDir('retrace-lanes-');
  base = await makeClip(tmp, 'base', { source: 'rotatingPattern', durationSec: 10 });
  // 40 copies of the clip back to back (stream copy: instant to make): 400 s of video, an
  // ingest of several seconds even on a fast machine.
  long = tmp.file('long.mp4');
  await ffmpeg(['-stream_loop', '39', '-i', base, '-c', 'copy', long]);
}, 120_000);

afterAll(async () => {
  await te?.close();
  await tmp?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('job lanes', () => {
  it('a search submitted while an ingest runs starts at once and is done before the ingest is', async () => {
    // The real engine; the ingest's job is held open after the real ingest until the test lets it
    // go, so "done before the ingest" does not depend on how fast this machine indexes.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let ingesting = false;
    let searchStartedDuringIngest: boolean | null = null;
    const engine = Object.create(te.engine) as Retrace;
    engine.index = async (...args: Parameters<Retrace['index']>) => {
      ingesting = true;
      try {
        return await te.engine.index(...args);
      } finally {
        ingesting = false;
        await gate;
      }
    };
    engine.search = async (...args: Parameters<Retrace['search']>) => {
      searchStartedDuringIngest = ingesting;
      return te.engine.search(...args);
    };
    // One job of each kind at a time: a shared lane of one would queue the search behind the ingest.
    const srv = await startTestServer(engine, join(tmp.path, 'srv'), { searchConcurrency: 1, indexConcurrency: 1 });
    try {
      await srv.app.ready;
      const jobs = srv.app.jobs;
      const ingest = await jobs.submit('index', { path: long });
      await waitFor('the ingest to start', () => ingesting);
      const search = await jobs.submit('search', { path: base });
      const done = await waitFor('the search to end', async () => {
        const j: JobSnapshot = await jobs.get(search.id);
        return j.finishedAt ? j : null;
      });
      expect(done.stage, JSON.stringify(done.error)).toBe('done');
      expect(searchStartedDuringIngest).toBe(true);
      expect((await jobs.get(ingest.id)).finishedAt).toBeNull();
      expect(jobs.counts().lanes.index.running).toBe(1);

      release();
      const indexed = await waitFor('the ingest to end', async () => {
        const j = await jobs.get(ingest.id);
        return j.finishedAt ? j : null;
      });
      expect(indexed.stage, JSON.stringify(indexed.error)).toBe('done');
    } finally {
      release();
      await srv.close();
    }
  }, 180_000);
});

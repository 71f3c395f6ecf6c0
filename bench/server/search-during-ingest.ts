/**
 * Search latency over loopback with the server idle, then while an ingest runs (separate job
 * lanes, server defaults). A search's latency is from creating its upload to its job being done,
 * as a client sees it: upload, queue, run, and polling every 50 ms.
 *
 *   npx vite-node bench/server/search-during-ingest.ts -- [--db postgres://…] [--searches 8] [--ingest-copies 60]
 *
 * Clips are generated: a 10 s reference (indexed first, so searches have something to find), a
 * 6 s query cut from it, and the long ingest: the reference looped `--ingest-copies` times.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Retrace } from '../../src/core/engine/retrace.js';
import { startServer } from '../../src/server/index.js';
import { h264Args } from '../../test/helpers/media-fixtures.js';
import { scratchDatabase } from '../common/scratch-db.js';
import { roundSummary, summarize } from '../common/stats.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { db: { type: 'string' }, searches: { type: 'string', default: '8' }, 'ingest-copies': { type: 'string', default: '60' } },
});
const searches = Number(values.searches);

const dir = await mkdtemp(join(tmpdir(), 'retrace-bench-lanes-'));
const ff = (args: string[]) => execFileSync('ffmpeg', ['-y', '-loglevel', 'error', ...args]);
// The fixtures' H.264 arguments at x264's default CRF, which these clips had before: the same files.
const H264 = h264Args(23);
const reference = join(dir, 'reference.mp4');
const query = join(dir, 'query.mp4');
const long = join(dir, 'long.mp4');
ff(['-f', 'lavfi', '-i', 'testsrc2=s=400x400:r=25,rotate=a=0.15*t:ow=320:oh=240', '-t', '10', ...H264, reference]);
ff(['-ss', '2', '-i', reference, '-t', '6', ...H264, query]);
ff(['-stream_loop', String(Number(values['ingest-copies']) - 1), '-i', reference, '-c', 'copy', long]);

const db = await scratchDatabase({ db: values.db, name: 'retrace_bench_lanes' });
const engine = await Retrace.open({ db: db.location });
await engine.index(reference);
const srv = await startServer({ engine, port: 0, dataDir: join(dir, 'server'), log: () => {} });
const queryBytes = await readFile(query);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, read field by field
async function call(path: string, init?: RequestInit): Promise<any> {
  const r = await fetch(new URL(path, srv.url), init);
  const body = await r.json();
  if (r.status >= 300) throw new Error(`${path}: HTTP ${r.status} ${JSON.stringify(body)}`);
  return body;
}
const post = (path: string, body: unknown) => call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** One search through the HTTP API; its latency in ms. */
async function search(): Promise<number> {
  const t0 = performance.now();
  // tus 1.0: create, then the bytes in one PATCH (two requests, as the chunk protocol took).
  const created = await fetch(new URL('/api/uploads', srv.url), {
    method: 'POST',
    headers: {
      'tus-resumable': '1.0.0',
      'upload-length': String(queryBytes.length),
      'upload-metadata': `filename ${Buffer.from('query.mp4').toString('base64')},purpose ${Buffer.from('search').toString('base64')}`,
    },
  });
  if (created.status !== 201) throw new Error(`create: HTTP ${created.status} ${await created.text()}`);
  const location = created.headers.get('location')!;
  const patched = await fetch(new URL(location, srv.url), {
    method: 'PATCH',
    headers: { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: new Uint8Array(queryBytes),
  });
  if (patched.status !== 204) throw new Error(`PATCH: HTTP ${patched.status} ${await patched.text()}`);
  const { job } = await post(`${location}/complete`, {});
  for (;;) {
    const j = await call(`/api/jobs/${job.id}`);
    if (j.stage === 'done') return performance.now() - t0;
    if (j.stage === 'failed') throw new Error(`search failed: ${JSON.stringify(j.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const loadAtStart = loadavg()[0];
await search(); // warm-up: model and caches
const idle: number[] = [];
for (let i = 0; i < searches; i++) idle.push(await search());

const ingest = await srv.app.jobs.submit('index', { path: long });
while ((await srv.app.jobs.get(ingest.id)).stage === 'queued') await new Promise((r) => setTimeout(r, 20));
const during: number[] = [];
let overran = 0;
for (let i = 0; i < searches; i++) {
  const ms = await search();
  // Only searches that ended while the ingest was still running count.
  if ((await srv.app.jobs.get(ingest.id)).finishedAt) {
    overran++;
    break;
  }
  during.push(ms);
}
let ingestJob = await srv.app.jobs.get(ingest.id);
while (!ingestJob.finishedAt) {
  await new Promise((r) => setTimeout(r, 100));
  ingestJob = await srv.app.jobs.get(ingest.id);
}

const idleSummary = roundSummary(summarize(idle), 0);
const duringSummary = during.length ? roundSummary(summarize(during), 0) : null;
console.log(
  JSON.stringify(
    {
      store: db.dialect,
      lanes: srv.app.jobs.concurrency,
      loadAtStart: Number(loadAtStart.toFixed(2)),
      loadAtEnd: Number(loadavg()[0].toFixed(2)),
      searchMsIdle: idleSummary,
      searchMsDuringIngest: duringSummary,
      searchesAfterIngestEnded: overran,
      p50Ratio: duringSummary ? Number((duringSummary.p50 / idleSummary.p50).toFixed(2)) : null,
      ingest: { stage: ingestJob.stage, videoSec: Number(values['ingest-copies']) * 10, totalMs: ingestJob.timings.total },
    },
    null,
    2,
  ),
);
await srv.close();
await engine.close();
await db.dispose();
await rm(dir, { recursive: true, force: true });

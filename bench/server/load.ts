/**
 * Bounded load on loopback: `retrace serve` (a child process, so its peak RSS is its own) with
 * one API key per client, N searching clients (tus-upload a short query, complete it, poll the
 * search to its end, again) and M uploading clients (tus-upload a few-MB video for the library,
 * complete it, again: after the first ingest the copies are duplicates, so the upload path and
 * the queue are what is loaded, not the ingest lane) for a fixed time; each uploader first tries
 * two uploads more than its limit at once. Reports answers by status,
 * any 5xx, refusals by limit, search latency, upload throughput and the server's peak RSS
 * (VmHWM from /proc).
 *
 * The limits phase, so that the run shows them holding under load and not only in tests:
 * `--hammers N` clients ask `GET /api/jobs` as fast as answers come (8 requests in flight each),
 * each with its own key, until the per-key rate limit (`--rate-limit`, passed to serve) answers
 * 429 RATE_LIMITED, then wait the Retry-After it gave; `--bursters N` clients each submit the
 * per-client job limit plus two searches without waiting for any (each upload one tus request,
 * creation-with-upload, as many at once as the upload limit allows), so the last ones get 429
 * TOO_MANY_JOBS, then wait for theirs. Every 429 is counted with whether it carried Retry-After.
 * Searchers poll their job every `--poll-ms`; in-flight searches are followed at most `--grace`
 * seconds past the end.
 *
 *   npx vite-node bench/server/load.ts -- [--db postgres://…] [--searchers 30] [--uploaders 20] [--seconds 120]
 *     [--rate-limit 600] [--hammers 0] [--bursters 0] [--poll-ms 500] [--grace 60]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tus from 'tus-js-client';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import { DEFAULT_SERVER_LIMITS, SERVE_RATE_LIMIT_PER_MINUTE } from '../../src/server/limits.js';
import { Retrace } from '../../src/core/engine/retrace.js';
import { ffmpeg } from '../../test/helpers/media-fixtures.js';
import { BIN, ensureCliBuilt } from '../../test/cli/run-cli.js';
import { scratchDatabase } from '../common/scratch-db.js';
import { roundSummary, summarize } from '../common/stats.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    db: { type: 'string' },
    searchers: { type: 'string', default: '30' },
    uploaders: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '120' },
    'rate-limit': { type: 'string', default: String(SERVE_RATE_LIMIT_PER_MINUTE) },
    hammers: { type: 'string', default: '0' },
    bursters: { type: 'string', default: '0' },
    grace: { type: 'string', default: '60' },
    'poll-ms': { type: 'string', default: '500' },
  },
});
const searchers = Number(values.searchers);
const uploaders = Number(values.uploaders);
const seconds = Number(values.seconds);
const rateLimit = Number(values['rate-limit']);
const hammers = Number(values.hammers);
const bursters = Number(values.bursters);
const graceSec = Number(values.grace);
const pollMs = Number(values['poll-ms']);

ensureCliBuilt();
const dir = await mkdtemp(join(tmpdir(), 'retrace-bench-load-'));
const db = await scratchDatabase({ db: values.db, name: 'retrace_bench_load' });

// A reference video in the library, a query cut from it, and the video the uploaders send.
const reference = join(dir, 'reference.mp4');
await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=10', '-t', '60', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', reference]);
const queryPath = join(dir, 'query.mp4');
await ffmpeg(['-ss', '20', '-i', reference, '-t', '4', '-vf', 'hflip', '-c:v', 'libx264', '-preset', 'ultrafast', queryPath]);
const videoPath = join(dir, 'upload.mp4');
await ffmpeg(['-f', 'lavfi', '-i', 'mandelbrot=s=640x360:r=15', '-t', '30', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '1500k', videoPath]);
const query = await readFile(queryPath);
const video = await readFile(videoPath);

const engine = await Retrace.open({ db: db.location });
await engine.index(reference);
const keys = new ApiKeyStore(engine.sql);
const searchKeys = await Promise.all(Array.from({ length: searchers }, (_, i) => keys.create({ scope: 'search', name: `searcher ${i}` })));
const indexKeys = await Promise.all(Array.from({ length: uploaders }, (_, i) => keys.create({ scope: 'index', name: `uploader ${i}` })));
const hammerKeys = await Promise.all(Array.from({ length: hammers }, (_, i) => keys.create({ scope: 'search', name: `hammer ${i}` })));
const burstKeys = await Promise.all(Array.from({ length: bursters }, (_, i) => keys.create({ scope: 'search', name: `burster ${i}` })));
await engine.close();

const serveArgs = ['serve', '--db', db.location, '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'data'), '--rate-limit', String(rateLimit)];
const server = spawn(process.execPath, [BIN, ...serveArgs], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, RETRACE_LOG_LEVEL: 'warn' },
});
// The server's last log lines, shown if the run fails.
let serverLog = '';
server.stderr.setEncoding('utf8').on('data', (t: string) => (serverLog = (serverLog + t).slice(-4000)));
server.on('exit', (code, signal) => {
  if (Date.now() < deadline) console.error(`server exited early (${code ?? signal}):\n${serverLog}`);
});
const base = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stdout.setEncoding('utf8').on('data', (t: string) => {
    out += t;
    const m = /serving (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  server.on('exit', () => reject(new Error(`serve exited: ${out}`)));
});

const statusCounts = new Map<string, number>();
/** 429 answers by whose they were and whether they said when to come back. */
const limited = { withRetryAfter: 0, withoutRetryAfter: 0, byClient: { searcher: 0, uploader: 0, hammer: 0, burster: 0 } };
type Client = keyof typeof limited.byClient;
const count = (what: string, status: number, code?: string, retryAfter?: string | null, who?: Client) => {
  const k = `${what} ${status}${code ? ` ${code}` : ''}`;
  statusCounts.set(k, (statusCounts.get(k) ?? 0) + 1);
  if (status !== 429) return;
  if (retryAfter && /^\d+$/.test(retryAfter)) limited.withRetryAfter++;
  else limited.withoutRetryAfter++;
  if (who) limited.byClient[who]++;
};
const searchMs: number[] = [];
let uploadedBytes = 0;
let searchesDone = 0;
let uploadsDone = 0;
const deadline = Date.now() + seconds * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * fetch, tried again (counted) when the connection fails: undici can reuse a kept-alive socket
 * the server is closing at that moment (ECONNRESET), which is the client's race, not an answer.
 */
async function fetchRetry(url: URL, init: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      count('network error', 0);
      if (attempt >= 3) throw err;
    }
  }
}

/** The fields of API answers this benchmark reads. */
interface Answer {
  error?: { code?: string };
  job?: { id: string };
  stage?: string;
  finishedAt?: string | null;
}

async function call(
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Answer | null; retryAfter: number; retryAfterHeader: string | null }> {
  const res = await fetchRetry(new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Answer | null;
  try {
    parsed = JSON.parse(text) as Answer;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, retryAfter: Number(res.headers.get('retry-after') ?? 1), retryAfterHeader: res.headers.get('retry-after') };
}

/** One tus upload; resolves with the id, or null if refused (counted). */
function upload(key: string, bytes: Buffer, purpose: string, who: Client): Promise<string | null> {
  return new Promise((resolve) => {
    const u = new tus.Upload(bytes, {
      endpoint: new URL('/api/uploads', base).href,
      headers: { authorization: `Bearer ${key}` },
      metadata: { filename: `${purpose}.mp4`, purpose },
      chunkSize: 1024 * 1024,
      retryDelays: [500, 1000, 2000],
      onAfterResponse: (req, res) => count(`tus ${req.getMethod()}`, res.getStatus(), undefined, res.getHeader('Retry-After'), who),
      onError: () => resolve(null),
      onSuccess: () => {
        uploadedBytes += bytes.length;
        resolve(u.url!.split('/').pop()!);
      },
    });
    u.start();
  });
}

let abandoned = 0;

/** Poll a search until it ends (or the grace time after the run is over); true if it was answered. */
async function follow(key: string, jobId: string, who: Client): Promise<boolean> {
  for (;;) {
    if (Date.now() > deadline + graceSec * 1000) {
      abandoned++;
      return false;
    }
    await sleep(pollMs);
    const job = await call(key, 'GET', `/api/jobs/${jobId}`);
    count('job', job.status, job.body?.error?.code, job.retryAfterHeader, who);
    if (job.status === 429) await sleep(job.retryAfter * 1000);
    else if (job.status !== 200 || job.body?.finishedAt) return job.body?.stage === 'done';
  }
}

async function searcher(key: string) {
  while (Date.now() < deadline) {
    const t0 = performance.now();
    const id = await upload(key, query, 'search', 'searcher');
    if (!id) {
      await sleep(1000);
      continue;
    }
    const done = await call(key, 'POST', `/api/uploads/${id}/complete`, {});
    count('complete', done.status, done.body?.error?.code, done.retryAfterHeader, 'searcher');
    if (done.status !== 201) {
      await call(key, 'DELETE', `/api/uploads/${id}`).catch(() => {});
      await sleep(done.retryAfter * 1000);
      continue;
    }
    if (await follow(key, done.body!.job!.id, 'searcher')) {
      searchMs.push(performance.now() - t0);
      searchesDone++;
    }
  }
}

const MAX_UPLOADS_PER_CLIENT = DEFAULT_SERVER_LIMITS.maxUploadsPerClient;
const MAX_JOBS_PER_CLIENT = DEFAULT_SERVER_LIMITS.maxJobsPerClient;
const probe = { created: 0, refused: 0, other: 0 };

async function uploader(key: string) {
  // First, over the per-client limit on purpose: two more uploads than allowed, at once. The
  // extra ones must be refused (429) for this key only, under load; then they are terminated.
  const tries = await Promise.all(
    Array.from({ length: MAX_UPLOADS_PER_CLIENT + 2 }, () =>
      fetchRetry(new URL('/api/uploads', base), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'tus-resumable': '1.0.0',
          'upload-length': String(video.length),
          'upload-metadata': `filename ${Buffer.from('probe.mp4').toString('base64')},purpose ${Buffer.from('index').toString('base64')}`,
        },
      }),
    ),
  );
  for (const r of tries) {
    await r.arrayBuffer();
    count('probe POST', r.status, undefined, r.headers.get('retry-after'), 'uploader');
    if (r.status === 201) {
      probe.created++;
      await fetchRetry(new URL(r.headers.get('location')!, base), { method: 'DELETE', headers: { authorization: `Bearer ${key}`, 'tus-resumable': '1.0.0' } });
    } else if (r.status === 429) probe.refused++;
    else probe.other++;
  }
  while (Date.now() < deadline) {
    const id = await upload(key, video, 'index', 'uploader');
    if (!id) {
      await sleep(1000);
      continue;
    }
    const done = await call(key, 'POST', `/api/uploads/${id}/complete`, {});
    count('complete', done.status, done.body?.error?.code, done.retryAfterHeader, 'uploader');
    if (done.status === 201) uploadsDone++;
    else {
      await call(key, 'DELETE', `/api/uploads/${id}`).catch(() => {});
      await sleep(done.retryAfter * 1000);
    }
  }
}

/** Requests as fast as answers come, on its own key: the rate limit must stop it, and only it. */
const hammered = { answered: 0, rateLimited: 0 };
async function hammer(key: string) {
  let until = 0;
  const loop = async () => {
    while (Date.now() < deadline) {
      // Told when to come back: a well-behaved client waits (never past the end of the run).
      if (Date.now() < until) await sleep(Math.min(until, deadline) - Date.now());
      if (Date.now() >= deadline) break;
      const r = await call(key, 'GET', '/api/jobs?limit=1');
      count('hammer', r.status, r.body?.error?.code, r.retryAfterHeader, 'hammer');
      if (r.status === 429) {
        hammered.rateLimited++;
        until = Math.max(until, Date.now() + r.retryAfter * 1000);
      } else hammered.answered++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, loop));
}

/** More searches at once than one client may have unfinished: the extra ones are refused (429). */
const burst = { submitted: 0, tooManyJobs: 0, answered: 0 };
async function burster(key: string) {
  const jobs: string[] = [];
  const one = async () => {
    // The query with its creation request (tus creation-with-upload), then completed at once.
    const created = await fetchRetry(new URL('/api/uploads', base), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'tus-resumable': '1.0.0',
        'upload-length': String(query.length),
        'content-type': 'application/offset+octet-stream',
        'upload-metadata': `filename ${Buffer.from('burst.mp4').toString('base64')},purpose ${Buffer.from('search').toString('base64')}`,
      },
      body: new Uint8Array(query),
    });
    await created.arrayBuffer();
    count('burst tus POST', created.status, undefined, created.headers.get('retry-after'), 'burster');
    if (created.status !== 201) return;
    const id = created.headers.get('location')!.split('/').pop()!;
    const done = await call(key, 'POST', `/api/uploads/${id}/complete`, {});
    count('burst complete', done.status, done.body?.error?.code, done.retryAfterHeader, 'burster');
    if (done.status === 201) {
      burst.submitted++;
      jobs.push(done.body!.job!.id);
    } else {
      if (done.body?.error?.code === 'TOO_MANY_JOBS') burst.tooManyJobs++;
      await call(key, 'DELETE', `/api/uploads/${id}`).catch(() => {});
    }
  };
  // As many at once as the per-client upload limit allows, until the job limit plus two are tried
  // (bounded by that count, not by the clock: at high load the waves outlast a short run).
  for (let sent = 0; sent < MAX_JOBS_PER_CLIENT + 2; sent += MAX_UPLOADS_PER_CLIENT) {
    await Promise.all(Array.from({ length: Math.min(MAX_UPLOADS_PER_CLIENT, MAX_JOBS_PER_CLIENT + 2 - sent) }, one));
  }
  for (const id of jobs) if (await follow(key, id, 'burster')) burst.answered++;
}

const vmHwmKiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0);
const loadBefore = loadavg()[0];
const t0 = Date.now();
await Promise.all([
  ...searchKeys.map((k) => searcher(k.key)),
  ...indexKeys.map((k) => uploader(k.key)),
  ...hammerKeys.map((k) => hammer(k.key)),
  ...burstKeys.map((k) => burster(k.key)),
]);
const elapsed = (Date.now() - t0) / 1000;
const peakRssMiB = Math.round(vmHwmKiB() / 1024);
const loadAfter = loadavg()[0];
const health = await fetch(new URL('/api/health', base)).then((r) => r.json());

server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
await db.dispose();
await rm(dir, { recursive: true, force: true });

const byStatus = Object.fromEntries([...statusCounts].sort());
const fiveXx = [...statusCounts].filter(([k]) => / 5\d\d/.test(k)).reduce((n, [, v]) => n + v, 0);
console.log(
  JSON.stringify(
    {
      store: db.dialect,
      searchers,
      uploaders,
      hammers,
      bursters,
      rateLimitPerMinute: rateLimit,
      seconds: Math.round(elapsed),
      searchesDone,
      searchLatencyMs: searchMs.length ? roundSummary(summarize(searchMs), 0) : null,
      indexUploadsCompleted: uploadsDone,
      uploadedMiB: Math.round(uploadedBytes / 1024 / 1024),
      uploadMiBps: Math.round((uploadedBytes / 1024 / 1024 / elapsed) * 10) / 10,
      fiveXx,
      // Per uploader key: MAX_UPLOADS_PER_CLIENT + 2 tus creations at once; expected 8 created, 2 refused each.
      limitProbe: { ...probe, expectedCreated: uploaders * MAX_UPLOADS_PER_CLIENT, expectedRefused: uploaders * 2 },
      // Per hammer key: answered until the rate limit, then 429s, each with Retry-After.
      rateLimitPhase: hammers ? hammered : null,
      // Per burster key: MAX_JOBS_PER_CLIENT + 2 searches at once; expected 2 refused each (fewer if some ended meanwhile).
      jobLimitPhase: bursters ? { ...burst, limitPerClient: MAX_JOBS_PER_CLIENT, expectedTooManyJobsAtMost: bursters * 2 } : null,
      limited,
      abandonedAfterGrace: abandoned,
      byStatus,
      peakRssMiB,
      jobsAfter: health.jobs,
      load: { before: Math.round(loadBefore * 100) / 100, after: Math.round(loadAfter * 100) / 100 },
    },
    null,
    2,
  ),
);

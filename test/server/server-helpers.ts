/**
 * Helpers for the server tests: an engine on the test database, a server on 127.0.0.1:0,
 * tus uploads (tus-js-client, or raw requests for protocol edges), a Server-Sent Events reader
 * and a disk listing to prove that rejected requests leave nothing behind.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import * as tus from 'tus-js-client';
import { Retrace } from '../../src/core/engine/retrace.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/index.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

export interface TestEngine {
  engine: Retrace;
  db: TestDatabase;
  close(): Promise<void>;
}

/** A fresh engine on the test database (PGlite in a temp dir, or RETRACE_TEST_DB=pg). */
export async function openTestEngine(): Promise<TestEngine> {
  const db = await createTestDatabase();
  const engine = await Retrace.open({ db: db.location });
  return {
    engine,
    db,
    async close() {
      await engine.close();
      await db.dispose();
    },
  };
}

export async function startTestServer(engine: Retrace, dataDir: string, options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({ engine, port: 0, host: '127.0.0.1', dataDir, log: () => {}, ...options });
}

/**
 * A server test's afterAll: the server before the engine it serves, then the files. Each may be
 * missing when beforeAll failed part way.
 */
export async function closeTestServer(server: RunningServer | undefined, te: TestEngine | undefined, dir: TempDir | undefined): Promise<void> {
  await server?.close();
  await te?.close();
  await dir?.cleanup();
}

export interface Json {
  status: number;
  body: any;
  headers: Headers;
}

export async function json(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Json> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, base), { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** `Upload-Metadata` (tus): comma-separated `key base64(value)`. */
export function tusMetadata(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/**
 * A tus creation request (no bytes) for `fileName` of `size` bytes; `id` is the new upload's id
 * (from Location), `body` the JSON error when refused. `extra` goes into the metadata.
 */
export async function createUpload(
  base: string,
  fileName: string,
  size: number | string,
  purpose: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Json & { id: string }> {
  const r = await tusRequest(base, '/api/uploads', 'POST', {
    'upload-length': String(size),
    'upload-metadata': tusMetadata({ filename: fileName, purpose, ...extra }),
    ...headers,
  });
  let body: unknown = r.text;
  try {
    body = r.text ? JSON.parse(r.text) : null;
  } catch {
    /* tus's plain-text answer */
  }
  return { status: r.status, body, headers: r.headers, id: r.headers.get('location')?.split('/').pop() ?? '' };
}

/** One tus PATCH of `bytes` at `offset`: status, the new Upload-Offset, tus's text. */
export async function patchUpload(
  base: string,
  uploadId: string,
  offset: number,
  bytes: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; offset: number | null; text: string }> {
  const r = await tusRequest(
    base,
    `/api/uploads/${uploadId}`,
    'PATCH',
    { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', ...headers },
    bytes,
  );
  const o = r.headers.get('upload-offset');
  return { status: r.status, offset: o === null ? null : Number(o), text: r.text };
}

/** Upload a whole file with tus-js-client and complete it; returns the completion body. */
export async function uploadFile(
  base: string,
  path: string,
  purpose: 'search' | 'index',
  opts: { chunkSize?: number; withSha?: boolean; fileName?: string } = {},
): Promise<{ uploadId: string; jobId: string; complete: Json }> {
  const bytes = await readFile(path);
  const { id } = await tusUpload(
    base,
    bytes,
    { filename: opts.fileName ?? path.split('/').pop()!, purpose, ...(opts.withSha ? { sha256: sha256(bytes) } : {}) },
    opts.chunkSize ? { chunkSize: opts.chunkSize } : {},
  );
  const complete = await json(base, `/api/uploads/${id}/complete`, { body: {} });
  if (complete.status !== 201) throw new Error(`complete: ${complete.status} ${JSON.stringify(complete.body)}`);
  return { uploadId: id, jobId: complete.body.job.id, complete };
}

/** Poll a job until it is done or failed. */
export async function waitForJob(base: string, jobId: string, timeoutMs = 120_000): Promise<any> {
  const t0 = Date.now();
  for (;;) {
    const r = await json(base, `/api/jobs/${jobId}`);
    if (r.status !== 200) throw new Error(`job ${jobId}: ${r.status} ${JSON.stringify(r.body)}`);
    if (r.body.stage === 'done' || r.body.stage === 'failed') return r.body;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${jobId} still ${r.body.stage} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Read a Server-Sent Events stream to its end; returns the parsed `job` events. */
export async function readJobEvents(base: string, jobId: string, timeoutMs = 120_000): Promise<{ status: number; contentType: string | null; events: any[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(new URL(`/api/jobs/${jobId}/events`, base), { signal: ac.signal });
    const events: any[] = [];
    if (!res.ok || !res.body) return { status: res.status, contentType: res.headers.get('content-type'), events };
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const lines = block.split('\n');
        const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
        const data = lines
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (event === 'job' && data) events.push(JSON.parse(data));
      }
    }
    return { status: res.status, contentType: res.headers.get('content-type'), events };
  } finally {
    clearTimeout(timer);
  }
}

/** Every file under `dir`, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Wait until `dir` holds no files (cleanup after an aborted request is asynchronous). */
export async function waitUntilEmpty(dir: string, timeoutMs = 5000): Promise<string[]> {
  const t0 = Date.now();
  for (;;) {
    const files = await listFiles(dir);
    if (files.length === 0 || Date.now() - t0 > timeoutMs) return files;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One request over node:http, which (unlike fetch) can pick the source address: a second
 * loopback address such as 127.0.0.2 connects to the server on 127.0.0.1 as a different client IP.
 */
export function request127(
  base: string,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; from?: string; cookie?: string; headers?: Record<string, string>; bytes?: Buffer } = {},
): Promise<Json & { setCookie: string[] }> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  let payload: Buffer | undefined;
  if (opts.bytes) payload = opts.bytes;
  else if (opts.body !== undefined) {
    payload = Buffer.from(JSON.stringify(opts.body));
    headers['content-type'] = 'application/json';
  }
  if (payload) headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, ...(opts.from ? { localAddress: opts.from } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            /* not JSON */
          }
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: h, setCookie: res.headers['set-cookie'] ?? [] });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Upload with tus-js-client (tus 1.0); resolves with the upload's URL once every byte is stored. */
export function tusUpload(
  base: string,
  bytes: Buffer,
  metadata: Record<string, string>,
  options: Partial<tus.UploadOptions> = {},
): Promise<{ url: string; id: string }> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(bytes, {
      endpoint: new URL('/api/uploads', base).href,
      metadata,
      retryDelays: null,
      ...options,
      onError: (err) => reject(err),
      onSuccess: () => {
        const url = new URL(upload.url!, base).href;
        resolve({ url, id: url.split('/').pop()! });
      },
    });
    upload.start();
  });
}

/** A raw tus request (fetch adds nothing tus-specific). */
export async function tusRequest(
  base: string,
  path: string,
  method: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { 'tus-resumable': '1.0.0', ...headers },
    body: body === undefined ? undefined : new Uint8Array(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/**
 * Start a tus PATCH of `bytes` at `offset` but send only `sendBytes` of the body, then drop the
 * connection, as a flaky network does.
 */
export function dropTusPatch(url: string, offset: number, bytes: Buffer, sendBytes: number, headers: Record<string, string> = {}): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = request({
      hostname: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'PATCH',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(bytes.length),
        ...headers,
      },
    });
    req.on('error', () => resolve());
    req.on('response', (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.write(bytes.subarray(0, sendBytes), () => {
      // Let the server store what arrived, then cut the line.
      setTimeout(() => {
        req.destroy();
        setTimeout(resolve, 300);
      }, 300);
    });
  });
}

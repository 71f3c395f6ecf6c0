/**
 * API keys on a real server (127.0.0.1, real database): who may call which route.
 *
 * `public` is an anonymous client of a second server on the same database started with
 * publicSearch (`retrace serve --public-search`): it may upload queries and read its own
 * searches (its session cookie owns them), nothing else; it gets 404 for anyone else's things.
 *
 * Scopes nest: search ⊂ index ⊂ admin.
 *   search  submit searches (query uploads), read its own uploads and jobs, read single videos
 *           (search results link to them)
 *   index   + upload videos to index, list the library, read stats, find duplicates (and
 *           follow any dedup job: it is the library's, not its submitter's)
 *   admin   + delete videos, /metrics, every key's uploads and jobs
 * Without a key every route but /api/health (and the page) answers 401. Another key's upload or
 * job answers 404, not 403, so its id is not even confirmed to exist.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import type { RunningServer } from '../../src/server/index.js';
import { makeClip, makeStill, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { openTestEngine, request127, startTestServer, type TestEngine } from './server-helpers.js';

type Who = 'anonymous' | 'public' | 'search' | 'index' | 'admin';
const WHO: readonly Who[] = ['anonymous', 'public', 'search', 'index', 'admin'];

let te: TestEngine;
let tmp: TempDir;
let srv: RunningServer;
let base: string;
/** The public-search server and the anonymous client's session cookie there. */
let pub: RunningServer;
let publicCookie = '';
/** Made by the anonymous public client: a finished search job and an upload still receiving bytes. */
let publicJobId = '';
let publicUploadId = '';
const key = {} as Record<Exclude<Who, 'anonymous'> | 'search2' | 'revoked', string>;
/** Made by the search key: a finished search job and an upload still receiving bytes. */
let searchJobId = '';
let searchUploadId = '';
/** A dedup job, started by the admin. */
let dedupJobId = '';
/** Indexed before the keys existed: one to read, one the admin deletes. */
let videoId = '';
let doomedVideoId = '';
let stillPath = '';

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

async function call(
  who: Who | 'search2' | 'revoked' | { raw: string },
  method: string,
  path: string,
  body?: unknown,
  server: 'plain' | 'public' = who === 'public' ? 'public' : 'plain',
  extraHeaders: Record<string, string> = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (typeof who === 'object') headers.authorization = who.raw;
  else if (who === 'public') {
    if (publicCookie) headers.cookie = publicCookie;
  } else if (who !== 'anonymous') headers.authorization = `Bearer ${key[who]}`;
  let payload: BodyInit | undefined;
  if (body instanceof FormData || body instanceof Uint8Array) payload = body as BodyInit;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(new URL(path, server === 'public' ? pub.url : base), { method, headers, body: payload });
  // The anonymous client keeps the session the server gave it, as a browser does.
  const cookie = res.headers.get('set-cookie');
  if (who === 'public' && cookie && !publicCookie) publicCookie = cookie.split(';')[0];
  const text = method === 'HEAD' ? '' : await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* binary or text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const TUS = { 'tus-resumable': '1.0.0' };
const tusCreate = (purpose: string, size = 10) => ({
  ...TUS,
  'upload-length': String(size),
  'upload-metadata': `filename ${Buffer.from('q.jpg').toString('base64')},purpose ${Buffer.from(purpose).toString('base64')}`,
});
/** A PATCH of `bytes` at offset 0. */
const tusPatch = () => ({ ...TUS, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' });
let tusUploadId = '';

/** A tus upload of `size` bytes created as `who` (no bytes sent yet); returns its id. */
async function newUpload(who: Who | 'search2', purpose: 'search' | 'index', size = 1000): Promise<string> {
  const r = await call(who, 'POST', '/api/uploads', undefined, who === 'public' ? 'public' : 'plain', tusCreate(purpose, size));
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.headers.get('location')!.split('/').pop()!;
}

/** Upload a whole file as `who` in one PATCH and complete it; returns the job id. */
async function uploadWhole(who: Who, path: string, purpose: 'search' | 'index'): Promise<string> {
  const bytes = await readFile(path);
  const id = await newUpload(who, purpose, bytes.length);
  const patch = await call(who, 'PATCH', `/api/uploads/${id}`, new Uint8Array(bytes), undefined, tusPatch());
  expect(patch.status, JSON.stringify(patch.body)).toBe(204);
  const done = await call(who, 'POST', `/api/uploads/${id}/complete`, {});
  expect(done.status, JSON.stringify(done.body)).toBe(201);
  return done.body.job.id;
}

beforeAll(async () => {
  tmp = await makeTempDir('retrace-auth-');
  te = await openTestEngine();
  const small = { durationSec: 3, width: 192, height: 144 };
  const [a, b] = await Promise.all([makeClip(tmp, 'a', { source: 'mandelbrot', ...small }), makeClip(tmp, 'b', { source: 'life', ...small })]);
  stillPath = await makeStill(tmp, 'still.jpg', 'mandelbrot', { width: 192, height: 144 });
  videoId = (await te.engine.index(a)).videoId!;
  doomedVideoId = (await te.engine.index(b)).videoId!;
  srv = await startTestServer(te.engine, join(tmp.path, 'data'), { maxUploadsPerClient: 100, keepQueries: true });
  base = srv.url;

  const keys = new ApiKeyStore(te.engine.sql);
  key.search = (await keys.create({ scope: 'search', name: 'searcher' })).key;
  key.search2 = (await keys.create({ scope: 'search', name: 'another searcher' })).key;
  key.index = (await keys.create({ scope: 'index' })).key;
  key.admin = (await keys.create({ scope: 'admin' })).key;
  const revoked = await keys.create({ scope: 'admin', name: 'old' });
  await keys.revoke(revoked.id);
  key.revoked = revoked.key;
  pub = await startTestServer(te.engine, join(tmp.path, 'public'), { maxUploadsPerClient: 100, keepQueries: true, publicSearch: true });

  searchJobId = await uploadWhole('search', stillPath, 'search');
  publicJobId = await uploadWhole('public', stillPath, 'search');
  // Polled until the jobs end (no fixed wait).
  for (const [who, id] of [
    ['search', searchJobId],
    ['public', publicJobId],
  ] as const) {
    for (let i = 0; i < 1200; i++) {
      const r = await call(who, 'GET', `/api/jobs/${id}`);
      if (r.body.stage === 'done' || r.body.stage === 'failed') break;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  searchUploadId = await newUpload('search', 'search');
  publicUploadId = await newUpload('public', 'search');
  tusUploadId = await newUpload('search', 'search', 10);
});

afterAll(async () => {
  await pub?.close();
  await srv?.close();
  await te?.close();
  await tmp?.cleanup();
});

type Expect = Record<Who, number>;
interface Row {
  method: string;
  /** Route pattern as Express has it (checked against the app's routes below). */
  route: string;
  path: () => string;
  body?: () => unknown | Promise<unknown>;
  /** Request headers (tus rows). */
  headers?: () => Record<string, string>;
  /** Made before each principal's call (destructive rows act on a fresh thing). */
  before?: () => Promise<void>;
  /** Rows about the public client's things ask its server (uploads live in one server's directory). */
  on?: 'public';
  /** Told apart in the test name. */
  name?: string;
  expect: Expect;
}

const all = (s: number): Expect => ({ anonymous: s, public: s, search: s, index: s, admin: s });

/**
 * The specification. Rows run in order, each for anonymous, search, index, admin; rows that
 * destroy something come last or act on something made for them.
 */
const MATRIX: Row[] = [
  { method: 'GET', route: '/api/health', path: () => '/api/health', expect: all(200) },
  { method: 'GET', route: '/api/stats', path: () => '/api/stats', expect: { anonymous: 401, public: 401, search: 403, index: 200, admin: 200 } },
  // Creation without Tus-Resumable (the retired JSON protocol): past the key check, 412.
  {
    method: 'POST',
    route: '/api/uploads',
    path: () => '/api/uploads',
    body: () => ({ fileName: 'q.mp4', size: 10, purpose: 'search' }),
    expect: { anonymous: 401, public: 412, search: 412, index: 412, admin: 412 },
  },
  // tus 1.0: creation, discovery, HEAD, PATCH.
  {
    method: 'POST',
    route: '/api/uploads',
    path: () => '/api/uploads',
    headers: () => tusCreate('search'),
    name: 'search',
    expect: { anonymous: 401, public: 201, search: 201, index: 201, admin: 201 },
  },
  {
    method: 'POST',
    route: '/api/uploads',
    path: () => '/api/uploads',
    headers: () => tusCreate('index'),
    name: 'index',
    expect: { anonymous: 401, public: 401, search: 403, index: 201, admin: 201 },
  },
  {
    method: 'OPTIONS',
    route: '/api/uploads',
    path: () => '/api/uploads',
    headers: () => ({}),
    expect: { anonymous: 401, public: 204, search: 204, index: 204, admin: 204 },
  },
  {
    method: 'HEAD',
    route: '/api/uploads/:id',
    path: () => `/api/uploads/${tusUploadId}`,
    headers: () => TUS,
    expect: { anonymous: 401, public: 404, search: 200, index: 404, admin: 200 },
  },
  {
    method: 'PATCH',
    route: '/api/uploads/:id',
    path: () => `/api/uploads/${tusUploadId}`,
    before: async () => {
      tusUploadId = await newUpload('search', 'search', 10);
    },
    headers: tusPatch,
    body: () => new Uint8Array(10),
    expect: { anonymous: 401, public: 404, search: 204, index: 404, admin: 204 },
  },
  // The search key's own upload: index keys are not its owner (404), admins see all.
  {
    method: 'GET',
    route: '/api/uploads/:id',
    path: () => `/api/uploads/${searchUploadId}`,
    expect: { anonymous: 401, public: 404, search: 200, index: 404, admin: 200 },
  },
  // Without Tus-Resumable, Express answers HEAD with the GET route.
  {
    method: 'HEAD',
    route: '/api/uploads/:id',
    path: () => `/api/uploads/${searchUploadId}`,
    expect: { anonymous: 401, public: 404, search: 200, index: 404, admin: 200 },
  },
  // Past the key check, an incomplete upload cannot be completed (409).
  {
    method: 'POST',
    route: '/api/uploads/:id/complete',
    path: () => `/api/uploads/${searchUploadId}/complete`,
    body: () => ({}),
    expect: { anonymous: 401, public: 404, search: 409, index: 404, admin: 409 },
  },
  { method: 'GET', route: '/api/jobs', path: () => '/api/jobs', expect: { anonymous: 401, public: 401, search: 200, index: 200, admin: 200 } },
  {
    method: 'GET',
    route: '/api/jobs/:id',
    path: () => `/api/jobs/${searchJobId}`,
    expect: { anonymous: 401, public: 404, search: 200, index: 404, admin: 200 },
  },
  {
    method: 'GET',
    route: '/api/jobs/:id/result',
    path: () => `/api/jobs/${searchJobId}/result`,
    expect: { anonymous: 401, public: 404, search: 200, index: 404, admin: 200 },
  },
  {
    method: 'GET',
    route: '/api/jobs/:id/events',
    path: () => `/api/jobs/${searchJobId}/events`,
    expect: { anonymous: 401, public: 404, search: 200, index: 404, admin: 200 },
  },
  {
    method: 'GET',
    route: '/api/jobs/:id/thumbnail',
    path: () => `/api/jobs/${searchJobId}/thumbnail`,
    expect: { anonymous: 401, public: 404, search: 200, index: 404, admin: 200 },
  },
  // Cancelling a finished job changes nothing and answers the job.
  {
    method: 'DELETE',
    route: '/api/jobs/:id',
    path: () => `/api/jobs/${searchJobId}`,
    expect: { anonymous: 401, public: 404, search: 200, index: 404, admin: 200 },
  },
  { method: 'GET', route: '/api/videos', path: () => '/api/videos', expect: { anonymous: 401, public: 401, search: 403, index: 200, admin: 200 } },
  // Duplicate clusters read the whole library, as listing it does.
  { method: 'GET', route: '/api/dedup', path: () => '/api/dedup', expect: { anonymous: 401, public: 401, search: 403, index: 200, admin: 200 } },
  // Finding them is a job: 202 with the job (the same unfinished one for every caller).
  { method: 'POST', route: '/api/dedup', path: () => '/api/dedup', expect: { anonymous: 401, public: 401, search: 403, index: 202, admin: 202 } },
  // A dedup job is the library's, not its submitter's: every index key may follow it.
  {
    method: 'GET',
    route: '/api/jobs/:id',
    name: 'a dedup job an admin started',
    path: () => `/api/jobs/${dedupJobId}`,
    before: async () => {
      if (dedupJobId) return;
      const r = await call('admin', 'POST', '/api/dedup');
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      dedupJobId = r.body.id;
    },
    expect: { anonymous: 401, public: 404, search: 404, index: 200, admin: 200 },
  },
  {
    method: 'GET',
    route: '/api/videos/:id',
    path: () => `/api/videos/${videoId}`,
    expect: { anonymous: 401, public: 401, search: 200, index: 200, admin: 200 },
  },
  {
    method: 'GET',
    route: '/api/videos/:id/stream',
    path: () => `/api/videos/${videoId}/stream`,
    expect: { anonymous: 401, public: 401, search: 200, index: 200, admin: 200 },
  },
  {
    method: 'GET',
    route: '/api/videos/:id/thumbnail',
    path: () => `/api/videos/${videoId}/thumbnail`,
    expect: { anonymous: 401, public: 401, search: 200, index: 200, admin: 200 },
  },
  { method: 'GET', route: '/api/nothing-here', path: () => '/api/nothing-here', expect: { anonymous: 401, public: 404, search: 404, index: 404, admin: 404 } },
  { method: 'GET', route: '/metrics', path: () => '/metrics', expect: { anonymous: 401, public: 401, search: 403, index: 403, admin: 200 } },
  // The public client's own things, asked of its server: it and admins see them, keys do not.
  ...(
    [
      ['GET', '/api/uploads/:id', () => `/api/uploads/${publicUploadId}`],
      ['HEAD', '/api/uploads/:id', () => `/api/uploads/${publicUploadId}`],
      ['GET', '/api/jobs/:id', () => `/api/jobs/${publicJobId}`],
      ['GET', '/api/jobs/:id/result', () => `/api/jobs/${publicJobId}/result`],
      ['GET', '/api/jobs/:id/events', () => `/api/jobs/${publicJobId}/events`],
      ['GET', '/api/jobs/:id/thumbnail', () => `/api/jobs/${publicJobId}/thumbnail`],
      ['DELETE', '/api/jobs/:id', () => `/api/jobs/${publicJobId}`],
    ] as const
  ).map(([method, route, path]): Row => ({ method, route, path, on: 'public', expect: { anonymous: 401, public: 200, search: 404, index: 404, admin: 200 } })),
  {
    method: 'PATCH',
    route: '/api/uploads/:id',
    path: () => `/api/uploads/${publicUploadId}`,
    before: async () => {
      publicUploadId = await newUpload('public', 'search', 10);
    },
    headers: tusPatch,
    body: () => new Uint8Array(10),
    on: 'public',
    expect: { anonymous: 401, public: 204, search: 404, index: 404, admin: 204 },
  },
  // Last: each principal deletes the search key's fresh upload / the public client's / the admin a video.
  {
    method: 'DELETE',
    route: '/api/uploads/:id',
    path: () => `/api/uploads/${searchUploadId}`,
    before: async () => {
      searchUploadId = await newUpload('search', 'search');
    },
    expect: { anonymous: 401, public: 404, search: 204, index: 404, admin: 204 },
  },
  {
    method: 'DELETE',
    route: '/api/uploads/:id',
    path: () => `/api/uploads/${publicUploadId}`,
    before: async () => {
      publicUploadId = await newUpload('public', 'search');
    },
    on: 'public',
    expect: { anonymous: 401, public: 204, search: 404, index: 404, admin: 204 },
  },
  {
    method: 'DELETE',
    route: '/api/videos/:id',
    path: () => `/api/videos/${doomedVideoId}`,
    expect: { anonymous: 401, public: 401, search: 403, index: 403, admin: 204 },
  },
];

/** Every route the app registers, as "METHOD /path", by walking Express's router stacks. */
function registeredRoutes(app: Express): string[] {
  const out: string[] = [];
  type Layer = { rawPath?: string; route?: { path: string; methods: Record<string, boolean> }; handle: { stack?: Layer[] } };
  const walk = (stack: Layer[], prefix: string) => {
    for (const l of stack) {
      if (l.route) {
        for (const m of Object.keys(l.route.methods).filter((m) => m !== '_all')) out.push(`${m.toUpperCase()} ${prefix}${l.route.path}`);
      } else if (l.handle.stack) {
        walk(l.handle.stack, prefix + (l.rawPath && l.rawPath !== '/' ? l.rawPath : ''));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(out)].sort();
}

describe('authorisation matrix: every route × {anonymous, public-search anonymous, search, index, admin}', () => {
  it('covers every route the server registers', () => {
    const covered = new Set(MATRIX.map((r) => `${r.method} ${r.route}`));
    const routes = registeredRoutes(srv.app);
    expect(routes).toEqual(expect.arrayContaining(['GET /api/health', 'DELETE /api/videos/:id', 'GET /metrics']));
    expect(routes.filter((r) => !covered.has(r))).toEqual([]);
  });

  for (const row of MATRIX) {
    it(`${row.headers ? 'tus ' : ''}${row.method} ${row.route}${row.body && row.method === 'POST' && row.route === '/api/uploads' ? ' (purpose ' + (row.body() as { purpose: string }).purpose + ')' : ''}${row.name ? ` (${row.name})` : ''}${row.on === 'public' ? " (the public client's own)" : ''}`, async () => {
      const got: Partial<Expect> = {};
      for (const who of WHO) {
        await row.before?.();
        const server = who === 'public' || (row.on === 'public' && who !== 'anonymous') ? 'public' : 'plain';
        const r = await call(who, row.method, row.path(), row.body ? await row.body() : undefined, server, row.headers?.());
        got[who] = r.status;
        if (r.status === 401) expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        if (r.status === 403) expect(r.body.error.code).toBe('FORBIDDEN');
      }
      expect(got).toEqual(row.expect);
    });
  }
});

describe('keys', () => {
  it('refuses a revoked key, a made-up key and a malformed header with 401', async () => {
    for (const who of ['revoked', { raw: `Bearer rtk_0123456789abcdef_${'x'.repeat(43)}` }, { raw: `Basic ${key.admin}` }, { raw: 'Bearer' }] as const) {
      const r = await call(who, 'GET', '/api/jobs');
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHORIZED');
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="retrace"');
    }
  });

  it('a 403 names the scope that is missing', async () => {
    const r = await call('search', 'GET', '/api/videos');
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="index"');
    expect(r.body.error.message).toContain('"index"');
  });

  it("a search key lists only its own jobs; an admin lists every key's", async () => {
    const own = await call('search', 'GET', '/api/jobs?limit=200');
    expect(own.body.items.map((j: { id: string }) => j.id)).toEqual([searchJobId]);
    const other = await call('search2', 'GET', '/api/jobs?limit=200');
    expect(other.body.items).toEqual([]);
    const admin = await call('admin', 'GET', '/api/jobs?limit=200');
    expect(admin.body.items.map((j: { id: string }) => j.id)).toContain(searchJobId);
  });

  it("another search key gets 404 for the first one's job, result, thumbnail and upload", async () => {
    for (const path of [
      `/api/jobs/${searchJobId}`,
      `/api/jobs/${searchJobId}/result`,
      `/api/jobs/${searchJobId}/thumbnail`,
      `/api/jobs/${searchJobId}/events`,
    ]) {
      const r = await call('search2', 'GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    }
    const upload = await newUpload('search', 'search');
    expect((await call('search2', 'GET', `/api/uploads/${upload}`)).status).toBe(404);
    expect((await call('search2', 'DELETE', `/api/uploads/${upload}`)).status).toBe(404);
    expect((await call('search2', 'PATCH', `/api/uploads/${upload}`, new Uint8Array(10), undefined, tusPatch())).status).toBe(404);
    expect((await call('search2', 'HEAD', `/api/uploads/${upload}`, undefined, undefined, TUS)).status).toBe(404);
    // Untouched by those attempts: the owner still has it.
    expect((await call('search', 'GET', `/api/uploads/${upload}`)).status).toBe(200);
  });

  it('a job made through an upload belongs to the key that made the upload', async () => {
    const r = await call('admin', 'GET', `/api/jobs/${searchJobId}`);
    expect(r.body.stage).toBe('done');
    expect(r.body.kind).toBe('search');
    expect(r.body.result.matches[0]?.videoId).toBe(videoId);
  });

  it('sets security headers on API responses and the page', async () => {
    for (const path of ['/', '/api/health']) {
      const r = await fetch(new URL(path, base));
      await r.arrayBuffer();
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      expect(r.headers.get('x-powered-by')).toBeNull();
    }
  });
});

describe('after a restart', () => {
  it('an unfinished upload and a job still belong to the key that made them', async () => {
    const upload = await newUpload('search', 'search');
    await srv.close();
    srv = await startTestServer(te.engine, join(tmp.path, 'data'), { maxUploadsPerClient: 100, keepQueries: true });
    base = srv.url;
    expect((await call('search', 'GET', `/api/uploads/${upload}`)).status).toBe(200);
    expect((await call('search2', 'GET', `/api/uploads/${upload}`)).status).toBe(404);
    expect((await call('search', 'GET', `/api/jobs/${searchJobId}`)).status).toBe(200);
    expect((await call('search2', 'GET', `/api/jobs/${searchJobId}`)).status).toBe(404);
  });
});

describe('public search: anonymous clients own by session, are limited by IP', () => {
  let open: RunningServer;
  beforeAll(async () => {
    open = await startTestServer(te.engine, join(tmp.path, 'public-limits'), { publicSearch: true, maxUploadsPerClient: 1, rateLimitPerMinute: 10 });
  });
  afterAll(() => open?.close());
  const create = (from: string, cookie?: string, purpose = 'search') =>
    request127(open.url, 'POST', '/api/uploads', { from, cookie, headers: tusCreate(purpose, 1000) });

  it("a second session on the same IP address cannot see the first one's upload", async () => {
    const first = await create('127.0.0.2');
    expect(first.status).toBe(201);
    const id = first.headers.get('location')!.split('/').pop()!;
    const cookie = first.setCookie[0]?.split(';')[0];
    expect(first.setCookie[0]).toMatch(/^retrace_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict/);
    expect((await request127(open.url, 'GET', `/api/uploads/${id}`, { from: '127.0.0.2', cookie })).status).toBe(200);
    const stranger = await request127(open.url, 'GET', `/api/uploads/${id}`, { from: '127.0.0.2' });
    expect(stranger.status).toBe(404);
    // A made-up session is just another session.
    const forged = await request127(open.url, 'GET', `/api/uploads/${id}`, { from: '127.0.0.2', cookie: `retrace_session=${'A'.repeat(43)}` });
    expect(forged.status).toBe(404);
  });

  it('counts unfinished uploads per IP address, whatever the session', async () => {
    // 127.0.0.2 holds one unfinished upload from the test above: a fresh session does not get another.
    const again = await create('127.0.0.2');
    expect(again.status).toBe(429);
    expect(again.body.error.code).toBe('TOO_MANY_UPLOADS');
    expect((await create('127.0.0.3')).status).toBe(201);
  });

  it('rate-limits anonymous clients per IP address', async () => {
    const path = '/api/jobs/00000000-0000-4000-8000-000000000000';
    for (let i = 0; i < 10; i++) expect((await request127(open.url, 'GET', path, { from: '127.0.0.4' })).status).toBe(404);
    const over = await request127(open.url, 'GET', path, { from: '127.0.0.4' });
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('RATE_LIMITED');
    expect((await request127(open.url, 'GET', path, { from: '127.0.0.5' })).status).toBe(404);
  });

  it('still needs a key for everything but searching', async () => {
    for (const [method, path] of [
      ['GET', '/api/jobs'],
      ['GET', '/api/videos'],
      ['GET', `/api/videos/${videoId}`],
      ['DELETE', `/api/videos/${videoId}`],
      ['GET', '/api/stats'],
    ]) {
      const r = await request127(open.url, method, path, { from: '127.0.0.6' });
      expect(r.status, `${method} ${path}`).toBe(401);
    }
    const index = await create('127.0.0.6', undefined, 'index');
    expect(index.status).toBe(401);
  });
});

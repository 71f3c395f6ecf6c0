/**
 * tus 1.0 uploads (core, creation, termination, expiration, checksum) through tus-js-client and
 * raw requests: what the server enforces for every upload still holds, and a finished tus
 * upload becomes an index or search job.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import type { RunningServer } from '../../src/server/index.js';
import { makeClip, makeTempDir, problemFiles, type TempDir } from '../helpers/media-fixtures.js';
import { dropTusPatch, json, listFiles, openTestEngine, startTestServer, tusRequest, tusUpload, waitForJob, type TestEngine } from './server-helpers.js';

const KiB = 1024;

let te: TestEngine;
let tmp: TempDir;
let dataDir: string;
let srv: RunningServer;
let base: string;
let clip: Buffer;
let clipPath: string;

const b64 = (s: string) => Buffer.from(s).toString('base64');

beforeAll(async () => {
  tmp = await makeTempDir('retrace-tus-');
  dataDir = join(tmp.path, 'data');
  te = await openTestEngine();
  clipPath = await makeClip(tmp, 'ref', { source: 'mandelbrot', durationSec: 6 });
  clip = await readFile(clipPath);
  srv = await startTestServer(te.engine, dataDir, { maxUploadsPerClient: 3, maxFileBytes: 20 * 1024 * KiB, keepQueries: true });
  base = srv.url;
}, 120_000);

afterAll(async () => {
  await srv?.close();
  await te?.close();
  await tmp?.cleanup();
});

describe('tus 1.0 on /api/uploads', () => {
  it('announces tus 1.0 with creation, termination, expiration and checksum, and no CORS', async () => {
    const res = await fetch(new URL('/api/uploads', base), { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-version')).toBe('1.0.0');
    const extensions = (res.headers.get('tus-extension') ?? '').split(',');
    expect(extensions).toEqual(expect.arrayContaining(['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum']));
    expect(res.headers.get('tus-checksum-algorithm') ?? 'sha1,sha256,md5').toMatch(/sha256/);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('indexes a video uploaded with tus-js-client, from its tus upload id', async () => {
    const { id, url } = await tusUpload(base, clip, { filename: 'ref.mp4', filetype: 'video/mp4', purpose: 'index' }, { chunkSize: 256 * KiB });
    expect(url).toBe(new URL(`/api/uploads/${id}`, base).href);
    const head = await tusRequest(base, `/api/uploads/${id}`, 'HEAD');
    expect(head.headers.get('upload-offset')).toBe(String(clip.length));
    const done = await json(base, `/api/uploads/${id}/complete`, { body: {} });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    const job = await waitForJob(base, done.body.job.id);
    expect(job.stage).toBe('done');
    const videos = await json(base, '/api/videos');
    expect(videos.body.items.map((v: { title: string }) => v.title)).toContain('ref');
    // The bytes moved to the media folder; the tus folder holds nothing of it.
    expect((await listFiles(join(dataDir, 'uploads', 'tus'))).filter((f) => f.startsWith(id))).toEqual([]);
  });

  it('resumes from the offset the server kept after a connection dropped mid-request', async () => {
    const created = await tusRequest(base, '/api/uploads', 'POST', {
      'upload-length': String(clip.length),
      'upload-metadata': `filename ${b64('query.mp4')},purpose ${b64('search')}`,
    });
    expect(created.status, created.text).toBe(201);
    const url = new URL(created.headers.get('location')!, base).href;

    const sent = Math.floor(clip.length / 3);
    await dropTusPatch(url, 0, clip, sent);
    const head = await tusRequest(base, url, 'HEAD');
    expect(head.status).toBe(200);
    const kept = Number(head.headers.get('upload-offset'));
    // Whatever reached the server before the line was cut is kept, and nothing more.
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(sent);

    // tus-js-client resumes the same upload: it asks for the offset and sends only the rest.
    const patchOffsets: number[] = [];
    await tusUpload(
      base,
      clip,
      {},
      {
        uploadUrl: url,
        onBeforeRequest: (req) => {
          if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
        },
      },
    );
    expect(patchOffsets[0]).toBe(kept);
    const done = await json(base, `/api/uploads/${url.split('/').pop()}/complete`, { body: { limit: 3 } });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    const job = await waitForJob(base, done.body.job.id);
    expect(job.stage).toBe('done');
    // The stored query is byte for byte the clip: it matches the indexed video from its start.
    expect(job.result.matches[0].title).toBe('ref');
  });

  it('resumes after an abort through the fingerprint tus-js-client stored', async () => {
    const stored = new Map<string, tus.PreviousUpload & { urlStorageKey: string }>();
    // tus-js-client's interface for where it remembers uploads (the page uses localStorage).
    const urlStorage: tus.UrlStorage = {
      findAllUploads: async () => [...stored.values()],
      findUploadsByFingerprint: async (fp) => [...stored.values()].filter((u) => (u as { fingerprint?: string }).fingerprint === fp),
      removeUpload: async (key) => void stored.delete(key),
      addUpload: async (fp, upload) => {
        const key = `tus::${fp}::${stored.size}`;
        stored.set(key, { ...upload, fingerprint: fp, urlStorageKey: key } as tus.PreviousUpload & { urlStorageKey: string });
        return key;
      },
    };
    const common = {
      endpoint: new URL('/api/uploads', base).href,
      metadata: { filename: 'again.mp4', purpose: 'search' },
      chunkSize: 128 * KiB,
      urlStorage,
      fingerprint: async () => 'again.mp4-' + clip.length,
      retryDelays: null,
    };
    // First attempt: stopped after a few chunks (as a closed tab stops).
    await new Promise<void>((resolve, reject) => {
      const first = new tus.Upload(clip, {
        ...common,
        onError: reject,
        onChunkComplete: (_chunk, sent) => {
          if (sent >= 3 * 128 * KiB) void first.abort().then(() => resolve());
        },
      });
      first.start();
    });
    const [previous] = [...stored.values()];
    expect(previous?.uploadUrl).toBeTruthy();
    // Second attempt, as after a reload: find the upload by fingerprint and go on from there.
    let firstOffset = -1;
    await new Promise<void>((resolve, reject) => {
      const second = new tus.Upload(clip, {
        ...common,
        onError: reject,
        onSuccess: () => resolve(),
        onBeforeRequest: (req) => {
          if (req.getMethod() === 'PATCH' && firstOffset < 0) firstOffset = Number(req.getHeader('Upload-Offset'));
        },
      });
      void second.findPreviousUploads().then((found) => {
        expect(found).toHaveLength(1);
        second.resumeFromPreviousUpload(found[0]);
        second.start();
      });
    });
    expect(firstOffset).toBeGreaterThanOrEqual(3 * 128 * KiB);
    const id = previous!.uploadUrl!.split('/').pop()!;
    const head = await tusRequest(base, `/api/uploads/${id}`, 'HEAD');
    expect(head.headers.get('upload-offset')).toBe(String(clip.length));
    await tusRequest(base, `/api/uploads/${id}`, 'DELETE');
  });

  it('takes a small file with its creation request (creation-with-upload): two requests from file to job, as the README shows with curl', async () => {
    const created = await tusRequest(
      base,
      '/api/uploads',
      'POST',
      {
        'upload-length': String(clip.length),
        'content-type': 'application/offset+octet-stream',
        'upload-metadata': `filename ${b64('one.mp4')},purpose ${b64('search')}`,
      },
      clip,
    );
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('upload-offset')).toBe(String(clip.length));
    const done = await json(base, `${created.headers.get('location')}/complete`, { body: {} });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    const job = await waitForJob(base, done.body.job.id);
    expect(job.stage).toBe('done');
    expect(job.result.matches[0].title).toBe('ref');
  });

  it('refuses to complete an upload while a PATCH is still writing to it (409), and completes it after', async () => {
    const created = await tusRequest(base, '/api/uploads', 'POST', {
      'upload-length': String(clip.length),
      'upload-metadata': `filename ${b64('slow.mp4')},purpose ${b64('search')}`,
    });
    const url = new URL(created.headers.get('location')!, base);
    const id = url.pathname.split('/').pop()!;
    // A PATCH of the whole file that has sent half of it and is still going.
    const req = request({
      hostname: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'PATCH',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-offset': '0',
        'content-type': 'application/offset+octet-stream',
        'content-length': String(clip.length),
      },
    });
    const answered = new Promise<number>((resolve) => req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0))));
    const half = Math.floor(clip.length / 2);
    await new Promise<void>((resolve) => req.write(clip.subarray(0, half), () => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    const early = await json(base, `/api/uploads/${id}/complete`, { body: {} });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('UPLOAD_ERROR');
    req.end(clip.subarray(half));
    expect(await answered).toBe(204);
    const done = await json(base, `/api/uploads/${id}/complete`, { body: {} });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect((await waitForJob(base, done.body.job.id)).stage).toBe('done');
  });

  it('checks Upload-Checksum: a wrong digest is refused with 460 and its bytes discarded', async () => {
    const created = await tusRequest(base, '/api/uploads', 'POST', {
      'upload-length': String(clip.length),
      'upload-metadata': `filename ${b64('sum.mp4')},purpose ${b64('search')}`,
    });
    const url = new URL(created.headers.get('location')!, base).href;
    const part = clip.subarray(0, 64 * KiB);
    const patch = (checksum: string, bytes = part, offset = 0) =>
      tusRequest(
        base,
        url,
        'PATCH',
        { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'upload-checksum': checksum },
        bytes,
      );

    const wrong = await patch(`sha256 ${createHash('sha256').update('something else').digest('base64')}`);
    expect(wrong.status).toBe(460);
    expect((await tusRequest(base, url, 'HEAD')).headers.get('upload-offset')).toBe('0');

    const unsupported = await patch(`crc32 AAAAAA==`);
    expect(unsupported.status).toBe(400);

    const right = await patch(`sha256 ${createHash('sha256').update(part).digest('base64')}`);
    expect(right.status).toBe(204);
    expect(right.headers.get('upload-offset')).toBe(String(part.length));
    const next = clip.subarray(part.length, 2 * part.length);
    const sha1 = await patch(`sha1 ${createHash('sha1').update(next).digest('base64')}`, next, part.length);
    expect(sha1.status).toBe(204);
    expect(sha1.headers.get('upload-offset')).toBe(String(2 * part.length));
    await tusRequest(base, url, 'DELETE');
  });

  it('terminates an upload: 204, then 404, and its bytes are gone', async () => {
    const { id } = await tusUpload(base, clip.subarray(0, 100 * KiB), { filename: 'x.mp4', purpose: 'search' });
    expect((await listFiles(join(dataDir, 'uploads'))).some((f) => f.includes(id))).toBe(true);
    const del = await tusRequest(base, `/api/uploads/${id}`, 'DELETE');
    expect(del.status).toBe(204);
    expect((await tusRequest(base, `/api/uploads/${id}`, 'HEAD')).status).toBe(404);
    expect((await listFiles(join(dataDir, 'uploads'))).filter((f) => f.includes(id))).toEqual([]);
  });

  it('refuses what is not media once the bytes are in (typed 415), and keeps nothing', async () => {
    const text = await readFile(await problemFiles.textAsMp4(tmp));
    const { id } = await tusUpload(base, text, { filename: 'notes.mp4', purpose: 'search' });
    const done = await json(base, `/api/uploads/${id}/complete`, { body: {} });
    expect(done.status).toBe(415);
    expect(done.body.error.code).toBe('UNSUPPORTED_MEDIA');
    expect((await listFiles(join(dataDir, 'uploads'))).some((f) => f.includes(id))).toBe(false);
  });

  it('refuses files that do not look like media, sizes over the limit and missing metadata before storing a byte', async () => {
    const create = (metadata: string, length = 1000) =>
      tusRequest(base, '/api/uploads', 'POST', { 'upload-length': String(length), 'upload-metadata': metadata });
    const before = await listFiles(dataDir);
    expect((await create(`filename ${b64('notes.txt')},purpose ${b64('search')}`)).status).toBe(415);
    expect((await create(`filename ${b64('big.mp4')},purpose ${b64('search')}`, 21 * 1024 * KiB)).status).toBe(413);
    expect((await create(`filename ${b64('x.mp4')}`)).status).toBe(400);
    expect((await create('not base64 at all!')).status).toBe(400);
    expect((await tusRequest(base, '/api/uploads', 'POST', { 'upload-metadata': `filename ${b64('x.mp4')},purpose ${b64('search')}` })).status).toBe(400);
    expect(await listFiles(dataDir)).toEqual(before);
  });

  it('keeps a client name out of the file system: the stored file has a server-chosen name inside the data directory', async () => {
    const { id } = await tusUpload(base, clip, { filename: '../../../escape.mp4', purpose: 'search' });
    const done = await json(base, `/api/uploads/${id}/complete`, { body: {} });
    expect(done.status).toBe(201);
    await waitForJob(base, done.body.job.id);
    const everything = await listFiles(tmp.path);
    expect(everything.filter((f) => f.includes('escape'))).toEqual([]);
    expect((await listFiles(join(dataDir, 'queries'))).every((f) => /^[0-9a-f-]{36}\.mp4$/.test(f))).toBe(true);
  });

  it('limits unfinished tus uploads per client (429), and a finished or deleted one frees the slot', async () => {
    const ids: string[] = [];
    const open = () =>
      tusRequest(base, '/api/uploads', 'POST', {
        'upload-length': String(clip.length),
        'upload-metadata': `filename ${b64('q.mp4')},purpose ${b64('search')}`,
      });
    for (let i = 0; i < 3; i++) {
      const r = await open();
      expect(r.status).toBe(201);
      ids.push(r.headers.get('location')!.split('/').pop()!);
    }
    const refused = await open();
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text).error.code).toBe('TOO_MANY_UPLOADS');
    await tusRequest(base, `/api/uploads/${ids[0]}`, 'DELETE');
    const again = await open();
    expect(again.status).toBe(201);
    ids.push(again.headers.get('location')!.split('/').pop()!);
    for (const id of ids.slice(1)) await tusRequest(base, `/api/uploads/${id}`, 'DELETE');
  });
});

describe('tus requests in the metrics', () => {
  it('are labelled by route pattern, never by upload id', async () => {
    const text = await (await fetch(new URL('/metrics', base))).text();
    expect(text).toMatch(/retrace_http_request_duration_seconds_count\{method="PATCH",route="\/api\/uploads\/:id",status="204"\} \d+/);
    expect(text).toMatch(/method="POST",route="\/api\/uploads",status="201"/);
    expect(text).not.toMatch(/route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-/);
  });
});

describe('the retired chunk protocol', () => {
  it('a JSON creation is refused with 412 TUS_REQUIRED, naming the tus version', async () => {
    const created = await json(base, '/api/uploads', { body: { fileName: 'old.mp4', size: 10, purpose: 'search' } });
    expect(created.status).toBe(412);
    expect(created.body.error.code).toBe('TUS_REQUIRED');
    expect(created.headers.get('tus-version')).toBe('1.0.0');
    expect((await fetch(new URL('/api/uploads/7d1f3c1e-1111-4222-8333-444455556666/chunks', base), { method: 'POST' })).status).toBe(404);
  });

  it('an unfinished upload an earlier version kept for it is dropped at start-up; a tus one it kept resumes', async () => {
    const dir = join(tmp.path, 'upgraded');
    const uploads = join(dir, 'uploads');
    const chunked = '0d6f1a52-1111-4222-8333-444455556666';
    const tusId = '0d6f1a52-2222-4222-8333-444455556666';
    const saved = (id: string, protocol: string) => ({
      id,
      fileName: 'q.mp4',
      size: 10,
      purpose: 'search',
      mimeType: null,
      sha256: null,
      title: null,
      chunkSize: 8,
      maxChunkBytes: 16,
      received: [[0, 4]],
      status: 'receiving',
      protocol,
      jobId: null,
      apiKeyId: null,
      session: null,
      client: 'ip:127.0.0.1',
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    await mkdir(join(uploads, 'incoming'), { recursive: true });
    await mkdir(join(uploads, 'tus'), { recursive: true });
    await writeFile(join(uploads, `${chunked}.json`), JSON.stringify(saved(chunked, 'chunks')));
    await writeFile(join(uploads, `${chunked}.part`), Buffer.alloc(10));
    await writeFile(join(uploads, 'incoming', 'stray.chunk'), Buffer.alloc(4));
    await writeFile(join(uploads, `${tusId}.json`), JSON.stringify(saved(tusId, 'tus')));
    await writeFile(join(uploads, 'tus', tusId), Buffer.alloc(4));
    const upgraded = await startTestServer(te.engine, dir);
    try {
      expect((await json(upgraded.url, `/api/uploads/${chunked}`)).status).toBe(404);
      const kept = await json(upgraded.url, `/api/uploads/${tusId}`);
      expect(kept.status).toBe(200);
      expect(kept.body).toMatchObject({ offset: 4, status: 'receiving' });
      expect(await listFiles(uploads)).toEqual([`${tusId}.json`, `tus/${tusId}`]);
    } finally {
      await upgraded.close();
    }
  });
});

describe('tus uploads on guarded servers', () => {
  it('answers 507 before storing a byte when the disk would fall below its threshold', async () => {
    const full = await startTestServer(te.engine, join(tmp.path, 'full'), { minFreeDiskBytes: Number.MAX_SAFE_INTEGER / 2 });
    try {
      const r = await tusRequest(full.url, '/api/uploads', 'POST', {
        'upload-length': '1000',
        'upload-metadata': `filename ${b64('x.mp4')},purpose ${b64('search')}`,
      });
      expect(r.status).toBe(507);
      expect(JSON.parse(r.text).error.code).toBe('INSUFFICIENT_STORAGE');
      expect(await listFiles(join(tmp.path, 'full', 'uploads'))).toEqual([]);
    } finally {
      await full.close();
    }
  });

  it('resumes an upload across a server restart, from the offset stored before it', async () => {
    const dir = join(tmp.path, 'restart');
    const first = await startTestServer(te.engine, dir);
    const created = await tusRequest(first.url, '/api/uploads', 'POST', {
      'upload-length': String(clip.length),
      'upload-metadata': `filename ${b64('restart.mp4')},purpose ${b64('search')}`,
    });
    const path = created.headers.get('location')!;
    const half = Math.floor(clip.length / 2);
    const patched = await tusRequest(
      first.url,
      path,
      'PATCH',
      { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      clip.subarray(0, half),
    );
    expect(patched.status).toBe(204);
    await first.close();

    const second = await startTestServer(te.engine, dir);
    try {
      const head = await tusRequest(second.url, path, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('upload-offset')).toBe(String(half));
      const offsets: number[] = [];
      await tusUpload(
        second.url,
        clip,
        {},
        {
          uploadUrl: new URL(path, second.url).href,
          onBeforeRequest: (req) => {
            if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
          },
        },
      );
      expect(offsets[0]).toBe(half);
      const done = await json(second.url, `${path}/complete`, { body: {} });
      expect(done.status, JSON.stringify(done.body)).toBe(201);
      expect((await waitForJob(second.url, done.body.job.id)).stage).toBe('done');
    } finally {
      await second.close();
    }
  });

  it('expires unfinished uploads: 410 or 404 afterwards, bytes swept', async () => {
    const short = await startTestServer(te.engine, join(tmp.path, 'short'), { uploadTtlMs: 400, sweepIntervalMs: 200 });
    try {
      const created = await tusRequest(short.url, '/api/uploads', 'POST', {
        'upload-length': String(clip.length),
        'upload-metadata': `filename ${b64('x.mp4')},purpose ${b64('search')}`,
      });
      expect(created.status).toBe(201);
      expect(Date.parse(created.headers.get('upload-expires')!)).toBeGreaterThan(Date.now() - 1000);
      const url = new URL(created.headers.get('location')!, short.url).href;
      await new Promise((r) => setTimeout(r, 1200));
      const late = await tusRequest(
        short.url,
        url,
        'PATCH',
        { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        clip.subarray(0, 1000),
      );
      expect([404, 410]).toContain(late.status);
      expect(await listFiles(join(tmp.path, 'short', 'uploads'))).toEqual([]);
    } finally {
      await short.close();
    }
  });

  it('with keys: an upload belongs to its key (others get 404, an admin may), anonymous clients need --public-search, index uploads an index key', async () => {
    const keys = new ApiKeyStore(te.engine.sql);
    const alice = (await keys.create({ scope: 'search', name: 'alice' })).key;
    const bob = (await keys.create({ scope: 'search', name: 'bob' })).key;
    const admin = (await keys.create({ scope: 'admin' })).key;
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const meta = (purpose: string) => `filename ${b64('q.mp4')},purpose ${b64(purpose)}`;

    const anonymous = await tusRequest(base, '/api/uploads', 'POST', { 'upload-length': '1000', 'upload-metadata': meta('search') });
    expect(anonymous.status).toBe(401);
    const indexBySearchKey = await tusRequest(base, '/api/uploads', 'POST', { ...as(alice), 'upload-length': '1000', 'upload-metadata': meta('index') });
    expect(indexBySearchKey.status).toBe(403);

    const { id } = await tusUpload(base, clip.subarray(0, 200 * KiB), { filename: 'q.mp4', purpose: 'search' }, { headers: as(alice) });
    for (const method of ['HEAD', 'PATCH', 'DELETE']) {
      const r = await tusRequest(
        base,
        `/api/uploads/${id}`,
        method,
        { ...as(bob), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        method === 'PATCH' ? Buffer.alloc(10) : undefined,
      );
      expect(r.status, method).toBe(404);
    }
    expect((await tusRequest(base, `/api/uploads/${id}`, 'HEAD', as(alice))).status).toBe(200);
    expect((await tusRequest(base, `/api/uploads/${id}`, 'HEAD', as(admin))).status).toBe(200);
    expect((await tusRequest(base, `/api/uploads/${id}`, 'DELETE', as(admin))).status).toBe(204);

    // A public-search server lets anonymous clients upload queries, as their session's own.
    const pub = await startTestServer(te.engine, join(tmp.path, 'public'), { publicSearch: true });
    try {
      const created = await tusRequest(pub.url, '/api/uploads', 'POST', { 'upload-length': '1000', 'upload-metadata': meta('search') });
      expect(created.status).toBe(201);
      const cookie = created.headers.get('set-cookie')!.split(';')[0];
      const path = created.headers.get('location')!;
      expect((await tusRequest(pub.url, path, 'HEAD', { cookie })).status).toBe(200);
      expect((await tusRequest(pub.url, path, 'HEAD')).status).toBe(404);
      expect((await tusRequest(pub.url, '/api/uploads', 'POST', { 'upload-length': '1000', 'upload-metadata': meta('index') })).status).toBe(401);
      expect((await tusRequest(pub.url, path, 'DELETE', { cookie })).status).toBe(204);
    } finally {
      await pub.close();
    }
    for (const k of await keys.list()) await keys.revoke(k.id);
  });
});

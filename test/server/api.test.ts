import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.js';
import { editClip, extractStill, makeClip, makeTempDir, problemFiles, type TempDir } from '../helpers/media-fixtures.js';
import {
  createUpload,
  dropTusPatch,
  json,
  listFiles,
  openTestEngine,
  patchUpload,
  readJobEvents,
  sha256,
  startTestServer,
  tusRequest,
  tusUpload,
  uploadFile,
  waitForJob,
  type TestEngine,
} from './server-helpers.js';

const KiB = 1024;
const CHUNK = 64 * KiB;
const SERVER_OPTIONS = {
  chunkBytes: CHUNK,
  maxFileBytes: 20 * 1024 * KiB,
  maxUploadsPerClient: 4,
  uploadTtlMs: 60_000,
  keepQueries: true,
};

let te: TestEngine;
let tmp: TempDir;
let dataDir: string;
let srv: RunningServer;
let base: string;
const clips = {} as Record<'ref' | 'ref2' | 'ref3' | 'edited' | 'unrelated' | 'text' | 'audio' | 'truncated' | 'truncatedFast', string>;
let refVideoId = '';

function expectError(r: { status: number; body: any }, status: number, code?: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  expect(r.body.error.message.length).toBeGreaterThan(10);
  if (code) expect(r.body.error.code).toBe(code);
}

/** Files under the data dir, without a state file being replaced just then (written after the answer). */
async function snapshot(): Promise<string[]> {
  return (await listFiles(dataDir)).filter((f) => !f.endsWith('.tmp'));
}

beforeAll(async () => {
  tmp = await makeTempDir('retrace-server-api-');
  dataDir = join(tmp.path, 'data');
  te = await openTestEngine();
  const [ref, ref2, ref3, unrelated] = await Promise.all([
    makeClip(tmp, 'ref', { source: 'mandelbrot', durationSec: 8 }),
    makeClip(tmp, 'ref2', { source: 'seahorse', durationSec: 6 }),
    makeClip(tmp, 'ref3', { source: 'rotatingPattern', durationSec: 6 }),
    makeClip(tmp, 'unrelated', { source: 'life', durationSec: 6 }),
  ]);
  Object.assign(clips, { ref, ref2, ref3, unrelated });
  clips.edited = await editClip(ref, tmp, 'edited', {
    start: 1,
    duration: 6,
    vf: 'hflip,crop=iw*0.85:ih*0.85,scale=320:240',
    codecArgs: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '32', '-pix_fmt', 'yuv420p'],
  });
  clips.text = await problemFiles.textAsMp4(tmp);
  clips.audio = await problemFiles.audioOnly(tmp);
  clips.truncated = await problemFiles.truncatedMp4(tmp, ref);
  clips.truncatedFast = await problemFiles.truncatedFastStartMp4(tmp, ref);
  srv = await startTestServer(te.engine, dataDir, SERVER_OPTIONS);
  base = srv.url;
});

afterAll(async () => {
  await srv?.close();
  await te?.close();
  await tmp?.cleanup();
});

describe('server basics', () => {
  it('serves the web page and its assets', async () => {
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('app.js');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const js = await fetch(new URL('app.js', base));
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const css = await fetch(new URL('style.css', base));
    expect(css.status).toBe(200);
  });

  it('reports health and stats', async () => {
    const h = await json(base, '/api/health');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', db: { status: 'ok' }, jobs: { running: expect.any(Number), queued: expect.any(Number) } });
    const s = await json(base, '/api/stats');
    expect(s.status).toBe(200);
    expect(s.body.engine).toMatchObject({ videos: expect.any(Number), frames: expect.any(Number) });
    expect(s.body.limits.chunkBytes).toBe(CHUNK);
  });
});

describe('upload → job → result', () => {
  it('indexes a clip uploaded with tus and a checksum, with live progress over SSE', async () => {
    const { jobId, complete } = await uploadFile(base, clips.ref, 'index', { withSha: true });
    expect(complete.body.job).toMatchObject({ id: jobId, kind: 'index', fileName: 'ref.mp4' });
    expect(complete.body.upload).toMatchObject({ status: 'completed', jobId, offset: (await stat(clips.ref)).size });
    const sse = await readJobEvents(base, jobId);
    expect(sse.status).toBe(200);
    expect(sse.contentType).toMatch(/text\/event-stream/);
    expect(sse.events.length).toBeGreaterThan(0);
    const last = sse.events.at(-1);
    expect(last.stage).toBe('done');
    expect(last.progress).toBe(1);
    for (let i = 1; i < sse.events.length; i++) expect(sse.events[i].progress).toBeGreaterThanOrEqual(sse.events[i - 1].progress);
    const job = await waitForJob(base, jobId);
    expect(job.stage).toBe('done');
    expect(job.error).toBeNull();
    expect(job.timings.total).toBeGreaterThan(0);
    expect(job.result).toMatchObject({ status: 'indexed', frames: expect.any(Number), videoId: expect.any(String) });
    // Server paths stay private in the job view.
    expect(JSON.stringify({ ...job, result: undefined })).not.toContain(dataDir);
    refVideoId = job.result.videoId;
    const result = await json(base, `/api/jobs/${jobId}/result`);
    expect(result.status).toBe(200);
    expect(result.body.videoId).toBe(refVideoId);
    const media = await listFiles(join(dataDir, 'media'));
    expect(media).toHaveLength(1);
  });

  it('lists, gets, streams with HTTP Range and thumbnails the indexed video', async () => {
    const list = await json(base, '/api/videos?limit=10&offset=0');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 1, limit: 10, offset: 0 });
    expect(list.body.items[0]).toMatchObject({ id: refVideoId, title: 'ref', status: 'ready' });
    const one = await json(base, `/api/videos/${refVideoId}`);
    expect(one.status).toBe(200);
    expect(one.body.durationSec).toBeGreaterThan(7);
    expect(one.body.frameCount).toBeGreaterThan(0);

    const original = await readFile(clips.ref);
    const ranged = await fetch(new URL(`/api/videos/${refVideoId}/stream`, base), { headers: { range: 'bytes=100-1123' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-1123/${original.length}`);
    expect(ranged.headers.get('accept-ranges')).toBe('bytes');
    expect(ranged.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await ranged.arrayBuffer()).equals(original.subarray(100, 1124))).toBe(true);
    const tail = await fetch(new URL(`/api/videos/${refVideoId}/stream`, base), { headers: { range: `bytes=${original.length - 10}-` } });
    expect(tail.status).toBe(206);
    expect((await tail.arrayBuffer()).byteLength).toBe(10);
    const bad = await fetch(new URL(`/api/videos/${refVideoId}/stream`, base), { headers: { range: `bytes=${original.length + 10}-` } });
    expect(bad.status).toBe(416);
    await bad.arrayBuffer();
    const full = await fetch(new URL(`/api/videos/${refVideoId}/stream`, base));
    expect(full.status).toBe(200);
    expect((await full.arrayBuffer()).byteLength).toBe(original.length);

    for (const t of [0, 3.5, 99]) {
      const thumb = await fetch(new URL(`/api/videos/${refVideoId}/thumbnail?t=${t}&w=160`, base));
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toBe('image/jpeg');
      const jpeg = Buffer.from(await thumb.arrayBuffer());
      expect(jpeg.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(true);
    }
  });

  it('finds an edited copy and says where; the result is the engine SearchResult', async () => {
    const { jobId } = await uploadFile(base, clips.edited, 'search');
    const job = await waitForJob(base, jobId);
    expect(job.stage, JSON.stringify(job.error)).toBe('done');
    const r = await json(base, `/api/jobs/${jobId}/result`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['matches', 'query', 'timingsMs']);
    expect(r.body.query).toMatchObject({ path: 'edited.mp4', kind: 'video' });
    expect(r.body).toEqual(job.result);
    expect(r.body.matches.length).toBeGreaterThanOrEqual(1);
    const best = r.body.matches[0];
    expect(best.videoId).toBe(refVideoId);
    expect(best.score).toBeGreaterThan(0.5);
    expect(best.segments[0].frames.length).toBeGreaterThan(0);
    expect(best.segments[0].refStart).toBeGreaterThanOrEqual(0);
    expect(best.segments[0].refEnd).toBeLessThanOrEqual(8.5);
    // The query file is kept for a while so the page can show the query frame.
    const qt = await fetch(new URL(`/api/jobs/${jobId}/thumbnail?t=${best.segments[0].frames[0].queryTime}`, base));
    expect(qt.status).toBe(200);
    expect(qt.headers.get('content-type')).toBe('image/jpeg');
    expect(job.timings.total).toBeGreaterThan(0);
    expect(Object.keys(job.timings)).toContain('queued');
  });

  it('takes an image query through the same upload path', async () => {
    const still = await extractStill(clips.ref, 4, tmp.file('still.jpg'), 'hflip');
    const { jobId } = await uploadFile(base, still, 'search');
    const job = await waitForJob(base, jobId);
    expect(job.stage, JSON.stringify(job.error)).toBe('done');
    expect(job.result.query).toMatchObject({ kind: 'image', path: 'still.jpg' });
    expect(job.result.matches[0]?.videoId).toBe(refVideoId);
    const qt = await fetch(new URL(`/api/jobs/${jobId}/thumbnail?t=0`, base));
    expect(qt.status).toBe(200);
    expect(await listFiles(join(dataDir, 'queries'))).toEqual(expect.arrayContaining([expect.stringMatching(/\.jpg$/)]));
  });

  it('says no copy was found for an unrelated clip', async () => {
    const { jobId } = await uploadFile(base, clips.unrelated, 'search');
    const job = await waitForJob(base, jobId);
    expect(job.stage).toBe('done');
    expect(job.result.matches).toEqual([]);
  });

  it('takes an upload in several PATCH requests, refuses one at a stale offset, and completes with the SHA-256 given then', async () => {
    const bytes = await readFile(clips.edited);
    const created = await createUpload(base, 'parts.mp4', bytes.length, 'search');
    expect(created.status).toBe(201);
    const id = created.id;
    const part = 16 * KiB;
    expect(bytes.length).toBeGreaterThan(2 * part);
    expect((await patchUpload(base, id, 0, bytes.subarray(0, part))).offset).toBe(part);
    // The same bytes again (a client that lost the answer): tus says where the upload stands instead.
    const stale = await patchUpload(base, id, 0, bytes.subarray(0, part));
    expect(stale.status).toBe(409);
    const head = await tusRequest(base, `/api/uploads/${id}`, 'HEAD');
    expect(head.headers.get('upload-offset')).toBe(String(part));
    for (let o = part; o < bytes.length; o += part) {
      const r = await patchUpload(base, id, o, bytes.subarray(o, o + part));
      expect(r.status, r.text).toBe(204);
      expect(r.offset).toBe(Math.min(bytes.length, o + part));
    }
    const state = await json(base, `/api/uploads/${id}`);
    expect(state.body).toMatchObject({ receivedBytes: bytes.length, offset: bytes.length, status: 'receiving' });
    expect(state.headers.get('upload-offset')).toBe(String(bytes.length));
    // The SHA-256 may be given at completion instead of creation.
    const done = await json(base, `/api/uploads/${id}/complete`, { body: { sha256: sha256(bytes) } });
    expect(done.status).toBe(201);
    const job = await waitForJob(base, done.body.job.id);
    expect(job.stage).toBe('done');
    expect(job.result.matches[0]?.videoId).toBe(refVideoId);
    // Completing again returns the same job instead of a second one.
    const again = await json(base, `/api/uploads/${id}/complete`, { body: {} });
    expect(again.status).toBe(200);
    expect(again.body.job.id).toBe(done.body.job.id);
  });

  it('resumes an interrupted upload, also across a server restart', async () => {
    const bytes = await readFile(clips.ref2);
    const created = await createUpload(base, 'ref2.mp4', bytes.length, 'index', { title: 'Seahorse valley' });
    const id = created.id;
    const half = Math.floor(bytes.length / 2);
    expect((await patchUpload(base, id, 0, bytes.subarray(0, half))).status).toBe(204);
    // The connection drops in the middle of the next request.
    await dropTusPatch(new URL(`/api/uploads/${id}`, base).href, half, bytes.subarray(half), 20_000);
    const state = await json(base, `/api/uploads/${id}`);
    expect(state.status).toBe(200);
    const kept = state.body.offset as number;
    // What arrived before the line was cut is kept, nothing more.
    expect(kept).toBeGreaterThanOrEqual(half);
    expect(kept).toBeLessThanOrEqual(half + 20_000);
    // Completing now is refused but keeps the upload.
    const early = await json(base, `/api/uploads/${id}/complete`, { body: {} });
    expectError(early, 409, 'SIZE_MISMATCH');
    expect(early.body.error.message).toContain(`missing bytes ${kept}-${bytes.length - 1}`);

    // The server restarts: the upload's state is on disk.
    await srv.close();
    srv = await startTestServer(te.engine, dataDir, SERVER_OPTIONS);
    base = srv.url;
    const after = await json(base, `/api/uploads/${id}`);
    expect(after.status).toBe(200);
    expect(after.body.offset).toBe(kept);
    // tus-js-client asks for the offset and sends the rest.
    const offsets: number[] = [];
    await tusUpload(
      base,
      bytes,
      {},
      {
        uploadUrl: new URL(`/api/uploads/${id}`, base).href,
        chunkSize: CHUNK,
        onBeforeRequest: (req) => {
          if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
        },
      },
    );
    expect(offsets[0]).toBe(kept);
    const done = await json(base, `/api/uploads/${id}/complete`, { body: { sha256: sha256(bytes) } });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    const job = await waitForJob(base, done.body.job.id);
    expect(job.stage).toBe('done');
    expect(job.result.video.title).toBe('Seahorse valley');
  });

  it('runs two uploads at once', async () => {
    const [a, b] = await Promise.all([
      uploadFile(base, clips.ref3, 'index', { chunkSize: CHUNK }),
      uploadFile(base, clips.unrelated, 'index', { chunkSize: CHUNK, fileName: 'life.mp4' }),
    ]);
    const [ja, jb] = await Promise.all([waitForJob(base, a.jobId), waitForJob(base, b.jobId)]);
    expect(ja.stage).toBe('done');
    expect(jb.stage).toBe('done');
    expect(ja.result.videoId).not.toBe(jb.result.videoId);
    const list = await json(base, '/api/videos?limit=50');
    const titles = list.body.items.map((v: any) => v.title);
    expect(titles).toEqual(expect.arrayContaining(['ref3', 'life']));
  });

  it('indexing the same file twice reports a duplicate and keeps one stored copy', async () => {
    const before = await listFiles(join(dataDir, 'media'));
    const { jobId } = await uploadFile(base, clips.ref, 'index');
    const job = await waitForJob(base, jobId);
    expect(job.stage).toBe('done');
    expect(job.result.status).toBe('duplicate');
    expect(job.result.videoId).toBe(refVideoId);
    expect(await listFiles(join(dataDir, 'media'))).toEqual(before);
  });
});

describe('bad input: a clear 4xx and nothing left behind', () => {
  it('refuses bad upload declarations', async () => {
    const before = await snapshot();
    // Not tus: the JSON protocol of earlier versions is gone, and the answer says what to send.
    const plain = await json(base, '/api/uploads', { body: { fileName: 'a.mp4', size: 10, purpose: 'search' } });
    expectError(plain, 412, 'TUS_REQUIRED');
    expect(plain.headers.get('tus-version')).toBe('1.0.0');
    expect(plain.body.error.message).toContain('Tus-Resumable');
    expectError(await createUpload(base, 'a.mp4', 0, 'search'), 400, 'EMPTY_FILE');
    expectError(await createUpload(base, 'a.mp4', -5, 'search'), 400, 'INVALID_ARGUMENT');
    expectError(await createUpload(base, 'a.mp4', 1.5, 'search'), 400, 'INVALID_ARGUMENT');
    expectError(await createUpload(base, 'big.mp4', SERVER_OPTIONS.maxFileBytes + 1, 'index'), 413, 'FILE_TOO_LARGE');
    expectError(await createUpload(base, 'a.mp4', 10, 'delete'), 400, 'INVALID_ARGUMENT');
    expectError(await createUpload(base, 'notes.txt', 100, 'search'), 415, 'UNSUPPORTED_MEDIA');
    expectError(await createUpload(base, 'setup.exe', 100, 'index', { filetype: 'video/mp4' }), 415, 'UNSUPPORTED_MEDIA');
    expectError(await createUpload(base, 'a.mp4', 100, 'search', { sha256: 'abc' }), 400, 'INVALID_ARGUMENT');
    expectError(await createUpload(base, 'x'.repeat(300) + '.mp4', 10, 'search'), 400, 'INVALID_ARGUMENT');
    expectError(await createUpload(base, 'a.mp4', 10, 'search', {}, { 'upload-metadata': 'filename not-base64!' }), 400, 'INVALID_ARGUMENT');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses bad PATCH requests and stores none of their bytes', async () => {
    const bytes = await readFile(clips.ref3);
    const created = await createUpload(base, 'parts.mp4', 200_000, 'search');
    const id = created.id;
    const before = await snapshot();
    const piece = bytes.subarray(0, 1000);
    expectError(
      await json(base, '/api/uploads/7d1f3c1e-1111-4222-8333-444455556666', { method: 'PATCH', headers: { 'tus-resumable': '1.0.0' } }),
      404,
      'NOT_FOUND',
    );
    expectError(await json(base, '/api/uploads/not-an-id', { method: 'PATCH', headers: { 'tus-resumable': '1.0.0' } }), 404, 'NOT_FOUND');
    // tus's own answers: an offset other than the upload's, none at all, a body that is not
    // application/offset+octet-stream, more bytes than were declared.
    expect((await patchUpload(base, id, 500, piece)).status).toBe(409);
    expect((await patchUpload(base, id, 0, piece, { 'upload-offset': '' })).status).toBe(400);
    expect((await patchUpload(base, id, 0, piece, { 'content-type': 'multipart/form-data; boundary=x' })).status).toBe(400);
    expect((await patchUpload(base, id, 0, Buffer.alloc(200_001))).status).toBe(413);
    // Nothing was stored by any of them.
    const state = await json(base, `/api/uploads/${id}`);
    expect(state.body.offset).toBe(0);
    expect(await snapshot()).toEqual(before);
    expect((await fetch(new URL(`/api/uploads/${id}`, base), { method: 'DELETE' })).status).toBe(204);
    expect(await snapshot()).toEqual(before.filter((f) => !f.includes(id)));
  });

  async function uploadWhole(path: string, fileName: string, purpose: 'search' | 'index', extra: Record<string, string> = {}) {
    const bytes = await readFile(path);
    const { id } = await tusUpload(base, bytes, { filename: fileName, purpose, ...extra });
    return { id, bytes };
  }

  it('refuses a completed upload whose checksum is wrong, and deletes it', async () => {
    const before = await snapshot();
    const { id, bytes } = await uploadWhole(clips.ref3, 'x.mp4', 'search', { sha256: 'ab'.repeat(32) });
    expect(bytes.length).toBeGreaterThan(0);
    expectError(await json(base, `/api/uploads/${id}/complete`, { body: {} }), 460, 'CHECKSUM_MISMATCH');
    expectError(await json(base, `/api/uploads/${id}`), 404, 'NOT_FOUND');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a truncated upload (bytes missing) but keeps it resumable until deleted', async () => {
    const before = await snapshot();
    const bytes = await readFile(clips.ref3);
    const created = await createUpload(base, 'short.mp4', bytes.length, 'search');
    const id = created.id;
    expect((await patchUpload(base, id, 0, bytes.subarray(0, CHUNK))).status).toBe(204);
    const r = await json(base, `/api/uploads/${id}/complete`, { body: {} });
    expectError(r, 409, 'SIZE_MISMATCH');
    expect(r.body.error.message).toContain(`missing bytes ${CHUNK}-${bytes.length - 1}`);
    expect((await fetch(new URL(`/api/uploads/${id}`, base), { method: 'DELETE' })).status).toBe(204);
    expectError(await json(base, `/api/uploads/${id}`), 404, 'NOT_FOUND');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses files that are not video: text renamed .mp4, audio only', async () => {
    const before = await snapshot();
    const text = await uploadWhole(clips.text, 'notes.mp4', 'search');
    expectError(await json(base, `/api/uploads/${text.id}/complete`, { body: {} }), 415, 'UNSUPPORTED_MEDIA');
    const audio = await uploadWhole(clips.audio, 'song.mp4', 'index');
    const r = await json(base, `/api/uploads/${audio.id}/complete`, { body: {} });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(['NO_VIDEO_STREAM', 'UNSUPPORTED_MEDIA']).toContain(r.body.error.code);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses truncated and corrupt video, at completion or as a failed job, and deletes the file', async () => {
    const before = await snapshot();
    const corrupt = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(20_000, 0x5a)]);
    const corruptPath = tmp.file('corrupt.mp4');
    await writeFile(corruptPath, corrupt);
    for (const [path, name] of [
      [clips.truncated, 'cut.mp4'],
      [clips.truncatedFast, 'cut-fast.mp4'],
      [corruptPath, 'garbage.mp4'],
    ] as const) {
      const { id } = await uploadWhole(path, name, 'index');
      const r = await json(base, `/api/uploads/${id}/complete`, { body: {} });
      if (r.status === 201) {
        // The header looked fine; decoding finds the damage.
        const job = await waitForJob(base, r.body.job.id);
        expect(job.stage).toBe('failed');
        expect(job.error.code).toMatch(/CORRUPT_MEDIA|UNSUPPORTED_MEDIA|NO_VIDEO_STREAM/);
        const res = await json(base, `/api/jobs/${job.id}/result`);
        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe(job.error.code);
      } else {
        expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        expect(r.body.error.code).toMatch(/CORRUPT_MEDIA|UNSUPPORTED_MEDIA|NO_VIDEO_STREAM/);
        expectError(await json(base, `/api/uploads/${id}`), 404);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('caps concurrent uploads', async () => {
    const before = await snapshot();
    const ids: string[] = [];
    let refused: { status: number; body: any } | null = null;
    for (let i = 0; i < SERVER_OPTIONS.maxUploadsPerClient + 1; i++) {
      const r = await createUpload(base, `c${i}.mp4`, 1000, 'search');
      if (r.status === 201) ids.push(r.id);
      else {
        refused = r;
        break;
      }
    }
    expect(refused).not.toBeNull();
    expectError(refused!, 429, 'TOO_MANY_UPLOADS');
    expect(refused && (await createUpload(base, 'again.mp4', 1000, 'search')).status).toBe(429);
    for (const id of ids) expect((await fetch(new URL(`/api/uploads/${id}`, base), { method: 'DELETE' })).status).toBe(204);
    expect(await snapshot()).toEqual(before);
  });

  it('expires unfinished uploads and deletes their bytes', async () => {
    const before = await snapshot();
    const created = await createUpload(base, 'stale.mp4', 5000, 'search');
    const id = created.id;
    expect((await patchUpload(base, id, 0, Buffer.alloc(1000, 1))).status).toBe(204);
    // Our record, tus's bytes and tus's record.
    expect((await snapshot()).length).toBe(before.length + 3);
    expect(Date.parse(created.headers.get('upload-expires')!)).toBeGreaterThan(Date.now());
    const gone = await srv.app.uploads.sweep(Date.now() + SERVER_OPTIONS.uploadTtlMs + 1);
    expect(gone).toContain(id);
    expectError(await json(base, `/api/uploads/${id}`), 404, 'NOT_FOUND');
    expect((await patchUpload(base, id, 1000, Buffer.alloc(10))).status).toBe(404);
    // Completed uploads' records expire too; nothing else is touched.
    expect(await snapshot()).toEqual(before.filter((f) => !gone.some((g) => f.includes(g))));
  });

  it('answers unknown ids and routes with 404 and bad parameters with 400', async () => {
    const unknown = '0b0d5a1e-0000-4000-8000-000000000000';
    expectError(await json(base, `/api/jobs/${unknown}`), 404, 'NOT_FOUND');
    expectError(await json(base, '/api/jobs/nope'), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/jobs/${unknown}/result`), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/jobs/${unknown}/events`), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/jobs/${unknown}/thumbnail`), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/uploads/${unknown}`), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/uploads/${unknown}/complete`, { body: {} }), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/uploads/${unknown}`, { method: 'DELETE' }), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/videos/${unknown}`), 404, 'NOT_FOUND');
    expectError(await json(base, '/api/videos/12'), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/videos/${unknown}`, { method: 'DELETE' }), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/videos/${unknown}/stream`), 404, 'NOT_FOUND');
    expectError(await json(base, `/api/videos/${unknown}/thumbnail?t=1`), 404, 'NOT_FOUND');
    expectError(await json(base, '/api/nothing-here'), 404, 'NOT_FOUND');
    expectError(await json(base, '/api/videos?limit=0'), 400, 'INVALID_ARGUMENT');
    expectError(await json(base, '/api/videos?offset=-1'), 400, 'INVALID_ARGUMENT');
    expectError(await json(base, `/api/videos/${refVideoId}/thumbnail?t=-1`), 400, 'INVALID_ARGUMENT');
    expectError(await json(base, `/api/videos/${refVideoId}/thumbnail?w=100000`), 400, 'INVALID_ARGUMENT');
    expectError(await json(base, '/api/jobs?kind=other'), 400, 'INVALID_ARGUMENT');
  });
});

describe('videos and metrics', () => {
  it('deletes a video and the file the server stored for it', async () => {
    const list = await json(base, '/api/videos?limit=50');
    const v = list.body.items.find((x: any) => x.title === 'ref3');
    expect(v).toBeDefined();
    // The API names only the file, never where the server keeps it.
    expect(v.path).not.toContain('/');
    const stored = join(srv.app.dataDir, 'media', v.path);
    await stat(stored);
    const del = await fetch(new URL(`/api/videos/${v.id}`, base), { method: 'DELETE' });
    expect(del.status).toBe(204);
    await expect(stat(stored)).rejects.toThrow();
    expectError(await json(base, `/api/videos/${v.id}`), 404, 'NOT_FOUND');
    const after = await json(base, '/api/videos?limit=50');
    expect(after.body.total).toBe(list.body.total - 1);
  });

  it('pages the library', async () => {
    const all = await json(base, '/api/videos?limit=50');
    const p1 = await json(base, '/api/videos?limit=1&offset=0');
    const p2 = await json(base, '/api/videos?limit=1&offset=1');
    expect(p1.body.items).toHaveLength(1);
    expect(p2.body.items).toHaveLength(1);
    expect(p1.body.total).toBe(all.body.total);
    expect(p1.body.items[0].id).not.toBe(p2.body.items[0].id);
  });

  it('exposes Prometheus metrics with request, job and stage latencies', async () => {
    // (The server restarted above, so its counters started again.)
    const { jobId } = await uploadFile(base, clips.edited, 'search');
    await waitForJob(base, jobId);
    const res = await fetch(new URL('/metrics', base));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE retrace_http_request_duration_seconds histogram');
    expect(text).toMatch(/retrace_http_request_duration_seconds_bucket\{method="PATCH",route="\/api\/uploads\/:id",status="204",le="0\.005"\} \d+/);
    expect(text).toMatch(/retrace_http_request_duration_seconds_count\{method="GET",route="\/api\/videos\/:id",status="404"\} \d+/);
    expect(text).toMatch(/retrace_job_duration_seconds_count\{kind="index",outcome="done"\} [1-9]/);
    expect(text).toMatch(/retrace_job_duration_seconds_count\{kind="search",outcome="done"\} [1-9]/);
    expect(text).toMatch(/retrace_job_stage_duration_seconds_bucket\{kind="search",stage="sampling",le="\+Inf"\} [1-9]/);
    expect(text).toMatch(/retrace_uploads_rejected_total\{code="CHECKSUM_MISMATCH"\} [1-9]/);
    expect(text).toMatch(/retrace_uploads_completed_total\{purpose="search"\} [1-9]/);
    expect(text).toMatch(/retrace_jobs\{state="running"\} 0/);
    // Ids never become labels.
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  });
});

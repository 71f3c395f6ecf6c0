/**
 * Signatures through the API: a `.sig` file (docs/signature-format.md) uploaded with tus is a
 * search query, or with purpose `index` a reference without media, as it is for `retrace search`
 * and `retrace index`. A damaged one (BAD_SIGNATURE) or one made with another descriptor
 * (DESCRIPTOR_MISMATCH) is refused with 422 when the upload is completed, before any job exists,
 * and nothing of it is kept.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSignature, encodeSignature } from '../../src/core/signatures/signature-format.js';
import type { RunningServer } from '../../src/server/index.js';
import { makeExcerptLibrary, makeStill, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { closeTestServer, json, listFiles, openTestEngine, startTestServer, tusUpload, uploadFile, waitForJob, type TestEngine } from './server-helpers.js';

let dir: TempDir;
let te: TestEngine;
let server: RunningServer;
let originalId: string;
let other: string;
const sig: Record<'excerpt' | 'other' | 'still', string> = {} as never;

beforeAll(async () => {
  dir = await makeTempDir('retrace-api-signatures-');
  const { original, excerpt, other: otherClip } = await makeExcerptLibrary(dir);
  other = otherClip;
  const still = await makeStill(dir, 'still.jpg', 'mandelbrot', { width: 192, height: 144 });
  te = await openTestEngine();
  originalId = (await te.engine.index(original)).videoId;
  for (const [name, file] of [
    ['excerpt', excerpt],
    ['other', other],
    ['still', still],
  ] as const) {
    sig[name] = dir.file(`${name}.sig`);
    await writeFile(sig[name], await te.engine.makeSignature(file));
  }
  server = await startTestServer(te.engine, dir.file('data'));
}, 300_000);

afterAll(() => closeTestServer(server, te, dir));

/** Upload bytes with tus under `fileName` and complete the upload; the completion's answer. */
async function uploadBytes(bytes: Buffer, fileName: string, purpose: 'search' | 'index') {
  const { id } = await tusUpload(server.url, bytes, { filename: fileName, purpose });
  return { id, complete: await json(server.url, `/api/uploads/${id}/complete`, { body: {} }) };
}

describe('signatures uploaded to the server', () => {
  it('a signature searched through an upload finds the same matches and segments as the engine finds with it', async () => {
    const { jobId, complete } = await uploadFile(server.url, sig.excerpt, 'search');
    // No pixels: the job offers no query thumbnail.
    expect(complete.body.job.links.queryThumbnail).toBeUndefined();
    const job = await waitForJob(server.url, jobId);
    expect(job.stage, JSON.stringify(job.error)).toBe('done');
    expect(job.result.query).toMatchObject({ path: 'excerpt.sig', media: false });
    const direct = await te.engine.search(sig.excerpt);
    const shape = (m: { videoId: string; segments: unknown[] }) => ({ videoId: m.videoId, segments: m.segments });
    expect(direct.matches[0]?.videoId).toBe(originalId);
    expect(job.result.matches.map(shape)).toEqual(direct.matches.map(shape));
    expect((await json(server.url, `/api/jobs/${jobId}/thumbnail`)).status).toBe(404);
  });

  it('a signature uploaded to index is a reference without media that a search by the file finds', async () => {
    const { jobId } = await uploadFile(server.url, sig.other, 'index');
    const job = await waitForJob(server.url, jobId);
    expect(job.stage, JSON.stringify(job.error)).toBe('done');
    expect(job.result.status).toBe('indexed');
    const video = await json(server.url, `/api/videos/${job.result.videoId}`);
    expect(video.body).toMatchObject({ title: 'other', metadata: { media: false, format: 'retrace signature' } });
    // Nothing to stream or show.
    expect((await json(server.url, `/api/videos/${job.result.videoId}/stream`)).status).toBe(404);
    const found = await te.engine.search(other);
    expect(found.matches[0]?.videoId).toBe(job.result.videoId);
    // The same signature again is the same content: a duplicate, and its second copy is not kept.
    const again = await waitForJob(server.url, (await uploadFile(server.url, sig.other, 'index')).jobId);
    expect(again.result).toMatchObject({ status: 'duplicate', videoId: job.result.videoId });
  });

  it('refuses a damaged signature with 422 BAD_SIGNATURE, as a query and to index, keeping nothing', async () => {
    const bytes = await readFile(sig.excerpt);
    const truncated = bytes.subarray(0, Math.floor(bytes.length / 2));
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length * 0.7)] ^= 0x40;
    for (const [bad, purpose] of [
      [truncated, 'search'],
      [flipped, 'index'],
    ] as const) {
      const { id, complete } = await uploadBytes(bad, 'damaged.sig', purpose);
      expect(complete.status, JSON.stringify(complete.body)).toBe(422);
      expect(complete.body.error.code).toBe('BAD_SIGNATURE');
      expect((await json(server.url, `/api/uploads/${id}`)).status).toBe(404);
    }
    expect(await listFiles(join(server.app.dataDir, 'queries'))).toEqual([]);
  });

  it('refuses a signature made with another descriptor with 422 DESCRIPTOR_MISMATCH', async () => {
    const decoded = decodeSignature(await readFile(sig.excerpt));
    const foreign = encodeSignature({ ...decoded, descriptor: { id: 'onnx:0123456789ab', dimensions: decoded.descriptor.dimensions } });
    for (const purpose of ['search', 'index'] as const) {
      const { complete } = await uploadBytes(foreign, 'foreign.sig', purpose);
      expect(complete.status, JSON.stringify(complete.body)).toBe(422);
      expect(complete.body.error.code).toBe('DESCRIPTOR_MISMATCH');
      expect(complete.body.error.message).toContain('onnx:0123456789ab');
    }
  });

  it("refuses to index a still image's signature (400), which can only be searched with", async () => {
    const { complete } = await uploadBytes(await readFile(sig.still), 'still.sig', 'index');
    expect(complete.status, JSON.stringify(complete.body)).toBe(400);
    expect(complete.body.error.code).toBe('INVALID_ARGUMENT');
    expect(complete.body.error.message).not.toContain('/');
  });
});

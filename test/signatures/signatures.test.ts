import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import type { SearchResult } from '../../src/core/engine/types.js';
import { decodeSignature, encodeSignature, fromHalf, toHalf } from '../../src/core/signatures/signature-format.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { editClip, extractStill, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';

/**
 * Two indexed references; the query is an 8-second excerpt of one (3 s → 11 s). Its signature
 * must find what the file finds, where the file finds it, with no media to verify against.
 */
const SEC = 14;
const RATE = 15;
const TOL = 1.5;

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;
const ref: Record<string, { path: string; id: string }> = {};
let query: string;
let querySig: string;

beforeAll(async () => {
  dir = await makeTempDir('retrace-signatures-');
  const dbReady = createTestDatabase();
  const pattern = await makeClip(dir, 'pattern', { source: 'rotatingPattern', durationSec: SEC, rate: RATE });
  const seahorse = await makeClip(dir, 'seahorse', { source: 'seahorse', durationSec: SEC, rate: RATE });
  query = await editClip(pattern, dir, 'query', { start: 3, duration: 8, vf: 'eq=brightness=0.05' });
  db = await dbReady;
  engine = await Retrace.open({ db: db.location });
  ref.pattern = { path: pattern, id: (await engine.index(pattern)).videoId };
  ref.seahorse = { path: seahorse, id: (await engine.index(seahorse)).videoId };
  querySig = dir.file('query.sig');
  await writeFile(querySig, await engine.makeSignature(query));
}, 180_000);

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

function summary(r: SearchResult) {
  return r.matches.map((m) => ({ id: m.videoId, segments: m.segments.map((s) => [s.queryStart, s.queryEnd, s.refStart, s.refEnd]) }));
}

describe('signatures', () => {
  it('a search by signature finds the same video and segment as a search by the file', async () => {
    const byFile = await engine.search(query);
    const bySig = await engine.search(querySig);
    expect(summary(bySig).map((m) => m.id)).toEqual(summary(byFile).map((m) => m.id));
    expect(bySig.matches.map((m) => m.videoId)).toEqual([ref.pattern.id]);
    const f = byFile.matches[0].segments[0];
    const s = bySig.matches[0].segments[0];
    for (const k of ['queryStart', 'queryEnd', 'refStart', 'refEnd'] as const)
      expect(Math.abs(s[k] - f[k]), `${k}: file ${f[k]}, signature ${s[k]}`).toBeLessThanOrEqual(TOL);
    // No media on the query's side: nothing verified, said so.
    expect(bySig.query.media).toBe(false);
    expect(s.verification.status).toBe('no-media');
    expect(s.verified).toBe(false);
  });

  it('a signature indexed without media is found by a search by file, marked as having no media', async () => {
    const copySig = dir.file('seahorse-copy.sig');
    const copy = await editClip(ref.seahorse.path, dir, 'seahorse-reencoded', { vf: 'hflip' });
    await writeFile(copySig, await engine.makeSignature(copy));
    const indexed = await engine.index(copySig, { title: 'seahorse (signature)' });
    expect(indexed.status).toBe('indexed');
    expect(indexed.video.metadata.media).toBe(false);
    expect((await engine.index(copySig)).status).toBe('duplicate');
    const found = await engine.search(await editClip(ref.seahorse.path, dir, 'seahorse-excerpt', { start: 2, duration: 8 }));
    const sigMatch = found.matches.find((m) => m.videoId === indexed.videoId);
    expect(sigMatch, JSON.stringify(found.matches.map((m) => [m.path, m.score]))).toBeDefined();
    expect(sigMatch!.media).toBe(false);
    expect(sigMatch!.segments.every((x) => x.verification.status === 'no-media')).toBe(true);
    // The file itself is verified as usual.
    expect(found.matches.find((m) => m.videoId === ref.seahorse.id)?.segments[0].verified).toBe(true);
    await engine.remove(indexed.videoId);
  });

  it('a still image signature finds the picture where a search by the image finds it', async () => {
    // At a stored frame's time: a signature has none of the second tier's regions (de-rotations, crops) that
    // find a picture between stored frames of this turning pattern.
    const still = await extractStill(ref.pattern.path, 6, dir.file('still.png'));
    const stillSig = dir.file('still.sig');
    await writeFile(stillSig, await engine.makeSignature(still));
    const byFile = await engine.search(still);
    const bySig = await engine.search(stillSig);
    expect(bySig.query.kind).toBe('image');
    expect(bySig.matches.map((m) => m.videoId)).toEqual(byFile.matches.map((m) => m.videoId));
    expect(bySig.matches.map((m) => m.videoId)).toEqual([ref.pattern.id]);
    const f = byFile.matches[0].segments[0];
    const s = bySig.matches[0].segments[0];
    expect(Math.abs(s.refStart - f.refStart), `file ${f.refStart}–${f.refEnd}, signature ${s.refStart}–${s.refEnd}`).toBeLessThanOrEqual(TOL);
    expect(s.verification.status).toBe('no-media');
    // A picture is searched, never indexed.
    await expectRetraceError(engine.index(stillSig), 'INVALID_ARGUMENT');
  });

  it('keeps every stored frame: decoding gives back times, qualities and vectors to half precision', async () => {
    const sig = decodeSignature(await readFile(querySig));
    expect(sig.version).toBe(1);
    expect(sig.kind).toBe('video');
    expect(sig.descriptor).toEqual({ id: engine.descriptor.id, dimensions: engine.descriptor.dimensions });
    expect(sig.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(sig.durationSec).toBeCloseTo(8, 0);
    expect(sig.frames.length).toBeGreaterThanOrEqual(7);
    for (const f of sig.frames) expect([...f.vectors.keys()]).toEqual([0, 1]);
    const again = decodeSignature(encodeSignature(sig));
    expect(again.frames.map((f) => f.timestampSec)).toEqual(sig.frames.map((f) => f.timestampSec));
    expect([...again.frames[0].vectors.get(0)!]).toEqual([...sig.frames[0].vectors.get(0)!]);
    for (const x of [0, 1, -2.5, 0.333, 65504, 1e-6, -0.0001]) expect(Math.abs(fromHalf(toHalf(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * 1e-3 + 6e-8);
  });

  it('refuses a signature made with another descriptor with DESCRIPTOR_MISMATCH', async () => {
    const sig = decodeSignature(await readFile(querySig));
    const other = dir.file('other.sig');
    await writeFile(other, encodeSignature({ ...sig, descriptor: { id: 'onnx:0123456789ab', dimensions: sig.descriptor.dimensions } }));
    await expectRetraceError(engine.search(other), 'DESCRIPTOR_MISMATCH');
    await expectRetraceError(engine.index(other), 'DESCRIPTOR_MISMATCH');
  });

  it('refuses a truncated or damaged signature with BAD_SIGNATURE', async () => {
    const bytes = await readFile(querySig);
    const truncated = dir.file('truncated.sig');
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectRetraceError(engine.search(truncated), 'BAD_SIGNATURE');
    const damaged = Buffer.from(bytes);
    damaged[Math.floor(damaged.length * 0.7)] ^= 0x40;
    const damagedPath = dir.file('damaged.sig');
    await writeFile(damagedPath, damaged);
    await expectRetraceError(engine.index(damagedPath), 'BAD_SIGNATURE');
    const future = Buffer.from(bytes);
    future.writeUInt16LE(9, 4);
    expect(() => decodeSignature(future)).toThrow(/version 9/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import { makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { pan } from '../helpers/textured-pan.js';

let dir: TempDir;
let withVerification: Retrace;
let descriptorsOnly: Retrace;
const clip: Record<'reference' | 'lookAlike' | 'copy', string> = {} as never;

beforeAll(async () => {
  dir = await makeTempDir('retrace-verify-');
  [clip.reference, clip.lookAlike, clip.copy] = await Promise.all([
    pan(1, dir.file('reference.mp4')),
    pan(2, dir.file('look-alike.mp4')),
    pan(1, dir.file('copy.mp4')),
  ]);
  withVerification = await Retrace.open({ db: 'memory://' });
  descriptorsOnly = await Retrace.open({ db: 'memory://', search: { verify: { enabled: false } } });
  for (const e of [withVerification, descriptorsOnly]) await e.index(clip.reference);
}, 120_000);

afterAll(async () => {
  await withVerification?.close();
  await descriptorsOnly?.close();
  await dir?.cleanup();
});

describe('verification of matches', () => {
  it('rejects an unrelated look-alike that descriptors and timing alone report as a copy', async () => {
    // The precondition: without verification the look-alike is a confident match.
    const unverified = await descriptorsOnly.search(clip.lookAlike);
    expect(unverified.matches.length).toBe(1);
    expect(unverified.matches[0].segments[0].verification.status).toBe('unverified');
    expect((await withVerification.search(clip.lookAlike)).matches).toEqual([]);
  });

  it('confirms the real copy of the same footage with geometry', async () => {
    const r = await withVerification.search(clip.copy);
    expect(r.matches.length).toBe(1);
    const s = r.matches[0].segments[0];
    expect(s.verified).toBe(true);
    expect(s.verification.agreeing).toBeGreaterThanOrEqual(2);
    expect(s.transform).toMatchObject({ mirrored: false });
    expect(s.transform!.scale).toBeCloseTo(1, 1);
  });
});

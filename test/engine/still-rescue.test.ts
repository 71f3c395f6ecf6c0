import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import { extractStill, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { pan } from '../helpers/textured-pan.js';

let dir: TempDir;
/** Descriptor evidence alone can never report a still here: only the rescue can. */
let rescueOnly: Retrace;
let noRescue: Retrace;
const still: Record<'between' | 'lookAlike', string> = {} as never;

// Scores above 1 are out of reach: no candidate of the ordinary path reaches verification.
const unreachable = { minImageScore: 2, verify: { candidateMinScore: 2 } };

beforeAll(async () => {
  dir = await makeTempDir('retrace-rescue-');
  const [reference, lookAlike] = await Promise.all([pan(1, dir.file('reference.mp4')), pan(2, dir.file('look-alike.mp4'))]);
  // Between two of the reference's once-a-second samples, while the camera pans.
  [still.between, still.lookAlike] = await Promise.all([
    extractStill(reference, 5.5, dir.file('between.png')),
    extractStill(lookAlike, 5.5, dir.file('look-alike.png')),
  ]);
  rescueOnly = await Retrace.open({ db: 'memory://', search: { ...unreachable, stillRescue: { enabled: true } } });
  noRescue = await Retrace.open({ db: 'memory://', search: { ...unreachable, stillRescue: { enabled: false } } });
  for (const e of [rescueOnly, noRescue]) await e.index(reference);
}, 120_000);

afterAll(async () => {
  await rescueOnly?.close();
  await noRescue?.close();
  await dir?.cleanup();
});

describe('a still that descriptor evidence does not single out', () => {
  it('is found by geometry against the videos its raw neighbours rank first, at the right moment', async () => {
    const r = await rescueOnly.search(still.between);
    expect(r.matches).toHaveLength(1);
    const s = r.matches[0].segments[0];
    expect(s.verification).toMatchObject({ status: 'confirmed' });
    expect(s.verification.inliers).toBeGreaterThanOrEqual(40);
    expect(s.verification.reason).toMatch(/found by geometry/);
    expect(Math.abs(s.refStart - 5.5)).toBeLessThanOrEqual(1);
  });

  it('is not found when the rescue is turned off (the precondition of the case above)', async () => {
    expect((await noRescue.search(still.between)).matches).toEqual([]);
  });

  it('is never rescued from a look-alike: same layout, other detail', async () => {
    expect((await rescueOnly.search(still.lookAlike)).matches).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import { makeCutClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';

/**
 * One 5-second intro (the game of life) opens three different 12-second programmes. The query is
 * the same intro followed by a programme never indexed: it shares nothing with the library but
 * the intro.
 */
const INTRO = { source: 'life', durationSec: 5 } as const;

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;
const ids: string[] = [];
let introThenNew: string;
let episode: string;

beforeAll(async () => {
  dir = await makeTempDir('retrace-recurring-');
  const dbReady = createTestDatabase();
  const episodes = [
    await makeCutClip(dir, 'ep1', [INTRO, { source: 'mandelbrot', durationSec: 12 }]),
    await makeCutClip(dir, 'ep2', [INTRO, { source: 'rotatingBars', durationSec: 12 }]),
    await makeCutClip(dir, 'ep3', [INTRO, { source: 'seahorse', durationSec: 12 }]),
  ];
  episode = episodes[0];
  introThenNew = await makeCutClip(dir, 'intro-then-new', [INTRO, { source: 'rotatingPattern', durationSec: 12 }]);
  db = await dbReady;
  engine = await Retrace.open({ db: db.location });
  for (const e of episodes) ids.push((await engine.index(e)).videoId);
  await engine.dedup();
}, 240_000);

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

describe('recurring segments', () => {
  it('lists the intro shared by the three programmes, where it is in each', async () => {
    const recurring = await engine.recurring();
    expect(recurring).toHaveLength(1);
    expect(recurring[0].videos).toBe(3);
    expect(recurring[0].occurrences.map((o) => o.video.id).sort()).toEqual([...ids].sort());
    for (const o of recurring[0].occurrences) {
      expect(o.start).toBeLessThanOrEqual(1);
      expect(Math.abs(o.end - INTRO.durationSec)).toBeLessThanOrEqual(1.5);
    }
    // The programmes share only the intro: related, none a copy of another.
    const { relations } = await engine.dedupRelations();
    expect(relations.map((r) => r.type)).toEqual(['related', 'related', 'related']);
  });

  it('a shared intro alone makes no match when recurring segments are ignored', async () => {
    const plain = await engine.search(introThenNew);
    expect(plain.matches.length).toBeGreaterThanOrEqual(1);
    const ignoring = await engine.search(introThenNew, { ignoreRecurring: true });
    expect(ignoring.matches.map((m) => `${m.path} ${m.score}`)).toEqual([]);
  });

  it('a real copy is still found with its intro ignored', async () => {
    const r = await engine.search(episode, { ignoreRecurring: true });
    expect(r.matches.map((m) => m.videoId)).toEqual([ids[0]]);
    // Found by the programme; refinement may still extend the segment over the intro, which the copy has too.
    expect(r.matches[0].segments[0].refEnd).toBeGreaterThanOrEqual(INTRO.durationSec + 8);
  });
});

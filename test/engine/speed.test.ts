import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import type { MatchSegment, SearchResult } from '../../src/core/engine/types.js';
import { CODECS, ffmpeg, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';

/**
 * Copies played at extreme speeds (issue 15): a 0.3× copy (one second of query shows 0.3 s of
 * the reference, so several query frames share one stored frame) and a 3× copy (consecutive
 * query frames skip stored frames). The reported segment must lie on the copy's own time line:
 * its reference interval where the copy came from, and its speed (reference length over query
 * length, `transform.speed`) within 10 % of the factor.
 *
 * The reference is ffmpeg's testsrc2 pattern turning slowly, small and at 15 fps: every second
 * looks different, and its edges give verification keypoints.
 */
const REF_SEC = 20;
const RATE = 15;
const SLOW = { factor: 0.3, start: 6, duration: 3.6 };
const FAST = { factor: 3, start: 3, duration: 13.5 };
/** Reference bounds within a second of the truth, speed within 10 %. */
const REF_TOL_SEC = 1;
const SPEED_TOL = 0.1;

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;
let refId: string;
const q: Record<'slow' | 'fast', string> = {} as never;

/** A copy of `duration` s of the reference from `start`, played at `factor`× (setpts), re-encoded. */
async function speedCopy(input: string, name: string, c: { factor: number; start: number; duration: number }): Promise<string> {
  const out = dir.file(`${name}.mp4`);
  // `-t` before `-i` cuts the input: after it, it would count the output's (stretched) time.
  await ffmpeg(['-ss', String(c.start), '-t', String(c.duration), '-i', input, '-an', '-vf', `setpts=(PTS-STARTPTS)/${c.factor}`, ...CODECS.h264.args, out]);
  return out;
}

beforeAll(async () => {
  dir = await makeTempDir('retrace-speed-');
  const dbReady = createTestDatabase();
  const ref = await makeClip(dir, 'pattern', { source: 'rotatingPattern', durationSec: REF_SEC, rate: RATE });
  [q.slow, q.fast] = await Promise.all([speedCopy(ref, 'q-slow', SLOW), speedCopy(ref, 'q-fast', FAST)]);
  db = await dbReady;
  engine = await Retrace.open({ db: db.location });
  refId = (await engine.index(ref, { title: 'pattern' })).videoId;
});

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

function bestSegment(r: SearchResult): MatchSegment {
  const names = r.matches.map((m) => `${m.title} (${m.score})`).join(', ') || 'no match';
  expect(
    r.matches.map((m) => m.videoId),
    `matches: ${names}`,
  ).toEqual([refId]);
  return [...r.matches[0].segments].sort((a, b) => b.score - a.score)[0];
}

function expectOnTimeLine(s: MatchSegment, c: { factor: number; start: number; duration: number }, queryDurationSec: number): void {
  const where = `segment query ${s.queryStart}–${s.queryEnd} ↔ ref ${s.refStart}–${s.refEnd}, transform ${JSON.stringify(s.transform)}`;
  expect(Math.abs(s.refStart - c.start), where).toBeLessThanOrEqual(REF_TOL_SEC);
  expect(Math.abs(s.refEnd - (c.start + c.duration)), where).toBeLessThanOrEqual(REF_TOL_SEC);
  // The segment covers the query (a second of slack at each end, as in search.test.ts).
  expect(s.queryStart, where).toBeLessThanOrEqual(1);
  expect(s.queryEnd, where).toBeGreaterThanOrEqual(queryDurationSec - 1);
  const segmentSpeed = (s.refEnd - s.refStart) / (s.queryEnd - s.queryStart);
  expect(Math.abs(segmentSpeed / c.factor - 1), where).toBeLessThanOrEqual(SPEED_TOL);
  // Verification reports the same speed with the geometry it confirmed.
  expect(s.verified, where).toBe(true);
  expect(Math.abs(s.transform!.speed / c.factor - 1), where).toBeLessThanOrEqual(SPEED_TOL);
  // Every frame reported as matched lies inside the segment.
  for (const f of s.frames) {
    expect(f.refTime, where).toBeGreaterThanOrEqual(s.refStart - 1e-6);
    expect(f.refTime, where).toBeLessThanOrEqual(s.refEnd + 1e-6);
  }
}

describe('copies at extreme speeds', () => {
  it('places a 0.3× copy (12 s of query showing 3.6 s of the reference) at its reference interval and speed', async () => {
    const r = await engine.search(q.slow);
    expectOnTimeLine(bestSegment(r), SLOW, r.query.durationSec);
  });

  it('places a 3× copy (4.5 s of query showing 13.5 s of the reference) at its reference interval and speed', async () => {
    const r = await engine.search(q.fast);
    expectOnTimeLine(bestSegment(r), FAST, r.query.durationSec);
  });
});

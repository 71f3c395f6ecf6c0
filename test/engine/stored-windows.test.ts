import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import { ffmpeg, h264Args, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { iou } from '../helpers/rect-overlap.js';

/**
 * A vertical 9:16 reframe keeps about a third of a landscape picture's width: it resembles
 * neither the stored whole picture nor its centre. An index built with stored windows keeps
 * narrow strips of every frame as well, and finds such reframes, fixed or panning; the copy is
 * reported only when verification confirms it.
 */
let dir: TempDir;
let withWindows: Retrace;
let plain: Retrace;
let reference: string;
let fixed: string;
let panning: string;
let sideBySide: string;

// The reference is 480×270 (16:9): a 9:16 window of its full height is 152 px, 0.32 of its width.
const W = 480;
const WINDOW_W = 152;

beforeAll(async () => {
  dir = await makeTempDir('retrace-windows-');
  // A zoom into the Mandelbrot set: every moment distinct, textured to the edges (a camera pan
  // would not do: a window of one moment is another moment's picture, moved).
  reference = await makeClip(dir, 'reference', { source: 'seahorse', durationSec: 16, width: W, height: 270, rate: 15 });
  fixed = dir.file('vertical-fixed.mp4');
  panning = dir.file('vertical-panning.mp4');
  sideBySide = dir.file('side-by-side.mp4');
  await Promise.all([
    // A reaction video: on the left an 8:9 half filled by cropping the reference off-centre (its
    // full height, half its width from 0.1), on the right other footage; 8 s from 5 s.
    ffmpeg([
      '-ss',
      '5',
      '-i',
      reference,
      '-f',
      'lavfi',
      '-i',
      'life=s=240x270:r=5:mold=20:ratio=0.5:seed=3,scale=480:540:flags=neighbor,fps=15',
      '-filter_complex',
      `[0:v]crop=240:270:48:0,scale=480:540,setsar=1[l];[1:v]setsar=1[r];[l][r]hstack=shortest=1`,
      '-t',
      '8',
      ...h264Args(23),
      sideBySide,
    ]),
    // A fixed window right of centre (from x 260), 9 s from 3 s, scaled up for a phone.
    ffmpeg(['-ss', '3', '-i', reference, '-vf', `crop=${WINDOW_W}:270:260:0,scale=360:640`, '-t', '9', ...h264Args(23), fixed]),
    // A window that pans from the left edge to the right over 10 s, from 4 s.
    ffmpeg(['-ss', '4', '-i', reference, '-vf', `crop=${WINDOW_W}:270:'(${W}-${WINDOW_W})*t/10':0,scale=360:640`, '-t', '10', ...h264Args(23), panning]),
  ]);
  withWindows = await Retrace.open({ db: 'memory://', storedWindows: true });
  plain = await Retrace.open({ db: 'memory://' });
  for (const e of [withWindows, plain]) await e.index(reference);
}, 240_000);

/**
 * The one match's first segment, confirmed by geometry and on the copy's line within 1.5 s (the
 * query's moment t shows the reference's `refStart` + t).
 */
async function confirmedCopy(query: string, refStart: number) {
  const r = await withWindows.search(query);
  expect(r.matches).toHaveLength(1);
  const seg = r.matches[0].segments[0];
  expect(seg.verification.status).toBe('confirmed');
  expect(Math.abs(seg.refStart - seg.queryStart - refStart)).toBeLessThan(1.5);
  return { result: r, seg };
}

afterAll(async () => {
  await withWindows?.close();
  await plain?.close();
  await dir?.cleanup();
});

describe('an index with stored windows', () => {
  it('says whether the index stores windows', () => {
    expect(withWindows.storedWindows).toBe(true);
    expect(plain.storedWindows).toBe(false);
  });

  it('finds a fixed vertical reframe, confirmed, at the right time and place', async () => {
    const { seg } = await confirmedCopy(fixed, 3);
    // The window is 0.32 of the reference's width, from 0.54.
    expect(iou(seg.transform!.refRect, { x: 260 / W, y: 0, width: WINDOW_W / W, height: 1 })).toBeGreaterThan(0.75);
  });

  it('finds a vertical reframe whose window pans across the picture', async () => {
    await confirmedCopy(panning, 4);
  });

  it('finds an off-centre crop of the reference in one half of a side-by-side video, and says which part it shows', async () => {
    const { result, seg } = await confirmedCopy(sideBySide, 5);
    expect(result.query.layout?.kind).toBe('split');
    // Half the reference's width from 0.1 (RANSAC's rectangle varies by a few hundredths a side).
    expect(iou(seg.transform!.refRect, { x: 0.1, y: 0, width: 0.5, height: 1 })).toBeGreaterThan(0.75);
  });

  it('without stored windows the fixed reframe is not found (the precondition of this feature)', async () => {
    // Only the fixed one: a portrait query is also searched by the bands across its middle
    // (guessPortraitLayout), and while the panning window crosses the zoom's centre such a band
    // can match the stored centre, partly and depending on the decoder.
    expect((await plain.search(fixed)).matches).toHaveLength(0);
  });
});

import { describe, expect, it } from 'vitest';
import { candidateSampling, selectFrames } from '../../src/core/engine/frame-selection.js';
import type { SelectedFrame } from '../../src/core/engine/frame-selection.js';
import { DEFAULT_SAMPLING } from '../../src/core/media/frame-sampler.js';
import type { SampledFrame, SamplingOptions } from '../../src/core/media/frame-sampler.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { seededRng } from '../helpers/seeded-rng.js';

const SIZE = 128;
const STEP = 0.25; // candidate spacing, as the sampler delivers them with motion sampling on

/** A wide textured landscape (random smooth blobs) that a camera can pan across. */
function landscape(width: number, seed: number): (x: number, y: number) => number {
  const r = seededRng(seed);
  const blobs = Array.from({ length: Math.round(width / 12) }, () => ({ x: r() * width, y: r() * SIZE, s: 6 + r() * 14, v: r() * 200 - 100 }));
  const px = new Float32Array(width * SIZE).fill(120);
  for (const b of blobs) {
    // Each blob painted within 3 sigma only: the landscape is made once, the views read it.
    const r3 = Math.ceil(3 * b.s);
    for (let y = Math.max(0, Math.floor(b.y - r3)); y < Math.min(SIZE, b.y + r3); y++) {
      for (let x = Math.max(0, Math.floor(b.x - r3)); x < Math.min(width, b.x + r3); x++) {
        px[y * width + x] += b.v * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.s * b.s));
      }
    }
  }
  return (x, y) => px[y * width + Math.min(width - 1, Math.floor(x))];
}

function view(scene: (x: number, y: number) => number, offsetX: number): Raster {
  const data = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) data[y * SIZE + x] = Math.max(0, Math.min(255, Math.round(scene(x + offsetX, y))));
  return { width: SIZE, height: SIZE, channels: 1, data };
}

const flat: Raster = { width: SIZE, height: SIZE, channels: 1, data: new Uint8Array(SIZE * SIZE).fill(16) };

function frame(t: number, raster: Raster, isKeyframe = false): SampledFrame {
  return { frameNumber: Math.round(t * 25), timestampSec: t, isKeyframe, raster };
}

async function* stream(frames: SampledFrame[]): AsyncGenerator<SampledFrame> {
  yield* frames;
}

/** Motion sampling is opt-in; these tests turn it on at the threshold the docs suggest. */
const MOTION: SamplingOptions = { ...DEFAULT_SAMPLING, motionThreshold: 0.85 };

async function select(frames: SampledFrame[], sampling: Partial<SamplingOptions> = {}, maxFrames?: number): Promise<SelectedFrame[]> {
  const out: SelectedFrame[] = [];
  for await (const f of selectFrames(stream(frames), { sampling: { ...MOTION, ...sampling }, minQuality: 0.2, maxFrames })) out.push(f);
  return out;
}

const times = (n: number) => Array.from({ length: n }, (_, i) => +(i * STEP).toFixed(2));
const scene = landscape(3000, 7);

describe('selectFrames (motion-adaptive sampling for indexing)', () => {
  it('keeps one frame a second of a static shot', async () => {
    const still = view(scene, 0);
    const kept = await select(times(40).map((t) => frame(t, still)));
    expect(kept.map((f) => f.timestampSec)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(kept.every((f) => !f.forMotion)).toBe(true);
  });

  it('keeps extra frames while the camera pans fast, and only then', async () => {
    // 10 s: still for 4 s, a fast pan (40 px per candidate, a third of the picture) for 3 s, still again.
    const offsetAt = (t: number) => (t < 4 ? 0 : t < 7 ? (t - 4) * 160 : 480);
    const kept = await select(times(40).map((t) => frame(t, view(scene, offsetAt(t)))));
    const motion = kept.filter((f) => f.forMotion).map((f) => f.timestampSec);
    expect(motion.length).toBeGreaterThanOrEqual(6);
    expect(motion.every((t) => t > 4 && t <= 7)).toBe(true);
    // Every candidate of the pan resembles a kept frame: the stills a user might grab are covered.
    for (let i = 0; i < kept.length - 1; i++) expect(kept[i + 1].timestampSec - kept[i].timestampSec).toBeLessThanOrEqual(1 + 1e-9);
  });

  it('keeps a scene cut at once, but not closer than the minimum keyframe gap to the last kept frame', async () => {
    const a = view(scene, 0);
    const b = view(landscape(400, 99), 0);
    const frames = [frame(0, a), frame(0.25, a), frame(0.5, b, true), frame(0.6, a, true), frame(0.75, a), frame(1, a), frame(1.25, a), frame(1.5, a)];
    const kept = await select(frames, { motionThreshold: 0, minKeyframeGapSec: 0.25 });
    // The one-second grid restarts at the cut, as it does in the decoder's own selection.
    expect(kept.map((f) => f.timestampSec)).toEqual([0, 0.5, 1.5]);
    expect(kept[1].isKeyframe).toBe(true);
  });

  it('never adds frames for near-flat pictures, whose descriptors are noise', async () => {
    // A dark, grainy stretch: a new faint noise pattern every candidate.
    const r = seededRng(3);
    const grain = () => ({ ...flat, data: flat.data.map((v) => v + Math.round(r() * 3)) });
    const kept = await select(times(16).map((t) => frame(t, grain())));
    expect(kept.map((f) => f.timestampSec)).toEqual([0, 1, 2, 3]);
    // Nor does a flat frame stand in as the picture to compare with.
    const mixed = await select(times(8).map((t, i) => frame(t, i === 0 ? flat : view(scene, 0))));
    expect(mixed.filter((f) => f.forMotion)).toEqual([]);
  });

  it('with motion sampling off, keeps exactly the interval grid', async () => {
    const kept = await select(
      times(20).map((t) => frame(t, view(scene, t * 400))),
      { motionThreshold: 0 },
    );
    expect(kept.map((f) => f.timestampSec)).toEqual([0, 1, 2, 3, 4]);
    expect(DEFAULT_SAMPLING.motionThreshold).toBe(0);
    expect(candidateSampling(DEFAULT_SAMPLING).intervalSec).toBe(1);
    expect(candidateSampling(MOTION).intervalSec).toBe(MOTION.motionIntervalSec);
  });

  it('counts only kept frames against the frame limit', async () => {
    const still = view(scene, 0);
    await expect(
      select(
        times(40).map((t) => frame(t, still)),
        {},
        10,
      ),
    ).resolves.toHaveLength(10);
    await expect(
      select(
        times(44).map((t) => frame(t, still)),
        {},
        10,
      ),
    ).rejects.toMatchObject({ code: 'TOO_MANY_FRAMES' });
  });
});

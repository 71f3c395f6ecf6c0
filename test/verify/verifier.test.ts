import { describe, expect, it } from 'vitest';
import type { Raster } from '../../src/core/frames/raster.js';
import { DEFAULT_VERIFY } from '../../src/core/engine/retrace.js';
import { comparePair, FeatureCache, type Affine, type PairFit } from '../../src/core/verify/local-features.js';
import { describeGeometry, describeTransform, judgeFits, pickPairs } from '../../src/core/verify/segment-verification.js';
import { seededRng } from '../helpers/seeded-rng.js';

/**
 * Generated frames: a coarse colour layout (a bright diagonal band over a dark gradient) with
 * fine detail drawn on it (random rectangles and discs). Two scenes with the same layout and
 * different detail look alike to a global descriptor; only one of them is a copy.
 */
const W = 640;
const H = 360;

function scene(seed: number): Raster {
  const r = seededRng(seed);
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = 60 + 80 * Math.exp(-(((x - y * 1.6) / 160) ** 2)) + (40 * y) / H;
  for (let i = 0; i < 260; i++) {
    const cx = r() * W,
      cy = r() * H,
      size = 4 + r() * 22,
      v = Math.round(r() * 255);
    const disc = r() < 0.5;
    for (let y = Math.max(0, Math.floor(cy - size)); y < Math.min(H, cy + size); y++) {
      for (let x = Math.max(0, Math.floor(cx - size)); x < Math.min(W, cx + size); x++) {
        if (!disc || (x - cx) ** 2 + (y - cy) ** 2 <= size * size) data[y * W + x] = (data[y * W + x] + v) >> 1;
      }
    }
  }
  return { width: W, height: H, channels: 1, data };
}

/** Bilinear resample of a part of `src` (fractions of its frame) to `w`×`h`, mirrored if asked. */
function cut(src: Raster, rect: { x: number; y: number; width: number; height: number }, w: number, h: number, mirror = false): Raster {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const fx = mirror ? 1 - (x + 0.5) / w : (x + 0.5) / w;
      const sx = (rect.x + fx * rect.width) * src.width - 0.5;
      const sy = (rect.y + ((y + 0.5) / h) * rect.height) * src.height - 0.5;
      const x0 = Math.max(0, Math.min(src.width - 2, Math.floor(sx))),
        y0 = Math.max(0, Math.min(src.height - 2, Math.floor(sy)));
      const ax = Math.min(1, Math.max(0, sx - x0)),
        ay = Math.min(1, Math.max(0, sy - y0));
      const p = (xx: number, yy: number) => src.data[yy * src.width + xx];
      out[y * w + x] = Math.round((p(x0, y0) * (1 - ax) + p(x0 + 1, y0) * ax) * (1 - ay) + (p(x0, y0 + 1) * (1 - ax) + p(x0 + 1, y0 + 1) * ax) * ay);
    }
  }
  return { width: w, height: h, channels: 1, data: out };
}

const WHOLE = { x: 0, y: 0, width: 1, height: 1 };
const CENTRE_70 = { x: 0.15, y: 0.15, width: 0.7, height: 0.7 };
const S = DEFAULT_VERIFY;

/**
 * A faint scene at 320×180 (low-contrast detail, as a distant landscape at that size) under two
 * bands of black and white blocks: caption lettering, all corners, stronger than anything else.
 */
function captionedPair(seed: number): { query: Raster; ref: Raster } {
  const [w, h] = [320, 180];
  const r = seededRng(seed);
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = 60 + 80 * Math.exp(-(((x - y * 1.6) / 80) ** 2)) + (40 * y) / h;
  for (let i = 0; i < 200; i++) {
    const [cx, cy, size, v] = [r() * w, r() * h, 2 + r() * 11, Math.round(r() * 255)];
    for (let y = Math.max(0, Math.floor(cy - size)); y < Math.min(h, cy + size); y++) {
      for (let x = Math.max(0, Math.floor(cx - size)); x < Math.min(w, cx + size); x++) data[y * w + x] = (3 * data[y * w + x] + v) >> 2;
    }
  }
  const captioned = new Uint8Array(data);
  const letters = seededRng(seed + 100);
  for (const [y0, y1] of [
    [15, 50],
    [100, 135],
  ]) {
    for (let bx = 4; bx < w - 4; bx += 5) {
      for (let by = y0; by < y1; by += 4) {
        const v = letters() < 0.5 ? 0 : 255;
        for (let y = by; y < Math.min(y1, by + 3); y++) for (let x = bx; x < bx + 3; x++) captioned[y * w + x] = v;
      }
    }
  }
  return { query: { width: w, height: h, channels: 1, data: captioned }, ref: { width: w, height: h, channels: 1, data } };
}

/** A plausible fit of `model` with this many inliers, spread over most of both frames. */
function plausibleFit(model: Affine, inliers: number): PairFit {
  const box = { x0: 0.1, y0: 0.1, x1: 0.9, y1: 0.9 };
  return {
    status: 'match',
    mirrored: false,
    inliers,
    matches: Math.round(inliers * 1.3),
    keypoints: { query: 300, ref: 300 },
    queryBox: box,
    refBox: box,
    model,
  };
}

describe('verification of frame pairs', () => {
  it('confirms a mirrored centre crop of 70 % and reports that transform', async () => {
    const fits = [];
    for (const seed of [1, 2, 3]) {
      const ref = scene(seed);
      fits.push(await comparePair(cut(ref, CENTRE_70, 320, 180, true), cut(ref, WHOLE, 320, 180), S));
    }
    for (const f of fits) {
      expect(f.status).toBe('match');
      expect(f.mirrored).toBe(true);
    }
    const verdict = judgeFits(fits, S);
    expect(verdict.status).toBe('confirmed');
    const t = describeGeometry(verdict.model!, verdict.mirrored, { query: 16 / 9, ref: 16 / 9 }, { speed: 1.5, offsetSec: 4 });
    expect(t.mirrored).toBe(true);
    expect(t.scale).toBeCloseTo(1 / 0.7, 1);
    expect(Math.abs(t.rotationDeg)).toBeLessThan(2);
    expect(t.refRect.x).toBeCloseTo(0.15, 1);
    expect(t.refRect.y).toBeCloseTo(0.15, 1);
    expect(t.refRect.width).toBeCloseTo(0.7, 1);
    expect(t.refRect.height).toBeCloseTo(0.7, 1);
    expect(describeTransform(t)).toBe('mirrored · centre 49 % · 1.5× speed');
  });

  it('confirms a picture-in-picture inset and places it in the query frame', async () => {
    const fits = [];
    for (const seed of [4, 5]) {
      const ref = scene(seed);
      // The reference at 55 % width in the top right of other footage.
      const other = cut(scene(seed + 100), WHOLE, 640, 360);
      const inset = cut(ref, WHOLE, 352, 198);
      const q = { ...other, data: Uint8Array.from(other.data) };
      for (let y = 0; y < 198; y++) for (let x = 0; x < 352; x++) q.data[(y + 20) * 640 + x + 268] = inset.data[y * 352 + x];
      fits.push(await comparePair(cut(q, WHOLE, 320, 180), cut(ref, WHOLE, 320, 180), S));
    }
    const verdict = judgeFits(fits, S);
    expect(verdict.status).toBe('confirmed');
    const t = describeGeometry(verdict.model!, verdict.mirrored, { query: 16 / 9, ref: 16 / 9 }, { speed: 1, offsetSec: 0 });
    expect(t.mirrored).toBe(false);
    expect(t.scale).toBeCloseTo(0.55, 1);
    expect(t.queryRect.x).toBeCloseTo(268 / 640, 1);
    expect(t.queryRect.width).toBeCloseTo(0.55, 1);
  });

  it('confirms a 16:9 picture placed across the middle of a vertical 9:16 canvas', async () => {
    const fits = [];
    for (const seed of [6, 7]) {
      const ref = scene(seed);
      // 320×568 canvas (its display shape), the picture 320×180 at y 194, above and below it
      // an enlarged, softened copy, as vertical reposts of landscape clips are made.
      const q = cut(ref, { x: 0.34, y: 0, width: 0.32, height: 1 }, 320, 568);
      const soft = Uint8Array.from(q.data, (v, i) => (v + q.data[Math.max(0, i - 3)] + q.data[Math.min(q.data.length - 1, i + 3)]) / 3);
      const canvas = { ...q, data: soft };
      const pic = cut(ref, WHOLE, 320, 180);
      canvas.data.set(pic.data, 194 * 320);
      fits.push(await comparePair(canvas, cut(ref, WHOLE, 320, 180), S));
    }
    const verdict = judgeFits(fits, S);
    expect(verdict.status).toBe('confirmed');
    const t = describeGeometry(verdict.model!, verdict.mirrored, { query: 9 / 16, ref: 16 / 9 }, { speed: 1, offsetSec: 0 });
    expect(t.queryRect.y).toBeCloseTo(194 / 568, 1);
    expect(t.queryRect.height).toBeCloseTo(180 / 568, 1);
    expect(t.refRect.width).toBeCloseTo(1, 1);
  });

  it('gives the same fits with a feature cache as without, and a pair compared again costs nothing', async () => {
    const ref = scene(7);
    const query = cut(ref, CENTRE_70, 320, 180, true);
    const other = cut(scene(8), WHOLE, 320, 180);
    const whole = cut(ref, WHOLE, 320, 180);
    const cache = new FeatureCache();
    try {
      for (const r of [whole, other]) {
        const plain = await comparePair(query, r, S);
        const cached = await comparePair(query, r, S, false, cache);
        expect(cached).toEqual(plain);
        // The same pair again comes from the cache: the very same fit.
        expect(await comparePair(query, r, S, false, cache)).toBe(cached);
      }
    } finally {
      cache.dispose();
    }
  });

  it('compares again with a larger keypoint budget when captions use up the first', async () => {
    const { query, ref } = captionedPair(1);
    const once = await comparePair(query, ref, { ...S, orbFeaturesRetry: 0 });
    expect(once.keypoints.query).toBe(S.orbFeatures);
    expect(once.status).not.toBe('match');
    const twice = await comparePair(query, ref, S);
    expect(twice.status).toBe('match');
    expect(twice.keypoints.query).toBeGreaterThan(S.orbFeatures);
    // The model found is the identity: the captions were drawn over the reference as it is.
    const [a, b, c, d, e, f] = twice.model!;
    for (const [got, want] of [
      [a, 1],
      [b, 0],
      [c, 0],
      [d, 0],
      [e, 1],
      [f, 0],
    ])
      expect(got).toBeCloseTo(want, 1);
  });

  it('confirms a vertical reframe that pans across its source: three moments of one window moving at a steady pace', async () => {
    // A 0.32-wide window of the reference whose left edge moves 0.2 → 0.6 over 8 s.
    const at = (t: number, jitter = 0): PairFit => ({ ...plausibleFit([0.32, 0, 0.2 + 0.05 * t + jitter, 0, 1, 0], 60), at: t });
    const panning = [at(0), at(3), at(5.5), at(8)];
    // No two of them agree on one position, so the rigid rule alone would reject the copy.
    expect(judgeFits(panning.slice(0, 2), S).status).toBe('rejected');
    expect(judgeFits(panning, S)).toMatchObject({ status: 'confirmed', agreeing: 4 });
    // A window that jumps back and forth is no pan; nor are two moments, which always lie on a line.
    expect(judgeFits([at(0), at(3, -0.25), at(5.5, 0.25), at(8)], S).status).toBe('rejected');
    // Windows of another size (scale) at each moment are chance fits, whatever their path.
    const wobbly = [0.32, 0.5, 0.7].map((w, i) => ({ ...plausibleFit([w, 0, 0.1 * i, 0, 1, 0], 60), at: 3 * i }));
    expect(judgeFits(wobbly, S).status).toBe('rejected');
  });

  it('rejects two different scenes with the same colour layout', async () => {
    const fits = [];
    for (const seed of [11, 12, 13]) fits.push(await comparePair(cut(scene(seed), WHOLE, 320, 180), cut(scene(seed + 50), WHOLE, 320, 180), S));
    for (const f of fits) expect(f.status).toBe('nomatch');
    expect(judgeFits(fits, S).status).toBe('rejected');
  });

  it('abstains on frames without texture instead of voting', async () => {
    const flat = (v: number): Raster => ({ width: 320, height: 180, channels: 1, data: new Uint8Array(320 * 180).fill(v) });
    const fits = [await comparePair(flat(30), flat(30), S), await comparePair(flat(200), cut(scene(7), WHOLE, 320, 180), S)];
    for (const f of fits) expect(f.status).toBe('flat');
    expect(judgeFits(fits, S).status).toBe('abstained');
  });

  it('does not confirm pairs whose models disagree, however strong each one is', () => {
    const a = plausibleFit([1, 0, 0, 0, 1, 0], 80);
    const b = plausibleFit([0.6, 0, 0.3, 0, 0.6, 0.1], 80);
    expect(judgeFits([a, b], S).status).toBe('rejected');
    expect(judgeFits([a, { ...a }], S).status).toBe('confirmed');
  });

  it('confirms pairs that agree at a neighbouring reference instant, and only then', () => {
    const fit = (model: Affine) => plausibleFit(model, 60);
    // A turning picture: at the expected instant the second pair fits turned 7°, at the frame
    // 0.6 s later (a 3× copy's line is that far off) it fits as the first pair does.
    const c = Math.cos((7 * Math.PI) / 180);
    const sn = Math.sin((7 * Math.PI) / 180);
    const first = fit([1, 0, 0, 0, 1, 0]);
    const turned = fit([c, -sn, 0.05, sn, c, -0.05]);
    expect(judgeFits([first, turned], S).status).toBe('rejected');
    expect(judgeFits([first, { ...turned, alternatives: [fit([1, 0, 0.01, 0, 1, 0])] }], S)).toMatchObject({ status: 'confirmed', agreeing: 2 });
    // Alternatives that fit yet another model do not help.
    expect(judgeFits([first, { ...turned, alternatives: [fit([0.6, 0, 0.3, 0, 0.6, 0.1])] }], S).status).toBe('rejected');
  });

  it('picks pairs spread over the segment, the most similar of each stretch', () => {
    const points = Array.from({ length: 20 }, (_, i) => ({ tq: i * 0.5, tr: 10 + i * 0.5, similarity: i % 3 === 0 ? 0.9 : 0.8 }));
    const pairs = pickPairs(points, 4);
    expect(pairs).toHaveLength(4);
    expect(pairs[0].queryTime).toBeLessThan(2.5);
    expect(pairs[3].queryTime).toBeGreaterThan(7);
    for (const p of pairs) expect(points.find((x) => x.tq === p.queryTime)!.similarity).toBe(0.9);
  });
});

describe('verifySegments', () => {
  it('takes query frames before the end when a segment runs past the last frame', async () => {
    const { verifySegments } = await import('../../src/core/verify/verify-segments.js');
    const { makeClip, makeTempDir } = await import('../helpers/media-fixtures.js');
    const dir = await makeTempDir('retrace-verify-end-');
    try {
      const clip = await makeClip(dir, 'clip', { source: 'seahorse', durationSec: 4 });
      const ref = { path: clip, width: 320, height: 240, durationSec: 4 };
      // Sampled segments end up to an interval past the last frame (4.4 s here).
      const points = [0.5, 2, 4.4].map((t) => ({ tq: t, tr: t, similarity: 0.95 }));
      const [outcome] = await verifySegments({ path: clip, width: 320, height: 240, isImage: false, durationSec: 4 }, [{ ref, points }], S);
      expect(outcome.status).not.toBe('unavailable');
    } finally {
      await dir.cleanup();
    }
  });

  it('leaves segments unverified, without failing, when the query frames cannot be decoded again', async () => {
    const { verifySegments } = await import('../../src/core/verify/verify-segments.js');
    const ref = { path: 'package.json', width: 320, height: 240, durationSec: 10 };
    const points = [0, 1, 2].map((t) => ({ tq: t, tr: t + 3, similarity: 0.9 }));
    const [outcome] = await verifySegments({ path: 'no-such-query.mp4', width: 320, height: 240, isImage: false }, [{ ref, points }], S);
    expect(outcome.status).toBe('unavailable');
    expect(outcome.status === 'unavailable' && outcome.reason).toMatch(/^query frames/);
  });
});

describe('describeGeometry', () => {
  const band = { x: 0, y: 0.375, width: 1, height: 0.25 };
  it('describes a copy left in place as the whole frame, whatever window was compared (a caption band found as an inset)', () => {
    const t = describeGeometry([1.004, 0, -0.002, 0, 0.998, 0.003], false, { query: 16 / 9, ref: 16 / 9 }, { speed: 1, offsetSec: 0 }, [band]);
    expect(t.queryRect.width * t.queryRect.height).toBeGreaterThan(0.99);
    expect(t.refRect.width * t.refRect.height).toBeGreaterThan(0.99);
    expect(t.summary).toBe('as is');
  });

  it('confines a copy that was moved and scaled into a panel to that panel', () => {
    // The left half of a side-by-side shows the reference's centre, enlarged: beyond the half is other footage.
    const left = { x: 0, y: 0, width: 0.5, height: 1 };
    const t = describeGeometry([0.5, 0, 0.25, 0, 1, 0], false, { query: 16 / 9, ref: 16 / 9 }, { speed: 1, offsetSec: 0 }, [left]);
    expect(t.queryRect).toEqual(left);
    expect(t.refRect.x).toBeCloseTo(0.25, 2);
    expect(t.refRect.width).toBeCloseTo(0.25, 2);
  });
});

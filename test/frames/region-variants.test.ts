import { describe, expect, it } from 'vitest';
import { BuiltinDescriptor } from '../../src/core/descriptors/builtin-descriptor.js';
import { rotate } from '../../src/core/frames/raster.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { quadrantQueryRects, queryRegions, storedRegions, STORED_VARIANT, windowRegions } from '../../src/core/frames/region-variants.js';
import { detectContentRect } from '../../src/core/frames/border-detection.js';

// A smooth, structured "scene" in display coordinates (x in [0, aspect], y in [0, 1]).
function scene(x: number, y: number): number {
  return (
    128 +
    50 * Math.sin(7 * x + 2 * y) * Math.cos(5 * y - x) +
    40 * Math.sin(19 * x - 4 * y) * Math.sin(17 * y + 3 * x) +
    35 * Math.exp(-((x - 0.6) ** 2 + (y - 0.35) ** 2) * 30) * 3 -
    30 * Math.exp(-((x - 1.2) ** 2 + (y - 0.7) ** 2) * 25) * 3
  );
}

/**
 * A stretched luma raster (like the sampler's) of the display-space window
 * [x0, x1] × [y0, y1] of the scene, optionally rotated by `deg` about the window's centre and
 * then enlarged by `zoom` (what a rotate-and-zoom-to-fill copy shows). Black outside the scene.
 */
function render(w: number, h: number, win: [number, number, number, number], deg = 0, zoom = 1): Raster {
  const [x0, x1, y0, y1] = win;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const t = (deg * Math.PI) / 180;
  const data = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const X = (x0 + ((i + 0.5) / w) * (x1 - x0) - cx) / zoom;
      const Y = (y0 + ((j + 0.5) / h) * (y1 - y0) - cy) / zoom;
      // Inverse rotation: which scene point lands here.
      const sx = Math.cos(t) * X + Math.sin(t) * Y + cx;
      const sy = -Math.sin(t) * X + Math.cos(t) * Y + cy;
      const inside = sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1;
      data[j * w + i] = inside ? Math.max(0, Math.min(255, Math.round(scene(sx, sy)))) : 0;
    }
  }
  return { width: w, height: h, channels: 1, data };
}

const ASPECT = 16 / 9;
const FULL: [number, number, number, number] = [0, ASPECT, 0, 1];
const d = new BuiltinDescriptor();
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const whole = (r: Raster) => ({ x: 0, y: 0, width: r.width, height: r.height });

function centreError(a: Raster, b: Raster): number {
  let s = 0;
  let n = 0;
  for (let y = a.height / 4; y < (3 * a.height) / 4; y++) {
    for (let x = a.width / 4; x < (3 * a.width) / 4; x++) {
      s += Math.abs(a.data[y * a.width + x] - b.data[y * b.width + x]);
      n++;
    }
  }
  return s / n;
}

describe('rotate', () => {
  it('undoes a rotation done in display geometry on a stretched raster', () => {
    const src = render(128, 128, FULL);
    const rotated = render(128, 128, FULL, 6);
    const undone = rotate(rotated, -6, ASPECT);
    const wrongAspect = rotate(rotated, -6, 1);
    const wrongSense = rotate(rotated, 6, ASPECT);
    expect(centreError(undone, src)).toBeLessThan(4);
    // The test can tell: a square-pixel assumption or the wrong sense leaves a clear error.
    expect(centreError(wrongAspect, src)).toBeGreaterThan(2 * centreError(undone, src));
    expect(centreError(wrongSense, src)).toBeGreaterThan(4 * centreError(undone, src));
  });
});

describe('queryRegions, second tier', () => {
  const src = render(128, 128, FULL);
  const [, centre] = storedRegions(src, whole(src)).map((s) => d.describeOne(s.raster));

  function best(q: Raster, pick: (kind: string, i: number) => boolean): number {
    const regions = queryRegions(q, whole(q), 2, { displayAspect: ASPECT });
    let m = -1;
    regions.forEach((r, i) => {
      if (r.against.includes(STORED_VARIANT.centre) && pick(r.kind, i)) m = Math.max(m, dot(d.describeOne(r.raster), centre));
    });
    return m;
  }

  it('finds the stored centre in an asymmetric crop with an off-centre zoom', () => {
    // 12 % off the left and top, 22 % off the right and bottom, rescaled back.
    const q = render(128, 128, [0.12 * ASPECT, 0.78 * ASPECT, 0.12, 0.78]);
    const regions = queryRegions(q, whole(q), 2, { displayAspect: ASPECT });
    // Zooms come in groups of six per scale pair: the centred crop and its mirror image first.
    const centredIdx = new Set(regions.map((r, i) => (r.kind === 'zoom' && (i % 6 === 0 || i % 6 === 1) ? i : -1)));
    const all = best(q, (k) => k === 'zoom');
    const centredOnly = best(q, (k, i) => k === 'zoom' && centredIdx.has(i));
    expect(all).toBeGreaterThan(0.9);
    expect(all).toBeGreaterThan(centredOnly + 0.02);
  });

  it('finds the stored centre in a rotated, zoomed-to-fill copy by de-rotating it', () => {
    const t = (7 * Math.PI) / 180;
    const zoom = Math.cos(t) + ASPECT * Math.sin(t);
    const q = render(128, 128, FULL, 7, zoom);
    const derotated = best(q, (k) => k === 'derotate');
    const zooms = best(q, (k) => k === 'zoom');
    expect(derotated).toBeGreaterThan(0.9);
    expect(derotated).toBeGreaterThan(zooms + 0.02);
  });

  it('matches a black-cornered rotation of a scene whose flat floor the index stripped', () => {
    // The source's bottom quarter is a flat white table: the index strips it like a bar. The
    // rotated copy's black corners break that flat run, so its own border removal keeps it.
    const table = (r: Raster): Raster => ({ ...r, data: r.data.map((v, i) => (Math.floor(i / r.width) >= r.height * 0.75 ? 235 : v)) });
    const source = table(render(128, 128, FULL));
    const stored = storedRegions(source, detectContentRect(source)).map((s) => d.describeOne(s.raster));
    expect(detectContentRect(source).height).toBeLessThanOrEqual(100);
    const q = rotate(source, 6.5, ASPECT);
    const regions = queryRegions(q, detectContentRect(q), 2, { displayAspect: ASPECT, windows: false, only: (k) => k.startsWith('derotate -') });
    const bestAgainst = (variant: number) =>
      Math.max(...regions.filter((r) => r.against.includes(variant)).map((r) => dot(d.describeOne(r.raster), stored[variant])));
    expect(bestAgainst(STORED_VARIANT.whole)).toBeGreaterThan(0.8);
    // What the whole de-rotated picture, wedges and table included, reaches.
    const plain = rotate(q, -5.5, ASPECT);
    expect(bestAgainst(STORED_VARIANT.whole)).toBeGreaterThan(dot(d.describeOne(plain), stored[STORED_VARIANT.whole]) + 0.1);
  });

  it('compares every second-tier region with a stored variant', () => {
    const q = render(96, 96, FULL);
    const regions = queryRegions(q, whole(q), 2, { displayAspect: ASPECT });
    expect(regions.filter((r) => r.kind === 'zoom').every((r) => r.against.length === 1 && r.against[0] === STORED_VARIANT.centre)).toBe(true);
    expect(regions.filter((r) => r.kind === 'window').every((r) => r.against.length === 1 && r.against[0] === STORED_VARIANT.whole)).toBe(true);
    expect(regions.filter((r) => r.kind === 'derotate')).toHaveLength(18);
  });
});

describe('queryRegions, first tier', () => {
  const q = render(128, 128, FULL);
  const full = whole(q);

  it('compares the whole picture with both stored variants and its centre with the stored centre only', () => {
    const regions = queryRegions(q, full, 1);
    const kinds = regions.map((r) => `${r.kind}${r.flipped ? '/flipped' : ''}`);
    expect(kinds).toEqual(['whole', 'whole/flipped', 'centre']);
    expect(regions[0].against).toEqual([STORED_VARIANT.whole, STORED_VARIANT.centre]);
    expect(regions[2].against).toEqual([STORED_VARIANT.centre]);
    // The centre region describes exactly like the stored centre of the same picture.
    const [, storedCentre] = storedRegions(q, full).map((s) => d.describeOne(s.raster));
    expect(dot(d.describeOne(regions[2].raster), storedCentre)).toBeGreaterThan(0.999);
  });

  it('adds the picture with a one-sided flat run kept, as a darkened copy clips its shadows to black', () => {
    // Content found 0…90 wide: a flat run on the right only.
    const oneSided = queryRegions(q, { x: 0, y: 0, width: 90, height: 128 }, 1);
    const unstripped = oneSided.filter((r) => r.kind === 'unstripped');
    expect(unstripped).toHaveLength(1);
    expect(unstripped[0].raster.width).toBe(128);
    // Matched bars on both sides are letterbox or pillarbox: nothing to add.
    const paired = queryRegions(q, { x: 16, y: 0, width: 96, height: 128 }, 1);
    expect(paired.some((r) => r.kind === 'unstripped')).toBe(false);
  });
});

describe('queryRegions, second tier without windows', () => {
  it('leaves out the sub-windows (an image query has no time to confirm a window)', () => {
    const q = render(96, 96, FULL);
    const withWindows = queryRegions(q, whole(q), 2, { displayAspect: ASPECT });
    const without = queryRegions(q, whole(q), 2, { displayAspect: ASPECT, windows: false });
    expect(withWindows.filter((r) => r.kind === 'window')).toHaveLength(18);
    expect(without.filter((r) => r.kind === 'window')).toHaveLength(0);
    expect(without).toHaveLength(withWindows.length - 18);
  });

  it('leaves out the de-rotations when asked (image queries: no time to confirm a guess)', () => {
    const q = render(96, 96, FULL);
    const all = queryRegions(q, whole(q), 2, { displayAspect: ASPECT });
    const without = queryRegions(q, whole(q), 2, { displayAspect: ASPECT, rotations: false });
    expect(without.filter((r) => r.kind === 'derotate')).toHaveLength(0);
    expect(without).toHaveLength(all.length - 18);
  });
});

describe('queryRegions, keys', () => {
  it('names every region of a tier with a key that is unique and the same for every frame', () => {
    const a = render(128, 128, FULL);
    const b = render(128, 128, [0.2, 1.4, 0.1, 0.9]);
    for (const tier of [1, 2, 3] as const) {
      const keysA = queryRegions(a, whole(a), tier, { displayAspect: ASPECT }).map((r) => r.key);
      const keysB = queryRegions(b, whole(b), tier, { displayAspect: ASPECT }).map((r) => r.key);
      expect(new Set(keysA).size).toBe(keysA.length);
      expect(keysB).toEqual(keysA);
    }
    // The first tier's optional regions keep their own names, so an inset is never mistaken
    // for the picture with its flat runs kept in another frame.
    const withBoth = queryRegions(a, { x: 0, y: 0, width: 90, height: 128 }, 1, { inset: { x: 64, y: 64, width: 60, height: 60 } });
    expect(withBoth.map((r) => r.key)).toEqual(['whole', 'whole/flip', 'centre', 'unstripped', 'inset', 'inset/flip']);
  });

  it('builds only the regions asked for, identical to the same regions built with all the others', () => {
    const q = render(128, 128, FULL);
    const all = queryRegions(q, whole(q), 2, { displayAspect: ASPECT });
    const wanted = new Set(['derotate -5.5 centre', 'zoom 0.75x0.65 @0.25,0.75', 'zoom 0.87x0.87/flip']);
    const some = queryRegions(q, whole(q), 2, { displayAspect: ASPECT, only: (k) => wanted.has(k) });
    expect(some.map((r) => r.key).sort()).toEqual([...wanted].sort());
    for (const r of some) expect(r.raster.data).toEqual(all.find((x) => x.key === r.key)!.raster.data);
  });
});

describe('queryRegions, third tier (refinement only)', () => {
  it('trims each side of the picture, so a frame whose flat sky was stripped as a bar still compares', () => {
    const q = render(128, 128, FULL);
    const trims = queryRegions(q, whole(q), 3);
    expect(trims).toHaveLength(24);
    expect(trims.every((r) => r.kind === 'trim' && r.against.length === 1 && r.against[0] === STORED_VARIANT.whole)).toBe(true);
    // The reference's detector took the top 26 rows off this frame (a flat sky, say).
    const strippedRef = d.describeOne(storedRegions(q, { x: 0, y: 26, width: 128, height: 102 })[0].raster);
    const sim = (key: string) => dot(d.describeOne(trims.find((r) => r.key === key)!.raster), strippedRef);
    const untrimmed = dot(d.describeOne(queryRegions(q, whole(q), 1)[0].raster), strippedRef);
    expect(sim('trim top 0.2')).toBeGreaterThan(0.95);
    expect(sim('trim top 0.2')).toBeGreaterThan(untrimmed + 0.1);
    expect(sim('trim top 0.2')).toBeGreaterThan(sim('trim bottom 0.2'));
  });
});

describe('stored windows', () => {
  it('store 7 strip positions over a 4-frame cycle (1.75 a frame) and a quadrant at four places in turn', () => {
    const cycle = [0, 1, 2, 3].map((ordinal) => windowRegions(ASPECT, ordinal));
    const strips = cycle.flatMap((w) => w.filter((r) => r.variant !== STORED_VARIANT.quadrant));
    expect(strips).toHaveLength(7);
    // 0.32 of the height wide in display units: 0.18 of a 16:9 picture's width.
    for (const s of strips) expect(s.rect).toMatchObject({ y: 0, height: 1, width: expect.closeTo(0.18, 2) });
    expect(new Set(strips.map((s) => s.rect.x.toFixed(3))).size).toBe(7);
    const quadrants = cycle.map((w) => w.find((r) => r.variant === STORED_VARIANT.quadrant)!.rect);
    expect(new Set(quadrants.map((r) => `${r.x.toFixed(2)},${r.y.toFixed(2)}`)).size).toBe(4);
    // The cycle repeats with the frame's ordinal.
    expect(windowRegions(ASPECT, 5)).toEqual(cycle[1]);
  });

  it('keep the quadrant a quarter of the picture off its edges, so that an off-centre crop cutting every edge contains one', () => {
    // A crop keeping 46 % of the picture, cut on all four sides, nearer the bottom right.
    const crop = { x: 0.3, y: 0.3, width: 0.66, height: 0.69 };
    const inside = (r: { x: number; y: number; width: number; height: number }) =>
      r.x >= crop.x && r.y >= crop.y && r.x + r.width <= crop.x + crop.width && r.y + r.height <= crop.y + crop.height;
    for (const aspect of [ASPECT, 4 / 3, 1, 9 / 16]) {
      const quadrants = [0, 1, 2, 3].map((o) => windowRegions(aspect, o).find((r) => r.variant === STORED_VARIANT.quadrant)!.rect);
      for (const q of quadrants) {
        expect(q).toMatchObject({ width: 0.5, height: 0.5 });
        expect(Math.min(q.x, q.y, 1 - q.x - q.width, 1 - q.y - q.height)).toBeGreaterThan(0.1);
      }
      expect(quadrants.filter(inside)).toHaveLength(1);
    }
  });

  it('look for a quadrant of a 16:9 reference wherever it fits, and of other shapes only in queries shaped like a crop of them', () => {
    const shapes = (aq: number) => new Set(quadrantQueryRects(aq).map((r) => r.aspect.toFixed(2)));
    expect(shapes(16 / 9)).toEqual(new Set(['1.78', '1.33']));
    expect(shapes(0.72)).toEqual(new Set(['1.00', '0.56']));
    // The region shows the reference's quadrant at its shape: half its width and height.
    for (const r of quadrantQueryRects(1)) expect((r.rect.width * 1) / r.rect.height).toBeCloseTo(r.aspect, 6);
  });

  it('store no strips on footage so narrow that a strip would span most of it', () => {
    expect(windowRegions(1 / 2, 0).map((r) => r.variant)).toEqual([STORED_VARIANT.quadrant]);
  });

  it('are stored only when asked for, as variants of their own', () => {
    const src = render(128, 72, FULL);
    expect(storedRegions(src, whole(src)).map((r) => r.variant)).toEqual([STORED_VARIANT.whole, STORED_VARIANT.centre]);
    expect(storedRegions(src, whole(src), { ordinal: 0, displayAspect: ASPECT }).map((r) => r.variant)).toEqual([
      STORED_VARIANT.whole,
      STORED_VARIANT.centre,
      STORED_VARIANT.stripA,
      STORED_VARIANT.stripB,
      STORED_VARIANT.quadrant,
    ]);
  });

  it('let a vertical 9:16 reframe of a 16:9 frame be found: a query strip matches the stored strip inside the window', () => {
    // The reframe keeps 0.316 of the width from 0.4 of it, scaled to a portrait raster.
    const x0 = 0.4 * ASPECT;
    const x1 = x0 + (9 / 16) * 1;
    const query = render(72, 128, [x0, x1, 0, 1]);
    const regions = queryRegions(query, whole(query), 2, { displayAspect: 9 / 16, storedWindows: true }).filter((r) => r.kind === 'strip');
    expect(regions.length).toBeGreaterThan(3);
    const src = render(256, 144, FULL);
    // Over a cycle of four stored frames, the strips lying inside the window are matched closely.
    const stored = [0, 1, 2, 3].flatMap((ordinal) =>
      storedRegions(src, whole(src), { ordinal, displayAspect: ASPECT }).filter(
        (r) => r.variant === STORED_VARIANT.stripA || r.variant === STORED_VARIANT.stripB,
      ),
    );
    const best = Math.max(...stored.flatMap((s) => regions.map((r) => dot(d.describeOne(r.raster), d.describeOne(s.raster)))));
    expect(best).toBeGreaterThan(0.95);
    // Without stored windows the query has no strips at all.
    expect(queryRegions(query, whole(query), 2, { displayAspect: 9 / 16 }).some((r) => r.kind === 'strip')).toBe(false);
  });
});

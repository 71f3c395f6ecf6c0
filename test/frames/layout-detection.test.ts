import { describe, expect, it } from 'vitest';
import { detectLayout, guessPortraitLayout } from '../../src/core/frames/layout-detection.js';
import type { Raster, Rect } from '../../src/core/frames/raster.js';
import { coverCentre, queryRegions } from '../../src/core/frames/region-variants.js';
import { seededRng } from '../helpers/seeded-rng.js';

const S = 128;

/** A detailed picture (a moving pattern with pixel-scale texture), different on every call. */
function picture(width: number, height: number, r: () => number): Float64Array {
  const [a, b, p, q] = [0.05 + r() * 0.2, 0.05 + r() * 0.2, r() * 6.3, r() * 6.3];
  const level = 70 + r() * 100;
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) out[y * width + x] = level + 45 * Math.sin(a * x + p) * Math.cos(b * y + q) + 30 * (r() - 0.5);
  return out;
}

function boxBlur(src: Float64Array, w: number, h: number, radius: number): Float64Array {
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let n = 0;
      for (let dy = -radius; dy <= radius; dy++) {
        for (let dx = -radius; dx <= radius; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
            s += src[yy * w + xx];
            n++;
          }
        }
      }
      out[y * w + x] = s / n;
    }
  }
  return out;
}

const toRaster = (v: Float64Array): Raster => ({
  width: S,
  height: S,
  channels: 1,
  data: Uint8Array.from(v, (x) => Math.max(0, Math.min(255, Math.round(x)))),
});

/** A 16:9 picture across the middle of a vertical canvas, above and below it an enlarged, blurred copy. */
function blurredVertical(frames: number, band: { y: number; height: number }, seed = 1): Raster[] {
  const r = seededRng(seed);
  return Array.from({ length: frames }, () => {
    const pic = picture(S, band.height, r);
    const zoom = S / band.height;
    const bg = new Float64Array(S * S);
    // The surround shows the picture's middle enlarged to the canvas height, then blurred.
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        bg[y * S + x] = pic[Math.min(band.height - 1, Math.floor(y / zoom)) * S + Math.min(S - 1, Math.floor(S / 2 + (x - S / 2) / zoom))];
    const canvas = boxBlur(bg, S, S, 5);
    for (let y = 0; y < band.height; y++) for (let x = 0; x < S; x++) canvas[(band.y + y) * S + x] = pic[y * S + x];
    return toRaster(canvas);
  });
}

/** Two unrelated pictures either side of a line: columns (side by side) or rows (one above the other). */
function split(frames: number, axis: 'cols' | 'rows', at: number, seed = 1): Raster[] {
  const r = seededRng(seed);
  return Array.from({ length: frames }, () => {
    const one = picture(S, S, r);
    const two = picture(S, S, r);
    const canvas = new Float64Array(S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) canvas[y * S + x] = ((axis === 'cols' ? x : y) < at ? one : two)[y * S + x];
    return toRaster(canvas);
  });
}

function expectNear(found: Rect, want: Rect, tol = 3): void {
  for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(found[k] - want[k]), `${k}: ${JSON.stringify(found)}`).toBeLessThanOrEqual(tol);
}

describe('detectLayout', () => {
  it('finds the sharp picture of a vertical repost inside its blurred, enlarged copy', () => {
    const band = { y: 44, height: 40 };
    const layout = detectLayout(blurredVertical(12, band));
    expect(layout?.kind).toBe('blur-surround');
    expectNear(layout!.panels[0], { x: 0, y: 44, width: S, height: 40 });
  });

  it('splits a side-by-side video into its halves, and a top-and-bottom one likewise', () => {
    const sbs = detectLayout(split(12, 'cols', 64));
    expect(sbs?.kind).toBe('split');
    expect(sbs!.panels).toHaveLength(2);
    expectNear(sbs!.panels[0], { x: 0, y: 0, width: 64, height: S });
    expectNear(sbs!.panels[1], { x: 64, y: 0, width: 64, height: S });
    const tb = detectLayout(split(12, 'rows', 64, 2));
    expectNear(tb!.panels[0], { x: 0, y: 0, width: S, height: 64 });
    expectNear(tb!.panels[1], { x: 0, y: 64, width: S, height: 64 });
  });

  it('splits a top-and-bottom video whose copy is letterboxed within its half: a bar meets the other picture at the line', () => {
    const frames = split(12, 'rows', 64, 5).map((f) => {
      const data = Uint8Array.from(f.data);
      // The lower half holds a wide picture with black bars above and below it.
      for (let y = 64; y < 84; y++) data.fill(16, y * S, (y + 1) * S);
      for (let y = 108; y < S; y++) data.fill(16, y * S, (y + 1) * S);
      return { ...f, data };
    });
    const layout = detectLayout(frames);
    expect(layout?.kind).toBe('split');
    expectNear(layout!.panels[1], { x: 0, y: 64, width: S, height: 64 });
  });

  it('takes a split line that is an edge along only part of its length when the pictures either side are unrelated', () => {
    const r = seededRng(6);
    // Over the left third both pictures are the same grey, grainy floor: no edge there.
    const frames = Array.from({ length: 12 }, () => {
      const top = picture(S, S, r);
      const bottom = picture(S, S, r);
      const canvas = new Float64Array(S * S);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) canvas[y * S + x] = x < 45 ? 120 + 6 * (r() - 0.5) : (y < 64 ? top : bottom)[y * S + x];
      return toRaster(canvas);
    });
    expect(detectLayout(frames)?.kind).toBe('split');
  });

  it('finds nothing in ordinary footage, in a uniformly soft picture, or at an edge that does not halve the frame', () => {
    const r = seededRng(3);
    const ordinary = Array.from({ length: 12 }, () => toRaster(picture(S, S, r)));
    expect(detectLayout(ordinary)).toBeNull();
    const soft = Array.from({ length: 12 }, () => toRaster(boxBlur(picture(S, S, r), S, S, 4)));
    expect(detectLayout(soft)).toBeNull();
    // A table edge or a wall in a fixed shot is a steady line too; split layouts cut in halves.
    expect(detectLayout(split(12, 'rows', 70, 4))).toBeNull();
  });

  it('needs several frames: one cannot tell a layout from a scene', () => {
    expect(detectLayout(split(2, 'cols', 64))).toBeNull();
  });
});

describe('guessPortraitLayout', () => {
  it('assumes a landscape picture fitted to the width of a portrait canvas: the 16:9 and the 4:3 bands', () => {
    const guess = guessPortraitLayout(S, S, 9 / 16);
    expect(guess?.guessed).toBe(true);
    expectNear(guess!.panels[0], { x: 0, y: 44, width: S, height: 40 }, 1);
    expectNear(guess!.panels[1], { x: 0, y: 37, width: S, height: 54 }, 1);
  });

  it('assumes nothing of a landscape or square query', () => {
    expect(guessPortraitLayout(S, S, 16 / 9)).toBeNull();
    expect(guessPortraitLayout(S, S, 1)).toBeNull();
  });
});

describe('panel regions', () => {
  it('searches each panel as a picture, with its centre and where the source centre lies when the panel was filled by cropping', () => {
    const [frame] = split(1, 'cols', 64);
    const content = { x: 0, y: 0, width: S, height: S };
    const panels = [
      { x: 0, y: 0, width: 63, height: S },
      { x: 65, y: 0, width: 63, height: S },
    ];
    const keys = queryRegions(frame, content, 1, { panels, displayAspect: 16 / 9 }).map((r) => r.key);
    expect(keys).toEqual(expect.arrayContaining(['panel 0', 'panel 0/flip', 'panel 0 centre', 'panel 0 cover', 'panel 1', 'panel 1 cover']));
  });

  it('places the stored centre of a 16:9 source in a panel that shows a centred crop of it', () => {
    const panel = { x: 0, y: 0, width: 100, height: 100 };
    // An 8:9 half shows the middle half of the source's width: the centre is its full width, middle half of its height.
    expectNear(coverCentre(panel, 8 / 9)!, { x: 0, y: 25, width: 100, height: 50 }, 0.5);
    // A 9:8 half of a vertical canvas shows 0.63 of the width.
    expectNear(coverCentre(panel, 9 / 8)!, { x: 10.5, y: 25, width: 79, height: 50 }, 0.5);
    // The source's own shape needs nothing more; a 9:16 window shows less than the centre.
    expect(coverCentre(panel, 16 / 9)).toBeNull();
    expect(coverCentre(panel, 9 / 16)).toBeNull();
  });
});

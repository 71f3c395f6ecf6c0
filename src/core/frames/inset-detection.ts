import type { Raster, Rect } from './raster.js';
import { toLuma } from './raster.js';
import type { InsetOptions } from '../settings/frame-settings.js';
import { DEFAULT_INSET } from '../settings/frame-settings.js';
export type { InsetOptions } from '../settings/frame-settings.js';
export { DEFAULT_INSET } from '../settings/frame-settings.js';

interface Line {
  /** Column (vertical line) or row (horizontal line) index. */
  at: number;
  /** Prefix counts of border pixels along the line, so coverage of any stretch is O(1). */
  cum: Uint16Array;
}

/**
 * Find a picture-in-picture inset: a rectangle whose sides are edges that stay put while the
 * content on both sides changes. Averaged over the query's frames such a border is a line far
 * stronger than its neighbours, while ordinary scene edges move and blur out. Candidate border
 * lines are found first, then paired into a rectangle. Sides on the frame's own edge are allowed
 * (insets are often pinned to a corner or a side), but two sides at least must be drawn.
 * Returns null when nothing is convincing.
 *
 * @example
 * const inset = detectInset(frames.map((f) => f.raster)); // { x, y, width, height } | null
 */
export function detectInset(frames: readonly Raster[], o: InsetOptions = DEFAULT_INSET): Rect | null {
  return detectInsets(frames, o)[0] ?? null;
}

/**
 * The inset and its close alternatives, best first: rectangles scoring within
 * `alternativeMargin` of the best that are not the same rectangle (overlap under 0.9), at most
 * `alternatives` of them. A steady edge of the footage around an inset (or inside it) makes a
 * side one line off as good a border as the true one, and the best score then wins by a little:
 * each is searched, and verification compares the one that found the copy.
 *
 * @example
 * const [inset, ...others] = detectInsets(frames.map((f) => f.raster));
 */
export function detectInsets(frames: readonly Raster[], o: InsetOptions = DEFAULT_INSET): Rect[] {
  if (frames.length < 3) return [];
  const edges = averagedEdges(frames);
  const found = rankInsets(edges, o, o.minFraction);
  const ranked = found.length || o.fallbackMinFraction >= o.minFraction ? found : rankInsets(edges, o, o.fallbackMinFraction);
  if (!ranked.length) return [];
  const out = [ranked[0]];
  for (const c of ranked.slice(1)) {
    if (out.length > o.alternatives || c.score < ranked[0].score - o.alternativeMargin) break;
    if (out.every((r) => overlap(r.rect, c.rect) < 0.9)) out.push(c);
  }
  // Step one pixel inside the border: its own pixels mix the inset with what surrounds it.
  return out.map(({ rect: r }) => ({ x: r.x + 1, y: r.y + 1, width: r.width - 2, height: r.height - 2 }));
}

/** Intersection over union of two rectangles. */
function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const i = w > 0 && h > 0 ? w * h : 0;
  return i / (a.width * a.height + b.width * b.height - i);
}

interface AveragedEdges {
  width: number;
  height: number;
  /** Time-summed absolute differences across each column boundary (dx at x: between x-1 and x), and row boundary. */
  dx: Float64Array;
  dy: Float64Array;
  frames: number;
}

function averagedEdges(frames: readonly Raster[]): AveragedEdges {
  const W = frames[0].width;
  const H = frames[0].height;
  const dx = new Float64Array(W * H);
  const dy = new Float64Array(W * H);
  for (const f of frames) {
    const l = toLuma(f).data;
    for (let y = 0; y < H; y++) for (let x = 1; x < W; x++) dx[y * W + x] += Math.abs(l[y * W + x] - l[y * W + x - 1]);
    for (let y = 1; y < H; y++) for (let x = 0; x < W; x++) dy[y * W + x] += Math.abs(l[y * W + x] - l[(y - 1) * W + x]);
  }
  return { width: W, height: H, dx, dy, frames: frames.length };
}

/** Rectangles of border lines whose sides are at least `minFraction` of the frame's, best-scoring first. */
function rankInsets(e: AveragedEdges, o: InsetOptions, minFraction: number): Array<{ rect: Rect; score: number }> {
  const { width: W, height: H, dx, dy } = e;
  const eps = e.frames * 1.5;
  const vLines = findLines(W, H, (x, y) => dx[y * W + x], o, minFraction, eps);
  const hLines = findLines(H, W, (y, x) => dy[y * W + x], o, minFraction, eps);

  // Fraction of a side that is border: counted pixel by pixel, because scene edges crossing the
  // border break it into pieces that a longest-run measure would miss.
  const cover = (line: Line | null, a: number, b: number) => (line === null ? 1 : (line.cum[b] - line.cum[a]) / Math.max(1, b - a));
  const lefts: Array<Line | null> = [null, ...vLines];
  const tops: Array<Line | null> = [null, ...hLines];
  const ranked: Array<{ rect: Rect; score: number }> = [];
  for (const l of lefts) {
    for (const r of [...vLines, null]) {
      const x0 = l ? l.at : 0;
      const x1 = r ? r.at : W;
      if (x1 - x0 < minFraction * W || x1 - x0 > o.maxFraction * W) continue;
      for (const t of tops) {
        for (const b of [...hLines, null]) {
          const y0 = t ? t.at : 0;
          const y1 = b ? b.at : H;
          if (y1 - y0 < minFraction * H || y1 - y0 > o.maxFraction * H) continue;
          const drawn = [l, r, t, b].filter(Boolean).length;
          if (drawn < 2) continue;
          const cv = [cover(l, y0, y1), cover(r, y0, y1), cover(t, x0, x1), cover(b, x0, x1)];
          if (Math.min(...cv) < o.minCoverage) continue;
          const score = drawn + cv.reduce((s, c) => s + c, 0);
          ranked.push({ rect: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score });
        }
      }
    }
  }
  return ranked.sort((a, b) => b.score - a.score);
}

/**
 * Lines across which the averaged difference `d(pos, along)` is a strong local maximum along much
 * of their length. An edge can fall between two output pixels and split over two neighbouring
 * positions, so a position's strength is the larger of itself and the next one.
 */
function findLines(n: number, len: number, d: (pos: number, along: number) => number, o: InsetOptions, minFraction: number, eps: number): Line[] {
  const found: Array<Line & { count: number }> = [];
  for (let p = 4; p < n - 2; p++) {
    const cum = new Uint16Array(len + 1);
    for (let a = 0; a < len; a++) {
      const s = Math.max(d(p, a), d(p + 1, a));
      // Mean, not max, of the two sides: an inset often borders a textured region on one side.
      const around = (d(p - 2, a) + d(Math.min(n - 1, p + 3), a)) / 2;
      cum[a + 1] = cum[a] + (s > o.minContrast * around + eps ? 1 : 0);
    }
    const count = cum[len];
    if (count >= minFraction * len * o.minCoverage) found.push({ at: p, cum, count });
  }
  // Keep the strongest of neighbouring positions (a split edge shows up at p and p+1).
  found.sort((a, b) => b.count - a.count);
  const kept: Line[] = [];
  for (const f of found) if (!kept.some((k) => Math.abs(k.at - f.at) <= 2)) kept.push({ at: f.at, cum: f.cum });
  return kept.slice(0, 12);
}

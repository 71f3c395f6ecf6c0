/**
 * A small decoded picture, row-major, 8 bits per channel. Frames leave ffmpeg in this form
 * (already scaled down inside ffmpeg) and every later step works on it in memory.
 */
export interface Raster {
  width: number;
  height: number;
  /** 1 = luma only, 3 = RGB interleaved. */
  channels: 1 | 3;
  data: Uint8Array;
}

/** A rectangle in pixel coordinates of a raster. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A rectangle as fractions (0–1) of a frame's width and height. */
export interface NormRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Luma (BT.601 weights) of a raster as a new single-channel raster; a luma raster is returned as is. */
export function toLuma(r: Raster): Raster {
  if (r.channels === 1) return r;
  const n = r.width * r.height;
  const out = new Uint8Array(n);
  const d = r.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (d[j] * 77 + d[j + 1] * 150 + d[j + 2] * 29) >> 8;
  }
  return { width: r.width, height: r.height, channels: 1, data: out };
}

/** Copy out a rectangle (clamped to the raster). */
export function crop(r: Raster, rect: Rect): Raster {
  const x0 = Math.max(0, Math.min(r.width - 1, Math.round(rect.x)));
  const y0 = Math.max(0, Math.min(r.height - 1, Math.round(rect.y)));
  const w = Math.max(1, Math.min(r.width - x0, Math.round(rect.width)));
  const h = Math.max(1, Math.min(r.height - y0, Math.round(rect.height)));
  if (x0 === 0 && y0 === 0 && w === r.width && h === r.height) return r;
  const c = r.channels;
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) {
    const src = ((y0 + y) * r.width + x0) * c;
    out.set(r.data.subarray(src, src + w * c), y * w * c);
  }
  return { width: w, height: h, channels: r.channels, data: out };
}

/** Mirror left-right. */
export function flipHorizontal(r: Raster): Raster {
  const { width: w, height: h, channels: c } = r;
  const out = new Uint8Array(r.data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      const s = row + x * c;
      const t = row + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) out[t + k] = r.data[s + k];
    }
  }
  return { width: w, height: h, channels: c, data: out };
}

/**
 * Resample to an exact size by area averaging (box filter over the source footprint of each
 * target pixel). Area averaging is what keeps a downscaled hash stable under re-encoding noise;
 * when enlarging it degrades to nearest-neighbour, which is fine for the small factors we use.
 */
export function resizeArea(r: Raster, width: number, height: number): Float32Array {
  const { width: sw, height: sh, channels: c } = r;
  const out = new Float32Array(width * height * c);
  const fx = sw / width;
  const fy = sh / height;
  if (Number.isInteger(fx) && Number.isInteger(fy)) return resizeWholeBlocks(r, width, height, fx, fy, out);
  for (let ty = 0; ty < height; ty++) {
    const y0 = ty * fy;
    const y1 = y0 + fy;
    const iy0 = Math.floor(y0);
    const iy1 = Math.min(sh, Math.ceil(y1));
    for (let tx = 0; tx < width; tx++) {
      const x0 = tx * fx;
      const x1 = x0 + fx;
      const ix0 = Math.floor(x0);
      const ix1 = Math.min(sw, Math.ceil(x1));
      for (let k = 0; k < c; k++) {
        let sum = 0;
        let wsum = 0;
        for (let y = iy0; y < iy1; y++) {
          const wy = Math.min(y + 1, y1) - Math.max(y, y0);
          if (wy <= 0) continue;
          const row = y * sw;
          for (let x = ix0; x < ix1; x++) {
            const wx = Math.min(x + 1, x1) - Math.max(x, x0);
            if (wx <= 0) continue;
            const wgt = wx * wy;
            sum += r.data[(row + x) * c + k] * wgt;
            wsum += wgt;
          }
        }
        out[(ty * width + tx) * c + k] = wsum > 0 ? sum / wsum : 0;
      }
    }
  }
  return out;
}

/**
 * `resizeArea` when every target pixel covers a whole fx×fy block (a 128-pixel frame or its
 * 64-pixel centre to 32): every weight is 1, so the general loop's sum is an exact integer sum
 * and its weight sum is fx·fy, and this gives the same floats bit for bit, without the
 * per-pixel weight arithmetic (the common case when indexing: most frames have no bars).
 */
function resizeWholeBlocks(r: Raster, width: number, height: number, fx: number, fy: number, out: Float32Array): Float32Array {
  const { width: sw, channels: c, data } = r;
  const n = fx * fy;
  for (let ty = 0; ty < height; ty++) {
    for (let tx = 0; tx < width; tx++) {
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let y = ty * fy, y1 = y + fy; y < y1; y++) {
          let i = (y * sw + tx * fx) * c + k;
          for (let x = 0; x < fx; x++, i += c) sum += data[i];
        }
        out[(ty * width + tx) * c + k] = sum / n;
      }
    }
  }
  return out;
}

/**
 * Rotate about the centre by `degrees` (positive = clockwise on screen), bilinear, black outside.
 * Frames are stretched to a square-ish raster before description, so the rotation is done in
 * display geometry: `aspect` is the displayed width/height of the picture the raster shows.
 */
export function rotate(r: Raster, degrees: number, aspect: number): Raster {
  const { width: w, height: h, channels: c } = r;
  const out = new Uint8Array(r.data.length);
  const th = (degrees * Math.PI) / 180;
  const cos = Math.cos(th);
  const sin = Math.sin(th);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  // Raster x units → display units (raster heights): one raster column is sx display units.
  const sx = (aspect * h) / w;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Inverse map: where in the source does this output pixel come from?
      const X = (x - cx) * sx;
      const Y = y - cy;
      const fx = (cos * X + sin * Y) / sx + cx;
      const fy = -sin * X + cos * Y + cy;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      if (x0 < 0 || y0 < 0 || x0 >= w - 1 || y0 >= h - 1) continue;
      const ax = fx - x0;
      const ay = fy - y0;
      const i = (y0 * w + x0) * c;
      const o = (y * w + x) * c;
      for (let k = 0; k < c; k++) {
        const d = r.data;
        out[o + k] = Math.round(
          d[i + k] * (1 - ax) * (1 - ay) + d[i + c + k] * ax * (1 - ay) + d[i + w * c + k] * (1 - ax) * ay + d[i + w * c + c + k] * ax * ay,
        );
      }
    }
  }
  return { width: w, height: h, channels: c, data: out };
}

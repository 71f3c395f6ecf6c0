import type { Raster, Rect } from './raster.js';
import { crop } from './raster.js';
import { detectContentRect } from './border-detection.js';
import { frameQuality } from './frame-quality.js';

/** A frame after border removal, with its information score. */
export interface PreparedFrame {
  raster: Raster;
  content: Rect;
  quality: number;
}

/** Border removal and quality scoring, shared by indexing and search so both see frames alike. */
export function prepareFrame(raster: Raster): PreparedFrame {
  const content = detectContentRect(raster);
  return { raster, content, quality: frameQuality(crop(raster, content)) };
}

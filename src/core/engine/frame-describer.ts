import type { FrameDescriptor } from '../descriptors/frame-descriptor.js';
import type { Raster, Rect } from '../frames/raster.js';
import { crop } from '../frames/raster.js';
import { detectContentRect } from '../frames/border-detection.js';
import { frameQuality } from '../frames/frame-quality.js';

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

/** Describe many regions in descriptor-sized batches, preserving order. */
export async function describeAll(descriptor: FrameDescriptor, rasters: readonly Raster[], batchSize = 64): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < rasters.length; i += batchSize) {
    out.push(...(await descriptor.describe(rasters.slice(i, i + batchSize))));
  }
  return out;
}

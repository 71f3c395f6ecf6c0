import type { Raster } from '../frames/raster.js';

/**
 * The descriptor seam. A descriptor turns frames into fixed-length, L2-normalised vectors
 * compared by cosine similarity. Two implementations ship: the built-in one (no weights)
 * and one that runs a user-supplied ONNX image-embedding model.
 *
 * The pipeline, not the descriptor, decodes, removes black borders and builds query
 * variants (flips, crops), so every descriptor gets the same robustness machinery.
 */
export interface FrameDescriptor {
  /** Stable identity stored with the index, e.g. `builtin-dct-v1` or `onnx:<sha256-prefix>`. An index only accepts the descriptor it was built with. */
  readonly id: string;
  /** Length of every vector this descriptor returns. */
  readonly dimensions: number;
  /** What the sampler should decode frames to (the picture is stretched to this size; aspect is not kept). */
  readonly input: { width: number; height: number; channels: 1 | 3 };
  /**
   * Describe a batch of frames. Frames arrive border-cropped, so their sizes vary; the
   * descriptor resamples as it needs. Returns one L2-normalised vector per frame, in order.
   */
  describe(frames: readonly Raster[]): Promise<Float32Array[]>;
  /**
   * Optional: the vector of a frame's mirror image computed from the frame's own vector, for
   * descriptors where that is exact (the built-in one). Lets stored vectors and signatures find
   * mirrored copies without decoding the media again; without it they cannot.
   */
  mirror?(vector: Float32Array): Float32Array;
  /** Release native resources (ONNX sessions). */
  close(): Promise<void>;
}

/** Scale a vector to unit length in place; a zero vector stays zero. */
export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** Cosine similarity of two unit vectors (their dot product). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Describe many regions in descriptor-sized batches, preserving order. */
export async function describeAll(descriptor: FrameDescriptor, rasters: readonly Raster[], batchSize = 64): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < rasters.length; i += batchSize) {
    out.push(...(await descriptor.describe(rasters.slice(i, i + batchSize))));
  }
  return out;
}

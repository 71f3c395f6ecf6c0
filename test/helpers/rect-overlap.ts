/** A rectangle in fractions of a frame. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Intersection over union of two rectangles: how well a reported crop or inset rectangle matches
 * the true one. Rectangles fitted by RANSAC (not seeded) vary by several hundredths a side between
 * runs and ffmpeg builds, so tests compare them by overlap rather than side by side.
 */
export function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
}

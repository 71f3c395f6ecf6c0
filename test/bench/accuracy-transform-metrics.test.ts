/**
 * Transform accuracy (issue 14): the mirror flag, the speed and the crop rectangle of the right
 * video's verified segment against the ground truth, and their aggregation.
 */
import { describe, expect, it } from 'vitest';

import {
  aggregateTransforms,
  evaluateTransform,
  isCropped,
  isSpeedChanged,
  pickTransformSegment,
  rectIoU,
  speedError,
  type NormRect,
  type TransformItem,
  type TransformedSegment,
  type TruthTransform,
} from '../../bench/accuracy/metrics.js';
import { formatTransforms, summariseTransforms, transformTargets } from '../../bench/accuracy/run-accuracy.js';

const FULL: NormRect = { x: 0, y: 0, width: 1, height: 1 };
const rect = (x: number, y: number, width: number, height: number): NormRect => ({ x, y, width, height });
const truth = (t: Partial<TruthTransform> = {}): TruthTransform => ({ mirrored: false, speed: 1, refRect: FULL, queryRect: FULL, ...t });
const seg = (
  queryStart: number,
  queryEnd: number,
  t: Partial<{ mirrored: boolean; speed: number; refRect: NormRect }> | null,
  score = 0.9,
): TransformedSegment => ({
  queryStart,
  queryEnd,
  refStart: queryStart,
  refEnd: queryEnd,
  score,
  verified: t !== null,
  transform: t === null ? null : { mirrored: false, speed: 1, refRect: FULL, ...t },
});

describe('rectIoU', () => {
  it('is 1 for equal rectangles, 0 apart, and area ratios for nested ones', () => {
    expect(rectIoU(FULL, FULL)).toBe(1);
    expect(rectIoU(rect(0, 0, 0.5, 1), rect(0.5, 0, 0.5, 1))).toBe(0);
    expect(rectIoU(rect(0, 0, 0.4, 1), rect(0.6, 0, 0.4, 1))).toBe(0);
    expect(rectIoU(FULL, rect(0.25, 0.25, 0.5, 0.5))).toBeCloseTo(0.25, 12);
    // Two 0.5 × 1 strips overlapping by half their width: 0.25 / 0.75.
    expect(rectIoU(rect(0, 0, 0.5, 1), rect(0.25, 0, 0.5, 1))).toBeCloseTo(1 / 3, 12);
    expect(rectIoU(rect(0, 0, 0, 0), rect(0, 0, 0, 0))).toBe(0);
    // Symmetric.
    const a = rect(0.1, 0.2, 0.5, 0.6);
    const b = rect(0.3, 0.1, 0.6, 0.4);
    expect(rectIoU(a, b)).toBeCloseTo(rectIoU(b, a), 12);
  });
});

describe('pickTransformSegment', () => {
  const gt = [{ queryStart: 0, queryEnd: 10, refStart: 5, refEnd: 15 }];

  it('takes the verified segment overlapping the true copy most, then the best scored', () => {
    const unverified = seg(0, 10, null, 1);
    const small = seg(0, 3, { mirrored: true }, 0.99);
    const big = seg(2, 10, { speed: 2 }, 0.5);
    expect(pickTransformSegment([unverified, small, big], gt)).toBe(big);
    const tieA = seg(0, 5, {}, 0.6);
    const tieB = seg(5, 10, {}, 0.8);
    expect(pickTransformSegment([tieA, tieB], gt)).toBe(tieB);
    // Stills: no query extent, the best scored.
    expect(pickTransformSegment([seg(0, 0, {}, 0.4), seg(0, 0, { mirrored: true }, 0.7)], [])?.transform?.mirrored).toBe(true);
  });

  it('is null when nothing is verified (or a verified segment lacks a transform)', () => {
    expect(pickTransformSegment([seg(0, 10, null)], gt)).toBeNull();
    expect(pickTransformSegment([{ ...seg(0, 10, {}), transform: null }], gt)).toBeNull();
    expect(pickTransformSegment([], gt)).toBeNull();
  });
});

describe('evaluateTransform', () => {
  it('scores the mirror flag, the speed within 10 % and the crop IoU', () => {
    const crop = rect(0.2, 0.1, 0.6, 0.7);
    const o = evaluateTransform(
      truth({ mirrored: true, speed: 1.25, refRect: crop }),
      seg(0, 8, { mirrored: true, speed: 1.36, refRect: rect(0.2, 0.1, 0.6, 0.7) }),
    );
    expect(o.verified).toBe(true);
    expect(o.mirrored).toEqual({ truth: true, predicted: true, right: true });
    expect(o.speed.relError).toBeCloseTo(0.088, 10);
    expect(o.speed.within).toBe(true);
    expect(o.refRect.iou).toBeCloseTo(1, 12);
    const wrong = evaluateTransform(truth({ speed: 0.3 }), seg(0, 8, { mirrored: true, speed: 0.8 }));
    expect(wrong.mirrored.right).toBe(false);
    expect(wrong.speed.within).toBe(false);
    expect(wrong.speed.relError).toBeCloseTo(0.8 / 0.3 - 1, 12);
    // Exactly 10 % off still counts.
    expect(evaluateTransform(truth({ speed: 2 }), seg(0, 8, { speed: 2.2 })).speed.within).toBe(true);
    expect(evaluateTransform(truth({ speed: 2 }), seg(0, 8, { speed: 2.21 })).speed.within).toBe(false);
  });

  it('leaves everything unknown without a verified segment, and IoU without a true rectangle', () => {
    const none = evaluateTransform(truth({ mirrored: true }), null);
    expect(none).toEqual({
      verified: false,
      mirrored: { truth: true, predicted: null, right: null },
      speed: { truth: 1, predicted: null, relError: null, within: null },
      refRect: { truth: FULL, predicted: null, iou: null },
    });
    const pan = evaluateTransform(
      { mirrored: false, speed: 1, queryRect: FULL, refRectPath: { from: rect(0, 0, 0.3, 1), to: rect(0.7, 0, 0.3, 1) } },
      seg(0, 5, {}),
    );
    expect(pan.refRect).toEqual({ truth: null, predicted: FULL, iou: null });
  });

  it('knows which copies are scored on speed and on the crop', () => {
    expect(isSpeedChanged(truth())).toBe(false);
    expect(isSpeedChanged(truth({ speed: 0.28 }))).toBe(true);
    expect(isCropped(truth())).toBe(false);
    expect(isCropped(truth({ refRect: rect(0.1, 0.1, 0.8, 0.8) }))).toBe(true);
    expect(isCropped({ mirrored: false, speed: 1, queryRect: FULL })).toBe(false);
    expect(speedError(3, 4)).toBeCloseTo(0.25, 12);
  });
});

describe('aggregateTransforms', () => {
  const item = (t: TruthTransform, s: TransformedSegment | null, positive = true): TransformItem => ({ positive, truth: t, outcome: evaluateTransform(t, s) });

  it('counts mirror (flip / non-flip), speed and crop shares over verified positives only', () => {
    const crop = rect(0.1, 0.1, 0.6, 0.6);
    const items: TransformItem[] = [
      item(truth({ mirrored: true }), seg(0, 5, { mirrored: true })),
      item(truth({ mirrored: true }), seg(0, 5, { mirrored: false })),
      item(truth(), seg(0, 5, {})),
      item(truth(), null),
      item(truth({ speed: 0.3 }), seg(0, 5, { speed: 0.31 })),
      item(truth({ speed: 3 }), seg(0, 5, { speed: 1 })),
      item(truth({ speed: 2 }), null),
      item(truth({ refRect: crop }), seg(0, 5, { refRect: rect(0.1, 0.1, 0.6, 0.6) })),
      item(truth({ refRect: crop }), seg(0, 5, { refRect: rect(0.1, 0.1, 0.6, 0.4) })),
      // Negatives are not scored.
      item(truth({ mirrored: true }), seg(0, 5, {}), false),
      { positive: true, truth: null, outcome: null },
    ];
    const m = aggregateTransforms(items);
    expect(m.positives).toBe(9);
    expect(m.verified).toBe(7);
    expect(m.mirror).toEqual({ n: 7, hits: 6, rate: 6 / 7 });
    expect(m.flip).toEqual({ n: 2, hits: 1, rate: 0.5 });
    expect(m.nonFlip).toEqual({ n: 5, hits: 5, rate: 1 });
    expect(m.speed).toMatchObject({ n: 2, hits: 1, rate: 0.5, positives: 3 });
    expect(m.speed.medianRelError).toBeCloseTo((0.01 / 0.3 + 2 / 3) / 2, 10);
    expect(m.crop).toMatchObject({ n: 2, hits: 1, rate: 0.5, positives: 2 });
    expect(m.crop.medianIoU).toBeCloseTo((1 + 0.4 / 0.6) / 2, 10);
  });

  it('gives NaN rates when nothing could be scored', () => {
    const m = aggregateTransforms([item(truth(), null)]);
    expect(m).toMatchObject({ positives: 1, verified: 0 });
    expect(m.mirror.rate).toBeNaN();
    expect(m.speed.medianRelError).toBeNaN();
    expect(m.crop.medianIoU).toBeNaN();
  });
});

describe('transform report', () => {
  it('summarises per family and group, checks the targets and prints a table', () => {
    const crop = rect(0.2, 0.2, 0.6, 0.6);
    const q = (family: 'flip' | 'speed' | 'crop' | 'pad' | 'neg-plain', t: TruthTransform, s: TransformedSegment | null) => ({
      family,
      difficulty: family === 'pad' ? ('easy' as const) : family === 'neg-plain' ? ('negative' as const) : ('hard' as const),
      positive: family !== 'neg-plain',
      truthTransform: t,
      transform: family === 'neg-plain' ? null : evaluateTransform(t, s),
    });
    const items = [
      q('flip', truth({ mirrored: true }), seg(0, 5, { mirrored: true })),
      q('speed', truth({ speed: 1.4 }), seg(0, 5, { speed: 1.38 })),
      q('crop', truth({ refRect: crop }), seg(0, 5, { refRect: rect(0.25, 0.2, 0.55, 0.6) })),
      q('pad', truth(), seg(0, 5, { mirrored: true })),
      q('neg-plain', truth(), null),
    ];
    const t = summariseTransforms(items);
    expect(Object.keys(t.families).sort()).toEqual(['crop', 'flip', 'pad', 'speed']);
    expect(t.summary.hard).toMatchObject({ positives: 3, verified: 3, mirror: { n: 3, hits: 3 } });
    expect(t.summary.easy.mirror).toMatchObject({ n: 1, hits: 0 });
    expect(t.summary.all.mirror).toMatchObject({ n: 4, hits: 3 });
    expect(t.summary.negative.positives).toBe(0);
    const targets = transformTargets(t);
    expect(targets.map((x) => [x.measure, x.pass])).toEqual([
      ['transform: mirror flag right, verified', false],
      ['transform: speed within 10 %, speed family', true],
      ['transform: crop IoU ≥ 0.8, crop family', true],
    ]);
    expect(targets[0]!.value).toBe(0.75);
    const text = formatTransforms(t).join('\n');
    expect(text).toMatch(/^flip\s+\S*\s*1\s+1\s+1\/1\s+1\/1\s+—/m);
    expect(text).toMatch(/^crop\s+.*1\/1\s+0\.92$/m);
    expect(text).toMatch(/^ALL\s+4\s+4\s+3\/4/m);
    // Only the families that were run get a target line beyond the mirror one.
    expect(transformTargets(summariseTransforms(items.slice(0, 1)))).toHaveLength(1);
  });
});

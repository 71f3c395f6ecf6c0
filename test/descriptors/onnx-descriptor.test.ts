import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dot } from '../../src/core/descriptors/frame-descriptor.js';
import { OnnxDescriptor, type OnnxDescriptorOptions } from '../../src/core/descriptors/onnx-descriptor.js';
import { DescriptorError } from '../../src/core/errors/retrace-error.js';
import { toLuma, type Raster } from '../../src/core/frames/raster.js';
import { convModel, linearModel, modelDir, mulberry32, seededWeights, tokenModel } from './onnx-model-fixtures.js';

// ---- synthetic frames ------------------------------------------------------------------------

function rgb(width: number, height: number, f: (x: number, y: number) => [number, number, number]): Raster {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      data.set(
        f(x, y).map((v) => Math.max(0, Math.min(255, Math.round(v)))),
        (y * width + x) * 3,
      );
  }
  return { width, height, channels: 3, data };
}

/** A diagonal colour gradient with a bright disc, so it has both smooth and sharp structure. */
const scene = (w: number, h: number) =>
  rgb(w, h, (x, y) => {
    const inDisc = (x - w * 0.65) ** 2 + (y - h * 0.4) ** 2 < (Math.min(w, h) * 0.2) ** 2;
    return inDisc ? [250, 240, 60] : [(255 * x) / w, (255 * y) / h, 128];
  });
const checkerboard = (w: number, h: number, cell: number) => rgb(w, h, (x, y) => ((((x / cell) | 0) + ((y / cell) | 0)) % 2 ? [230, 40, 40] : [20, 30, 200]));
const randomNoise = (w: number, h: number, seed: number) => {
  const rnd = mulberry32(seed);
  return rgb(w, h, () => [rnd() * 255, rnd() * 255, rnd() * 255]);
};
/** The same picture with ±amp uniform per-pixel noise, like a re-encode would add. */
function addNoise(r: Raster, amp: number, seed: number): Raster {
  const rnd = mulberry32(seed);
  const data = r.data.map((v) => Math.max(0, Math.min(255, Math.round(v + (rnd() * 2 - 1) * amp))));
  return { ...r, data };
}

function unitNorm(v: Float32Array): number {
  return Math.sqrt(dot(v, v));
}

/** out = normalise(x · W) for row-major W [x.length, d]. */
function expectedLinear(x: Float64Array, w: Float32Array, d: number): Float32Array {
  const y = new Float64Array(d);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < d; j++) y[j] += x[i] * w[i * d + j];
  const n = Math.hypot(...y);
  return Float32Array.from(y, (v) => v / n);
}

function expectClose(actual: Float32Array, expected: Float32Array, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tol);
}

async function expectDescriptorError(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DescriptorError);
  expect((err as DescriptorError).code).toBe('DESCRIPTOR_ERROR');
  expect((err as DescriptorError).message).toMatch(message);
}

// ---- models ----------------------------------------------------------------------------------

let dir: Awaited<ReturnType<typeof modelDir>>;
const paths: Record<string, string> = {};
const LIN_D = 5;
const linWeights = seededWeights(4 * 4 * 3 * LIN_D, 7);
const TOK_D = 6;
const tokWeights = seededWeights(64 * TOK_D, 9);
const open: OnnxDescriptor[] = [];

async function load(options: OnnxDescriptorOptions): Promise<OnnxDescriptor> {
  const d = await OnnxDescriptor.load(options);
  open.push(d);
  return d;
}

beforeAll(async () => {
  dir = await modelDir();
  const models: Record<string, Uint8Array> = {
    conv: convModel({ seed: 1 }),
    convBatch4: convModel({ seed: 1, batch: 4 }),
    convOtherWeights: convModel({ seed: 2 }),
    convPooled4d: convModel({ seed: 1, head: 'pooled4d' }),
    convFeatureMap: convModel({ seed: 1, head: 'featuremap', dynamicSpatial: true }),
    convFlatDynamic: convModel({ seed: 1, head: 'flat', dynamicSpatial: true }),
    linearNHWC: linearModel({ layout: 'NHWC', width: 4, height: 4, channels: 3, dims: LIN_D, weights: linWeights }),
    linearNCHW: linearModel({ layout: 'NCHW', width: 4, height: 4, channels: 3, dims: LIN_D, weights: linWeights }),
    linearGrey: linearModel({ layout: 'NCHW', width: 4, height: 4, channels: 1, dims: LIN_D, weights: linWeights.subarray(0, 16 * LIN_D) }),
    tokens: tokenModel(TOK_D, tokWeights),
    corrupt: new TextEncoder().encode('this is not a protobuf, let alone an ONNX graph'),
  };
  for (const [name, bytes] of Object.entries(models)) paths[name] = await dir.write(`${name}.onnx`, bytes);
});

afterAll(async () => {
  for (const d of open) await d.close();
  await dir?.cleanup();
});

// ---- specification ---------------------------------------------------------------------------

describe('OnnxDescriptor', () => {
  describe('loading', () => {
    it('reads the vector length from the model output and the input size from the model input', async () => {
      const d = await load({ modelPath: paths.conv });
      expect(d.dimensions).toBe(8);
      expect(d.input).toEqual({ width: 32, height: 32, channels: 3 });
    });

    it('learns the vector length by running the model when the graph leaves it symbolic', async () => {
      // Flatten of an 8-channel map at stride 2: 8 × 4 × 4 for an 8×8 input.
      const d = await load({ modelPath: paths.convFlatDynamic, inputSize: { width: 8, height: 8 } });
      expect(d.dimensions).toBe(128);
      const [v] = await d.describe([scene(20, 14)]);
      expect(v.length).toBe(128);
    });

    it('defaults to 224×224 when the model accepts any size', async () => {
      const d = await load({ modelPath: paths.convFeatureMap });
      expect(d.input).toEqual({ width: 224, height: 224, channels: 3 });
    });

    it('has an id of the form onnx:<16 hex>-<8 hex>, stable across loads of the same file', async () => {
      const a = await load({ modelPath: paths.conv });
      const b = await load({ modelPath: paths.conv, batchSize: 3, intraOpThreads: 1 });
      expect(a.id).toMatch(/^onnx:[0-9a-f]{16}-[0-9a-f]{8}$/);
      expect(b.id).toBe(a.id); // batch size and threads don't change vectors
    });

    it('changes its id when the model file changes', async () => {
      const a = await load({ modelPath: paths.conv });
      const b = await load({ modelPath: paths.convOtherWeights });
      expect(b.id.slice(0, 21)).not.toBe(a.id.slice(0, 21));
    });

    it('changes its id when the preprocessing changes', async () => {
      const a = await load({ modelPath: paths.conv });
      const b = await load({ modelPath: paths.conv, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
      expect(b.id.slice(0, 21)).toBe(a.id.slice(0, 21));
      expect(b.id).not.toBe(a.id);
    });
  });

  describe('vectors', () => {
    it('returns one L2-normalised vector per frame, whatever the frame size', async () => {
      const d = await load({ modelPath: paths.conv });
      const vs = await d.describe([scene(64, 48), scene(20, 30), checkerboard(32, 32, 4), randomNoise(7, 5, 1)]);
      expect(vs).toHaveLength(4);
      for (const v of vs) {
        expect(v).toBeInstanceOf(Float32Array);
        expect(v.length).toBe(8);
        expect(unitNorm(v)).toBeCloseTo(1, 5);
      }
    });

    it('returns an empty list for no frames', async () => {
      const d = await load({ modelPath: paths.conv });
      expect(await d.describe([])).toEqual([]);
    });

    it('gives the same vectors in batches as one frame at a time (including a short last batch)', async () => {
      const frames = Array.from({ length: 10 }, (_, i) => addNoise(scene(40 + i, 30), 30, i));
      const batched = await (await load({ modelPath: paths.conv, batchSize: 4 })).describe(frames);
      const single = await (await load({ modelPath: paths.conv, batchSize: 1 })).describe(frames);
      expect(batched).toHaveLength(10);
      batched.forEach((v, i) => expectClose(v, single[i]));
    });

    it('pads the last batch of a model with a fixed batch size and drops the padding', async () => {
      const frames = Array.from({ length: 6 }, (_, i) => addNoise(scene(36, 28), 40, 100 + i));
      const fixed = await load({ modelPath: paths.convBatch4, batchSize: 16 });
      const dynamic = await load({ modelPath: paths.conv });
      const [a, b] = [await fixed.describe(frames), await dynamic.describe(frames)];
      expect(a).toHaveLength(6);
      a.forEach((v, i) => expectClose(v, b[i]));
    });

    it('gives identical vectors for identical frames and different vectors for different frames', async () => {
      const d = await load({ modelPath: paths.conv });
      const [a, b, c] = await d.describe([scene(48, 36), scene(48, 36), checkerboard(48, 36, 6)]);
      expect(Array.from(b)).toEqual(Array.from(a));
      expect(dot(a, c)).toBeLessThan(0.99);
    });

    it('keeps a lightly noised copy close (cosine > 0.95) and a different picture further away', async () => {
      const d = await load({ modelPath: paths.conv });
      const original = scene(64, 48);
      const [o, noisy, other, noise] = await d.describe([original, addNoise(original, 8, 42), checkerboard(64, 48, 8), randomNoise(64, 48, 3)]);
      const copy = dot(o, noisy);
      expect(copy).toBeGreaterThan(0.95);
      expect(dot(o, other)).toBeLessThan(copy);
      expect(dot(o, noise)).toBeLessThan(copy);
    });

    it('replicates a grey frame to RGB for a colour model', async () => {
      const d = await load({ modelPath: paths.conv });
      const grey = toLuma(scene(40, 30));
      const asRgb: Raster = { ...grey, channels: 3, data: Uint8Array.from({ length: grey.data.length * 3 }, (_, i) => grey.data[(i / 3) | 0]) };
      const [g, c] = await d.describe([grey, asRgb]);
      expectClose(g, c);
    });

    it('reduces an RGB frame to luma for a grey model', async () => {
      const d = await load({ modelPath: paths.linearGrey });
      expect(d.input.channels).toBe(1);
      const frame = scene(4, 4);
      const [a, b] = await d.describe([frame, toLuma(frame)]);
      expectClose(a, b);
    });
  });

  describe('preprocessing matches a hand computation on a linear model', () => {
    const frame = rgb(4, 4, (x, y) => [x * 60 + 10, y * 50 + 20, (x * y * 17) % 256]);
    const mean = [0.5, 0.4, 0.3];
    const std = [0.2, 0.25, 0.5];
    /** The frame normalised with mean/std and flattened in the given order. */
    function normalised(layout: 'NCHW' | 'NHWC', m: number[], s: number[]): Float64Array {
      const x = new Float64Array(48);
      for (let y = 0; y < 4; y++) {
        for (let xx = 0; xx < 4; xx++) {
          for (let k = 0; k < 3; k++) {
            const v = (frame.data[(y * 4 + xx) * 3 + k] / 255 - m[k]) / s[k];
            x[layout === 'NCHW' ? k * 16 + y * 4 + xx : (y * 4 + xx) * 3 + k] = v;
          }
        }
      }
      return x;
    }

    it('NHWC layout with custom mean/std', async () => {
      const d = await load({ modelPath: paths.linearNHWC, layout: 'NHWC', mean, std });
      const [v] = await d.describe([frame]);
      expectClose(v, expectedLinear(normalised('NHWC', mean, std), linWeights, LIN_D));
    });

    it('NCHW layout with custom mean/std', async () => {
      const d = await load({ modelPath: paths.linearNCHW, mean, std });
      const [v] = await d.describe([frame]);
      expectClose(v, expectedLinear(normalised('NCHW', mean, std), linWeights, LIN_D));
    });

    it('uses ImageNet mean/std by default', async () => {
      const d = await load({ modelPath: paths.linearNCHW });
      const [v] = await d.describe([frame]);
      expectClose(v, expectedLinear(normalised('NCHW', [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]), linWeights, LIN_D));
      const [custom] = await (await load({ modelPath: paths.linearNCHW, mean, std })).describe([frame]);
      expect(dot(v, custom)).toBeLessThan(0.999);
    });

    it('resizes frames of another size to the model input before normalising', async () => {
      // A 2× larger frame of 2×2 blocks area-averages back to exactly `frame`.
      const big = rgb(
        8,
        8,
        (x, y) => Array.from(frame.data.subarray(((y >> 1) * 4 + (x >> 1)) * 3, ((y >> 1) * 4 + (x >> 1)) * 3 + 3)) as [number, number, number],
      );
      const d = await load({ modelPath: paths.linearNCHW, mean, std });
      const [a, b] = await d.describe([frame, big]);
      expectClose(a, b);
    });
  });

  describe('output shapes', () => {
    it('squeezes [N, D, 1, 1] to D', async () => {
      const flat = await load({ modelPath: paths.conv });
      const squeezed = await load({ modelPath: paths.convPooled4d });
      expect(squeezed.dimensions).toBe(8);
      const frames = [scene(50, 40), checkerboard(32, 32, 5)];
      const [a, b] = [await flat.describe(frames), await squeezed.describe(frames)];
      a.forEach((v, i) => expectClose(v, b[i]));
    });

    it('averages a [N, C, H, W] feature map over H×W', async () => {
      const pooledInGraph = await load({ modelPath: paths.conv });
      const featureMap = await load({ modelPath: paths.convFeatureMap, inputSize: { width: 32, height: 32 } });
      expect(featureMap.dimensions).toBe(8);
      const frames = [scene(50, 40), checkerboard(32, 32, 5)];
      const [a, b] = [await pooledInGraph.describe(frames), await featureMap.describe(frames)];
      a.forEach((v, i) => expectClose(v, b[i]));
    });

    it('takes token 0 of a [1, T, D] output and runs a fixed-batch-1 model one frame at a time', async () => {
      const d = await load({ modelPath: paths.tokens, batchSize: 16 });
      expect(d.dimensions).toBe(TOK_D);
      expect(d.input).toEqual({ width: 8, height: 8, channels: 3 });
      const frames = [scene(8, 8), checkerboard(8, 8, 2), randomNoise(8, 8, 5)];
      const vs = await d.describe(frames);
      expect(vs).toHaveLength(3);
      frames.forEach((f, i) => {
        // Token 0 is the red plane through W.
        const red = Float64Array.from({ length: 64 }, (_, p) => (f.data[p * 3] / 255 - 0.485) / 0.229);
        expectClose(vs[i], expectedLinear(red, tokWeights, TOK_D));
      });
    });
  });

  describe('errors are DescriptorError with code DESCRIPTOR_ERROR', () => {
    it('for a missing model file', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: `${dir.dir}/nope.onnx` }), /not found.*nope\.onnx/);
    });

    it('for a corrupt model file', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: paths.corrupt }), /Not a loadable ONNX model.*corrupt\.onnx/);
    });

    it('for a directory instead of a file', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: dir.dir }), /not a file/);
    });

    it('for an unknown output name, listing the real ones', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: paths.conv, outputName: 'logits' }), /no output named "logits".*"embedding"/);
    });

    it('for an unknown input name', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: paths.conv, inputName: 'image' }), /no input named "image"/);
    });

    it('for a channel count the model does not take', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: paths.conv, channels: 1 }), /expects 3-channel input/);
    });

    it('for the wrong layout, suggesting the right one', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: paths.linearNHWC }), /set layout: 'NHWC'/);
    });

    it('for an input size the model does not take', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: paths.conv, inputSize: { width: 64, height: 64 } }), /expects 32×32 input/);
    });

    it('for mean/std of the wrong length', async () => {
      await expectDescriptorError(OnnxDescriptor.load({ modelPath: paths.conv, mean: [0.5, 0.5] }), /mean has 2 values/);
    });

    it('for describe after close', async () => {
      const d = await OnnxDescriptor.load({ modelPath: paths.conv });
      await d.close();
      await d.close(); // idempotent
      await expectDescriptorError(d.describe([scene(8, 8)]), /closed/);
    });

    it('for a malformed frame', async () => {
      const d = await load({ modelPath: paths.conv });
      await expectDescriptorError(d.describe([{ width: 4, height: 4, channels: 3, data: new Uint8Array(5) }]), /Frame 0 is not a valid raster/);
    });
  });
});

/**
 * Small, real ONNX models built in the test process with onnx-proto, so the ONNX descriptor is
 * exercised end to end through onnxruntime without shipping weight files. Weights come from a
 * seeded PRNG, so every build of a fixture is byte-identical and tests are reproducible.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as pb } from 'onnx-proto';
import { mulberry32 } from '../../bench/common/seeded-random.js';

const { onnx } = onnxProto;
type Dim = number | string;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export { mulberry32 };

/** `n` seeded values uniform in [-scale, scale). */
export function seededWeights(n: number, seed: number, scale = 1): Float32Array {
  const rnd = mulberry32(seed);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = (rnd() * 2 - 1) * scale;
  return w;
}

function valueInfo(name: string, dims: readonly Dim[] | null): pb.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        // A null shape leaves the rank unknown, as some exporters do for outputs.
        shape: dims === null ? null : { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function floatTensor(name: string, dims: number[], data: Float32Array): pb.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: Array.from(data) };
}

function int64Tensor(name: string, dims: number[], data: number[]): pb.ITensorProto {
  return { name, dims, dataType: INT64, int64Data: data };
}

function encodeModel(graph: pb.IGraphProto): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'retrace-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

export interface ConvModelOptions {
  /** Weight seed; a different seed gives a different (but equally shaped) model. */
  seed?: number;
  /** Name of the graph output (default `embedding`). */
  outputName?: string;
  /**
   * What follows the convolutions:
   * - `pooled` (default): GlobalAveragePool → Flatten → [N,8]
   * - `pooled4d`: GlobalAveragePool only → [N,8,1,1]
   * - `featuremap`: nothing → [N,8,h,w]
   * - `flat`: Flatten without pooling → [N,8·h·w]
   */
  head?: 'pooled' | 'pooled4d' | 'featuremap' | 'flat';
  /**
   * Declare the spatial input axes symbolically (['N',3,'H','W']). With the `flat` head the
   * output length then depends on the input size, so nothing can read it from the graph and
   * the descriptor has to probe it by running the model.
   */
  dynamicSpatial?: boolean;
  /** Declare a fixed batch size instead of a symbolic one. */
  batch?: number;
}

/**
 * (a) A tiny CNN: input `pixels` [N,3,32,32] → Conv 3×3 stride 2 (16 ch) → Relu → Conv 1×1 (8 ch)
 * → GlobalAveragePool → Flatten → `embedding` [N,8] (other heads: see {@link ConvModelOptions}).
 * The second conv has signed weights so the embedding is not confined to the positive orthant,
 * which would make every cosine high.
 */
export function convModel(opts: ConvModelOptions = {}): Uint8Array {
  const seed = opts.seed ?? 1;
  const out = opts.outputName ?? 'embedding';
  const head = opts.head ?? 'pooled';
  const n: Dim = opts.batch ?? 'N';
  const w1 = seededWeights(16 * 3 * 3 * 3, seed * 101 + 1, 0.5);
  const b1 = seededWeights(16, seed * 101 + 2, 0.1);
  const w2 = seededWeights(8 * 16, seed * 101 + 3, 1);
  const ints = onnx.AttributeProto.AttributeType.INTS;
  const nodes: pb.INodeProto[] = [
    {
      opType: 'Conv',
      input: ['pixels', 'w1', 'b1'],
      output: ['c1'],
      name: 'conv1',
      attribute: [
        { name: 'strides', type: ints, ints: [2, 2] },
        { name: 'pads', type: ints, ints: [1, 1, 1, 1] },
      ],
    },
    { opType: 'Relu', input: ['c1'], output: ['r1'], name: 'relu1' },
    { opType: 'Conv', input: ['r1', 'w2'], output: [head === 'featuremap' ? out : 'c2'], name: 'conv2' },
  ];
  let outDims: Dim[];
  if (head === 'pooled' || head === 'pooled4d') {
    nodes.push({ opType: 'GlobalAveragePool', input: ['c2'], output: [head === 'pooled4d' ? out : 'gap'], name: 'gap' });
    if (head === 'pooled') nodes.push({ opType: 'Flatten', input: ['gap'], output: [out], name: 'flatten' });
    outDims = head === 'pooled' ? [n, 8] : [n, 8, 1, 1];
  } else if (head === 'flat') {
    nodes.push({ opType: 'Flatten', input: ['c2'], output: [out], name: 'flatten' });
    outDims = [n, opts.dynamicSpatial ? 'F' : 8 * 16 * 16];
  } else {
    outDims = opts.dynamicSpatial ? [n, 8, 'h', 'w'] : [n, 8, 16, 16];
  }
  return encodeModel({
    name: 'conv-fixture',
    node: nodes,
    initializer: [floatTensor('w1', [16, 3, 3, 3], w1), floatTensor('b1', [16], b1), floatTensor('w2', [8, 16, 1, 1], w2)],
    input: [valueInfo('pixels', opts.dynamicSpatial ? [n, 3, 'H', 'W'] : [n, 3, 32, 32])],
    output: [valueInfo(out, outDims)],
  });
}

export interface LinearModelOptions {
  layout: 'NCHW' | 'NHWC';
  width: number;
  height: number;
  channels: 1 | 3;
  /** Output length. */
  dims: number;
  /** Row-major [width·height·channels, dims] weight matrix, applied to the input flattened in `layout` order. */
  weights: Float32Array;
}

/**
 * (b) A purely linear model: input [N,C,H,W] or [N,H,W,C] → Flatten → MatMul W → [N,D]. Its
 * output can be computed by hand, which pins down layout and normalisation exactly.
 */
export function linearModel(o: LinearModelOptions): Uint8Array {
  const k = o.width * o.height * o.channels;
  if (o.weights.length !== k * o.dims) throw new Error('linearModel: weights have the wrong length');
  const inDims: Dim[] = o.layout === 'NCHW' ? ['N', o.channels, o.height, o.width] : ['N', o.height, o.width, o.channels];
  return encodeModel({
    name: 'linear-fixture',
    node: [
      { opType: 'Flatten', input: ['image'], output: ['flat'], name: 'flatten' },
      { opType: 'MatMul', input: ['flat', 'w'], output: ['features'], name: 'matmul' },
    ],
    initializer: [floatTensor('w', [k, o.dims], o.weights)],
    input: [valueInfo('image', inDims)],
    output: [valueInfo('features', ['N', o.dims])],
  });
}

/**
 * (c) A transformer-shaped model with a fixed batch of 1: input [1,3,8,8] → Reshape [1,3,64]
 * (one "token" per colour plane) → MatMul W[64,D] → `tokens` [1,3,D]. Token 0 (the CLS
 * position by convention) is therefore a linear function of the red plane alone.
 */
export function tokenModel(dims: number, weights: Float32Array): Uint8Array {
  if (weights.length !== 64 * dims) throw new Error('tokenModel: weights have the wrong length');
  return encodeModel({
    name: 'token-fixture',
    node: [
      { opType: 'Reshape', input: ['pixel_values', 'shape'], output: ['planes'], name: 'reshape' },
      { opType: 'MatMul', input: ['planes', 'w'], output: ['tokens'], name: 'matmul' },
    ],
    initializer: [int64Tensor('shape', [3], [1, 3, 64]), floatTensor('w', [64, dims], weights)],
    input: [valueInfo('pixel_values', [1, 3, 8, 8])],
    output: [valueInfo('tokens', [1, 3, dims])],
  });
}

/** A temp directory for model files, removed by `cleanup()`. */
export async function modelDir(): Promise<{ dir: string; write(name: string, bytes: Uint8Array): Promise<string>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'retrace-onnx-'));
  return {
    dir,
    async write(name, bytes) {
      const p = join(dir, name);
      await writeFile(p, bytes);
      return p;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { DescriptorError } from '../errors/retrace-error.js';
import { resizeArea, toLuma, type Raster } from '../frames/raster.js';
import { l2normalize, type FrameDescriptor } from './frame-descriptor.js';

/** Options for {@link OnnxDescriptor.load}. Only `modelPath` is required. */
export interface OnnxDescriptorOptions {
  /** Path to an image-encoder `.onnx` file (for example CLIP, DINOv2 or SSCD exported to ONNX). */
  modelPath: string;
  /**
   * Size the model is fed. Default: the model's own spatial size when its input declares one,
   * otherwise 224×224.
   */
  inputSize?: { width: number; height: number };
  /** Memory layout of the model input. Default `'NCHW'` (what PyTorch exports). */
  layout?: 'NCHW' | 'NHWC';
  /**
   * Per-channel mean subtracted from pixel/255. One value per channel, or a single value for all.
   * Default ImageNet `[0.485, 0.456, 0.406]` (`[0.449]` for single-channel models).
   */
  mean?: readonly number[];
  /** Per-channel divisor applied after the mean. Default ImageNet `[0.229, 0.224, 0.225]` (`[0.226]` for single-channel models). */
  std?: readonly number[];
  /** Model input to feed. Default: the model's only input. */
  inputName?: string;
  /** Model output to read the embedding from. Default: the model's first output. */
  outputName?: string;
  /** Frames per inference call. Default 16. Ignored (forced) when the model has a fixed batch size. */
  batchSize?: number;
  /** 3 = RGB, 1 = greyscale model. Default: the model's channel axis when it is 1 or 3, else 3. */
  channels?: 1 | 3;
  /** onnxruntime intra-op threads. Default 2, so indexing leaves cores for ffmpeg. */
  intraOpThreads?: number;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
// Averages of the ImageNet statistics, for grey models given no explicit normalisation.
const GREY_MEAN = [0.449];
const GREY_STD = [0.226];

/** Bumped whenever preprocessing or pooling changes in a way that changes vectors. */
const PREPROCESS_VERSION = 1;

interface Resolved {
  width: number;
  height: number;
  channels: 1 | 3;
  layout: 'NCHW' | 'NHWC';
  mean: number[];
  std: number[];
  inputName: string;
  outputName: string;
  /** Frames per run; `fixedBatch` means the model only accepts exactly this many. */
  batch: number;
  fixedBatch: boolean;
}

/**
 * Frame descriptor backed by a user-supplied ONNX image-embedding model, run on the CPU with
 * onnxruntime.
 *
 * Each frame is converted to the model's channel count (grey is replicated to RGB, RGB is
 * reduced to luma), resized to `inputSize`, scaled to `(pixel/255 − mean) / std`, laid out as
 * NCHW or NHWC and run in batches. The chosen output is reduced to one vector per frame:
 *
 * - `[N, D]` — used as is;
 * - `[N, T, D]` — token 0 (the CLS token of ViT exports such as DINOv2 or CLIP's last hidden
 *   state); `[N, D, 1]` is squeezed instead;
 * - `[N, C, H, W]` — averaged over H×W (global average pooling of a channels-first feature map;
 *   for `[N, D, 1, 1]` this is just a squeeze);
 *
 * and every vector is L2-normalised. Prefer exporting a model whose output is already the pooled
 * embedding; the reductions above are a convenience, not a substitute for the model's own head.
 *
 * The `id` is `onnx:<first 16 hex of SHA-256 of the model file>-<8 hex of the preprocessing
 * config>`, so an index built with one model (or one normalisation) refuses another.
 *
 * @example
 * ```ts
 * const descriptor = await OnnxDescriptor.load({
 *   modelPath: './models/dinov2-small.onnx',
 *   inputSize: { width: 224, height: 224 },
 * });
 * try {
 *   const [vector] = await descriptor.describe([frame]); // frame: Raster
 *   console.log(descriptor.id, descriptor.dimensions, vector.length);
 * } finally {
 *   await descriptor.close();
 * }
 * ```
 */
type Ort = typeof ort;
let ortLoading: Promise<Ort> | undefined;

/**
 * onnxruntime-node, imported on the first {@link OnnxDescriptor.load}: it is an optional
 * dependency (a native module of ~200 MB with an install script), so importing retrace and the
 * built-in descriptor work without it, and only ONNX users need it installed.
 */
function loadOnnxRuntime(): Promise<Ort> {
  ortLoading ??= import('onnxruntime-node').catch((err: unknown) => {
    ortLoading = undefined;
    const code = (err as NodeJS.ErrnoException)?.code;
    const why =
      code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
        ? 'it is not installed'
        : `it failed to load: ${String((err as Error)?.message ?? err).split('\n')[0]}`;
    throw new DescriptorError(
      `OnnxDescriptor needs onnxruntime-node, an optional dependency of retrace, and ${why}; install it with \`npm install onnxruntime-node\``,
      err,
    );
  });
  return ortLoading;
}

export class OnnxDescriptor implements FrameDescriptor {
  readonly id: string;
  readonly dimensions: number;
  readonly input: { width: number; height: number; channels: 1 | 3 };

  private session: ort.InferenceSession | null;
  private readonly ort: Ort;
  private readonly cfg: Resolved;
  private readonly modelLabel: string;
  // Runs are chained so concurrent callers don't multiply CPU threads or race close().
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(ortModule: Ort, session: ort.InferenceSession, cfg: Resolved, id: string, dimensions: number, modelLabel: string) {
    this.ort = ortModule;
    this.session = session;
    this.cfg = cfg;
    this.id = id;
    this.dimensions = dimensions;
    this.modelLabel = modelLabel;
    this.input = { width: cfg.width, height: cfg.height, channels: cfg.channels };
  }

  /**
   * Load a model, check that its input fits the requested preprocessing and find its output
   * length (running one dummy batch when the graph doesn't declare it).
   *
   * @throws DescriptorError when the file is missing, unreadable or not a valid ONNX model, when
   *   a named input/output doesn't exist, or when the model's input shape contradicts the options
   *   (channel count, layout, size).
   *
   * @example
   * ```ts
   * // An SSCD export that expects NCHW 288×288 RGB with ImageNet normalisation:
   * const d = await OnnxDescriptor.load({ modelPath: 'sscd.onnx', inputSize: { width: 288, height: 288 } });
   * ```
   */
  static async load(options: OnnxDescriptorOptions): Promise<OnnxDescriptor> {
    const modelPath = options.modelPath;
    if (typeof modelPath !== 'string' || modelPath === '') throw new DescriptorError('OnnxDescriptor: modelPath is required');
    const label = basename(modelPath);
    const threads = options.intraOpThreads ?? 2;
    if (!Number.isInteger(threads) || threads < 1) throw new DescriptorError(`OnnxDescriptor: intraOpThreads must be a positive integer, got ${threads}`);
    const batchSize = options.batchSize ?? 16;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new DescriptorError(`OnnxDescriptor: batchSize must be a positive integer, got ${batchSize}`);

    const modelHash = await hashModelFile(modelPath);
    const ortModule = await loadOnnxRuntime();

    let session: ort.InferenceSession;
    try {
      // Passing the path (not bytes) lets onnxruntime resolve external-data files next to large models.
      session = await ortModule.InferenceSession.create(modelPath, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new DescriptorError(`Not a loadable ONNX model: ${modelPath} (${ortMessage(err)})`, err);
    }

    try {
      const cfg = resolveConfig(session, options, batchSize, label);
      const outMeta = session.outputMetadata[session.outputNames.indexOf(cfg.outputName)];
      let dimensions = outMeta?.isTensor ? staticDimensions(outMeta.shape) : undefined;
      const descriptor = (d: number) => new OnnxDescriptor(ortModule, session, cfg, makeId(modelHash, cfg), d, label);
      if (dimensions === undefined) {
        // The graph leaves the feature length symbolic: run zeros once to learn it.
        const probe = descriptor(0);
        const zeros: Raster = { width: cfg.width, height: cfg.height, channels: cfg.channels, data: new Uint8Array(cfg.width * cfg.height * cfg.channels) };
        const [v] = await probe.runBatch([zeros]);
        dimensions = v.length;
      }
      if (dimensions < 1) throw new DescriptorError(`ONNX model ${label}: output "${cfg.outputName}" has no features`);
      return descriptor(dimensions);
    } catch (err) {
      await session.release().catch(() => undefined);
      if (err instanceof DescriptorError) throw err;
      throw new DescriptorError(`ONNX model ${label} could not be prepared: ${ortMessage(err)}`, err);
    }
  }

  /**
   * Embed frames: one L2-normalised vector of length {@link dimensions} per frame, in order.
   * Frames may have any size and 1 or 3 channels.
   *
   * @throws DescriptorError if the descriptor is closed, a frame is malformed or the model fails.
   *
   * @example
   * ```ts
   * const vectors = await descriptor.describe(frames);
   * const similarity = dot(vectors[0], vectors[1]); // cosine, in [-1, 1]
   * ```
   */
  describe(frames: readonly Raster[]): Promise<Float32Array[]> {
    const run = this.queue.then(async () => {
      const out: Float32Array[] = [];
      for (let i = 0; i < frames.length; i += this.cfg.batch) {
        out.push(...(await this.runBatch(frames.slice(i, i + this.cfg.batch))));
      }
      return out;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Release the onnxruntime session once pending `describe` calls finish. Safe to call twice. */
  close(): Promise<void> {
    const run = this.queue.then(async () => {
      const s = this.session;
      this.session = null;
      if (s) await s.release();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Run at most `cfg.batch` frames through the model. */
  private async runBatch(frames: readonly Raster[]): Promise<Float32Array[]> {
    const session = this.session;
    if (!session) throw new DescriptorError(`ONNX descriptor ${this.id} is closed`);
    const { width: w, height: h, channels: c, layout, batch, fixedBatch, inputName, outputName } = this.cfg;
    const n = frames.length;
    if (n === 0) return [];
    // A model with a fixed batch dimension gets padded with zero frames; the padding is discarded.
    const rows = fixedBatch ? batch : n;
    const plane = w * h * c;
    const data = new Float32Array(rows * plane);
    for (let i = 0; i < n; i++) this.preprocess(frames[i], i, data.subarray(i * plane, (i + 1) * plane));
    const dims = layout === 'NCHW' ? [rows, c, h, w] : [rows, h, w, c];

    let result: ort.InferenceSession.ReturnType;
    try {
      result = await session.run({ [inputName]: new this.ort.Tensor('float32', data, dims) }, [outputName]);
    } catch (err) {
      throw new DescriptorError(`ONNX model ${this.modelLabel} failed on input [${dims.join(', ')}]: ${ortMessage(err)}`, err);
    }
    const t = result[outputName];
    if (!t || !(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
      throw new DescriptorError(`ONNX model ${this.modelLabel}: output "${outputName}" is not a float tensor (got ${t?.type ?? 'nothing'})`);
    }
    const vectors = reduceOutput(t.data, t.dims, n, this.modelLabel, outputName);
    for (const v of vectors) {
      if (this.dimensions > 0 && v.length !== this.dimensions) {
        throw new DescriptorError(`ONNX model ${this.modelLabel}: output has ${v.length} features, expected ${this.dimensions}`);
      }
      for (let k = 0; k < v.length; k++) {
        if (!Number.isFinite(v[k])) throw new DescriptorError(`ONNX model ${this.modelLabel} produced a non-finite value (NaN or ±Infinity)`);
      }
      l2normalize(v);
    }
    return vectors;
  }

  /** Write one frame, normalised and in the model's layout, into `dst` (length W·H·C). */
  private preprocess(frame: Raster, index: number, dst: Float32Array): void {
    const { width: w, height: h, channels: c, layout, mean, std } = this.cfg;
    checkRaster(frame, index);
    const src = resizeTo(matchChannels(frame, c), w, h); // HWC, 0..255
    const hw = w * h;
    for (let k = 0; k < c; k++) {
      // (p/255 − mean) / std folded into one multiply-add.
      const scale = 1 / (255 * std[k]);
      const bias = -mean[k] / std[k];
      if (layout === 'NCHW') {
        const base = k * hw;
        for (let p = 0; p < hw; p++) dst[base + p] = src[p * c + k] * scale + bias;
      } else {
        for (let p = 0; p < hw; p++) dst[p * c + k] = src[p * c + k] * scale + bias;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function hashModelFile(modelPath: string): Promise<string> {
  let size: number;
  try {
    const st = await stat(modelPath);
    if (!st.isFile()) throw new DescriptorError(`ONNX model path is not a file: ${modelPath}`);
    size = st.size;
  } catch (err) {
    if (err instanceof DescriptorError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DescriptorError(`ONNX model file not found: ${modelPath}`, err);
    throw new DescriptorError(`Cannot read ONNX model file ${modelPath}: ${(err as Error).message}`, err);
  }
  if (size === 0) throw new DescriptorError(`ONNX model file is empty: ${modelPath}`);
  // Streamed so multi-hundred-MB models aren't held in memory twice.
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(modelPath)) hash.update(chunk as Buffer);
  } catch (err) {
    throw new DescriptorError(`Cannot read ONNX model file ${modelPath}: ${(err as Error).message}`, err);
  }
  return hash.digest('hex');
}

function makeId(modelHash: string, cfg: Resolved): string {
  // Only settings that change the vectors; batch size and threads don't.
  const pre = JSON.stringify({
    v: PREPROCESS_VERSION,
    size: [cfg.width, cfg.height],
    channels: cfg.channels,
    layout: cfg.layout,
    mean: cfg.mean,
    std: cfg.std,
    input: cfg.inputName,
    output: cfg.outputName,
  });
  const preHash = createHash('sha256').update(pre).digest('hex').slice(0, 8);
  return `onnx:${modelHash.slice(0, 16)}-${preHash}`;
}

/** Check the options against the model's declared input and fill in defaults. */
function resolveConfig(session: ort.InferenceSession, o: OnnxDescriptorOptions, batchSize: number, label: string): Resolved {
  const inputs = session.inputNames;
  const outputs = session.outputNames;
  if (inputs.length !== 1) {
    throw new DescriptorError(
      `ONNX model ${label} has ${inputs.length} inputs (${inputs.join(', ')}); retrace needs an image encoder with a single image input (export the vision tower only)`,
    );
  }
  const inputName = o.inputName ?? inputs[0];
  if (!inputs.includes(inputName)) throw new DescriptorError(`ONNX model ${label} has no input named "${inputName}"; its input is "${inputs[0]}"`);
  const outputName = o.outputName ?? outputs[0];
  if (!outputs.includes(outputName)) {
    throw new DescriptorError(`ONNX model ${label} has no output named "${outputName}"; available outputs: ${outputs.map((s) => `"${s}"`).join(', ')}`);
  }

  const layout = o.layout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw new DescriptorError(`OnnxDescriptor: layout must be 'NCHW' or 'NHWC', got ${String(layout)}`);
  const inMeta = session.inputMetadata[inputs.indexOf(inputName)];
  if (inMeta && inMeta.isTensor && inMeta.type !== 'float32') {
    throw new DescriptorError(
      `ONNX model ${label}: input "${inputName}" is ${inMeta.type}; only float32 image inputs are supported (re-export the model in float32)`,
    );
  }
  const outMeta = session.outputMetadata[outputs.indexOf(outputName)];
  if (outMeta && outMeta.isTensor && outMeta.type !== 'float32' && outMeta.type !== 'float64') {
    throw new DescriptorError(`ONNX model ${label}: output "${outputName}" is ${outMeta.type}; only float32 outputs are supported`);
  }
  // An empty shape means the graph doesn't declare one; then the options are trusted as given.
  const shape = inMeta && inMeta.isTensor ? inMeta.shape : [];
  const known = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);
  const shapeText = `[${shape.join(', ')}]`;
  if (shape.length !== 0 && shape.length !== 4) {
    throw new DescriptorError(`ONNX model ${label}: input "${inputName}" has shape ${shapeText}; expected a 4-D image batch (${layout})`);
  }
  const [cAxis, hAxis, wAxis] = layout === 'NCHW' ? [1, 2, 3] : [3, 1, 2];
  const modelC = known(shape[cAxis]);
  const isChannelCount = (d: number | undefined) => d === 1 || d === 3;
  if (modelC !== undefined && !isChannelCount(modelC)) {
    const other = layout === 'NCHW' ? 'NHWC' : 'NCHW';
    const hint = isChannelCount(known(shape[layout === 'NCHW' ? 3 : 1])) ? `; it looks like ${other}, set layout: '${other}'` : '';
    throw new DescriptorError(`ONNX model ${label}: input shape ${shapeText} has ${modelC} on the ${layout} channel axis, not 1 or 3${hint}`);
  }
  const channels = o.channels ?? (modelC as 1 | 3 | undefined) ?? 3;
  if (channels !== 1 && channels !== 3) throw new DescriptorError(`OnnxDescriptor: channels must be 1 or 3, got ${String(channels)}`);
  if (modelC !== undefined && modelC !== channels) {
    throw new DescriptorError(`ONNX model ${label} expects ${modelC}-channel input (shape ${shapeText}) but channels is ${channels}`);
  }

  const modelH = known(shape[hAxis]);
  const modelW = known(shape[wAxis]);
  const width = o.inputSize?.width ?? modelW ?? 224;
  const height = o.inputSize?.height ?? modelH ?? 224;
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new DescriptorError(`OnnxDescriptor: inputSize.${name} must be a positive integer, got ${v}`);
  }
  if ((modelW !== undefined && modelW !== width) || (modelH !== undefined && modelH !== height)) {
    throw new DescriptorError(`ONNX model ${label} expects ${modelW ?? '?'}×${modelH ?? '?'} input (shape ${shapeText}) but inputSize is ${width}×${height}`);
  }

  const mean = perChannel(o.mean ?? (channels === 3 ? IMAGENET_MEAN : GREY_MEAN), channels, 'mean');
  const std = perChannel(o.std ?? (channels === 3 ? IMAGENET_STD : GREY_STD), channels, 'std');
  if (std.some((s) => s <= 0)) throw new DescriptorError(`OnnxDescriptor: std values must be positive, got [${std.join(', ')}]`);

  const modelBatch = known(shape[0]);
  return {
    width,
    height,
    channels,
    layout,
    mean,
    std,
    inputName,
    outputName,
    batch: modelBatch ?? batchSize,
    fixedBatch: modelBatch !== undefined,
  };
}

function perChannel(values: readonly number[], channels: 1 | 3, what: string): number[] {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new DescriptorError(`OnnxDescriptor: ${what} must be an array of finite numbers`);
  }
  if (values.length === channels) return [...values];
  if (values.length === 1) return Array.from({ length: channels }, () => values[0]);
  throw new DescriptorError(`OnnxDescriptor: ${what} has ${values.length} values but the model takes ${channels} channel(s)`);
}

/** Feature length implied by a declared output shape, or undefined when it can't be read statically. */
function staticDimensions(shape: ReadonlyArray<number | string>): number | undefined {
  const n = (d: number | string | undefined) => (typeof d === 'number' && d > 0 ? d : undefined);
  switch (shape.length) {
    case 2:
      return n(shape[1]);
    case 3:
      return shape[2] === 1 ? n(shape[1]) : n(shape[2]);
    case 4:
      return n(shape[1]);
    default:
      return undefined; // unknown rank: probe by running
  }
}

/** Split a batch output into the first `n` per-sample vectors (see the class doc for the rules). */
function reduceOutput(data: Float32Array | Float64Array, dims: readonly number[], n: number, label: string, name: string): Float32Array[] {
  const fail = (why: string) => new DescriptorError(`ONNX model ${label}: output "${name}" has shape [${dims.join(', ')}]; ${why}`);
  if (dims.length < 2 || dims.length > 4) throw fail('expected [N, D], [N, T, D] or [N, C, H, W]');
  if (dims[0] < n) throw fail(`expected at least ${n} rows`);
  const stride = dims.slice(1).reduce((a, b) => a * b, 1);
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const base = i * stride;
    if (dims.length === 2 || (dims.length === 3 && dims[2] === 1)) {
      out.push(Float32Array.from(data.subarray(base, base + stride)));
    } else if (dims.length === 3) {
      out.push(Float32Array.from(data.subarray(base, base + dims[2]))); // token 0
    } else {
      const [, ch, hh, ww] = dims;
      const area = hh * ww;
      const v = new Float32Array(ch);
      for (let k = 0; k < ch; k++) {
        let s = 0;
        const off = base + k * area;
        for (let p = 0; p < area; p++) s += data[off + p];
        v[k] = s / area;
      }
      out.push(v);
    }
  }
  return out;
}

function checkRaster(r: Raster, index: number): void {
  const ok =
    r &&
    Number.isInteger(r.width) &&
    Number.isInteger(r.height) &&
    r.width > 0 &&
    r.height > 0 &&
    (r.channels === 1 || r.channels === 3) &&
    r.data instanceof Uint8Array &&
    r.data.length >= r.width * r.height * r.channels;
  if (!ok) throw new DescriptorError(`Frame ${index} is not a valid raster (${r?.width}×${r?.height}×${r?.channels}, ${r?.data?.length} bytes)`);
}

/** Grey frames are replicated to RGB; RGB frames are reduced to luma for grey models. */
function matchChannels(r: Raster, channels: 1 | 3): Raster {
  if (r.channels === channels) return r;
  if (channels === 1) return toLuma(r);
  const n = r.width * r.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) out[j] = out[j + 1] = out[j + 2] = r.data[i];
  return { width: r.width, height: r.height, channels: 3, data: out };
}

/**
 * Resample to w×h as HWC floats in 0..255. Area averaging when shrinking (stable under noise);
 * bilinear when either side grows, because area averaging degrades to blocky nearest-neighbour
 * there and border-cropped frames are routinely a little smaller than the model input.
 */
function resizeTo(r: Raster, w: number, h: number): Float32Array {
  if (r.width === w && r.height === h) return Float32Array.from(r.data.subarray(0, w * h * r.channels));
  if (r.width >= w && r.height >= h) return resizeArea(r, w, h);
  return resizeBilinear(r, w, h);
}

function resizeBilinear(r: Raster, w: number, h: number): Float32Array {
  const { width: sw, height: sh, channels: c, data } = r;
  const out = new Float32Array(w * h * c);
  const fx = sw / w;
  const fy = sh / h;
  for (let y = 0; y < h; y++) {
    // Half-pixel centres, clamped at the edges.
    const syf = Math.min(sh - 1, Math.max(0, (y + 0.5) * fy - 0.5));
    const y0 = Math.floor(syf);
    const y1 = Math.min(sh - 1, y0 + 1);
    const ty = syf - y0;
    for (let x = 0; x < w; x++) {
      const sxf = Math.min(sw - 1, Math.max(0, (x + 0.5) * fx - 0.5));
      const x0 = Math.floor(sxf);
      const x1 = Math.min(sw - 1, x0 + 1);
      const tx = sxf - x0;
      for (let k = 0; k < c; k++) {
        const a = data[(y0 * sw + x0) * c + k];
        const b = data[(y0 * sw + x1) * c + k];
        const d = data[(y1 * sw + x0) * c + k];
        const e = data[(y1 * sw + x1) * c + k];
        const top = a + (b - a) * tx;
        const bot = d + (e - d) * tx;
        out[(y * w + x) * c + k] = top + (bot - top) * ty;
      }
    }
  }
  return out;
}

/** onnxruntime messages are long and prefixed with the path; keep the informative first line. */
function ortMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim() || 'unknown onnxruntime error';
}

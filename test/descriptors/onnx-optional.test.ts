/**
 * onnxruntime-node is an optional dependency: retrace loads it only when an ONNX descriptor is
 * loaded, so the library (and the built-in descriptor) work where it is missing or broken.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// As if the package were absent (or its native binding failed to load): importing it throws.
vi.mock('onnxruntime-node', () => {
  throw Object.assign(new Error("Cannot find package 'onnxruntime-node'"), { code: 'ERR_MODULE_NOT_FOUND' });
});

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('without onnxruntime-node', () => {
  it('the library loads and the built-in descriptor works', async () => {
    const lib = await import('../../src/index.js');
    const d = new lib.BuiltinDescriptor();
    const frame = { width: 64, height: 64, channels: 1 as const, data: new Uint8Array(64 * 64).map((_, i) => (i * 7) % 251) };
    const [v] = await d.describe([frame]);
    expect(v.length).toBe(d.dimensions);
  });

  it('OnnxDescriptor.load fails with DESCRIPTOR_ERROR saying what to install', async () => {
    const { OnnxDescriptor } = await import('../../src/index.js');
    const dir = await mkdtemp(join(tmpdir(), 'retrace-onnx-optional-'));
    dirs.push(dir);
    const model = join(dir, 'model.onnx');
    await writeFile(model, 'not read: the runtime is missing first');
    const err = await OnnxDescriptor.load({ modelPath: model, inputSize: { width: 32, height: 32 } }).then(
      () => {
        throw new Error('load succeeded without onnxruntime-node');
      },
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(err.code).toBe('DESCRIPTOR_ERROR');
    expect(err.message).toMatch(/onnxruntime-node.*optional dependency.*npm install onnxruntime-node/);
  });
});

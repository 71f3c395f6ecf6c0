/**
 * Real frames to synthesise index content from: every source video decoded by retrace's own
 * sampler at a dense interval (0.5 s), to the descriptor's input size (128×128 luma). Cached as
 * one binary file per source set, so later runs skip the decode.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { BuiltinDescriptor, probeMedia, sampleFrames } from '../../src/index.js';
import type { Raster } from '../../src/core/frames/raster.js';
import { expandInputs } from '../common/inputs.js';

export interface SourceClip {
  name: string;
  /** Seconds between consecutive frames. */
  intervalSec: number;
  frames: Raster[];
}

export const SOURCE_INTERVAL_SEC = 0.5;
const VERSION = 1;

/**
 * Decode (or load from cache) the frames of every video in `inputs`.
 *
 * @example
 * const clips = await loadSourceClips(['../shared/corpus/videos'], '/var/tmp/retrace-bench');
 */
export async function loadSourceClips(inputs: readonly string[], cacheDir: string, log: (s: string) => void = () => undefined): Promise<SourceClip[]> {
  const paths = await expandInputs(inputs);
  if (!paths.length) throw new Error(`no source videos found in ${inputs.join(', ')}`);
  const d = new BuiltinDescriptor();
  const { width, height, channels } = d.input;
  const frameBytes = width * height * channels;
  const key = createHash('sha256');
  key.update(`v${VERSION} ${width}x${height}x${channels} ${SOURCE_INTERVAL_SEC}\n`);
  for (const p of paths) {
    const s = await stat(p);
    key.update(`${p} ${s.size} ${s.mtimeMs}\n`);
  }
  const id = key.digest('hex').slice(0, 16);
  const bin = join(cacheDir, `source-frames-${id}.bin`);
  const meta = join(cacheDir, `source-frames-${id}.json`);
  if (existsSync(bin) && existsSync(meta)) {
    const m = JSON.parse(await readFile(meta, 'utf8')) as Array<{ name: string; frames: number }>;
    const buf = await readFile(bin);
    let off = 0;
    const clips: SourceClip[] = [];
    for (const c of m) {
      const frames: Raster[] = [];
      for (let i = 0; i < c.frames; i++, off += frameBytes) {
        frames.push({ width, height, channels, data: new Uint8Array(buf.buffer, buf.byteOffset + off, frameBytes) });
      }
      clips.push({ name: c.name, intervalSec: SOURCE_INTERVAL_SEC, frames });
    }
    log(`source frames: ${clips.reduce((s, c) => s + c.frames.length, 0)} frames of ${clips.length} clips from cache ${bin}`);
    return clips;
  }
  const t0 = performance.now();
  const clips: SourceClip[] = [];
  for (const path of paths) {
    try {
      const info = await probeMedia(path);
      if (info.kind !== 'video') continue;
      const frames: Raster[] = [];
      for await (const f of sampleFrames({
        path,
        info,
        output: d.input,
        // Evenly spaced frames only: no extra scene keyframes.
        sampling: { intervalSec: SOURCE_INTERVAL_SEC, sceneThreshold: 2, minKeyframeGapSec: SOURCE_INTERVAL_SEC },
      })) {
        frames.push(f.raster);
      }
      if (frames.length) clips.push({ name: basename(path), intervalSec: SOURCE_INTERVAL_SEC, frames });
    } catch (e) {
      log(`source frames: skipping ${basename(path)} (${(e as Error).message})`);
    }
  }
  if (!clips.length) throw new Error('no source video could be decoded');
  await mkdir(cacheDir, { recursive: true });
  const all = Buffer.alloc(clips.reduce((s, c) => s + c.frames.length, 0) * frameBytes);
  let off = 0;
  for (const c of clips)
    for (const f of c.frames) {
      all.set(f.data, off);
      off += frameBytes;
    }
  await writeFile(`${bin}.tmp`, all);
  await rename(`${bin}.tmp`, bin);
  await writeFile(meta, JSON.stringify(clips.map((c) => ({ name: c.name, frames: c.frames.length }))));
  log(`source frames: decoded ${all.length / frameBytes} frames of ${clips.length} clips in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${bin}`);
  return clips;
}

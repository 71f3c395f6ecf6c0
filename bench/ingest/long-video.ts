/**
 * A long synthetic test video for the bounded-memory check: 720p H.264 from ffmpeg's lavfi
 * `testsrc2` (moving pattern, counter) encoded with `-preset ultrafast` at a low bitrate, so
 * a 2-hour file is about 0.5 GB and takes minutes, not hours, to make. Generated once and kept
 * (outside the repository); an existing file of the right duration is reused.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { benchCacheDir } from '../common/cache-dir.js';
import { probeMedia, resolveFfmpegPaths } from '../../src/index.js';

export const DEFAULT_LONG_VIDEO = {
  path: join(benchCacheDir(), 'long-2h-720p.mp4'),
  durationSec: 7200,
};

export interface LongVideoOptions {
  path?: string;
  durationSec?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Video bitrate, e.g. '400k'. */
  bitrate?: string;
  log?: (s: string) => void;
}

/** The ffmpeg arguments that make the video (exported so RESULTS.md can quote them). */
export function longVideoArgs(out: string, o: Required<Omit<LongVideoOptions, 'log' | 'path'>>): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}:duration=${o.durationSec}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-b:v',
    o.bitrate,
    '-maxrate',
    o.bitrate,
    '-bufsize',
    o.bitrate,
    '-g',
    String(o.fps * 10),
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    out,
  ];
}

/** Make the long video unless a file with (about) the requested duration is already there; returns its path. */
export async function generateLongVideo(options: LongVideoOptions = {}): Promise<string> {
  const log = options.log ?? (() => undefined);
  const path = options.path ?? DEFAULT_LONG_VIDEO.path;
  const o = {
    durationSec: options.durationSec ?? DEFAULT_LONG_VIDEO.durationSec,
    width: options.width ?? 1280,
    height: options.height ?? 720,
    fps: options.fps ?? 25,
    bitrate: options.bitrate ?? '400k',
  };
  try {
    await stat(path);
    const info = await probeMedia(path);
    if (Math.abs(info.durationSec - o.durationSec) < 2 && info.width === o.width && info.height === o.height) {
      log(`long video: reusing ${path} (${(info.durationSec / 60).toFixed(1)} min, ${info.width}×${info.height} ${info.codec})`);
      return path;
    }
  } catch {
    // not there yet (or unreadable): make it
  }
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.part.mp4`;
  const { ffmpeg } = resolveFfmpegPaths();
  const args = longVideoArgs(tmp, o);
  log(`long video: generating ${path} (${o.durationSec} s ${o.width}×${o.height} @ ${o.fps} fps)…`);
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg failed (${code}): ${err.trim()}`))));
  });
  await rename(tmp, path);
  log(`long video: generated in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return path;
}

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';
import { FfmpegNotFoundError } from '../errors/retrace-error.js';

export interface FfmpegPaths {
  ffmpeg: string;
  ffprobe: string;
}

let cached: FfmpegPaths | undefined;

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function fromNpm(pkg: '@ffmpeg-installer/ffmpeg' | '@ffprobe-installer/ffprobe'): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const mod = require(pkg) as { path?: string };
    return mod.path && isExecutable(mod.path) ? mod.path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Find ffmpeg and ffprobe: `FFMPEG_PATH`/`FFPROBE_PATH` first, then the system PATH (a distro
 * build is newer and faster), then the binaries shipped on npm so `npm install` alone works.
 *
 * @example
 * const { ffmpeg, ffprobe } = resolveFfmpegPaths();
 */
export function resolveFfmpegPaths(): FfmpegPaths {
  if (cached) return cached;
  const ffmpeg = process.env.FFMPEG_PATH || onPath('ffmpeg') || fromNpm('@ffmpeg-installer/ffmpeg');
  const ffprobe = process.env.FFPROBE_PATH || onPath('ffprobe') || fromNpm('@ffprobe-installer/ffprobe');
  if (!ffmpeg) throw new FfmpegNotFoundError('ffmpeg not found: set FFMPEG_PATH, install ffmpeg, or reinstall @ffmpeg-installer/ffmpeg');
  if (!ffprobe) throw new FfmpegNotFoundError('ffprobe not found: set FFPROBE_PATH, install ffmpeg, or reinstall @ffprobe-installer/ffprobe');
  cached = { ffmpeg, ffprobe };
  return cached;
}

import { spawn } from 'node:child_process';
import { resolveFfmpegPaths } from './ffmpeg-binaries.js';
import { CorruptMediaError, FfmpegNotFoundError, FileNotFoundError, InvalidArgumentError } from '../errors/retrace-error.js';

/** Most bytes a thumbnail may take before ffmpeg is stopped (guards against a runaway encoder). */
const MAX_JPEG_BYTES = 8 * 1024 * 1024;

export interface ExtractFrameOptions {
  /** Stop ffmpeg after this long (default 15 s). */
  timeoutMs?: number;
  /** ffmpeg binary (default: resolveFfmpegPaths(): `FFMPEG_PATH`, PATH, then the npm build). */
  ffmpegPath?: string;
  /** JPEG quality scale 2 (best) – 31 (worst); default 4. */
  quality?: number;
}

/**
 * Decode one frame at `timeSec` and return it as a JPEG, `width` pixels wide (never upscaled;
 * height keeps the display aspect, rotation applied). Seeks with `-ss` before `-i` (fast,
 * keyframe-accurate then decoded forward to the exact time) and writes to a pipe: no temp files.
 * Works for still images with `timeSec` 0.
 */
export async function extractFrameJpeg(path: string, timeSec: number, width = 320, options: ExtractFrameOptions = {}): Promise<Buffer> {
  if (!Number.isFinite(timeSec) || timeSec < 0) throw new InvalidArgumentError(`Frame time must be a number ≥ 0, got ${timeSec}`);
  if (!Number.isInteger(width) || width < 16 || width > 4096) throw new InvalidArgumentError(`Thumbnail width must be an integer from 16 to 4096, got ${width}`);
  const quality = Math.min(31, Math.max(2, Math.round(options.quality ?? 4)));
  const bin = options.ffmpegPath ?? resolveFfmpegPaths().ffmpeg;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    // Seeking a still image yields no frame at all, so time 0 does not seek.
    ...(timeSec > 0 ? ['-ss', timeSec.toFixed(3)] : []),
    '-i', path,
    '-map', '0:v:0',
    '-frames:v', '1',
    // Never upscale; keep the height even for the encoder.
    '-vf', `scale='min(${width},iw)':-2`,
    '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', String(quality),
    'pipe:1',
  ];
  return new Promise<Buffer>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let settled = false;
    const finish = (err: Error | null, value?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err); else resolve(value!);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new CorruptMediaError(`ffmpeg took longer than ${options.timeoutMs ?? 15_000} ms to extract a frame at ${timeSec} s from ${path}`));
    }, options.timeoutMs ?? 15_000);
    child.stdout.on('data', (b: Buffer) => {
      bytes += b.length;
      if (bytes > MAX_JPEG_BYTES) {
        child.kill('SIGKILL');
        finish(new CorruptMediaError(`Thumbnail of ${path} exceeded ${MAX_JPEG_BYTES} bytes`));
        return;
      }
      chunks.push(b);
    });
    child.stderr.on('data', (b: Buffer) => { if (stderr.length < 4000) stderr += b.toString('utf8'); });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') finish(new FfmpegNotFoundError(`ffmpeg not found (tried "${bin}"); install ffmpeg or set FFMPEG_PATH`));
      else finish(err);
    });
    child.on('close', (code) => {
      if (settled) return;
      const out = Buffer.concat(chunks);
      if (code === 0 && out.length > 0) return finish(null, out);
      const msg = stderr.trim().split('\n').slice(-3).join(' ');
      if (/No such file or directory/i.test(msg)) return finish(new FileNotFoundError(path));
      if (code === 0) return finish(new CorruptMediaError(`No frame at ${timeSec.toFixed(3)} s in ${path} (past the end?)`));
      finish(new CorruptMediaError(`Could not extract a frame at ${timeSec.toFixed(3)} s from ${path}: ${msg || `ffmpeg exited with ${code}`}`));
    });
  });
}

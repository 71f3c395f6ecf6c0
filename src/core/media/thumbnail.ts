import { spawn } from 'node:child_process';
import { ffmpegInput, literalNameArgs, resolveFfmpegPaths, spawnFailure } from './ffmpeg-binaries.js';
import { CorruptMediaError, FileNotFoundError, InvalidArgumentError } from '../errors/retrace-error.js';

/** Most bytes a thumbnail may take before ffmpeg is stopped (guards against a runaway encoder). */
const MAX_JPEG_BYTES = 8 * 1024 * 1024;
/** ffmpeg's log kept per extraction: the stream lines, the first frame's line and any decoder errors come early. */
const MAX_LOG_CHARS = 64 * 1024;

export interface ExtractFrameOptions {
  /** Time limit for the whole extraction, a decode from the start included (default 15 s). */
  timeoutMs?: number;
  /** ffmpeg binary (default: resolveFfmpegPaths(): `FFMPEG_PATH`, PATH, then the npm build). */
  ffmpegPath?: string;
  /** JPEG quality scale 2 (best) – 31 (worst); default 4. */
  quality?: number;
}

/** What a fast (`-ss` before `-i`) extraction's log says about the frame it produced. */
export interface SeekVerdict {
  /** The decoder reported broken or concealed macroblocks or missing references. */
  decodeErrors: boolean;
  /** Seconds between the requested time and the frame delivered (null if the log does not say). */
  landedAfterSec: number | null;
  /** The input stream's nominal frame rate, if the log gives one. */
  fps: number | null;
}

/** What ffmpeg logs when a frame was decoded without its references (garbled after a seek). */
export const DECODE_ERROR =
  /error while decoding|concealing \d+|reference \d+ >= \d+|co located POCs unavailable|non-existing PPS|missing reference picture|mmco: unref short failure/i;

/**
 * Read an extraction's stderr (log level info, with a `showinfo` filter before scaling). After
 * `-ss` before `-i`, timestamps start at the requested time, so the first frame's `pts_time` is
 * how far past it the decoder delivered.
 *
 * @example
 * judgeSeek('[h264 @ 0x1] error while decoding MB 2 0, bytestream 7691').decodeErrors; // true
 */
export function judgeSeek(stderr: string): SeekVerdict {
  const pts = /pts_time:\s*(-?[\d.]+)/.exec(stderr);
  const fps = /Stream #0:\d+.*?Video:.*?, ([\d.]+) fps,/.exec(stderr);
  return {
    decodeErrors: DECODE_ERROR.test(stderr),
    landedAfterSec: pts ? Number(pts[1]) : null,
    fps: fps ? Number(fps[1]) : null,
  };
}

/** A fast seek is trusted when the picture decoded cleanly within about a frame of the time asked for. */
function seekIsTrusted(v: SeekVerdict): boolean {
  if (v.decodeErrors) return false;
  if (v.landedAfterSec === null) return true;
  const slack = v.fps && v.fps > 0 ? Math.max(0.1, 1.5 / v.fps) : 1;
  return v.landedAfterSec <= slack;
}

/**
 * Decode one frame at `timeSec` and return it as a JPEG, `width` pixels wide (never upscaled;
 * height keeps the display aspect, rotation applied). Writes to a pipe: no temp files. Works for
 * still images with `timeSec` 0.
 *
 * It seeks with `-ss` before `-i` (fast: from the keyframe before the time, decoded forward).
 * Some files list keyframes the decoder cannot start from: intra-refresh H.264, whose decoder
 * then skips to a later, complete frame, and streams whose frames reference pictures before
 * their "keyframe" (a real corpus clip decoded garbage after every seek, even 30 s of pre-roll).
 * The decoder says so in its log, so then the frame is decoded again from the start of the file,
 * within the same time limit.
 *
 * @example
 * const jpeg = await extractFrameJpeg('film.mp4', 84.5, 320);
 */
export async function extractFrameJpeg(path: string, timeSec: number, width = 320, options: ExtractFrameOptions = {}): Promise<Buffer> {
  if (!Number.isFinite(timeSec) || timeSec < 0) throw new InvalidArgumentError(`Frame time must be a number ≥ 0, got ${timeSec}`);
  if (!Number.isInteger(width) || width < 16 || width > 4096)
    throw new InvalidArgumentError(`Thumbnail width must be an integer from 16 to 4096, got ${width}`);
  const quality = Math.min(31, Math.max(2, Math.round(options.quality ?? 4)));
  const bin = options.ffmpegPath ?? resolveFfmpegPaths().ffmpeg;
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const output = [
    '-map',
    '0:v:0',
    '-frames:v',
    '1',
    // showinfo logs the delivered frame's time; never upscale; keep the height even for the encoder.
    '-vf',
    `showinfo,scale='min(${width},iw)':-2`,
    '-f',
    'image2pipe',
    '-c:v',
    'mjpeg',
    '-q:v',
    String(quality),
    'pipe:1',
  ];
  const head = ['-hide_banner', '-nostats', '-loglevel', 'info', '-nostdin'];
  const input = ffmpegInput(path);
  // Seeking a still image yields no frame at all, so time 0 does not seek.
  if (timeSec === 0) return (await runExtraction(bin, [...head, ...literalNameArgs(path), '-i', input, ...output], path, timeSec, deadline)).jpeg;
  const fast = await runExtraction(bin, [...head, '-ss', timeSec.toFixed(3), '-i', input, ...output], path, timeSec, deadline);
  const verdict = judgeSeek(fast.stderr);
  if (seekIsTrusted(verdict)) return fast.jpeg;
  try {
    return (await runExtraction(bin, [...head, '-i', input, '-ss', timeSec.toFixed(3), ...output], path, timeSec, deadline)).jpeg;
  } catch (err) {
    // A clean but later frame beats none; a garbled one does not.
    if (!verdict.decodeErrors) return fast.jpeg;
    throw err;
  }
}

/** Run one ffmpeg extraction until `deadline` (ms since the epoch); resolves with the JPEG and ffmpeg's log. */
function runExtraction(bin: string, args: string[], path: string, timeSec: number, deadline: number): Promise<{ jpeg: Buffer; stderr: string }> {
  const timeoutMs = Math.max(1, deadline - Date.now());
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let settled = false;
    const finish = (err: Error | null, value?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ jpeg: value!, stderr });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new CorruptMediaError(`ffmpeg took longer than ${timeoutMs} ms to extract a frame at ${timeSec} s from ${path}`));
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      bytes += b.length;
      if (bytes > MAX_JPEG_BYTES) {
        child.kill('SIGKILL');
        finish(new CorruptMediaError(`Thumbnail of ${path} exceeded ${MAX_JPEG_BYTES} bytes`));
        return;
      }
      chunks.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < MAX_LOG_CHARS) stderr += b.toString('utf8');
    });
    child.on('error', (err) => finish(spawnFailure('ffmpeg', bin, err)));
    child.on('close', (code) => {
      if (settled) return;
      const out = Buffer.concat(chunks);
      if (code === 0 && out.length > 0) return finish(null, out);
      // The log is at info level (for showinfo): report only the lines that say what went wrong.
      const msg = stderr
        .split('\n')
        .filter((l) => /error|invalid|no such|unable|fail|unsupported|corrupt|unknown|not found/i.test(l))
        .slice(-3)
        .join(' ')
        .trim();
      if (/No such file or directory/i.test(stderr)) return finish(new FileNotFoundError(path));
      if (code === 0) return finish(new CorruptMediaError(`No frame at ${timeSec.toFixed(3)} s in ${path} (past the end?)`));
      finish(new CorruptMediaError(`Could not extract a frame at ${timeSec.toFixed(3)} s from ${path}: ${msg || `ffmpeg exited with ${code}`}`));
    });
  });
}

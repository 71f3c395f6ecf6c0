import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Raster } from '../frames/raster.js';
import { ffmpegInput, literalNameArgs, resolveFfmpegPaths, spawnFailure } from './ffmpeg-binaries.js';
import { DECODE_ERROR } from './thumbnail.js';
import { AbortedError, CorruptMediaError, FileNotFoundError } from '../errors/retrace-error.js';
import { LATE_SEEK_SEC, READ_AFTER_SEEK_SEC, SEEKS_BADLY_REMEMBERED } from '../settings/media-settings.js';

export interface GrabOptions {
  /** Output width in pixels; the height follows the display aspect (`displayWidth`/`displayHeight`), rounded to even. */
  width: number;
  displayWidth: number;
  displayHeight: number;
  /**
   * Video only: for each time t, the frames at t + offset for each offset, in this order, from
   * one seek (default [0]). The result is time-major: times.length × offsets.length frames.
   */
  offsets?: readonly number[];
  /** A still image: decoded once, whatever the times asked for. */
  isImage?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  ffmpegPath?: string;
}

/**
 * Decode the luma of the frames at `times` (seconds on the file's timeline, as the sampler and
 * the index record them) at a fixed size, in one ffmpeg process: each time is its own input
 * with its own fast seek, so K frames cost K short decodes from the keyframe before each, not a
 * decode of everything between them. Frames come back through a pipe, in the order asked.
 *
 * @example
 * const [a, b] = await grabLumaFrames('film.mp4', [12, 13.5], { width: 320, displayWidth: 1280, displayHeight: 720 });
 */
export async function grabLumaFrames(path: string, times: readonly number[], o: GrabOptions): Promise<Raster[]> {
  if (!times.length) return [];
  if (o.signal?.aborted) throw new AbortedError();
  const width = Math.max(16, Math.round(o.width / 2) * 2);
  const height = Math.max(16, Math.round((width * o.displayHeight) / Math.max(1, o.displayWidth) / 2) * 2);
  const frameBytes = width * height;
  const source = ffmpegInput(path);
  const inputs: string[] = [];
  const chains: string[] = [];
  const n = o.isImage ? 1 : times.length;
  // Around each time, frames at these offsets too, from the same seek (video only).
  const offsets = o.isImage ? [0] : (o.offsets ?? [0]);
  const first = Math.min(...offsets);
  const span = Math.max(...offsets) - first;
  const labels: string[] = [];
  const expected: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = o.isImage ? 0 : Math.max(0, times[i] + first);
    if (start > 0) inputs.push('-ss', start.toFixed(3));
    // Each input reads only a short stretch after its seek: without a limit, every input would
    // be decoded to the end of the file after its frames were taken. The loop filter only
    // smooths block edges, which keypoints at this size do not need (about a third of H.264's cost).
    if (!o.isImage) inputs.push('-t', String(READ_AFTER_SEEK_SEC + span), '-skip_loop_filter', 'all', '-threads', '1');
    inputs.push(...literalNameArgs(path), '-i', source);
    const branches = offsets.map((off, j) => ({ label: `v${i}_${j}`, at: Math.max(0, times[i] + off) - start }));
    const head = `[${i}:v:0]scale=${width}:${height}:flags=area,format=gray,setsar=1`;
    // showinfo logs each taken frame's time since the seek, to check it is the one asked for.
    if (branches.length === 1) chains.push(`${head},trim=start=${branches[0].at.toFixed(3)},trim=end_frame=1,showinfo,setpts=N/TB[${branches[0].label}]`);
    else {
      chains.push(`${head},split=${branches.length}${branches.map((b) => `[s${b.label}]`).join('')}`);
      for (const b of branches) chains.push(`[s${b.label}]trim=start=${b.at.toFixed(3)},trim=end_frame=1,showinfo,setpts=N/TB[${b.label}]`);
    }
    labels.push(...branches.map((b) => b.label));
    expected.push(...branches.map((b) => b.at));
  }
  // Every frame out as it comes (the default frame-rate logic drops one of same-time frames).
  const count = labels.length;
  const graph = `${chains.join(';')};${labels.map((l) => `[${l}]`).join('')}${count === 1 ? 'null' : `concat=n=${count}:v=1:a=0`}[out]`;
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'info',
    '-nostdin',
    ...inputs,
    '-filter_complex',
    graph,
    '-map',
    '[out]',
    '-vsync',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'gray',
    'pipe:1',
  ];
  const bin = o.ffmpegPath ?? resolveFfmpegPaths().ffmpeg;
  const deadline = Date.now() + (o.timeoutMs ?? 15_000);
  const targets = () => times.slice(0, n).flatMap((t) => offsets.map((off) => Math.max(0, t + off)));
  // A file already found to seek badly is decoded from the start at once: its seeks cost a
  // decode each and then are thrown away (a verification asks for one file's frames twice).
  const identity = o.isImage ? null : await fileIdentity(path);
  if (identity && seeksBadly.get(path) === identity) return grabFromStart(bin, path, source, targets(), { width, height }, o.timeoutMs ?? 15_000, o.signal);
  const { out, stderr } = await run(bin, args, path, frameBytes * count, o.timeoutMs ?? 15_000, o.signal);
  // Some files list keyframes the decoder cannot start from (intra refresh, references before
  // the "keyframe"): after a seek their frames come out garbled, and the decoder says so. Those
  // files are decoded from the start instead, once, up to the last time asked for.
  // Others deliver a later, complete frame instead (intra refresh): the taken frames' times
  // since their seeks say so.
  const shown = [...stderr.matchAll(/pts_time:\s*(-?[\d.]+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  const wanted = [...expected].sort((a, b) => a - b);
  const late = !o.isImage && shown.length === wanted.length && shown.some((t, i) => t - wanted[i] > LATE_SEEK_SEC);
  if (!o.isImage && (late || DECODE_ERROR.test(stderr))) {
    if (identity) rememberSeeksBadly(path, identity);
    return grabFromStart(bin, path, source, targets(), { width, height }, Math.max(1, deadline - Date.now()), o.signal);
  }
  const frames: Raster[] = [];
  for (let i = 0; i < count && (i + 1) * frameBytes <= out.length; i++) {
    frames.push({ width, height, channels: 1, data: new Uint8Array(out.buffer, out.byteOffset + i * frameBytes, frameBytes) });
  }
  if (frames.length < count) throw new CorruptMediaError(`Decoded ${frames.length} of ${count} frames from ${path} (a time past the end?)`);
  return o.isImage ? times.map(() => frames[0]) : frames;
}

/** Files whose seeks landed late or garbled, by path, with their size and time (a replaced file is tried afresh). */
const seeksBadly = new Map<string, string>();

function rememberSeeksBadly(path: string, identity: string): void {
  seeksBadly.delete(path);
  seeksBadly.set(path, identity);
  // A bound for a long-running server; the oldest entry goes first.
  if (seeksBadly.size > SEEKS_BADLY_REMEMBERED) seeksBadly.delete(seeksBadly.keys().next().value!);
}

/** Whether grabs of `path` go straight to a decode from the start (its seeks were found to land late or garbled). */
export function isKnownToSeekBadly(path: string): boolean {
  return seeksBadly.has(path);
}

async function fileIdentity(path: string): Promise<string | null> {
  try {
    const st = await stat(path);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
}

/**
 * Frames at `targets` (seconds, in any order) from one decode from the start of the file: each
 * target gets the first frame at or after it. `showinfo` says which frames came out.
 */
async function grabFromStart(
  bin: string,
  path: string,
  source: string,
  targets: readonly number[],
  size: { width: number; height: number },
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Raster[]> {
  const unique = [...new Set(targets)].sort((a, b) => a - b);
  // The first frame at or after each target: its time has reached the target, the last frame
  // selected had not.
  const prev = 'if(isnan(prev_selected_t),-1,prev_selected_t)';
  const pick = unique.map((t) => `gte(t,${t.toFixed(3)})*lt(${prev},${t.toFixed(3)})`).join('+');
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'info',
    '-nostdin',
    '-t',
    (unique[unique.length - 1] + 1).toFixed(3),
    '-skip_loop_filter',
    'all',
    '-threads',
    '1',
    ...literalNameArgs(path),
    '-i',
    source,
    '-vf',
    `select='${pick}',showinfo,scale=${size.width}:${size.height}:flags=area,format=gray,setsar=1`,
    '-vsync',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'gray',
    'pipe:1',
  ];
  const frameBytes = size.width * size.height;
  const { out, stderr } = await run(bin, args, path, frameBytes * unique.length, timeoutMs, signal);
  if (DECODE_ERROR.test(stderr)) throw new CorruptMediaError(`Frames of ${path} do not decode cleanly even from the start`);
  const shown = [...stderr.matchAll(/pts_time:\s*(-?[\d.]+)/g)].map((m) => Number(m[1]));
  const frames = shown.slice(0, Math.floor(out.length / frameBytes)).map((t, i) => ({
    t,
    raster: { width: size.width, height: size.height, channels: 1 as const, data: new Uint8Array(out.buffer, out.byteOffset + i * frameBytes, frameBytes) },
  }));
  return targets.map((t) => {
    const f = frames.find((x) => x.t >= t - 1e-3) ?? frames.at(-1);
    if (!f) throw new CorruptMediaError(`No frame at ${t.toFixed(3)} s in ${path} (past the end?)`);
    return f.raster;
  });
}

function run(bin: string, args: string[], path: string, maxBytes: number, timeoutMs: number, signal?: AbortSignal): Promise<{ out: Buffer; stderr: string }> {
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
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve({ out: value!, stderr });
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new CorruptMediaError(`ffmpeg took longer than ${timeoutMs} ms to decode frames of ${path}`));
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      // Never more than asked for: a filter graph gone wrong cannot fill memory.
      if (bytes >= maxBytes) return;
      bytes += b.length;
      chunks.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      // Enough for the decoder's complaints and showinfo's lines for a few dozen frames.
      if (stderr.length < 262_144) stderr += b.toString('utf8');
    });
    child.on('error', (err) => finish(spawnFailure('ffmpeg', bin, err)));
    child.on('close', (code) => {
      if (code === 0) return finish(null, Buffer.concat(chunks).subarray(0, maxBytes));
      if (/No such file or directory/i.test(stderr)) return finish(new FileNotFoundError(path));
      finish(new CorruptMediaError(`Could not decode frames of ${path}: ${stderr.trim().split('\n').slice(-2).join(' ') || `ffmpeg exited with ${code}`}`));
    });
  });
}

import { spawn } from 'node:child_process';
import { ffmpegInput, fpsModeArgs, resolveFfmpegPaths, spawnFailure } from './ffmpeg-binaries.js';
import { cleanFfmpegMessage } from './probe.js';
import type { MediaInfo } from './probe.js';
import type { Raster } from '../frames/raster.js';
import { AbortedError, CorruptMediaError, DecoderKilledError, MediaTooLongError, TooManyFramesError } from '../errors/retrace-error.js';
import type { SamplingOptions } from '../settings/media-settings.js';
import { DEFAULT_SAMPLING } from '../settings/media-settings.js';
export type { SamplingOptions } from '../settings/media-settings.js';
export { DEFAULT_SAMPLING } from '../settings/media-settings.js';

export interface SampledFrame {
  /** Index of the frame in the source stream (derived from its timestamp and frame rate). */
  frameNumber: number;
  timestampSec: number;
  isKeyframe: boolean;
  raster: Raster;
}

export interface SampleRequest {
  path: string;
  info: MediaInfo;
  /** Size and channels to decode to; the picture is stretched to it, borders are removed later. */
  output: { width: number; height: number; channels: 1 | 3 };
  sampling?: Partial<SamplingOptions>;
  maxDurationSec?: number;
  maxFrames?: number;
  signal?: AbortSignal;
}

/**
 * The decoder half of the sampler's ffmpeg command: input options (threads, loop filter),
 * the input and the stream chosen, with no filter or output. Exported so that the benchmark
 * can decode the same stream with exactly these flags to measure the decode floor.
 */
export function decoderArgs(req: Pick<SampleRequest, 'path' | 'info' | 'sampling'>): string[] {
  const s = { ...DEFAULT_SAMPLING, ...req.sampling };
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    // Deblocking barely changes a 128-pixel thumbnail and is a large share of H.264 decode time.
    '-skip_loop_filter',
    'all',
    '-threads',
    String(s.threads),
    // The image2 demuxer (picture file names) would read a `%d` in the name as a sequence number.
    ...(req.info.container === 'image2' ? ['-pattern_type', 'none'] : []),
    '-i',
    ffmpegInput(req.path),
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
  ];
}

/**
 * The ffmpeg arguments for one sampling run by the binary `ffmpeg` (which spelling of the
 * timestamp option it takes); exported so the benchmark can time ffmpeg alone on the same stream.
 */
export function samplerArgs(req: SampleRequest, ffmpeg: string = resolveFfmpegPaths().ffmpeg): string[] {
  const s = { ...DEFAULT_SAMPLING, ...req.sampling };
  const { width, height, channels } = req.output;
  const pixFmt = channels === 1 ? 'gray' : 'rgb24';
  const scale = `scale=${width}:${height}:flags=area,format=${pixFmt}`;
  let vf: string;
  if (req.info.kind === 'image') {
    vf = `metadata=mode=print,${scale}`;
  } else {
    // Scene detection runs before scaling: ffmpeg's SIMD frame difference at full size is
    // cheaper than scaling every decoded frame first (measured here on 720p H.264).
    const sel =
      `isnan(prev_selected_t)` +
      `+gte(t-prev_selected_t\\,${s.intervalSec - 1e-3})` +
      `+gt(scene\\,${s.sceneThreshold})*gte(t-prev_selected_t\\,${s.minKeyframeGapSec})`;
    vf = `select='${sel}',metadata=mode=print,${scale}`;
  }
  return [
    ...decoderArgs(req),
    '-vf',
    vf,
    ...(req.info.kind === 'image' ? ['-frames:v', '1'] : []),
    ...fpsModeArgs(ffmpeg, 'passthrough'),
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

interface FrameMeta {
  t: number;
  scene: number;
}

/**
 * Decode a video (or image) into small raw frames streamed through a pipe: no temporary
 * files, and memory bounded by one frame plus the pipe buffer whatever the video length.
 * Consumers that are slow simply stop reading; ffmpeg then blocks on the pipe.
 *
 * @example
 * for await (const f of sampleFrames({ path, info, output: { width: 128, height: 128, channels: 1 } })) {
 *   console.log(f.timestampSec, f.isKeyframe);
 * }
 */
export async function* sampleFrames(req: SampleRequest): AsyncGenerator<SampledFrame> {
  const s = { ...DEFAULT_SAMPLING, ...req.sampling };
  // An already-aborted signal never fires 'abort' again: stop before starting ffmpeg.
  if (req.signal?.aborted) throw new AbortedError();
  const { ffmpeg } = resolveFfmpegPaths();
  const frameBytes = req.output.width * req.output.height * req.output.channels;
  const proc = spawn(ffmpeg, samplerArgs(req, ffmpeg), { stdio: ['ignore', 'pipe', 'pipe'] });

  const metas: FrameMeta[] = [];
  const errors: string[] = [];
  /** The demuxer found the file shorter than its own index says: the end of the video is missing. */
  let truncated = false;
  let pendingT: number | null = null;
  let stderrBuf = '';
  let stderrEnded = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    stderrBuf += chunk;
    let nl: number;
    while ((nl = stderrBuf.indexOf('\n')) >= 0) {
      const line = stderrBuf.slice(0, nl);
      stderrBuf = stderrBuf.slice(nl + 1);
      const pts = /pts_time:(\S+)/.exec(line);
      if (pts) {
        if (pendingT !== null) metas.push({ t: pendingT, scene: 0 });
        pendingT = Number(pts[1]);
        if (req.info.kind === 'image') {
          metas.push({ t: 0, scene: 0 });
          pendingT = null;
        }
        continue;
      }
      const sc = /lavfi\.scene_score=(\S+)/.exec(line);
      if (sc && pendingT !== null) {
        metas.push({ t: pendingT, scene: Number(sc[1]) });
        pendingT = null;
        continue;
      }
      if (/partial file/i.test(line)) truncated = true;
      if (/error|invalid|corrupt|missing|truncat/i.test(line) && !/deprecated/i.test(line) && errors.length < 20) {
        errors.push(cleanFfmpegMessage(line));
      }
    }
    notify();
  });
  proc.stderr.on('end', () => {
    if (pendingT !== null) {
      metas.push({ t: pendingT, scene: 0 });
      pendingT = null;
    }
    stderrEnded = true;
    notify();
  });
  let spawnError: Error | null = null;
  let killedBy: NodeJS.Signals | null = null;
  const exited = new Promise<number | null>((resolve) => {
    proc.on('close', (code, signal) => {
      killedBy = signal;
      resolve(code);
    });
    proc.on('error', (e) => {
      spawnError = e;
      resolve(-1);
    });
  });
  const onAbort = () => proc.kill('SIGKILL');
  req.signal?.addEventListener('abort', onAbort, { once: true });

  let count = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= frameBytes) {
        const all = pending.length === 1 ? pending[0] : Buffer.concat(pending);
        const data = new Uint8Array(all.subarray(0, frameBytes));
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        // Frames already buffered when the caller gave up are not delivered.
        if (req.signal?.aborted) throw new AbortedError();
        // stderr is a separate pipe: the frame's metadata line may not have arrived yet.
        while (metas.length === 0 && !stderrEnded)
          await new Promise<void>((r) => {
            wake = r;
          });
        const meta = metas.shift() ?? { t: count * s.intervalSec, scene: 0 };
        const t = Number.isFinite(meta.t) ? Math.max(0, meta.t) : count * s.intervalSec;
        if (req.maxDurationSec !== undefined && t > req.maxDurationSec) {
          throw new MediaTooLongError(t, req.maxDurationSec);
        }
        if (req.maxFrames !== undefined && count >= req.maxFrames) {
          throw new TooManyFramesError(req.maxFrames);
        }
        const fps = req.info.fps;
        yield {
          frameNumber: fps ? Math.round(t * fps) : count,
          timestampSec: t,
          isKeyframe: count > 0 && meta.scene > s.sceneThreshold,
          raster: { width: req.output.width, height: req.output.height, channels: req.output.channels, data },
        };
        count++;
      }
    }
    const code = await exited;
    if (req.signal?.aborted) throw new AbortedError();
    if (spawnError) throw spawnFailure('ffmpeg', ffmpeg, spawnError);
    // Not aborted by retrace, so killed from outside: says nothing about the file.
    if (code === null && killedBy) throw new DecoderKilledError(killedBy);
    if (code !== 0) {
      throw new CorruptMediaError(`Decoding failed${errors.length ? `: ${errors[0]}` : ` (ffmpeg exit code ${code})`}`);
    }
    if (truncated) {
      throw new CorruptMediaError('File is truncated: its index lists frames beyond the end of the data (an incomplete copy or download)');
    }
    if (count === 0) {
      throw new CorruptMediaError(`No frames could be decoded${errors.length ? `: ${errors[0]}` : ' (the video stream is empty)'}`);
    }
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    if (proc.exitCode === null) {
      // Stopped early (error, limit or consumer break): don't leave ffmpeg running.
      proc.kill('SIGKILL');
      await exited;
    }
  }
}

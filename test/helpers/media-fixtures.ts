/**
 * Test media made on the fly with ffmpeg: lavfi sources encoded with several codecs and
 * containers, edited copies (re-encode, crop, flip), stills and deliberately broken files.
 * Every test file generates what it needs into its own temp directory (see `makeTempDir`)
 * in a `beforeAll`, so the suite needs nothing but ffmpeg and never touches ../shared.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fpsModeArgs, resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';

// ---- processes ----------------------------------------------------------------------------

export interface RunOptions {
  /** Write ffmpeg's stdout to this file (for `pipe:1` outputs). */
  stdoutTo?: string;
  /** Kill ffmpeg after this long (default 60 s). */
  timeoutMs?: number;
}

/** Run ffmpeg with `args` (quiet, overwrite); rejects with its stderr if it fails. */
export function ffmpeg(args: readonly string[], options: RunOptions = {}): Promise<void> {
  const bin = resolveFfmpegPaths().ffmpeg;
  const full = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args];
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, full, { stdio: ['ignore', options.stdoutTo ? 'pipe' : 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 8000) stderr += b.toString();
    });
    let sink: Promise<void> = Promise.resolve();
    if (options.stdoutTo && proc.stdout) {
      const out = createWriteStream(options.stdoutTo);
      proc.stdout.pipe(out);
      sink = new Promise((res, rej) => {
        out.on('finish', () => res());
        out.on('error', rej);
      });
    }
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) sink.then(resolve, reject);
      else reject(new Error(`ffmpeg ${full.join(' ')} failed (${signal ?? code}): ${stderr.trim()}`));
    });
  });
}

/**
 * An hour of a test pattern at a cheap size (160×120, 5 fps, keyframe every second): quick to
 * make, tens of seconds to index, so a signal or a kill lands mid-ingest. Its time limit is
 * generous: with a CI run and a benchmark beside it, the 2018 npm ffmpeg took over a minute.
 */
export async function makeLongClip(dir: TempDir, name = 'long'): Promise<string> {
  const out = dir.file(`${name}.mp4`);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=5', '-t', '3600', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '5', out], {
    timeoutMs: 240_000,
  });
  return out;
}

/** Run ffprobe and return its JSON (`-show_format -show_streams`). */
export function ffprobeJson(path: string): Promise<{ streams: Array<Record<string, unknown>>; format: Record<string, unknown> }> {
  const bin = resolveFfmpegPaths().ffprobe;
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    proc.stdout.on('data', (b: Buffer) => out.push(b));
    proc.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ffprobe ${path} failed: ${err.trim()}`));
      resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as never);
    });
  });
}

// ---- temp directories ---------------------------------------------------------------------

export interface TempDir {
  path: string;
  /** Absolute path of a file inside the directory. */
  file(name: string): string;
  /** Remove the directory and everything in it. */
  cleanup(): Promise<void>;
}

/** A fresh private directory under the OS temp dir. */
export async function makeTempDir(prefix = 'retrace-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    file: (name) => join(path, name),
    cleanup: () => rm(path, { recursive: true, force: true }),
  };
}

// ---- content ------------------------------------------------------------------------------

export interface Raster2D {
  width: number;
  height: number;
  rate: number;
}

/**
 * Visually rich, mutually distinct lavfi sources with steady motion: neighbouring seconds
 * look alike but a few seconds apart they do not, so a copy can be placed in time.
 * Each returns a filtergraph producing `width`×`height` at `rate` fps (endless; cut with -t).
 * Only sources the npm-shipped ffmpeg (a 2018 build) has: no `gradients`, `sierpinski`, `zoneplate`.
 */
export const SOURCES = {
  /** Zoom into the Mandelbrot set (default view). */
  mandelbrot: ({ width, height, rate }: Raster2D) => `mandelbrot=s=${width}x${height}:r=${rate}`,
  /** Slower zoom into the seahorse valley of the Mandelbrot set: different structure and colours. */
  seahorse: ({ width, height, rate }: Raster2D) =>
    `mandelbrot=s=${width}x${height}:r=${rate}:start_x=-0.743643887037151:start_y=0.131825904205330:start_scale=1.2:end_scale=0.02:end_pts=${rate * 14}`,
  /** ffmpeg's testsrc2 pattern turning slowly (about 9° per second). */
  rotatingPattern: ({ width, height, rate }: Raster2D) => {
    const side = Math.ceil(Math.hypot(width, height) / 2) * 2;
    return `testsrc2=s=${side}x${side}:r=${rate},rotate=a=0.15*t:ow=${width}:oh=${height}`;
  },
  /** SMPTE HD colour bars turning the other way. */
  rotatingBars: ({ width, height, rate }: Raster2D) => {
    const side = Math.ceil(Math.hypot(width, height) / 2) * 2;
    return `smptehdbars=s=${side}x${side}:r=${rate},rotate=a=-0.2*t:ow=${width}:oh=${height}`;
  },
  /** Conway's game of life in two colours, big cells. */
  life: ({ width, height, rate }: Raster2D) =>
    `life=s=${Math.round(width / 2)}x${Math.round(height / 2)}:r=5:mold=20:ratio=0.5:seed=11:rule=B36/S23:life_color=#ffcc00:death_color=#2040a0,scale=${width}:${height}:flags=neighbor,fps=${rate}`,
  /** A 1-D cellular automaton (rule 30) scrolling up. */
  cellauto: ({ width, height, rate }: Raster2D) => `cellauto=s=${width}x${height}:r=${rate}:rule=30:seed=9`,
  /** Still SMPTE bars: a static shot. */
  staticBars: ({ width, height, rate }: Raster2D) => `smptebars=s=${width}x${height}:r=${rate}`,
} as const;

export type SourceName = keyof typeof SOURCES;

/** Codec + container pairs, as ffmpeg output arguments. */
/** H.264 encoder arguments at a quality (constant rate factor), as the fixtures encode. */
export function h264Args(crf = 20): string[] {
  return ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf), '-pix_fmt', 'yuv420p'];
}

export const CODECS = {
  h264: { ext: 'mp4', args: h264Args(20) },
  // Not `-deadline realtime`: there libvpx lowers its effort when encoding falls behind the clock,
  // so on a loaded machine the same command can give a different file (seen with 6 encodes at
  // once: three different files from one command). `good` gives the same picture every time.
  vp8: { ext: 'webm', args: ['-c:v', 'libvpx', '-b:v', '800k', '-deadline', 'good', '-cpu-used', '5'] },
  mpeg4: { ext: 'avi', args: ['-c:v', 'mpeg4', '-q:v', '4'] },
  mjpeg: { ext: 'mov', args: ['-c:v', 'mjpeg', '-q:v', '4', '-pix_fmt', 'yuvj420p'] },
} as const;

export type CodecName = keyof typeof CODECS;

export interface ClipOptions {
  source: SourceName;
  durationSec: number;
  codec?: CodecName;
  width?: number;
  height?: number;
  rate?: number;
  /** Extra filters appended to the source (e.g. `pad=...`). */
  vf?: string;
}

/** Encode `durationSec` of a lavfi source into `dir/name.<ext>`; returns the path. */
export async function makeClip(dir: TempDir, name: string, o: ClipOptions): Promise<string> {
  const codec = CODECS[o.codec ?? 'h264'];
  const graph = SOURCES[o.source]({ width: o.width ?? 320, height: o.height ?? 240, rate: o.rate ?? 25 });
  const out = dir.file(`${name}.${codec.ext}`);
  await ffmpeg(['-f', 'lavfi', '-i', graph + (o.vf ? `,${o.vf}` : ''), '-t', String(o.durationSec), ...codec.args, out]);
  return out;
}

/**
 * Concatenate several sources back to back (a hard cut between each) into one H.264 MP4.
 * All parts share size and rate.
 */
export async function makeCutClip(
  dir: TempDir,
  name: string,
  parts: ReadonlyArray<{ source: SourceName; durationSec: number }>,
  size = { width: 320, height: 240, rate: 25 },
): Promise<string> {
  const out = dir.file(`${name}.mp4`);
  const inputs = parts.flatMap((p) => ['-f', 'lavfi', '-t', String(p.durationSec), '-i', SOURCES[p.source](size)]);
  const labels = parts.map((_, i) => `[${i}:v]setpts=PTS-STARTPTS[v${i}]`).join(';');
  const concat = `${parts.map((_, i) => `[v${i}]`).join('')}concat=n=${parts.length}:v=1:a=0,format=yuv420p[out]`;
  await ffmpeg([...inputs, '-filter_complex', `${labels};${concat}`, '-map', '[out]', ...CODECS.h264.args, out]);
  return out;
}

export interface EditOptions {
  /** Start of the excerpt in the input (seconds). */
  start?: number;
  /** Length of the excerpt (seconds). */
  duration?: number;
  /** Video filters applied to the excerpt. */
  vf?: string;
  codec?: CodecName;
  /** Replace the codec's quality settings (e.g. a low-quality re-encode). */
  codecArgs?: readonly string[];
}

/** Cut/filter/re-encode an existing file into `dir/name.<ext>`; returns the path. */
export async function editClip(input: string, dir: TempDir, name: string, o: EditOptions = {}): Promise<string> {
  const codec = CODECS[o.codec ?? 'h264'];
  const out = dir.file(`${name}.${codec.ext}`);
  await ffmpeg([
    ...(o.start !== undefined ? ['-ss', String(o.start)] : []),
    '-i',
    input,
    ...(o.duration !== undefined ? ['-t', String(o.duration)] : []),
    '-an',
    ...(o.vf ? ['-vf', o.vf] : []),
    ...(o.codecArgs ?? codec.args),
    out,
  ]);
  return out;
}

/**
 * A small library in which a copy is found and a non-copy is not: `original` (a turning pattern,
 * 12 s at 15 fps), `excerpt` (6 s of it from 2 s, re-encoded) and the unrelated `other` (6 s).
 * The server's signature and dedup tests both start from it.
 */
export async function makeExcerptLibrary(dir: TempDir): Promise<{ original: string; excerpt: string; other: string }> {
  const original = await makeClip(dir, 'original', { source: 'rotatingPattern', durationSec: 12, rate: 15 });
  const excerpt = await editClip(original, dir, 'excerpt', { start: 2, duration: 6 });
  const other = await makeClip(dir, 'other', { source: 'seahorse', durationSec: 6, rate: 15 });
  return { original, excerpt, other };
}

/** Extract the frame at `timeSec` as a still image (format from the extension: .jpg, .png, .webp). */
export async function extractStill(input: string, timeSec: number, out: string, vf?: string): Promise<string> {
  const fmt = out.endsWith('.webp') ? ['-c:v', 'libwebp'] : out.endsWith('.jpg') ? ['-q:v', '3'] : [];
  await ffmpeg(['-ss', String(timeSec), '-i', input, '-frames:v', '1', ...(vf ? ['-vf', vf] : []), ...fmt, out]);
  return out;
}

/** A still image straight from a lavfi source. */
export async function makeStill(dir: TempDir, name: string, source: SourceName = 'mandelbrot', size = { width: 320, height: 240 }): Promise<string> {
  const out = dir.file(name);
  const fmt = name.endsWith('.webp') ? ['-c:v', 'libwebp'] : name.endsWith('.jpg') ? ['-q:v', '3'] : [];
  await ffmpeg(['-f', 'lavfi', '-i', SOURCES[source]({ ...size, rate: 25 }), '-frames:v', '1', ...fmt, out]);
  return out;
}

// ---- problem files ------------------------------------------------------------------------

/**
 * The awkward inputs real collections contain, generated next to `base` (a valid H.264 MP4).
 * Each maker returns the path of the file it wrote.
 */
export const problemFiles = {
  /** Zero bytes. */
  async empty(dir: TempDir): Promise<string> {
    const p = dir.file('empty.mp4');
    await writeFile(p, '');
    return p;
  },
  /** Plain text with a video extension. */
  async textAsMp4(dir: TempDir): Promise<string> {
    const p = dir.file('notes.mp4');
    await writeFile(p, 'These are my holiday notes, not a video.\n'.repeat(20));
    return p;
  },
  /** Only an AAC audio track, in an .mp4 container. */
  async audioOnly(dir: TempDir): Promise<string> {
    const p = dir.file('audio-only.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', '-c:a', 'aac', p]);
    return p;
  },
  /** The first half of an MP4 whose index (moov) is at the end, as a broken download leaves it. */
  async truncatedMp4(dir: TempDir, base: string): Promise<string> {
    const bytes = await readFile(base);
    const p = dir.file('truncated.mp4');
    await writeFile(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
    return p;
  },
  /** The first half of a "fast start" MP4: the index survives and promises frames that are gone. */
  async truncatedFastStartMp4(dir: TempDir, base: string): Promise<string> {
    const fast = dir.file('faststart-full.mp4');
    await ffmpeg(['-i', base, '-c', 'copy', '-movflags', '+faststart', fast]);
    const bytes = await readFile(fast);
    const p = dir.file('truncated-faststart.mp4');
    await writeFile(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
    return p;
  },
  /** An MP4 written from zero frames: a valid container with nothing in it. */
  async zeroLengthMp4(dir: TempDir): Promise<string> {
    const p = dir.file('zero-length.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-frames:v', '0', ...CODECS.h264.args, p]);
    return p;
  },
  /** An AVI with a video stream header but not a single frame. */
  async zeroLengthAvi(dir: TempDir): Promise<string> {
    const p = dir.file('zero-length.avi');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-frames:v', '0', ...CODECS.mpeg4.args, p]);
    return p;
  },
  /** An 8×8 video (below the 16-pixel minimum). */
  async tinyVideo(dir: TempDir): Promise<string> {
    const p = dir.file('tiny-8x8.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=8x8:r=25', '-t', '2', ...CODECS.h264.args, p]);
    return p;
  },
  /** A phone-style portrait recording: 320×240 coded, display matrix rotated by 90°. */
  async rotated90(dir: TempDir, base: string): Promise<string> {
    const p = dir.file('rotated-90.mp4');
    await ffmpeg(['-i', base, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', p]);
    return p;
  },
  /** Variable frame rate: 4 s at 10 fps, then 4 s at 30 fps, timestamps kept as they are. */
  async variableFrameRate(dir: TempDir): Promise<string> {
    const p = dir.file('vfr.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `${SOURCES.rotatingPattern({ width: 320, height: 240, rate: 10 })},trim=duration=4`,
      '-f',
      'lavfi',
      '-i',
      `${SOURCES.mandelbrot({ width: 320, height: 240, rate: 30 })},trim=duration=4`,
      '-filter_complex',
      '[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1:a=0,format=yuv420p[v]',
      // `-r 30` sets the output time base to 1/30 s: without it ffmpeg before 5.1 takes the
      // first input's rate (10 fps), rounds the 30 fps part onto it and drops two frames in three.
      '-map',
      '[v]',
      ...fpsModeArgs(resolveFfmpegPaths().ffmpeg, 'vfr'),
      '-r',
      '30',
      ...CODECS.h264.args,
      p,
    ]);
    return p;
  },
  /**
   * WebM written to a pipe by a muxer that never learnt the length: no duration and no cues in
   * the header, as live recorders and browsers' MediaRecorder produce.
   */
  async webmWithoutDuration(dir: TempDir, durationSec = 6): Promise<string> {
    const p = dir.file('no-duration.webm');
    // The source itself carries the length (`d=`): with `-t` ffmpeg would tell the muxer.
    await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=s=320x240:r=25:d=${durationSec}`, ...CODECS.vp8.args, '-f', 'webm', 'pipe:1'], { stdoutTo: p });
    return p;
  },
};

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/**
 * Two 8 s 320×240 clips of one zoom for seek tests: `plain` H.264, and `intraRefresh`, encoded
 * with periodic intra refresh — after the first frame every "keyframe" is a recovery point whose
 * picture is complete only a refresh wave (30 frames) later, so a seek before decoding lands late.
 */
export async function makeSeekClips(dir: TempDir): Promise<{ plain: string; intraRefresh: string }> {
  const zoom = SOURCES.mandelbrot({ width: 320, height: 240, rate: 15 });
  const plain = dir.file('plain.mp4');
  const intraRefresh = dir.file('intra-refresh.mp4');
  await Promise.all([
    ffmpeg(['-f', 'lavfi', '-i', zoom, '-t', '8', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', plain]),
    ffmpeg(['-f', 'lavfi', '-i', zoom, '-t', '8', '-c:v', 'libx264', '-x264-params', 'intra-refresh=1:keyint=30', '-pix_fmt', 'yuv420p', intraRefresh]),
  ]);
  return { plain, intraRefresh };
}

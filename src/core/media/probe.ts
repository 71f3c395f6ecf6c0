import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { ffmpegInput, literalNameArgs, resolveFfmpegPaths, spawnFailure } from './ffmpeg-binaries.js';
import type { MediaLimits } from '../settings/media-settings.js';
import { DEFAULT_LIMITS } from '../settings/media-settings.js';
import {
  CorruptMediaError,
  EmptyFileError,
  FileNotFoundError,
  FileTooLargeError,
  InvalidDimensionsError,
  MediaTooLongError,
  NoVideoStreamError,
  UnsupportedMediaError,
} from '../errors/retrace-error.js';

/** What probing found out about a media file. */
export interface MediaInfo {
  kind: 'video' | 'image';
  /** Duration in seconds; for a file whose header has none, measured by decoding. 0 for images. */
  durationSec: number;
  /** Average frame rate; `null` when the container reports none (0/0) and none can be derived. */
  fps: number | null;
  /** Display size, after rotation metadata is applied. */
  width: number;
  height: number;
  /** Rotation metadata in degrees (0, 90, 180, 270). */
  rotation: number;
  codec: string;
  container: string;
  hasAudio: boolean;
  variableFrameRate: boolean;
  sizeBytes: number;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number | string }>;
}
interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string; size?: string };
}

const IMAGE_CODECS = new Set(['mjpeg', 'png', 'webp', 'bmp', 'tiff', 'gif', 'jpegls', 'jpeg2000']);
const IMAGE_FORMATS = /(^|,)(image2|png_pipe|jpeg_pipe|webp_pipe|bmp_pipe|tiff_pipe|gif|jpegls_pipe|j2k_pipe)(,|$)/;

function parseRate(r: string | undefined): number | null {
  if (!r) return null;
  const [n, d] = r.split('/').map(Number);
  if (!Number.isFinite(n) || !Number.isFinite(d) || d === 0 || n === 0) return null;
  const v = n / d;
  // Containers report 1000/1 or 90000/1 time bases as "frame rates"; not a real rate.
  return v > 0 && v <= 240 ? v : null;
}

function parseDuration(...values: Array<string | undefined>): number | null {
  for (const v of values) {
    const n = Number(v);
    if (v !== undefined && v !== 'N/A' && Number.isFinite(n) && n > 0) return n;
  }
  return null;
}

function rotationOf(s: ProbeStream): number {
  const side = s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
  const raw = side !== undefined ? Number(side) : Number(s.tags?.rotate ?? 0);
  if (!Number.isFinite(raw)) return 0;
  return (((Math.round(raw / 90) * 90) % 360) + 360) % 360;
}

/** ISO base media (MP4/MOV/3GP) files start with a box header: 4-byte size, then a known box type. */
function looksLikeIsoMedia(head: Buffer): boolean {
  if (head.length < 8) return false;
  return /^(ftyp|moov|mdat|free|skip|wide|pnot|uuid|styp|sidx|moof)$/.test(head.subarray(4, 8).toString('latin1'));
}

async function readHead(path: string, n = 16): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Length of the first video stream measured by reading its packets (demuxing only, no
 * decoding): for containers whose header carries no duration, such as WebM written to a pipe.
 * Returns the end time of the last packet and how many packets there were; stops early once
 * `stopAfterSec` is passed, since the file is then too long anyway.
 */
async function measureVideoDuration(path: string, stopAfterSec: number): Promise<{ durationSec: number; packets: number }> {
  const { ffprobe } = resolveFfmpegPaths();
  const args = [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pts_time,dts_time,duration_time',
    '-of',
    'csv=p=0',
    ...literalNameArgs(path),
    ffmpegInput(path),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(ffprobe, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let start = Infinity;
    let end = 0;
    let packets = 0;
    let rest = '';
    let stopped = false;
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const [pts, dts, dur] = line.split(',').map(Number);
        const t = Number.isFinite(pts) ? pts : dts;
        if (!Number.isFinite(t)) continue;
        packets++;
        start = Math.min(start, t);
        end = Math.max(end, t + (Number.isFinite(dur) ? dur : 0));
      }
      if (!stopped && end - (Number.isFinite(start) ? start : 0) > stopAfterSec) {
        stopped = true;
        p.kill('SIGKILL');
      }
    });
    p.on('error', (e) => reject(spawnFailure('ffprobe', ffprobe, e)));
    p.on('close', () => resolve({ durationSec: packets ? end - (Number.isFinite(start) ? Math.min(start, end) : 0) : 0, packets }));
  });
}

/** Run ffprobe; classify its failure into the error a user can act on. */
async function runFfprobe(path: string): Promise<ProbeOutput> {
  const { ffprobe } = resolveFfmpegPaths();
  const head = await readHead(path);
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...literalNameArgs(path), ffmpegInput(path)];
  return new Promise((resolve, reject) => {
    const p = spawn(ffprobe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => {
      if (err.length < 8192) err += b.toString();
    });
    p.on('error', (e) => reject(spawnFailure('ffprobe', ffprobe, e)));
    p.on('close', (code) => {
      const firstLine =
        err
          .split('\n')
          .map((l) => l.trim())
          .find(Boolean) ?? '';
      if (code !== 0) {
        const damaged = /moov atom not found|truncat|end of file|Invalid NAL|partial file|error reading header/i.test(err);
        // "moov atom not found" is also what the MP4 demuxer says about any non-MP4 bytes named .mp4:
        // only call the file damaged when it really starts like an MP4.
        const notMp4 = /moov atom not found/i.test(err) && !looksLikeIsoMedia(head);
        if (damaged && !notMp4) {
          reject(new CorruptMediaError(`File is damaged or truncated and cannot be read (${cleanFfmpegMessage(firstLine)})`));
        } else {
          reject(new UnsupportedMediaError(`Not a recognised video or image file (${cleanFfmpegMessage(firstLine) || 'ffprobe failed'})`));
        }
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as ProbeOutput);
      } catch (e) {
        reject(new UnsupportedMediaError('ffprobe returned unreadable output', e));
      }
    });
  });
}

/** Strip ffmpeg's "[mov,mp4 @ 0x55…]" prefixes and file paths (`file:/…: `) so messages read cleanly. */
export function cleanFfmpegMessage(line: string): string {
  return line
    .replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '')
    .replace(/^(?:file:)?\/\S+:\s*/, '')
    .trim();
}

/**
 * Probe and validate a media file: file checks first (cheap), then ffprobe, then the limits.
 * Throws a typed RetraceError for anything that cannot be indexed or searched.
 *
 * @example
 * const info = await probeMedia('clip.mp4');
 * console.log(info.durationSec, info.width, info.height);
 */
export async function probeMedia(path: string, limits: MediaLimits = DEFAULT_LIMITS): Promise<MediaInfo> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new FileNotFoundError(path);
    size = s.size;
  } catch (e) {
    if (e instanceof FileNotFoundError) throw e;
    throw new FileNotFoundError(path);
  }
  if (size === 0) throw new EmptyFileError(path);
  if (size > limits.maxFileBytes) throw new FileTooLargeError(size, limits.maxFileBytes);

  const probe = await runFfprobe(path);
  const streams = probe.streams ?? [];
  const formatName = probe.format?.format_name ?? '';
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) {
    if (streams.some((s) => s.codec_type === 'audio')) throw new NoVideoStreamError(path);
    // A container ffprobe recognised, holding no stream at all: a video written from zero frames.
    if (streams.length === 0 && formatName) throw new CorruptMediaError(`${path} is an empty ${formatName.split(',')[0]} container with no video frames`);
    throw new UnsupportedMediaError(`Not a recognised video or image file: ${path}`);
  }
  const codec = video.codec_name ?? 'unknown';
  const isImage =
    IMAGE_FORMATS.test(formatName) || (IMAGE_CODECS.has(codec) && (video.nb_frames === '1' || !parseDuration(video.duration, probe.format?.duration)));
  const rotation = rotationOf(video);
  const rawW = video.width ?? 0;
  const rawH = video.height ?? 0;
  const [width, height] = rotation === 90 || rotation === 270 ? [rawH, rawW] : [rawW, rawH];
  if (rawW === 0 || rawH === 0) throw new CorruptMediaError(`Video stream has no picture size: ${path}`);
  if (Math.min(width, height) < limits.minDimension || Math.max(width, height) > limits.maxDimension) {
    throw new InvalidDimensionsError(width, height, limits.minDimension, limits.maxDimension);
  }

  const avg = parseRate(video.avg_frame_rate);
  const real = parseRate(video.r_frame_rate);
  const fps = avg ?? real;
  let durationSec = isImage ? 0 : (parseDuration(video.duration, probe.format?.duration) ?? 0);
  if (!isImage && durationSec === 0) {
    // No duration in the header (WebM from a pipe, some AVIs): measure it from the packets.
    const measured = await measureVideoDuration(path, limits.maxDurationSec);
    if (measured.packets === 0) throw new CorruptMediaError(`Video stream of ${path} contains no frames (zero-length video)`);
    durationSec = measured.durationSec;
  }
  if (!isImage && durationSec > limits.maxDurationSec) throw new MediaTooLongError(durationSec, limits.maxDurationSec);

  return {
    kind: isImage ? 'image' : 'video',
    durationSec,
    fps: isImage ? null : fps,
    width,
    height,
    rotation,
    codec,
    container: formatName,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    // ffprobe reports r_frame_rate as the lowest common rate; a differing average means VFR.
    variableFrameRate: avg !== null && real !== null && Math.abs(avg - real) / real > 0.01,
    sizeBytes: size,
  };
}

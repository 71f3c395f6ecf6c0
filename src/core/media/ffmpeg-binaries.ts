import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, extname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { FfmpegNotFoundError, FfmpegUnusableError } from '../errors/retrace-error.js';

export interface FfmpegPaths {
  ffmpeg: string;
  ffprobe: string;
}

/** The last verified pair, valid while the environment that chose it is unchanged. */
let cached: { key: string; paths: FfmpegPaths } | undefined;

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return isFile(p);
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

type Tool = 'ffmpeg' | 'ffprobe';

/** The binary for `tool`: its environment variable if set (and then only that), else PATH, else npm. */
function locate(tool: Tool): { path: string; source: string } {
  const envName = tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  const fromEnv = process.env[envName];
  if (fromEnv) {
    if (!isFile(fromEnv)) throw new FfmpegNotFoundError(`${tool} not found: ${envName}=${fromEnv} is not a file; fix or unset ${envName}`);
    if (!isExecutable(fromEnv)) throw new FfmpegUnusableError(`${tool} cannot run: ${envName}=${fromEnv} is not executable (chmod +x it, or fix ${envName})`);
    return { path: fromEnv, source: envName };
  }
  const system = onPath(tool);
  if (system) return { path: system, source: 'PATH' };
  const pkg = tool === 'ffmpeg' ? '@ffmpeg-installer/ffmpeg' : '@ffprobe-installer/ffprobe';
  const shipped = fromNpm(pkg);
  if (shipped) return { path: shipped, source: pkg };
  throw new FfmpegNotFoundError(`${tool} not found: set ${envName}, install ffmpeg, or reinstall ${pkg}`);
}

/** What a finished `<bin> …` said: spawnSync's result, or the same gathered asynchronously. */
interface ToolAnswer {
  error?: Error;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const VERSION_ARGS = ['-hide_banner', '-version'];
const OPTIONS_ARGS = ['-hide_banner', '-h', 'long'];

function askSync(bin: string, args: readonly string[]): ToolAnswer {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { error: r.error, status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function ask(bin: string, args: readonly string[]): Promise<ToolAnswer> {
  return new Promise((resolveAnswer) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let error: Error | undefined;
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      error = e;
    });
    child.on('close', (status, signal) =>
      resolveAnswer({ error, status, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** Run `<bin> -version` once: a binary that cannot print its version cannot decode anything either. */
function verify(tool: Tool, bin: string, source: string, answer: ToolAnswer = askSync(bin, VERSION_ARGS)): void {
  const r = answer;
  const where = `${bin} (from ${source})`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FfmpegNotFoundError(`${tool} not found: ${where} does not exist`);
    throw new FfmpegUnusableError(`${tool} at ${where} cannot run: ${r.error.message}`, r.error);
  }
  if (r.status !== 0 || !/version/i.test(r.stdout ?? '')) {
    const said = `${r.stderr ?? ''}\n${r.stdout ?? ''}`
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean);
    const how = r.status !== null ? `exit code ${r.status}` : `signal ${r.signal}`;
    throw new FfmpegUnusableError(`${tool} at ${where} does not work: \`${tool} -version\` failed (${how})${said ? `: ${said.slice(0, 200)}` : ''}`);
  }
}

/**
 * Find ffmpeg and ffprobe: `FFMPEG_PATH`/`FFPROBE_PATH` first (when set, nothing else is tried),
 * then the system PATH (a distro build is newer and faster), then the binaries shipped on npm so
 * `npm install` alone works. Each is checked once with `-version`, so a broken installation is
 * reported as such (FFMPEG_NOT_FOUND or FFMPEG_UNUSABLE, an environment error) and never as a
 * problem with the media being read.
 *
 * @example
 * const { ffmpeg, ffprobe } = resolveFfmpegPaths();
 */
export function resolveFfmpegPaths(): FfmpegPaths {
  const key = envKey();
  if (cached?.key === key) return cached.paths;
  const ffmpeg = locate('ffmpeg');
  const ffprobe = locate('ffprobe');
  verify('ffmpeg', ffmpeg.path, ffmpeg.source);
  verify('ffprobe', ffprobe.path, ffprobe.source);
  cached = { key, paths: { ffmpeg: ffmpeg.path, ffprobe: ffprobe.path } };
  return cached.paths;
}

function envKey(): string {
  return [process.env.FFMPEG_PATH, process.env.FFPROBE_PATH, process.env.PATH].join('\0');
}

/** Whether each ffmpeg binary (by path) knows `-fps_mode`, asked once per binary. */
const fpsModeKnown = new Map<string, boolean>();

/**
 * Ask ffmpeg and ffprobe what {@link resolveFfmpegPaths} and {@link fpsModeArgs} ask (three
 * short runs, 0.1–0.35 s together) in the background, so their answers are ready when the first
 * file is read: the CLI starts this while it opens the index, which keeps the main thread busy
 * anyway. Never rejects: a binary that fails here is asked again, synchronously, where it is
 * used, and reported there.
 */
export async function prefetchFfmpeg(): Promise<void> {
  try {
    const key = envKey();
    if (cached?.key === key) return;
    const ffmpeg = locate('ffmpeg');
    const ffprobe = locate('ffprobe');
    const [v1, v2, options] = await Promise.all([ask(ffmpeg.path, VERSION_ARGS), ask(ffprobe.path, VERSION_ARGS), ask(ffmpeg.path, OPTIONS_ARGS)]);
    verify('ffmpeg', ffmpeg.path, ffmpeg.source, v1);
    verify('ffprobe', ffprobe.path, ffprobe.source, v2);
    if (options.status === 0) fpsModeKnown.set(ffmpeg.path, /^-fps_mode\b/m.test(options.stdout));
    if (envKey() === key) cached = { key, paths: { ffmpeg: ffmpeg.path, ffprobe: ffprobe.path } };
  } catch {
    // Reported by the synchronous path at first use.
  }
}

/**
 * The output option that sets how frame timestamps reach the muxer (`passthrough`: as decoded;
 * `vfr`: as decoded, dropping duplicates; `cfr`: a constant rate). ffmpeg 5.1 renamed `-vsync`
 * to `-fps_mode` and deprecated the old name; builds before 5.1 (the npm-shipped ffmpeg is a
 * 2018 build) know only `-vsync`. Which one `ffmpeg` knows is read once from its option list
 * (`-h long`, about 0.1 s).
 *
 * @example
 * spawn(ffmpeg, ['-i', input, ...fpsModeArgs(ffmpeg, 'passthrough'), '-f', 'rawvideo', 'pipe:1']);
 */
export function fpsModeArgs(ffmpeg: string, mode: 'passthrough' | 'vfr' | 'cfr'): string[] {
  let known = fpsModeKnown.get(ffmpeg);
  if (known === undefined) {
    const r = askSync(ffmpeg, OPTIONS_ARGS);
    known = /^-fps_mode\b/m.test(r.stdout);
    // An unanswered question is not cached: the old spelling is used this time and asked again next.
    if (r.status === 0) fpsModeKnown.set(ffmpeg, known);
  }
  return [known ? '-fps_mode' : '-vsync', mode];
}

/**
 * The input argument that makes ffmpeg or ffprobe read `path` as a plain local file whatever its
 * name: through the `file:` protocol on the absolute path, a name such as `-x.mp4` is not taken
 * for an option and `concat:a.mp4|b.mp4` or `http://…` not for a protocol.
 *
 * @example
 * spawn(ffprobe, ['-v', 'error', '-show_format', ffmpegInput('-x.mp4')]);
 */
export function ffmpegInput(path: string): string {
  return `file:${resolve(path)}`;
}

/** Picture extensions the image2 demuxer is chosen for (by name), in every ffmpeg version in use. */
const IMAGE2_EXTENSIONS = new Set(['bmp', 'gif', 'jpeg', 'jpg', 'jp2', 'pbm', 'pgm', 'png', 'ppm', 'tga', 'tif', 'tiff', 'webp']);

/**
 * Options to put before `-i` so that a picture whose name holds a pattern character (`%d`, `*`,
 * `?`, `[`, `{`) is read as named: the image2 demuxer, chosen for picture file names, otherwise
 * reads `shot%d.png` as the sequence shot1.png, shot2.png, … Empty for every other name, so the
 * option reaches no other demuxer (ffmpeg rejects an option its demuxer does not know).
 */
export function literalNameArgs(path: string): string[] {
  const name = basename(path);
  const ext = extname(name).slice(1).toLowerCase();
  return /[%*?[\]{}]/.test(name) && IMAGE2_EXTENSIONS.has(ext) ? ['-pattern_type', 'none'] : [];
}

/**
 * The error for a binary that failed to start (`spawn`'s 'error' event): it was verified when
 * resolved, so it has since gone or lost its permissions.
 */
export function spawnFailure(tool: Tool, bin: string, err: Error): FfmpegNotFoundError | FfmpegUnusableError {
  return (err as NodeJS.ErrnoException).code === 'ENOENT'
    ? new FfmpegNotFoundError(`${tool} not found: ${bin} no longer exists (set ${tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'} or install ffmpeg)`)
    : new FfmpegUnusableError(`${tool} at ${bin} cannot run: ${err.message}`, err);
}

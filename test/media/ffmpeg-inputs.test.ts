/**
 * How media paths and binaries reach ffmpeg and ffprobe: any file name is read as that file
 * (never as an option, a protocol or an image-sequence pattern), and a missing or broken ffmpeg
 * is reported as an environment error, never as bad media.
 */
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src/core/media/probe.js';
import { sampleFrames } from '../../src/core/media/frame-sampler.js';
import { extractFrameJpeg } from '../../src/core/media/thumbnail.js';
import { fpsModeArgs, prefetchFfmpeg, resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { ffmpeg, makeClip, makeStill, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';

let dir: TempDir;
let cwd: string;
/** 5 s at 320×240: the file every odd name below holds. */
let real: string;
/** 2 s at 160×120: what a name read as something else would deliver instead. */
let decoy: string;

const GRAY64 = { width: 64, height: 64, channels: 1 as const };

async function countFrames(path: string): Promise<number> {
  const info = await probeMedia(path);
  let n = 0;
  for await (const _ of sampleFrames({ path, info, output: GRAY64 })) n++;
  return n;
}

beforeAll(async () => {
  dir = await makeTempDir('retrace-names-');
  real = await makeClip(dir, 'real', { source: 'mandelbrot', durationSec: 5, width: 320, height: 240 });
  decoy = await makeClip(dir, 'a', { source: 'life', durationSec: 2, width: 160, height: 120 });
  await copyFile(decoy, dir.file('b.mp4'));
  await copyFile(real, dir.file('-x.mp4'));
  await copyFile(real, dir.file('concat:a.mp4|b.mp4'));
  await copyFile(real, dir.file('subfile,,start,0,end,100,,:a.mp4'));
  // A picture whose name is an image2 sequence pattern, next to the file that pattern names.
  await copyFile(await makeStill(dir, 'still.png', 'mandelbrot', { width: 400, height: 300 }), dir.file('shot%d.png'));
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=64x48', '-frames:v', '1', '-update', '1', dir.file('shot1.png')]);
  // Names are given relative to the folder, as a user types them: that is where they are ambiguous.
  cwd = process.cwd();
  process.chdir(dir.path);
}, 120_000);

afterAll(async () => {
  if (cwd) process.chdir(cwd);
  await dir?.cleanup();
});

describe('a media path reaches ffmpeg and ffprobe as a plain file', () => {
  it('reads a file named like an option (-x.mp4)', async () => {
    const info = await probeMedia('-x.mp4');
    expect(info).toMatchObject({ kind: 'video', width: 320, height: 240 });
    expect(info.durationSec).toBeCloseTo(5, 0);
    expect(await countFrames('-x.mp4')).toBeGreaterThanOrEqual(5);
    const jpeg = await extractFrameJpeg('-x.mp4', 2, 160);
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('reads a file named like the concat protocol (concat:a.mp4|b.mp4), not a.mp4 and b.mp4', async () => {
    const info = await probeMedia('concat:a.mp4|b.mp4');
    expect(info).toMatchObject({ width: 320, height: 240 });
    expect(info.durationSec).toBeCloseTo(5, 0);
    expect(await countFrames('concat:a.mp4|b.mp4')).toBeGreaterThanOrEqual(5);
  });

  it('reads a file named like the subfile protocol', async () => {
    const info = await probeMedia('subfile,,start,0,end,100,,:a.mp4');
    expect(info).toMatchObject({ width: 320, height: 240 });
  });

  it('reads a picture named like an image sequence (shot%d.png) as itself, not shot1.png', async () => {
    const info = await probeMedia('shot%d.png');
    expect(info).toMatchObject({ kind: 'image', width: 400, height: 300 });
    const frames = [];
    for await (const f of sampleFrames({ path: 'shot%d.png', info, output: { width: 32, height: 32, channels: 3 } })) frames.push(f);
    expect(frames).toHaveLength(1);
    // shot1.png is solid red; the Mandelbrot picture is not.
    const px = frames[0].raster.data;
    let redish = 0;
    for (let i = 0; i < px.length; i += 3) if (px[i] > 200 && px[i + 1] < 60 && px[i + 2] < 60) redish++;
    expect(redish).toBeLessThan(px.length / 3 / 2);
  });

  it('still reads ordinary absolute paths', async () => {
    expect((await probeMedia(real)).width).toBe(320);
    expect((await probeMedia(decoy)).width).toBe(160);
  });
});

describe('a missing or broken ffmpeg is an environment error', () => {
  const saved = { FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('FFPROBE_PATH naming no file: FFMPEG_NOT_FOUND', async () => {
    process.env.FFPROBE_PATH = dir.file('no-such-ffprobe');
    const err = await expectRetraceError(probeMedia(real), 'FFMPEG_NOT_FOUND');
    expect(err.message).toContain('FFPROBE_PATH');
  });

  it('FFPROBE_PATH naming a file that is not executable: FFMPEG_UNUSABLE', async () => {
    const bin = dir.file('plain-file');
    await writeFile(bin, 'not a program\n');
    await chmod(bin, 0o644);
    process.env.FFPROBE_PATH = bin;
    const err = await expectRetraceError(probeMedia(real), 'FFMPEG_UNUSABLE');
    expect(err.message).toContain(bin);
  });

  it('FFMPEG_PATH naming a program that fails on -version: FFMPEG_UNUSABLE, before any media is blamed', async () => {
    const bin = dir.file('broken-ffmpeg');
    await writeFile(bin, '#!/bin/sh\necho "error while loading shared libraries: libavdevice.so.59" >&2\nexit 127\n');
    await chmod(bin, 0o755);
    process.env.FFMPEG_PATH = bin;
    const err = await expectRetraceError(probeMedia(real), 'FFMPEG_UNUSABLE');
    expect(err.message).toMatch(/exit code 127.*libavdevice/);
    await expectRetraceError(extractFrameJpeg(real, 1), 'FFMPEG_UNUSABLE');
  });

  it('asked ahead in the background (as the CLI does while it opens the index), a broken ffmpeg is still reported where it is used', async () => {
    const bin = dir.file('broken-ffmpeg-prefetched');
    await writeFile(bin, '#!/bin/sh\necho "error while loading shared libraries: libavdevice.so.59" >&2\nexit 127\n');
    await chmod(bin, 0o755);
    process.env.FFMPEG_PATH = bin;
    await expect(prefetchFfmpeg()).resolves.toBeUndefined();
    const err = await expectRetraceError(probeMedia(real), 'FFMPEG_UNUSABLE');
    expect(err.message).toMatch(/exit code 127.*libavdevice/);
  });

  it('asked ahead in the background, a working pair is the one used later', async () => {
    await prefetchFfmpeg();
    const paths = resolveFfmpegPaths();
    expect(paths.ffmpeg).toMatch(/ffmpeg/);
    expect((await probeMedia(real)).width).toBe(320);
  });

  it('works again once the variables are fixed', async () => {
    process.env.FFMPEG_PATH = dir.file('no-such-ffmpeg');
    expect(() => resolveFfmpegPaths()).toThrow(/FFMPEG_PATH/);
    delete process.env.FFMPEG_PATH;
    if (saved.FFMPEG_PATH !== undefined) process.env.FFMPEG_PATH = saved.FFMPEG_PATH;
    expect((await probeMedia(real)).width).toBe(320);
  });
});

describe('options whose name changed between ffmpeg versions', () => {
  it('-fps_mode where the binary lists it (ffmpeg 5.1+), -vsync where it does not (the npm-shipped 2018 build)', async () => {
    const help = (lines: string) => `#!/bin/sh\n[ "$2" = "-h" ] || exit 1\nprintf '%s\\n' ${lines}\n`;
    const current = dir.file('ffmpeg-current');
    await writeFile(
      current,
      help(
        `'-vsync              set video sync method globally; deprecated, use -fps_mode' '-fps_mode           set framerate mode for matching video streams; overrides vsync'`,
      ),
    );
    const old = dir.file('ffmpeg-2018');
    await writeFile(old, help(`'-vsync              video sync method'`));
    await Promise.all([chmod(current, 0o755), chmod(old, 0o755)]);
    expect(fpsModeArgs(current, 'passthrough')).toEqual(['-fps_mode', 'passthrough']);
    expect(fpsModeArgs(old, 'vfr')).toEqual(['-vsync', 'vfr']);
    // The binary the suite runs with: whichever it is, it accepts what it is given.
    const bin = resolveFfmpegPaths().ffmpeg;
    await ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=64x48:d=0.2', ...fpsModeArgs(bin, 'passthrough'), '-f', 'null', '-']);
  });
});

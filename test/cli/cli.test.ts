/**
 * `retrace` as a user and a script see it: exit codes, messages, output that is not a terminal
 * and terminals that report no width. Each test runs the real command (`node bin/retrace.js`).
 *
 * Exit codes: 0 ok, 1 some inputs failed, 2 usage, 3 bad media, 4 over a limit, 5 not found,
 * 6 database, 7 environment (ffmpeg), 130/143 interrupted.
 */
import { chmod, copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { makeClip, makeLongClip, makeTempDir, problemFiles } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { spawn } from 'node:child_process';
import { BIN, ensureCliBuilt, runCli, runCliOnTerminal, SCRIPT_BIN } from './run-cli.js';

const VERSION = (await import('../../package.json', { with: { type: 'json' } })).default.version;

interface VideoJson {
  id: string;
  path: string;
  status: string;
}

let dir: TempDir;
/** An index holding the clips below, built by `retrace index` in beforeAll. */
let db: TestDatabase;
const clip: Record<string, string> = {};

/** Lines of `text`, without the trailing empty one. */
function lines(text: string): string[] {
  return text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
}

async function listJson(location: string): Promise<VideoJson[]> {
  const r = await runCli(['list', '--json', '--db', location]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as VideoJson[];
}

beforeAll(async () => {
  ensureCliBuilt();
  dir = await makeTempDir('retrace-cli-');
  // Distinct content each (the same bytes twice would be a duplicate), small so indexing is quick.
  const small = { durationSec: 3, width: 192, height: 144 };
  [clip.a, clip.b, clip.dash, clip.concat] = await Promise.all([
    makeClip(dir, 'a', { source: 'mandelbrot', ...small }),
    makeClip(dir, 'b', { source: 'life', ...small }),
    makeClip(dir, 'dash-source', { source: 'rotatingPattern', ...small }),
    makeClip(dir, 'concat-source', { source: 'cellauto', ...small }),
  ]);
  // Names that ffmpeg would read as an option and as its concat protocol.
  await copyFile(clip.dash, dir.file('-x.mp4'));
  await copyFile(clip.concat, dir.file('concat:a.mp4|b.mp4'));
  clip.notes = await problemFiles.textAsMp4(dir);
  db = await createTestDatabase();
}, 300_000);

afterAll(async () => {
  await db?.dispose();
  await dir?.cleanup();
});

describe('usage', () => {
  it('without a command: help on stderr, exit 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage:');
  });

  it('--help: help on stdout, exit 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('retrace search <file>');
    expect(r.stdout).toContain('Exit codes:');
  });

  it('--version: the package version, exit 0', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
  });

  it.each([
    { args: ['frobnicate'], says: 'Unknown command: frobnicate' },
    { args: ['list', '--frobnicate'], says: "Unknown option '--frobnicate'" },
    { args: ['search'], says: 'missing the file to search for' },
    { args: ['index'], says: 'missing files or folders to index' },
    { args: ['remove'], says: 'missing the video id to remove' },
    { args: ['search', 'a.mp4', 'b.mp4'], says: 'unexpected argument: b.mp4' },
    { args: ['list', 'extra'], says: 'unexpected argument: extra' },
    { args: ['search', 'a.mp4', '--limit', '0'], says: '--limit must be a positive whole number' },
    { args: ['search', 'a.mp4', '--limit', 'many'], says: '--limit must be a positive whole number' },
  ])('retrace $args: exit 2, saying "$says", touching no database', async ({ args, says }) => {
    const location = dir.file(`never-created-${args.join('-').replace(/\W/g, '')}`);
    const r = await runCli([...args, '--db', location]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toContain(says);
    expect(existsSync(location)).toBe(false);
  });
});

describe('a database that does not exist', () => {
  it.each(['search', 'list', 'stats', 'remove'])('retrace %s --db <typo>: exit 5 with DB_NOT_FOUND, and nothing is created', async (command) => {
    const typo = dir.file('typo-db');
    const args = command === 'search' ? [clip.a] : command === 'remove' ? ['00000000-0000-0000-0000-000000000000'] : [];
    const r = await runCli([command, ...args, '--db', typo]);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^retrace: \[DB_NOT_FOUND\] No retrace index at .*typo-db: the directory does not exist/m);
    expect(existsSync(typo)).toBe(false);
  });

  it('--json reports the error as JSON on stdout too', async () => {
    const r = await runCli(['search', clip.a, '--json', '--db', dir.file('typo-json')]);
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'DB_NOT_FOUND', message: expect.stringContaining('typo-json') } });
  });

  it('an existing directory that holds no database: exit 5, and the directory is left as it was', async () => {
    const empty = dir.file('empty-folder');
    await mkdir(empty);
    await writeFile(`${empty}/notes.txt`, 'mine\n');
    const r = await runCli(['list', '--db', empty]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('holds no database');
    expect(await readdir(empty)).toEqual(['notes.txt']);
  });

  it("a fresh database without retrace's tables (an empty PostgreSQL database when RETRACE_TEST_DB=pg): exit 5", async () => {
    const fresh = await createTestDatabase();
    try {
      const r = await runCli(['stats', '--db', fresh.location]);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain('[DB_NOT_FOUND]');
    } finally {
      await fresh.dispose();
    }
  });
});

describe('index, output not a terminal', () => {
  let run: Awaited<ReturnType<typeof runCli>>;
  beforeAll(async () => {
    // Names as typed in the folder; `--` ends the options so `-x.mp4` is a file name.
    run = await runCli(['index', '--db', db.location, 'a.mp4', 'notes.mp4', 'b.mp4', '--', '-x.mp4', 'concat:a.mp4|b.mp4'], { cwd: dir.path });
  }, 300_000);

  it('indexes every readable file, reports the unreadable one, and exits 1 (some inputs failed)', () => {
    expect(run.code, run.stderr).toBe(1);
    const results = lines(run.stdout).filter((l) => /^(indexed|duplicate)/.test(l));
    expect(results.map((l) => l.split(/\s+/)[1]).sort()).toEqual(['-x.mp4', 'a.mp4', 'b.mp4', 'concat:a.mp4|b.mp4']);
    expect(results.every((l) => l.startsWith('indexed '))).toBe(true);
    expect(run.stderr).toMatch(/^failed {5}notes\.mp4: \[UNSUPPORTED_MEDIA\] /m);
    expect(run.stdout).toContain('4 of 5 files ok, 1 failed');
  });

  it('writes plain progress lines to stderr: no carriage returns, no escape codes', () => {
    expect(run.stdout + run.stderr).not.toMatch(/[\r\x1b]/);
    expect(run.stderr).toMatch(/^ {2}0% probing {4}\[1\/5\] a\.mp4$/m);
    expect(run.stderr).toMatch(/^ {2}0% probing {4}\[5\/5\] concat:a\.mp4\|b\.mp4$/m);
  });

  it('leaves every indexed video ready and none half-indexed', async () => {
    const videos = await listJson(db.location);
    expect(videos.map((v) => v.status)).toEqual(['ready', 'ready', 'ready', 'ready']);
    expect(videos.map((v) => v.path).sort()).toEqual(['-x.mp4', 'a.mp4', 'b.mp4', 'concat:a.mp4|b.mp4']);
  });

  it('search finds the file named like an option, and --json gives one object', async () => {
    const r = await runCli(['search', '--json', '--db', db.location, '--', '-x.mp4'], { cwd: dir.path });
    expect(r.code, r.stderr).toBe(0);
    const found = JSON.parse(r.stdout) as { matches: Array<{ path: string }> };
    expect(found.matches[0]?.path).toBe('-x.mp4');
  });

  it('search finds the file named like the concat protocol as itself', async () => {
    const r = await runCli(['search', '--json', '--db', db.location, 'concat:a.mp4|b.mp4'], { cwd: dir.path });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { matches: Array<{ path: string }> }).matches[0]?.path).toBe('concat:a.mp4|b.mp4');
  });

  it('index --json: one parseable object per file on stdout, nothing else there', async () => {
    const r = await runCli(['index', '--json', '--db', db.location, clip.a, clip.notes]);
    expect(r.code).toBe(1);
    const objects = lines(r.stdout).map((l) => JSON.parse(l) as { path: string; status: string; error?: { code: string } });
    // In the order the files finish.
    objects.sort((x, y) => (x.path === clip.a ? -1 : y.path === clip.a ? 1 : 0));
    expect(objects).toEqual([
      expect.objectContaining({ path: clip.a, status: 'duplicate' }),
      expect.objectContaining({ path: clip.notes, status: 'failed', error: expect.objectContaining({ code: 'UNSUPPORTED_MEDIA' }) }),
    ]);
  });

  it('stats and list answer from the existing index with exit 0', async () => {
    const stats = await runCli(['stats', '--json', '--db', db.location]);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ videos: 4, readyVideos: 4 });
    const list = await runCli(['list', '--db', db.location]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('concat:a.mp4|b.mp4');
  });

  it('index --stored-windows on|off is recorded in the index: later commands keep it, stats says it, another value is a usage error', async () => {
    const stats = async () => JSON.parse((await runCli(['stats', '--json', '--db', db.location])).stdout) as { storedWindows: boolean; vectors: number };
    expect((await stats()).storedWindows).toBe(false);
    const before = (await stats()).vectors;
    expect((await runCli(['index', clip.a, '--stored-windows', 'on', '--db', db.location])).code).toBe(0);
    // The file was indexed already (a duplicate): nothing is stored again, the choice is.
    expect(await stats()).toMatchObject({ storedWindows: true, vectors: before });
    expect((await runCli(['stats', '--db', db.location])).stdout).toMatch(/windows +stored/);
    expect((await runCli(['index', clip.b, '--stored-windows', 'off', '--db', db.location])).code).toBe(0);
    expect((await stats()).storedWindows).toBe(false);
    const bad = await runCli(['index', clip.a, '--stored-windows', 'yes', '--db', db.location]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--stored-windows must be on or off');
  });
});

describe('exit codes of failures', () => {
  it('search for a file that does not exist: exit 5, FILE_NOT_FOUND', async () => {
    const r = await runCli(['search', dir.file('missing.mp4'), '--db', db.location]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('[FILE_NOT_FOUND]');
  });

  it('search for a file that is not media: exit 3, UNSUPPORTED_MEDIA', async () => {
    const r = await runCli(['search', clip.notes, '--db', db.location]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[UNSUPPORTED_MEDIA]');
  });

  it('remove of an id that is not indexed: exit 5, NOT_FOUND', async () => {
    const r = await runCli(['remove', '00000000-0000-0000-0000-000000000000', '--db', db.location]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('[NOT_FOUND]');
  });

  it('FFMPEG_PATH naming no file: exit 7, FFMPEG_NOT_FOUND', async () => {
    const r = await runCli(['search', clip.a, '--db', db.location], { env: { FFMPEG_PATH: dir.file('no-ffmpeg-here') } });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('[FFMPEG_NOT_FOUND]');
  });

  it('FFMPEG_PATH naming a file that is not executable: exit 7, FFMPEG_UNUSABLE (not bad media)', async () => {
    const r = await runCli(['search', clip.a, '--db', db.location], { env: { FFMPEG_PATH: clip.b } });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('[FFMPEG_UNUSABLE]');
  });

  it('FFPROBE_PATH naming a program that fails: index stops at the first file with exit 7, and indexes nothing', async () => {
    const broken = dir.file('broken-ffprobe');
    await writeFile(broken, '#!/bin/sh\necho "cannot execute binary file: Exec format error" >&2\nexit 126\n');
    await chmod(broken, 0o755);
    const before = await listJson(db.location);
    const r = await runCli(['index', '--db', db.location, clip.dash, clip.concat, clip.a, clip.b], { env: { FFPROBE_PATH: broken } });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('[FFMPEG_UNUSABLE]');
    expect(r.stderr).toContain('Exec format error');
    expect(r.stdout).toMatch(/0 of 4 files ok, \d failed, \d not indexed \(stopped by the error above\)/);
    expect(await listJson(db.location)).toEqual(before);
  });
});

describe.skipIf(!SCRIPT_BIN)('index on a terminal', () => {
  let location: string;
  beforeAll(() => {
    location = dir.file('db-terminal');
  });

  it('that reports 0 columns: plain progress lines, no crash, every video ready', async () => {
    const r = await runCliOnTerminal(['index', '--db', location, clip.a, clip.b], 0);
    expect(r.stdout).not.toContain('RangeError');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).not.toContain('\x1b[K');
    expect(r.stdout).toMatch(/^ {2}0% probing {4}\[2\/2\] .*b\.mp4\r?$/m);
    expect(r.stdout).toContain('2 of 2 files ok, 0 failed');
    expect((await listJson(location)).map((v) => v.status)).toEqual(['ready', 'ready']);
  });

  it('100 columns wide: a bar redrawn in place, no wider than the terminal, erased before each result line', async () => {
    const r = await runCliOnTerminal(['index', '--db', location, clip.dash, clip.concat], 100);
    expect(r.code, r.stdout).toBe(0);
    const draws = r.stdout.split('\r\x1b[K');
    const bars = draws.filter((d) => /^[█░]{20} +\d+% \w+/.test(d));
    expect(bars.length).toBeGreaterThan(0);
    for (const bar of bars) expect([...bar].length).toBeLessThan(100);
    expect(draws.filter((d) => d.startsWith('indexed '))).toHaveLength(2);
  });
});

describe('index interrupted', () => {
  /** Long enough (at a cheap size) that indexing is still running when the signal comes: 600 s
   * finished within the test's 1.5 s wait once one-shot CLI runs got faster (CI on PostgreSQL). */
  let long: string;
  beforeAll(async () => {
    long = await makeLongClip(dir);
    // The shared index exists (a duplicate if the tests above indexed it already).
    expect((await runCli(['index', '--db', db.location, clip.a])).code).toBe(0);
  }, 300_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'by %s: stops, exits 128 + signal, and leaves no half-indexed video',
    async (signal) => {
      const before = await listJson(db.location);
      const child = spawn(process.execPath, [BIN, 'index', '--db', db.location, long, clip.a], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (t: string) => {
        stdout += t;
      });
      const started = new Promise<void>((resolve) => {
        child.stderr.setEncoding('utf8').on('data', (t: string) => {
          stderr += t;
          if (stderr.includes('probing    [1/2]')) resolve();
        });
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const waited = await Promise.race([started.then(() => true), exited.then(() => false), new Promise<false>((r) => setTimeout(() => r(false), 60_000))]);
      if (!waited) child.kill('SIGKILL');
      expect(waited, `no progress line for the first file; stderr: ${stderr}`).toBe(true);
      // Past probing and hashing, into decoding and storing.
      await new Promise((r) => setTimeout(r, 1500));
      child.kill(signal);
      const code = await exited;
      expect(code, stderr).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(stderr).toContain(`retrace: ${signal}: stopping`);
      expect(stdout).toMatch(/not indexed \(interrupted\)/);
      expect(stdout).not.toMatch(/^indexed +.*long-/m);
      // The database was closed properly (it opens), and holds what it held before: nothing half-indexed.
      expect(await listJson(db.location)).toEqual(before);
    },
    240_000,
  );
});

/**
 * `retrace sync`, `retrace search --where/--folder/--top` and `retrace index --meta` as a user
 * and a script see them: the real command (`node bin/retrace.js`), its output and exit codes.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { editClip, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { BIN, ensureCliBuilt, runCli } from './run-cli.js';
import { REPO_ROOT } from '../helpers/child-process.js';

interface Summary {
  dir: string;
  added: Array<{ path: string; videoId: string }>;
  removed: Array<{ path: string; videoId: string; reason: string }>;
  renamed: Array<{ from: string; to: string; videoId: string }>;
  unchanged: number;
  duplicates: Array<{ path: string; videoId: string; of: string }>;
  failed: Array<{ path: string; error: { code: string; message: string } }>;
  hashed: number;
}

interface SearchJson {
  matches: Array<{ videoId: string; path: string; belowThreshold?: boolean; segments: Array<{ belowThreshold?: boolean }> }>;
}

let dir: TempDir;
let db: TestDatabase;
const clip: Record<string, string> = {};

beforeAll(async () => {
  ensureCliBuilt();
  dir = await makeTempDir('retrace-cli-sync-');
  await mkdir(dir.file('made'));
  const made = { ...dir, file: (n: string) => join(dir.path, 'made', n) };
  const small = { durationSec: 3, width: 192, height: 144 };
  [clip.a, clip.b, clip.c, clip.d, clip.e] = await Promise.all([
    makeClip(made, 'a', { source: 'mandelbrot', ...small, durationSec: 8 }),
    makeClip(made, 'b', { source: 'life', ...small }),
    makeClip(made, 'c', { source: 'rotatingPattern', ...small }),
    makeClip(made, 'd', { source: 'cellauto', ...small }),
    makeClip(made, 'e', { source: 'seahorse', ...small }),
  ]);
  clip.query = await editClip(clip.a, made, 'query', { start: 2, duration: 5 });
  db = await createTestDatabase();
}, 300_000);

afterAll(async () => {
  await db?.dispose();
  await dir?.cleanup();
});

async function list(): Promise<Array<{ id: string; path: string }>> {
  const r = await runCli(['list', '--json', '--db', db.location]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Array<{ id: string; path: string }>;
}

describe('retrace sync', () => {
  it('keeps the library in step with a copied folder after deletes, a move into a subfolder and additions', async () => {
    const lib = dir.file('lib');
    await mkdir(lib);
    for (const n of ['a', 'b', 'c']) await copyFile(clip[n], join(lib, `${n}.mp4`));

    const first = await runCli(['sync', lib, '--json', '--db', db.location]);
    expect(first.code, first.stderr).toBe(0);
    const s1 = JSON.parse(first.stdout) as Summary;
    expect(s1.added.map((x) => x.path).sort()).toEqual(['a.mp4', 'b.mp4', 'c.mp4'].map((n) => join(lib, n)));
    const bId = s1.added.find((x) => x.path.endsWith('b.mp4'))!.videoId;

    await rm(join(lib, 'c.mp4'));
    await mkdir(join(lib, 'moved'));
    await rename(join(lib, 'b.mp4'), join(lib, 'moved', 'b.mp4'));
    await copyFile(clip.d, join(lib, 'd.mp4'));

    // Plain output: one line per change, then the summary.
    const second = await runCli(['sync', lib, '--db', db.location]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`renamed    ${join(lib, 'b.mp4')} → ${join(lib, 'moved', 'b.mp4')}  ${bId}`);
    expect(second.stdout).toMatch(new RegExp(`removed +${join(lib, 'c.mp4')} .*\\(file gone\\)`));
    expect(second.stdout).toMatch(new RegExp(`added +${join(lib, 'd.mp4')} `));
    expect(second.stdout).toContain(`${lib}: 1 added, 1 removed, 1 renamed, 1 unchanged, 0 duplicates, 0 failed`);
    // Progress of the file being indexed goes to stderr, as plain lines when it is not a terminal.
    expect(second.stderr).toContain(`[1/1] ${join(lib, 'd.mp4')}`);
    expect(second.stderr).not.toContain('\r');

    const videos = await list();
    expect(videos.map((v) => v.path).sort()).toEqual([join(lib, 'a.mp4'), join(lib, 'd.mp4'), join(lib, 'moved', 'b.mp4')]);
    expect(videos.find((v) => v.path.endsWith(join('moved', 'b.mp4')))!.id).toBe(bId);

    const third = await runCli(['sync', lib, '--json', '--db', db.location]);
    expect(JSON.parse(third.stdout)).toMatchObject({ added: [], removed: [], renamed: [], unchanged: 3, duplicates: [], failed: [], hashed: 0 });
  });

  it('exit codes: 2 without a folder or for a file, 5 for a folder that does not exist, 1 when a file failed', async () => {
    expect((await runCli(['sync', '--db', db.location])).code).toBe(2);
    const file = await runCli(['sync', clip.b, '--db', db.location]);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('INVALID_ARGUMENT');
    expect((await runCli(['sync', dir.file('nowhere'), '--db', db.location])).code).toBe(5);
    const broken = dir.file('broken');
    await mkdir(broken);
    await copyFile(join(dir.path, 'made', 'b.mp4'), join(broken, 'b.mp4'));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(broken, 'notes.mp4'), 'not a video\n'.repeat(40));
    const r = await runCli(['sync', broken, '--db', db.location]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed +.*notes\.mp4: \[UNSUPPORTED_MEDIA\]/);
    // b.mp4's content is already indexed from lib/moved/b.mp4, which still exists: a duplicate, left there.
    expect(r.stdout).toContain(`duplicate  ${join(broken, 'b.mp4')}  same content as ${join(dir.file('lib'), 'moved', 'b.mp4')}`);
  });

  it('--watch re-syncs after a change and stops cleanly on SIGINT with exit 0', async () => {
    const lib = dir.file('watched');
    await mkdir(lib);
    const child = spawn(process.execPath, [BIN, 'sync', lib, '--watch', '--json', '--debounce-ms', '200', '--db', db.location], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const summaries: Summary[] = [];
    let stderr = '';
    let buffered = '';
    let waiting: { n: number; resolve: () => void } | null = null;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      buffered += s;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const l of lines) if (l.trim()) summaries.push(JSON.parse(l) as Summary);
      if (waiting && summaries.length >= waiting.n) waiting.resolve();
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    const summaryCount = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no summary ${n} in 90 s; stderr: ${stderr}`)), 90_000);
        waiting = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        if (summaries.length >= n) waiting.resolve();
      });
    try {
      await summaryCount(1);
      expect(summaries[0]).toMatchObject({ added: [], unchanged: 0 });
      await copyFile(clip.e, join(lib, 'e.mp4'));
      while (!summaries.some((s) => s.added.length)) await summaryCount(summaries.length + 1);
      expect(summaries.flatMap((s) => s.added.map((x) => x.path))).toEqual([join(lib, 'e.mp4')]);
      const t = Date.now();
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(Date.now() - t).toBeLessThan(10_000);
    } finally {
      child.kill('SIGKILL');
    }
    expect((await list()).some((v) => v.path === join(lib, 'e.mp4'))).toBe(true);
  });
});

describe('retrace search --where, --folder, --top and index --meta', () => {
  let fresh: TestDatabase;
  beforeAll(async () => {
    fresh = await createTestDatabase();
    const r = await runCli(['index', clip.a, '--meta', 'collection=news', '--meta', 'year=1999', '--json', '--db', fresh.location]);
    expect(r.code, r.stderr).toBe(0);
    const r2 = await runCli(['index', clip.b, clip.c, '--meta', 'collection=sport', '--json', '--db', fresh.location]);
    expect(r2.code, r2.stderr).toBe(0);
  }, 300_000);
  afterAll(() => fresh?.dispose());

  const search = async (...args: string[]): Promise<SearchJson> => {
    const r = await runCli(['search', clip.query, '--json', '--db', fresh.location, ...args]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as SearchJson;
  };

  it('--where keeps the videos whose metadata match, --folder those under a folder', async () => {
    expect((await search('--where', 'collection=news')).matches.map((m) => m.path)).toEqual([clip.a]);
    expect((await search('--where', 'collection=sport')).matches).toEqual([]);
    expect((await search('--where', 'collection=news', '--where', 'year=2000')).matches).toEqual([]);
    expect((await search('--folder', join(dir.path, 'made'))).matches.map((m) => m.path)).toEqual([clip.a]);
    expect((await search('--folder', dir.file('lib'))).matches).toEqual([]);
  });

  it('--top N lists N videos: the match, then the others flagged below the threshold', async () => {
    const r = await search('--top', '3');
    expect(r.matches).toHaveLength(3);
    expect(r.matches[0]).toMatchObject({ path: clip.a });
    expect(r.matches[0].belowThreshold).toBeUndefined();
    expect(r.matches.slice(1).every((m) => m.belowThreshold === true && m.segments.every((s) => s.belowThreshold === true))).toBe(true);
    const text = await runCli(['search', clip.query, '--top', '3', '--db', fresh.location]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('below threshold');
  });

  it('usage errors: exit 2', async () => {
    for (const args of [
      ['--where', 'novalue'],
      ['--where', '=x'],
      ['--top', '0'],
      ['--top', '2', '--limit', '3'],
    ]) {
      const r = await runCli(['search', clip.query, '--db', fresh.location, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect((await runCli(['index', clip.a, '--meta', 'x', '--db', fresh.location])).code).toBe(2);
  });
});

/**
 * `retrace index` killed with SIGKILL mid-ingest (no chance to clean up): nothing of the video
 * shows in list, stats or search afterwards, and the next run indexes it cleanly. The real
 * command on a real database, killed for real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { killHard, leftovers, spawnRetrace } from '../helpers/killed-child.js';
import { ffmpeg, makeLongClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { ensureCliBuilt, runCli } from './run-cli.js';

let dir: TempDir;
let db: TestDatabase;
let long: string;
let query: string;

beforeAll(async () => {
  ensureCliBuilt();
  dir = await makeTempDir('retrace-killed-');
  db = await createTestDatabase();
  long = await makeLongClip(dir);
  query = dir.file('query.mp4');
  await ffmpeg(['-ss', '60', '-i', long, '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast', query]);
}, 300_000);

afterAll(async () => {
  await db?.dispose();
  await dir?.cleanup();
});

async function cliJson<T>(args: string[]): Promise<T> {
  const r = await runCli([...args, '--json', '--db', db.location], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('index killed with SIGKILL', () => {
  it('leaves nothing visible in list, stats or search, and the next run indexes the file cleanly', async () => {
    const run = spawnRetrace(['index', '--db', db.location, long]);
    const { child, exited } = run;
    let stderr = '';
    // Progress lines (stderr is not a terminal) give frames done; past 3 batches of 32, at least
    // one batch has been stored.
    const storing = new Promise<boolean>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (t: string) => {
        stderr += t;
        if ([...stderr.matchAll(/ (\d+) frames \[1\/1\]/g)].some((m) => Number(m[1]) > 96)) resolve(true);
      });
    });
    const waited = await Promise.race([storing, exited.then(() => false), new Promise<false>((r) => setTimeout(() => r(false), 90_000))]);
    expect(await killHard(run)).toBe('SIGKILL');
    expect(waited, `no progress line with stored frames before the kill; stderr: ${stderr}`).toBe(true);

    // The kill left an unfinished video with frames behind: the case this rule is about.
    const left = await leftovers(db.location);
    expect(left.unfinished).toBe(1);
    expect(left.frames).toBeGreaterThan(0);

    expect(await cliJson<unknown[]>(['list'])).toEqual([]);
    const stats = await cliJson<{ videos: number; readyVideos: number; frames: number; vectors: number }>(['stats']);
    expect(stats).toMatchObject({ videos: 0, readyVideos: 0, frames: 0, vectors: 0 });
    const found = await cliJson<{ matches: unknown[] }>(['search', query]);
    expect(found.matches).toEqual([]);
    expect(await leftovers(db.location)).toEqual({ unfinished: 0, frames: 0 });

    const again = await runCli(['index', '--db', db.location, long], { timeoutMs: 240_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^indexed +\S*long\.mp4 /m);
    const [video] = await cliJson<Array<{ status: string; frameCount: number }>>(['list']);
    expect(video.status).toBe('ready');
    expect((await cliJson<{ frames: number }>(['stats'])).frames).toBe(video.frameCount);
    expect((await cliJson<{ matches: unknown[] }>(['search', query])).matches).toHaveLength(1);
  }, 420_000);
});

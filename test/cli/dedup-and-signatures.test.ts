/**
 * `retrace dedup`, `retrace signatures make` and searching or indexing a signature, as a user and
 * a script see them: the real command (`node bin/retrace.js`), its output and exit codes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { editClip, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { ensureCliBuilt, runCli } from './run-cli.js';

let dir: TempDir;
let db: TestDatabase;
const clip: Record<string, string> = {};

beforeAll(async () => {
  ensureCliBuilt();
  dir = await makeTempDir('retrace-cli-dedup-');
  clip.pattern = await makeClip(dir, 'pattern', { source: 'rotatingPattern', durationSec: 12, rate: 15 });
  clip.other = await makeClip(dir, 'other', { source: 'seahorse', durationSec: 12, rate: 15 });
  clip.excerpt = await editClip(clip.pattern, dir, 'excerpt', { start: 3, duration: 7 });
  db = await createTestDatabase();
  const r = await runCli(['index', clip.pattern, clip.other, clip.excerpt, '--db', db.location]);
  expect(r.code, r.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await db?.dispose();
  await dir?.cleanup();
});

describe('retrace dedup', () => {
  it('lists the excerpt inside its source, as JSON and as CSV', async () => {
    const csv = dir.file('relations.csv');
    const r = await runCli(['dedup', '--db', db.location, '--csv', csv]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 videos, 3 searched now .*1 relations in 1 clusters/);
    expect(r.stdout).toMatch(/contain/);
    const rows = (await readFile(csv, 'utf8')).trim().split('\n');
    expect(rows[0]).toBe('a_id,a_path,relation,b_id,b_path,score,coverage_a,coverage_b,segments,verification');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/,(contains|contained-in),/);
    const again = await runCli(['dedup', '--db', db.location, '--json', '--recurring']);
    const report = JSON.parse(again.stdout) as { compared: number; relations: Array<{ type: string }>; recurring: unknown[] };
    // Nothing indexed since: nothing searched again, the relation read back.
    expect(report.compared).toBe(0);
    expect(report.relations).toHaveLength(1);
    expect(report.recurring).toEqual([]);
  });
});

describe('retrace signatures', () => {
  it('makes a signature without an index, and a search with it finds the source with no media', async () => {
    const sig = dir.file('excerpt.sig');
    const made = await runCli(['signatures', 'make', clip.excerpt, '-o', sig]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/wrote .*excerpt\.sig/);
    const r = await runCli(['search', sig, '--db', db.location, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      query: { media?: boolean };
      matches: Array<{ path: string; segments: Array<{ verification: { status: string } }> }>;
    };
    expect(result.query.media).toBe(false);
    expect(result.matches.map((m) => m.path)).toContain(clip.pattern);
    expect(result.matches[0].segments[0].verification.status).toBe('no-media');
  });

  it('refuses a damaged signature with BAD_SIGNATURE and exit code 3', async () => {
    const bytes = await readFile(dir.file('excerpt.sig'));
    const bad = dir.file('bad.sig');
    await writeFile(bad, bytes.subarray(0, bytes.length - 10));
    const r = await runCli(['index', bad, '--db', db.location, '--json']);
    expect(r.stdout + r.stderr).toMatch(/BAD_SIGNATURE/);
    const s = await runCli(['search', bad, '--db', db.location]);
    expect(s.code).toBe(3);
    expect(s.stderr).toMatch(/BAD_SIGNATURE/);
  });
});

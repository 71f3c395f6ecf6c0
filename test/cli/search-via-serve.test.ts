/**
 * `retrace search` while `retrace serve` holds the same embedded index: the server answers (the
 * index could not be opened twice), with the same result an embedded search gives.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editClip, makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { ensureCliBuilt, runCli, startServeChild } from './run-cli.js';

let dir: TempDir;
let db: string;
const clip = { reference: '', query: '' };

beforeAll(async () => {
  ensureCliBuilt();
  dir = await makeTempDir('retrace-cli-handoff-');
  db = dir.file('index');
  clip.reference = await makeClip(dir, 'reference', { source: 'seahorse', durationSec: 12 });
  clip.query = await editClip(clip.reference, dir, 'query', { start: 3, duration: 6, vf: 'scale=400:300' });
  // Indexed with a path relative to the shell, as users type it.
  const r = await runCli(['index', 'reference.mp4', '--db', db], { cwd: dir.path });
  expect(r.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await dir?.cleanup();
});

/** The parts of a result that must not depend on who ran the search. */
function essence(out: string) {
  const r = JSON.parse(out);
  return r.matches.map((m: any) => ({
    path: m.path,
    score: m.score,
    segments: m.segments.map((s: any) => ({ q: [s.queryStart, s.queryEnd], r: [s.refStart, s.refEnd], verification: s.verification.status })),
  }));
}

describe('retrace search while retrace serve holds the index', () => {
  it('is answered by the server, the same as a search of the index on its own', async () => {
    const alone = await runCli(['search', 'query.mp4', '--db', db, '--json'], { cwd: dir.path });
    expect(alone.code).toBe(0);
    expect(essence(alone.stdout)[0].segments[0].verification).toBe('confirmed');

    const served = await startServeChild(['--db', db], dir.path);
    try {
      const handoff = join(db, 'retrace-serve.json');
      expect(existsSync(handoff)).toBe(true);
      // Only the index's owner may read the token.
      expect(statSync(handoff).mode & 0o077).toBe(0);
      const viaServer = await runCli(['search', 'query.mp4', '--db', db, '--json'], { cwd: dir.path });
      expect(viaServer.code).toBe(0);
      expect(essence(viaServer.stdout)).toEqual(essence(alone.stdout));
      const table = await runCli(['search', 'query.mp4', '--db', db], { cwd: dir.path });
      expect(table.stderr).toMatch(/answered by the running retrace serve/);
      expect(table.stdout).toMatch(/reference\.mp4/);
    } finally {
      expect(await served.stop()).toBe(0);
    }
    // Gone with the server: the next search opens the index itself.
    expect(existsSync(join(db, 'retrace-serve.json'))).toBe(false);
    const after = await runCli(['search', 'query.mp4', '--db', db, '--json'], { cwd: dir.path });
    expect(after.code).toBe(0);
    expect(after.stderr).not.toMatch(/answered by/);
  }, 180_000);

  it("reports the server's error for a query it cannot read, with the CLI's exit code", async () => {
    const served = await startServeChild(['--db', db], dir.path);
    try {
      const r = await runCli(['search', 'missing.mp4', '--db', db, '--json'], { cwd: dir.path });
      expect(r.code).not.toBe(0);
      expect(JSON.parse(r.stdout || r.stderr).error.code).toBe('FILE_NOT_FOUND');
    } finally {
      await served.stop();
    }
  }, 120_000);
});

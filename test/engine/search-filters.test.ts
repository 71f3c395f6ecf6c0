/**
 * Search limited by metadata and folder (`where`, `folder`), and `top` for exploration.
 *
 * The library holds an original (folder `news`, collection "news"), a re-encoded copy of it
 * (folder `sport`, collection "sport") and an unrelated clip (folder `sport`). A filter keeps a
 * video out entirely or lets it be found as without the filter; `top` lists the best videos
 * whatever their score, flagging those below the match threshold, and changes no match.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import { editClip, makeClip, makeTempDir } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase, TEST_DB_KIND } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';
import { expectRetraceError } from '../helpers/expect-error.js';

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;
const id: Record<string, string> = {};
let query: string;
let unrelatedQuery: string;

beforeAll(async () => {
  dir = await makeTempDir('retrace-filters-');
  await mkdir(dir.file('news'));
  await mkdir(dir.file('sport'));
  const sub = (folder: string) => ({ ...dir, file: (n: string) => join(dir.path, folder, n) });
  const size = { width: 192, height: 144 };
  const original = await makeClip(sub('news'), 'original', { source: 'mandelbrot', durationSec: 8, ...size });
  const [copy, other] = await Promise.all([
    editClip(original, sub('sport'), 'copy', { codecArgs: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '30', '-pix_fmt', 'yuv420p'] }),
    makeClip(sub('sport'), 'other', { source: 'life', durationSec: 6, ...size }),
  ]);
  [query, unrelatedQuery] = await Promise.all([
    editClip(original, dir, 'query', { start: 2, duration: 5 }),
    makeClip(dir, 'unrelated-query', { source: 'rotatingPattern', durationSec: 5, ...size }),
  ]);
  db = await createTestDatabase();
  engine = await Retrace.open({ db: db.location });
  id.original = (await engine.index(original, { title: 'Original', metadata: { collection: 'news', year: 1999 } })).videoId;
  id.copy = (await engine.index(copy, { metadata: { collection: 'sport' } })).videoId;
  id.other = (await engine.index(other, { metadata: { collection: 'sport' } })).videoId;
}, 300_000);

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

const found = (r: { matches: Array<{ videoId: string }> }) => r.matches.map((m) => Object.keys(id).find((k) => id[k] === m.videoId) ?? m.videoId).sort();

describe(`search filters on ${TEST_DB_KIND}`, () => {
  it('without a filter, the original and its copy are found', async () => {
    expect(found(await engine.search(query))).toEqual(['copy', 'original']);
  });

  it('--folder keeps only videos under the folder, and still finds them', async () => {
    expect(found(await engine.search(query, { folder: dir.file('news') }))).toEqual(['original']);
    expect(found(await engine.search(query, { folder: dir.file('sport') }))).toEqual(['copy']);
    // A folder is not a prefix of a name: "new" holds nothing.
    expect(found(await engine.search(query, { folder: dir.file('new') }))).toEqual([]);
  });

  it('--where matches metadata (as text) and the title; one key given twice takes either value', async () => {
    expect(found(await engine.search(query, { where: { collection: 'sport' } }))).toEqual(['copy']);
    expect(found(await engine.search(query, { where: { year: 1999 } }))).toEqual(['original']);
    expect(found(await engine.search(query, { where: { title: 'Original' } }))).toEqual(['original']);
    expect(found(await engine.search(query, { where: { collection: ['news', 'sport'] } }))).toEqual(['copy', 'original']);
    expect(found(await engine.search(query, { where: { collection: 'nobody' } }))).toEqual([]);
    // Filters combine: the copy is in sport, but not from 1999.
    expect(found(await engine.search(query, { where: { year: '1999' }, folder: dir.file('sport') }))).toEqual([]);
  });

  it('a filter that cannot be applied is INVALID_ARGUMENT, before the query is read', async () => {
    await expectRetraceError(engine.search(dir.file('missing.mp4'), { where: { '': 'x' } }), 'INVALID_ARGUMENT');
    await expectRetraceError(engine.search(query, { folder: ' ' }), 'INVALID_ARGUMENT');
  });
});

describe(`search --top on ${TEST_DB_KIND}`, () => {
  it('lists the matches as a normal search does, then the best of the rest flagged below the threshold', async () => {
    const normal = await engine.search(query);
    const top = await engine.search(query, { top: 3 });
    expect(top.matches).toHaveLength(3);
    expect(top.matches.slice(0, 2)).toEqual(normal.matches);
    const [, , rest] = top.matches;
    expect(rest).toMatchObject({ videoId: id.other, belowThreshold: true });
    expect(rest.segments.length).toBeGreaterThan(0);
    expect(rest.segments.every((s) => s.belowThreshold === true && !s.verified)).toBe(true);
    expect(normal.matches.every((m) => m.belowThreshold === undefined && m.segments.every((s) => s.belowThreshold === undefined))).toBe(true);
  });

  it('for a query nothing matches: no copy found, but --top still lists the closest videos, all below the threshold', async () => {
    expect((await engine.search(unrelatedQuery)).matches).toEqual([]);
    const top = await engine.search(unrelatedQuery, { top: 2 });
    expect(top.matches).toHaveLength(2);
    expect(top.matches.every((m) => m.belowThreshold === true && m.segments.length > 0)).toBe(true);
    expect(top.matches[0].score).toBeGreaterThanOrEqual(top.matches[1].score);
  });

  it('--top respects the filters', async () => {
    const top = await engine.search(unrelatedQuery, { top: 3, folder: dir.file('news') });
    expect(found(top)).toEqual(['original']);
  });
});

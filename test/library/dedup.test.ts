import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retrace } from '../../src/core/engine/retrace.js';
import type { DedupRelation, DedupReport } from '../../src/core/library/dedup.js';
import { clustersOf, covered, relationType } from '../../src/core/library/dedup.js';
import { editClip, ffmpeg, makeClip, makeTempDir, CODECS } from '../helpers/media-fixtures.js';
import type { TempDir } from '../helpers/media-fixtures.js';
import { createTestDatabase } from '../helpers/test-database.js';
import type { TestDatabase } from '../helpers/test-database.js';

/**
 * Three unrelated 14-second sources and copies of them: a mirrored re-encode of the pattern
 * (duplicate), an excerpt of the Mandelbrot zoom (contained in it), and the seahorse zoom with
 * 5 s of the pattern inserted in its middle (contains the seahorse, related to the pattern).
 */
const SEC = 14;
const RATE = 15;

let dir: TempDir;
let db: TestDatabase;
let engine: Retrace;
const id: Record<string, string> = {};
let first: DedupReport;

function relationOf(report: { relations: DedupRelation[] }, x: string, y: string): DedupRelation | undefined {
  return report.relations.find((r) => (r.a.id === id[x] && r.b.id === id[y]) || (r.a.id === id[y] && r.b.id === id[x]));
}

/** The relation read as "x TYPE y", whichever side the report put first. */
function typeOf(r: DedupRelation, x: string): string {
  if (r.a.id === id[x]) return r.type;
  return r.type === 'contains' ? 'contained-in' : r.type === 'contained-in' ? 'contains' : r.type;
}

beforeAll(async () => {
  dir = await makeTempDir('retrace-dedup-');
  const dbReady = createTestDatabase();
  const src = {
    pattern: await makeClip(dir, 'pattern', { source: 'rotatingPattern', durationSec: SEC, rate: RATE }),
    mandel: await makeClip(dir, 'mandel', { source: 'mandelbrot', durationSec: SEC, rate: RATE }),
    seahorse: await makeClip(dir, 'seahorse', { source: 'seahorse', durationSec: SEC, rate: RATE }),
  };
  const copies = {
    flipped: await editClip(src.pattern, dir, 'pattern-flipped', { vf: 'hflip' }),
    excerpt: await editClip(src.mandel, dir, 'mandel-excerpt', { start: 4, duration: 7 }),
    inserted: dir.file('seahorse-inserted.mp4'),
  };
  await ffmpeg([
    '-i',
    src.seahorse,
    '-i',
    src.pattern,
    '-filter_complex',
    '[0:v]trim=0:7,setpts=PTS-STARTPTS[a];[1:v]trim=3:8,setpts=PTS-STARTPTS[b];[0:v]trim=7:14,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[out]',
    '-map',
    '[out]',
    ...CODECS.h264.args,
    copies.inserted,
  ]);
  db = await dbReady;
  engine = await Retrace.open({ db: db.location });
  for (const [name, path] of Object.entries({ ...src, flipped: copies.flipped, excerpt: copies.excerpt }))
    id[name] = (await engine.index(path, { title: name })).videoId;
  first = await engine.dedup();
  // Indexed after the first run: only it is searched by the second.
  id.inserted = (await engine.index(copies.inserted, { title: 'inserted' })).videoId;
}, 240_000);

afterAll(async () => {
  await engine?.close();
  await db?.dispose();
  await dir?.cleanup();
});

describe('dedup', () => {
  it('finds a mirrored copy as a duplicate and an excerpt as contained, with their segments', () => {
    expect(first.compared).toBe(5);
    const flip = relationOf(first, 'pattern', 'flipped');
    expect(flip, JSON.stringify(first.relations.map((r) => [r.a.path, r.type, r.b.path]))).toBeDefined();
    expect(flip!.type).toBe('duplicate');
    const excerpt = relationOf(first, 'mandel', 'excerpt')!;
    expect(excerpt).toBeDefined();
    expect(typeOf(excerpt, 'mandel')).toBe('contains');
    const seg = excerpt.segments[0];
    const [mandelStart, mandelEnd] = excerpt.a.id === id.mandel ? [seg.aStart, seg.aEnd] : [seg.bStart, seg.bEnd];
    expect(Math.abs(mandelStart - 4)).toBeLessThanOrEqual(1.5);
    expect(Math.abs(mandelEnd - 11)).toBeLessThanOrEqual(1.5);
  });

  it('relates nothing else: unrelated sources stay apart', () => {
    expect(first.relations).toHaveLength(2);
    expect(first.clusters.map((c) => c.videos.length)).toEqual([2, 2]);
  });

  it('later searches only the newly indexed video, and finds what it contains and shares', async () => {
    const t = performance.now();
    const second = await engine.dedup();
    const ms = performance.now() - t;
    expect(second.compared).toBe(1);
    expect(ms).toBeLessThan(20_000);
    expect(typeOf(relationOf(second, 'inserted', 'seahorse')!, 'inserted')).toBe('contains');
    // 5 s of the 14 s pattern: shared, but neither holds the other.
    const shared = relationOf(second, 'inserted', 'pattern');
    expect(shared?.type).toBe('related');
    // The pattern, its mirrored copy, the seahorse and the video they were spliced into are one cluster.
    expect(second.clusters[0].videos.map((v) => v.id).sort()).toEqual([id.pattern, id.flipped, id.seahorse, id.inserted].sort());
    const again = await engine.dedup();
    expect(again.compared).toBe(0);
    expect(again.relations.length).toBe(second.relations.length);
  });

  it('forgets the relations of a removed video', async () => {
    expect(relationOf(await engine.dedupRelations(), 'mandel', 'excerpt')).toBeDefined();
    await engine.remove(id.excerpt);
    const after = await engine.dedupRelations();
    expect(relationOf(after, 'mandel', 'excerpt')).toBeUndefined();
    expect(after.pending).toBe(0);
  });

  it('types relations by coverage and clusters them by union', () => {
    expect(relationType(0.95, 0.9)).toBe('duplicate');
    expect(relationType(0.3, 0.95)).toBe('contains');
    expect(relationType(0.95, 0.3)).toBe('contained-in');
    expect(relationType(0.3, 0.4)).toBe('related');
    expect(
      covered(
        [
          [0, 4],
          [3, 8],
        ],
        10,
        1,
      ),
    ).toBeCloseTo(0.9);
    const v = (n: string) => ({ id: n, path: n, title: null, durationSec: 1, media: true });
    const rel = (a: string, b: string): DedupRelation => ({ a: v(a), b: v(b), type: 'related', score: 1, coverage: { a: 0.5, b: 0.5 }, segments: [] });
    const clusters = clustersOf([rel('x', 'y'), rel('p', 'q'), rel('y', 'z')]);
    expect(clusters.map((c) => c.videos.map((x) => x.id).sort())).toEqual([
      ['x', 'y', 'z'],
      ['p', 'q'],
    ]);
  });
});

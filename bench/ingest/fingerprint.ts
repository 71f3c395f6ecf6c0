/**
 * Proof that an ingest change leaves the index unchanged (issue 17): ingest files into a
 * throw-away in-memory index and write, per file, every stored row exactly as the database
 * holds it (frame number, time, keyframe flag, quality, both vectors as pgvector prints them).
 * Run it before and after a change and compare:
 *
 *   npx vite-node bench/ingest/fingerprint.ts -- <files or folders...> --out before.json
 *   npx vite-node bench/ingest/fingerprint.ts -- <files or folders...> --compare before.json
 *
 * `--compare` exits 1 and names the first difference per file when anything differs.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { Retrace } from '../../src/index.js';
import { parseFlags } from '../common/args.js';
import { expandInputs } from '../common/inputs.js';
import { writeJsonReport } from '../common/json.js';

interface FileFingerprint {
  name: string;
  /** The video row (duration, fps, size, codec, frame count, metadata), then one line per stored frame: `frame_number time keyframe quality | e0 | e1`. */
  rows: string[];
}

/** Ingest each file into a fresh in-memory index and read back its stored rows. */
async function fingerprint(inputs: readonly string[]): Promise<FileFingerprint[]> {
  const paths = await expandInputs([...inputs]);
  const engine = await Retrace.open({ db: 'memory://' });
  try {
    const out: FileFingerprint[] = [];
    // As `retrace index` runs them: several files in flight, with its decoder settings.
    const outcomes = await engine.indexMany(paths);
    for (const [i, o] of outcomes.entries()) {
      if (!o.ok) throw o.error;
      const rows = await engine.sql.query<{ n: number; t: number; k: boolean; q: number; e0: string | null; e1: string | null }>(
        `SELECT frame_number AS n, timestamp_sec AS t, is_keyframe AS k, quality AS q, e0::text AS e0, e1::text AS e1
           FROM frames WHERE video_id = $1 ORDER BY timestamp_sec, frame_number`,
        [o.result.videoId],
      );
      const v = o.result.video;
      const video = `${v.durationSec} ${v.fps} ${v.width}x${v.height} ${v.codec} ${v.frameCount} ${JSON.stringify(v.metadata)}`;
      out.push({ name: basename(paths[i]), rows: [video, ...rows.rows.map((x) => `${x.n} ${x.t} ${x.k} ${x.q} | ${x.e0} | ${x.e1}`)] });
    }
    return out;
  } finally {
    await engine.close();
  }
}

/** Differences between two fingerprints, one line per differing file. */
function compareFingerprints(before: readonly FileFingerprint[], after: readonly FileFingerprint[]): string[] {
  const diffs: string[] = [];
  const byName = new Map(before.map((f) => [f.name, f]));
  for (const a of after) {
    const b = byName.get(a.name);
    if (!b) {
      diffs.push(`${a.name}: not in the earlier fingerprint`);
      continue;
    }
    if (a.rows.length !== b.rows.length) diffs.push(`${a.name}: ${b.rows.length} rows before, ${a.rows.length} after`);
    const i = a.rows.findIndex((row, k) => row !== b.rows[k]);
    if (i >= 0) diffs.push(`${a.name}: row ${i} differs\n  before ${b.rows[i] ?? '(none)'}\n  after  ${a.rows[i]}`);
  }
  return diffs;
}

async function main(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { values: ['out', 'compare'], switches: [] });
  if (!p.positionals.length) throw new Error('usage: fingerprint.ts <files or folders...> [--out FILE] [--compare FILE]');
  const fp = await fingerprint(p.positionals);
  const rows = fp.reduce((s, f) => s + f.rows.length, 0);
  console.log(`${fp.length} file(s), ${rows} stored frames`);
  const out = p.values.get('out');
  if (out) console.log(`wrote ${await writeJsonReport(out, fp)}`);
  const cmp = p.values.get('compare');
  if (cmp) {
    const diffs = compareFingerprints(JSON.parse(await readFile(cmp, 'utf8')) as FileFingerprint[], fp);
    console.log(diffs.length ? diffs.join('\n') : `identical to ${cmp}: every kept frame, flag, quality and vector`);
    return diffs.length ? 1 : 0;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);

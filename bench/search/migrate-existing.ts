/**
 * Time the schema migrations and the ANN index build on an existing index (e.g. a kept search
 * benchmark database written by an older schema): what an upgrade costs a user at that size.
 *
 *   node dist/bench/search/migrate-existing.js <postgres://… | PGlite directory> [--dims 35]
 */
import { openDatabase } from '../../src/db/open-database.js';
import { FrameStore } from '../../src/db/frame-store.js';
import { BuiltinDescriptor } from '../../src/index.js';

async function main(): Promise<void> {
  const location = process.argv[2];
  if (!location) throw new Error('usage: migrate-existing <postgres://… | directory>');
  const t0 = performance.now();
  // openDatabase applies every pending migration, each in its own transaction.
  const sql = await openDatabase(location);
  const migrateSec = (performance.now() - t0) / 1000;
  try {
    const d = new BuiltinDescriptor();
    const t1 = performance.now();
    await new FrameStore(sql).bindDescriptor(d.id, d.dimensions);
    const buildSec = (performance.now() - t1) / 1000;
    const n = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM frames`);
    const bytes = await sql.query<{ n: string }>(`SELECT pg_total_relation_size('frames')::text AS n`);
    const frames = Number(n.rows[0].n);
    console.log(JSON.stringify({ location: sql.location, frames, migrateSec, buildSec, bytesPerFrame: Number(bytes.rows[0].n) / frames }));
  } finally {
    await sql.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

import { dumpDatabase, restoreDatabase, type DumpSummary } from '../../db/dump.js';
import { openDatabase } from '../../db/open-database.js';
import { EXIT } from '../exit-codes.js';

function summary(verb: string, file: string, s: DumpSummary, ms: number): string {
  const parts = Object.entries(s.rows).map(([t, n]) => `${n} ${t}`);
  return `${verb} ${file}: ${parts.join(', ')} (${(ms / 1000).toFixed(1)} s)\n`;
}

/** `retrace dump FILE`: every row of the index at --db into one portable file. */
export async function dumpCommand(db: string, file: string, json: boolean): Promise<number> {
  const t0 = Date.now();
  const sql = await openDatabase(db, { create: false });
  try {
    const s = await dumpDatabase(sql, file);
    process.stdout.write(json ? JSON.stringify({ file, ...s }) + '\n' : summary('dumped to', file, s, Date.now() - t0));
    return EXIT.ok;
  } finally {
    await sql.close();
  }
}

/**
 * `retrace restore FILE`: load a dump into the (empty) index at --db, then open it as an engine
 * once, which checks the descriptor and builds the ANN indexes the restore left out.
 */
export async function restoreCommand(db: string, file: string, json: boolean): Promise<number> {
  const t0 = Date.now();
  const sql = await openDatabase(db);
  let s: DumpSummary;
  try {
    s = await restoreDatabase(sql, file);
  } finally {
    await sql.close();
  }
  const { Retrace } = await import('../../core/engine/retrace.js');
  const engine = await Retrace.open({ db });
  await engine.close();
  process.stdout.write(json ? JSON.stringify({ file, ...s }) + '\n' : summary('restored from', file, s, Date.now() - t0));
  return EXIT.ok;
}

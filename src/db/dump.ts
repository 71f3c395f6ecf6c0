import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { DatabaseNotEmptyError, FileNotFoundError, InvalidArgumentError } from '../core/errors/retrace-error.js';
import { FrameStore } from './frame-store.js';
import type { SqlClient, SqlExecutor } from './sql-client.js';

/**
 * Dump and restore of an index in one portable file, the same on PGlite and PostgreSQL, so an
 * index moves between the two (an embedded prototype grown onto a server, or a server's index
 * taken home). The file is gzip'd JSON lines: a header, then one `[table, row]` line per row,
 * the row as `to_jsonb` gives it and restored with `jsonb_populate_recordset`, so both ends
 * agree on every type (halfvec vectors travel as their text form) whatever their column order.
 * Rows are read through a cursor, so a dump of millions of frames runs in bounded memory.
 */

export const DUMP_FORMAT = 'retrace-dump';
export const DUMP_VERSION = 1;

/**
 * The tables that make an index, parents before children (foreign keys). Not dumped:
 * `schema_migrations` (the target migrates itself) and `rate_limit_hits` (a minute's counters).
 */
export const DUMP_TABLES = ['retrace_settings', 'api_keys', 'videos', 'frames', 'server_media', 'jobs'] as const;
type DumpTable = (typeof DUMP_TABLES)[number];

export interface DumpSummary {
  /** Rows per table. */
  rows: Record<string, number>;
}

interface DumpHeader {
  format: string;
  version: number;
  /** The highest migration applied where the dump was made. */
  schema: number;
  createdAt: string;
  source: string;
}

const FETCH_ROWS = 1000;
const INSERT_ROWS = 500;

async function schemaVersion(sql: SqlExecutor): Promise<number> {
  const { rows } = await sql.query<{ v: number | null }>(`SELECT max(version)::int AS v FROM schema_migrations`);
  return Number(rows[0]?.v ?? 0);
}

/** Write every row of the index in `sql` to `file`. */
export async function dumpDatabase(sql: SqlClient, file: string): Promise<DumpSummary> {
  const gzip = createGzip({ level: 6 });
  const lines = new PassThrough();
  const done = pipeline(lines, gzip, createWriteStream(file));
  // Awaited below on success; on failure the partial file is deleted and the first error thrown.
  done.catch(() => undefined);
  const write = async (value: unknown) => {
    if (!lines.write(JSON.stringify(value) + '\n')) await once(lines, 'drain');
  };
  const rows: Record<string, number> = {};
  try {
    // One transaction: every table as of the same moment, and a cursor per table.
    await sql.transaction(async (tx) => {
      const header: DumpHeader = {
        format: DUMP_FORMAT,
        version: DUMP_VERSION,
        schema: await schemaVersion(tx),
        createdAt: new Date().toISOString(),
        source: sql.dialect,
      };
      await write(header);
      for (const table of DUMP_TABLES) {
        rows[table] = 0;
        await tx.exec(`DECLARE dump_rows NO SCROLL CURSOR FOR SELECT to_jsonb(t)::text AS j FROM ${table} t`);
        for (;;) {
          const { rows: batch } = await tx.query<{ j: string }>(`FETCH ${FETCH_ROWS} FROM dump_rows`);
          for (const r of batch) {
            // The row's JSON is written as it came, not parsed and serialised again.
            if (!lines.write(`[${JSON.stringify(table)},${r.j}]\n`)) await once(lines, 'drain');
          }
          rows[table] += batch.length;
          if (batch.length < FETCH_ROWS) break;
        }
        await tx.exec(`CLOSE dump_rows`);
      }
    });
  } catch (e) {
    lines.end();
    await done.catch(() => undefined);
    await rm(file, { force: true });
    throw e;
  }
  lines.end();
  await done;
  return { rows };
}

/**
 * Load a dump into the index in `sql`, which must hold no videos (DatabaseNotEmptyError): all or
 * nothing, in one transaction. The ANN indexes are dropped first and left for the next open of
 * the index to build (`Retrace.open`), which is much faster than growing them row by row.
 */
export async function restoreDatabase(sql: SqlClient, file: string): Promise<DumpSummary> {
  if (
    !(await stat(file).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    throw new FileNotFoundError(file);
  const existing = await sql.query<{ n: number | string }>(`SELECT count(*) AS n FROM videos`);
  if (Number(existing.rows[0]?.n ?? 0) > 0) throw new DatabaseNotEmptyError(sql.location, Number(existing.rows[0].n));
  const rows: Record<string, number> = {};
  await sql.transaction(async (tx) => {
    for (const name of FrameStore.annIndexNames) await tx.exec(`DROP INDEX IF EXISTS ${name}`);
    let header: DumpHeader | null = null;
    let table: DumpTable | null = null;
    let batch: string[] = [];
    const flush = async () => {
      if (!table || !batch.length) return;
      // Settings the target already has (a descriptor bound at open) keep their value only if equal.
      const conflict = table === 'retrace_settings' ? ' ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value' : '';
      await tx.query(`INSERT INTO ${table} SELECT * FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)${conflict}`, [`[${batch.join(',')}]`]);
      rows[table] = (rows[table] ?? 0) + batch.length;
      batch = [];
    };
    // Opened only now, right before it is read: readline drops lines emitted before iteration.
    // A read error (or a file that is not gzip) ends the iteration with that error.
    const gunzip = createGunzip();
    createReadStream(file)
      .on('error', (e) => gunzip.destroy(e))
      .pipe(gunzip);
    const input = createInterface({ input: gunzip, crlfDelay: Infinity });
    for await (const line of input) {
      if (!line) continue;
      if (!header) {
        header = JSON.parse(line) as DumpHeader;
        if (header.format !== DUMP_FORMAT || header.version !== DUMP_VERSION) {
          throw new InvalidArgumentError(`${file} is not a retrace dump (version ${DUMP_VERSION})`);
        }
        if (header.schema > (await schemaVersion(tx))) {
          throw new InvalidArgumentError(`${file} was made by a newer retrace (schema ${header.schema}); upgrade retrace to restore it`);
        }
        continue;
      }
      // `["table",{…row…}]`: the table name is read without parsing the row.
      const m = /^\["([a-z_]+)",/.exec(line);
      const name = m?.[1] as DumpTable | undefined;
      if (!name || !DUMP_TABLES.includes(name)) throw new InvalidArgumentError(`${file}: unexpected line ${line.slice(0, 60)}`);
      if (name !== table) {
        await flush();
        table = name;
      }
      batch.push(line.slice(m![0].length, -1));
      if (batch.length >= INSERT_ROWS) await flush();
    }
    await flush();
    if (!header) throw new InvalidArgumentError(`${file} is empty`);
    // New frames must not reuse restored ids.
    await tx.query(`SELECT setval('frames_id_seq', GREATEST((SELECT COALESCE(max(id), 0) FROM frames), 1))`);
  });
  return { rows: Object.fromEntries(DUMP_TABLES.map((t) => [t, rows[t] ?? 0])) };
}

/**
 * Scratch databases for benchmarks. A `postgres://` URL names a server: the benchmark creates its
 * own database next to the one in the URL (needs CREATEDB) and drops it afterwards unless kept.
 * Anything else is an embedded PGlite location: `memory://`, or a directory (default: a fresh
 * temporary one, removed afterwards unless kept).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';

export function isPostgresUrl(s: string | undefined): s is string {
  return !!s && /^postgres(ql)?:\/\//i.test(s);
}

/** The URL with its database name replaced. */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface ScratchDb {
  /** What to pass to Retrace.open / openDatabase. */
  location: string;
  dialect: 'pglite' | 'postgres';
  /** True when an existing database of this name was found (and kept). */
  existed: boolean;
  /** Drop/remove it (no-op when kept). */
  dispose(): Promise<void>;
}

async function adminQuery(url: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * Make (or find, when `keep` and it exists) a scratch database.
 *
 * @example
 * const s = await scratchDatabase({ db: 'postgres://postgres@127.0.0.1:54329/retrace_test', name: 'retrace_bench_10k' });
 */
export async function scratchDatabase(opts: { db?: string; name: string; keep?: boolean; settings?: Record<string, string> }): Promise<ScratchDb> {
  const name = opts.name.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  if (isPostgresUrl(opts.db)) {
    const admin = opts.db;
    const exists = (await adminQuery(admin, `SELECT 1 FROM pg_database WHERE datname = '${name}'`)).rowCount! > 0;
    if (exists && !opts.keep) await adminQuery(admin, `DROP DATABASE ${name} WITH (FORCE)`);
    if (!exists || !opts.keep) await adminQuery(admin, `CREATE DATABASE ${name}`);
    for (const [k, v] of Object.entries(opts.settings ?? {})) await adminQuery(admin, `ALTER DATABASE ${name} SET ${k} = '${v.replace(/'/g, "''")}'`);
    return {
      location: withDatabase(admin, name),
      dialect: 'postgres',
      existed: exists && !!opts.keep,
      dispose: async () => {
        if (!opts.keep) await adminQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    };
  }
  if (opts.db === 'memory://') return { location: 'memory://', dialect: 'pglite', existed: false, dispose: async () => undefined };
  if (opts.db) {
    // A directory given by the user: used only if new or made by a benchmark before (marker
    // file), never a real index. The database lives in its `index/` subfolder.
    const dir = resolve(opts.db);
    const marker = join(dir, '.retrace-bench');
    const existed = existsSync(dir);
    if (existed && !existsSync(marker) && readdirSync(dir).length > 0) {
      throw new Error(`refusing to fill ${dir}: it exists and was not made by a benchmark (give a new directory)`);
    }
    if (existed && !opts.keep) await rm(join(dir, 'index'), { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(marker, 'scratch database of a retrace benchmark; safe to delete\n');
    return {
      location: join(dir, 'index'),
      dialect: 'pglite',
      existed: existed && !!opts.keep && existsSync(join(dir, 'index')),
      dispose: async () => (opts.keep ? undefined : rm(dir, { recursive: true, force: true })),
    };
  }
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  const location = join(dir, 'index');
  return {
    location,
    dialect: 'pglite',
    existed: false,
    dispose: async () => {
      if (!opts.keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

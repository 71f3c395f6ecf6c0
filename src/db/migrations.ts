import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from './sql-client.js';

/** The repo's `migrations/` folder, found from this module whether it runs from src/ or dist/src/. */
export function migrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(candidate, '001_initial_schema.sql'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('migrations/ folder not found next to the retrace package');
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.split('_')[0]), name: f, sql: readFileSync(join(dir, f), 'utf8') }));
}

/** Versions recorded in `schema_migrations`, or null when the table does not exist yet. */
async function appliedVersions(db: SqlClient): Promise<Set<number> | null> {
  const t = await db.query<{ ok: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS ok`);
  if (t.rows[0]?.ok !== true) return null;
  const r = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(r.rows.map((row) => Number(row.version)));
}

/**
 * Apply pending numbered SQL migrations, each in its own transaction, recording them in
 * `schema_migrations`. An advisory lock serialises concurrent openers of one server database.
 * An index that has them all is left alone after two reads (no DDL, no transaction): opening
 * is on the path of every CLI command.
 */
export async function migrate(db: SqlClient, migrations = loadMigrations()): Promise<number[]> {
  const recorded = await appliedVersions(db);
  if (recorded && migrations.every((m) => recorded.has(m.version))) return [];
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  for (const m of migrations) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(72736174)');
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (done.rows.length) return;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    });
  }
  return applied;
}

/**
 * New embedded indexes start from the build's initdb template (src/db/pglite-template.ts) instead
 * of PGlite's initdb in the process: the template round-trips, and an index made from it is the
 * same database as one made by initdb, usable and reopened as any other.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGliteClient } from '../../src/db/pglite-client.js';
import { buildTemplate, packDirectory, pgliteVersion, templatePath, unpackTemplate } from '../../src/db/pglite-template.js';
import { openDatabase } from '../../src/db/open-database.js';
import { makeTempDir, type TempDir } from '../helpers/media-fixtures.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await makeTempDir('retrace-template-');
});
afterAll(async () => {
  await dir?.cleanup();
});

function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      out.push(relative(root, p) + (statSync(p).isDirectory() ? '/' : ''));
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

describe('the template archive', () => {
  it('round-trips directories, files of any length and their modes, PG_VERSION included', () => {
    const src = dir.file('tree');
    mkdirSync(join(src, 'base', '1'), { recursive: true });
    mkdirSync(join(src, 'empty'));
    writeFileSync(join(src, 'PG_VERSION'), '17\n');
    writeFileSync(join(src, 'base', '1', 'big'), Buffer.alloc(1300, 7));
    writeFileSync(join(src, 'base', '1', 'zero'), '');
    writeFileSync(join(src, 'conf'), 'x = 1\n', { mode: 0o600 });
    const archive = dir.file('tree.tar.gz');
    writeFileSync(archive, packDirectory(src));
    const out = dir.file('tree-out');
    unpackTemplate(archive, out);
    expect(listTree(out)).toEqual(listTree(src));
    expect(readFileSync(join(out, 'base', '1', 'big'))).toEqual(Buffer.alloc(1300, 7));
    expect(readFileSync(join(out, 'base', '1', 'zero')).length).toBe(0);
    expect(readFileSync(join(out, 'PG_VERSION'), 'utf8')).toBe('17\n');
    expect(statSync(join(out, 'conf')).mode & 0o777).toBe(0o600);
  });

  it('is named for the installed PGlite version, so another version never uses it', () => {
    expect(templatePath()).toContain(`pglite-${pgliteVersion()}-`);
    expect(templatePath('0.0.1')).not.toBe(templatePath());
  });
});

describe('an embedded index made from the template', () => {
  let template: string;
  beforeAll(async () => {
    template = await buildTemplate(dir.file('template.tar.gz'));
  });

  it('holds the same files as one made by PGlite initdb, and both open as retrace indexes', async () => {
    const fromTemplate = dir.file('from-template');
    const fromInitdb = dir.file('from-initdb');
    for (const [path, t] of [
      [fromTemplate, template],
      [fromInitdb, false],
    ] as const) {
      const c = await PGliteClient.open(path, { template: t });
      await c.close();
    }
    expect(listTree(fromTemplate)).toEqual(listTree(fromInitdb));
    expect(readFileSync(join(fromTemplate, 'PG_VERSION'), 'utf8')).toBe(readFileSync(join(fromInitdb, 'PG_VERSION'), 'utf8'));
  });

  it('gets the vector extension and the migrations, stores rows and finds them after reopening', async () => {
    const path = dir.file('usable');
    const c = await PGliteClient.open(path, { template });
    await c.exec('CREATE EXTENSION IF NOT EXISTS vector; CREATE TABLE t (v vector(2))');
    await c.query(`INSERT INTO t VALUES ('[1,0]'), ('[0,1]')`);
    await c.close();
    // Opened again, now as an existing directory, through the engine's own path (migrations).
    const sql = await openDatabase(path);
    try {
      const r = await sql.query<{ d: number }>(`SELECT v <=> '[1,0]' AS d FROM t ORDER BY d`);
      expect(r.rows.map((x) => Number(x.d))).toEqual([0, 1]);
      const m = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(m.rows[0].n).toBeGreaterThan(0);
    } finally {
      await sql.close();
    }
  });

  it('memory:// starts from it too, and is a working database', async () => {
    const c = await PGliteClient.open('memory://', { template });
    try {
      await c.exec('CREATE EXTENSION IF NOT EXISTS vector');
      expect((await c.query<{ d: number }>(`SELECT '[1,0]'::vector <=> '[0,1]'::vector AS d`)).rows[0].d).toBeCloseTo(1);
    } finally {
      await c.close();
    }
  });

  it('an unpacking cut short (no PG_VERSION yet) is unpacked again on the next open', async () => {
    const path = dir.file('cut-short');
    mkdirSync(join(path, 'base'), { recursive: true });
    writeFileSync(join(path, 'postgresql.conf'), 'garbage');
    const c = await PGliteClient.open(path, { template });
    expect((await c.query<{ one: number }>('SELECT 1 AS one')).rows[0].one).toBe(1);
    await c.close();
    expect(existsSync(join(path, 'PG_VERSION'))).toBe(true);
    expect(readFileSync(join(path, 'postgresql.conf'), 'utf8')).not.toBe('garbage');
  });
});

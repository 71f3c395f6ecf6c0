/**
 * `create: false`: opening an index that must already exist (the CLI's search, list, stats and
 * remove) fails with DB_NOT_FOUND where there is none, and creates nothing.
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open-database.js';
import { Retrace } from '../../src/core/engine/retrace.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { createTestDatabase, isPglite, type TestDatabase } from '../helpers/test-database.js';
import { makeTempDir, type TempDir } from '../helpers/media-fixtures.js';

let dir: TempDir;

beforeAll(async () => {
  dir = await makeTempDir('retrace-open-');
});

afterAll(async () => {
  await dir?.cleanup();
});

describe('opening with create: false', () => {
  it('a directory that does not exist: DB_NOT_FOUND, and the directory is not created', async () => {
    const missing = dir.file('nothing-here');
    const err = await expectRetraceError(Retrace.open({ db: missing, create: false }), 'DB_NOT_FOUND');
    expect(err.message).toContain('nothing-here');
    expect(existsSync(missing)).toBe(false);
  });

  it('a file where the directory should be: DB_NOT_FOUND', async () => {
    const file = dir.file('a-file');
    await writeFile(file, 'x');
    await expectRetraceError(openDatabase(file, { create: false }), 'DB_NOT_FOUND');
  });

  it('a directory without a database: DB_NOT_FOUND, and nothing is written into it', async () => {
    const folder = dir.file('folder');
    await mkdir(folder);
    await expectRetraceError(openDatabase(folder, { create: false }), 'DB_NOT_FOUND');
    expect(await readdir(folder)).toEqual([]);
  });

  describe(`a fresh ${isPglite ? 'embedded' : 'PostgreSQL'} database`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it('without retrace tables: DB_NOT_FOUND; once created by a default open: opens', async () => {
      await expectRetraceError(Retrace.open({ db: db.location, create: false }), 'DB_NOT_FOUND');
      const created = await Retrace.open({ db: db.location });
      await created.close();
      const existing = await Retrace.open({ db: db.location, create: false });
      try {
        expect((await existing.stats()).videos).toBe(0);
      } finally {
        await existing.close();
      }
    });
  });

  it.skipIf(isPglite)('a PostgreSQL database name the server does not have: DB_NOT_FOUND, naming it (password hidden)', async () => {
    const url = new URL(process.env.RETRACE_TEST_PG_URL!);
    url.pathname = '/retrace_no_such_database';
    const err = await expectRetraceError(openDatabase(url.toString(), { create: false }), 'DB_NOT_FOUND');
    expect(err.message).toContain('retrace_no_such_database');
    if (url.password) expect(err.message).not.toContain(`:${url.password}@`);
  });

  it('memory:// is always new and always allowed', async () => {
    const sql = await openDatabase('memory://', { create: false });
    await sql.close();
  });
});

/**
 * API key storage (migration 006 + ApiKeyStore) on the test database: PGlite by default,
 * PostgreSQL with RETRACE_TEST_DB=pg (npm run test:pg).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, OPEN_ACCESS, canSee, requireScope, scopeAllows } from '../../src/core/auth/api-keys.js';
import { JobStore } from '../../src/core/jobs/job-store.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { openTestDatabase, type OpenTestDatabase } from '../helpers/test-database.js';

let db: OpenTestDatabase;
let sql: SqlClient;

beforeAll(async () => {
  db = await openTestDatabase();
  sql = db.sql;
});

afterAll(() => db?.close());

describe('ApiKeyStore', () => {
  it('lets everyone in as admin while no key exists, and requires a key once one does', async () => {
    const keys = new ApiKeyStore(sql);
    expect(await keys.anyExist()).toBe(false);
    expect(await keys.authenticate(undefined)).toEqual(OPEN_ACCESS);
    const k = await keys.create({ scope: 'index', name: 'ingest bot' });
    expect(await keys.anyExist()).toBe(true);
    // A second store (another server process on the same database) sees it too.
    const other = new ApiKeyStore(sql);
    await expectRetraceError(other.authenticate(undefined), 'UNAUTHORIZED');
    expect(await other.authenticate(`Bearer ${k.key}`)).toEqual({ keyId: k.id, scope: 'index' });
  });

  it('creates a key of 256 random bits and stores only a hash of it', async () => {
    const keys = new ApiKeyStore(sql);
    const k = await keys.create({ scope: 'search' });
    expect(k.key).toMatch(/^rtk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(k.key.startsWith(`rtk_${k.id}_`)).toBe(true);
    expect(k).toMatchObject({ scope: 'search', name: null, revokedAt: null });
    const { rows } = await sql.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [k.id]);
    const stored = JSON.stringify(rows[0]);
    expect(stored).not.toContain(k.key.slice(21));
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifies only the exact key: a changed secret, another id or a malformed key is refused', async () => {
    const keys = new ApiKeyStore(sql);
    const k = await keys.create({ scope: 'admin' });
    expect((await keys.verify(k.key))?.id).toBe(k.id);
    const last = k.key.at(-1) === 'A' ? 'B' : 'A';
    expect(await keys.verify(k.key.slice(0, -1) + last)).toBeNull();
    expect(await keys.verify(k.key.replace(k.id, '0000000000000000'))).toBeNull();
    expect(await keys.verify(k.key + 'x')).toBeNull();
    expect(await keys.verify('')).toBeNull();
    await expectRetraceError(keys.authenticate(`Token ${k.key}`), 'UNAUTHORIZED');
  });

  it('lists keys without secrets and revokes them for good', async () => {
    const keys = new ApiKeyStore(sql);
    const k = await keys.create({ scope: 'search', name: '  moderation team  ' });
    const listed = (await keys.list()).find((x) => x.id === k.id);
    expect(listed).toEqual({ id: k.id, name: 'moderation team', scope: 'search', createdAt: k.createdAt, revokedAt: null });
    expect(JSON.stringify(await keys.list())).not.toContain('rtk_');
    const revoked = await keys.revoke(k.id);
    expect(revoked.revokedAt).not.toBeNull();
    expect(await keys.verify(k.key)).toBeNull();
    await expectRetraceError(keys.authenticate(`Bearer ${k.key}`), 'UNAUTHORIZED');
    // Revoking again keeps the first time; an unknown id is NOT_FOUND.
    expect((await keys.revoke(k.id)).revokedAt).toBe(revoked.revokedAt);
    await expectRetraceError(keys.revoke('ffffffffffffffff'), 'NOT_FOUND');
  });

  it('refuses an unknown scope and a name with control characters', async () => {
    const keys = new ApiKeyStore(sql);
    await expectRetraceError(keys.create({ scope: 'root' as never }), 'INVALID_ARGUMENT');
    await expectRetraceError(keys.create({ scope: 'search', name: 'a\nb' }), 'INVALID_ARGUMENT');
  });

  it("records the key that submitted a job and lists a key's jobs", async () => {
    const keys = new ApiKeyStore(sql);
    const jobs = new JobStore(sql);
    const a = await keys.create({ scope: 'search' });
    const b = await keys.create({ scope: 'search' });
    const ja = await jobs.create('search', { path: '/q/a.mp4' }, undefined, a.id);
    await jobs.create('search', { path: '/q/b.mp4' }, undefined, b.id);
    const anonymous = await jobs.create('search', { path: '/q/c.mp4' });
    expect(ja.apiKeyId).toBe(a.id);
    expect(anonymous.apiKeyId).toBeNull();
    expect((await jobs.list({ apiKeyId: a.id })).map((j) => j.id)).toEqual([ja.id]);
    expect((await jobs.list()).length).toBe(3);
  });
});

describe('scopes', () => {
  it('nest: search ⊂ index ⊂ admin', () => {
    expect(scopeAllows('search', 'search')).toBe(true);
    expect(scopeAllows('search', 'index')).toBe(false);
    expect(scopeAllows('index', 'search')).toBe(true);
    expect(scopeAllows('index', 'admin')).toBe(false);
    expect(scopeAllows('admin', 'index')).toBe(true);
    expect(() => requireScope({ keyId: 'k', scope: 'index' }, 'admin', 'Deleting a video')).toThrow(/needs a key with scope "admin"/);
  });

  it('only the owner key or an admin sees a thing; things made without a key only admins', () => {
    expect(canSee({ keyId: 'a', scope: 'search' }, { keyId: 'a' })).toBe(true);
    expect(canSee({ keyId: 'a', scope: 'index' }, { keyId: 'b' })).toBe(false);
    expect(canSee({ keyId: 'a', scope: 'search' }, { keyId: null })).toBe(false);
    expect(canSee({ keyId: 'z', scope: 'admin' }, { keyId: 'b' })).toBe(true);
    expect(canSee(OPEN_ACCESS, { keyId: null })).toBe(true);
  });

  it('an anonymous public-search session sees only what the same session made, and may only search', () => {
    const anon = { keyId: null, scope: 'search' as const, session: 's1' };
    expect(canSee(anon, { keyId: null, session: 's1' })).toBe(true);
    expect(canSee(anon, { keyId: null, session: 's2' })).toBe(false);
    expect(canSee(anon, { keyId: null, session: null })).toBe(false);
    expect(canSee(anon, { keyId: 'a', session: 's1' })).toBe(false);
    // A key does not see an anonymous session's things, an admin does.
    expect(canSee({ keyId: 'a', scope: 'search' }, { keyId: null, session: 's1' })).toBe(false);
    expect(canSee({ keyId: 'z', scope: 'admin' }, { keyId: null, session: 's1' })).toBe(true);
    expect(() => requireScope(anon, 'search', 'Searching')).not.toThrow();
    expect(() => requireScope(anon, 'index', 'Indexing')).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }));
  });
});

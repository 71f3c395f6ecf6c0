/**
 * `retrace keys create|list|revoke` and `retrace serve` with keys, as a user and a script see
 * them: the real command (`node bin/retrace.js`) on a real database.
 */
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, isPglite, type TestDatabase } from '../helpers/test-database.js';
import { makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { ensureCliBuilt, runCli, startServeChild } from './run-cli.js';

let db: TestDatabase;
let dir: TempDir;

/** Status of GET `url` sent with Host `host` (fetch cannot set Host). */
function statusWithHost(url: URL, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: url.hostname, port: url.port, path: url.pathname, headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

const startServe = (args: string[]) => startServeChild(args, dir.path);

beforeAll(async () => {
  ensureCliBuilt();
  db = await createTestDatabase();
  dir = await makeTempDir('retrace-cli-keys-');
});

afterAll(async () => {
  await db?.dispose();
  await dir?.cleanup();
});

describe('retrace keys', () => {
  const made: Record<string, { id: string; key: string }> = {};

  it('create prints the new key as its last line, and says it is shown only once', async () => {
    const r = await runCli(['keys', 'create', '--scope', 'admin', '--name', 'ops team', '--db', db.location]);
    expect(r.code, r.stderr).toBe(0);
    const key = lastLine(r.stdout);
    expect(key).toMatch(/^rtk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(r.stdout).toContain('cannot be shown again');
    made.admin = { id: key.slice(4, 20), key };
  });

  it('create --json prints exactly {"id","key","scope"}', async () => {
    const r = await runCli(['keys', 'create', '--scope', 'search', '--json', '--db', db.location]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { id: string; key: string; scope: string };
    expect(Object.keys(out).sort()).toEqual(['id', 'key', 'scope']);
    expect(out.scope).toBe('search');
    expect(out.key.startsWith(`rtk_${out.id}_`)).toBe(true);
    made.search = out;
  });

  it('list shows id, scope, name and dates but never a key', async () => {
    const r = await runCli(['keys', 'list', '--db', db.location]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(made.admin.id);
    expect(r.stdout).toContain(made.search.id);
    expect(r.stdout).toContain('ops team');
    expect(r.stdout).not.toContain('rtk_');
    const j = await runCli(['keys', 'list', '--json', '--db', db.location]);
    const rows = JSON.parse(j.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((k) => k.id)).toEqual([made.admin.id, made.search.id]);
    for (const k of rows) expect(Object.keys(k).sort()).toEqual(['createdAt', 'id', 'name', 'revokedAt', 'scope']);
    expect(j.stdout).not.toContain('rtk_');
  });

  it('revoke ID marks the key revoked; an unknown id exits 5', async () => {
    const created = JSON.parse((await runCli(['keys', 'create', '--scope', 'index', '--json', '--db', db.location])).stdout) as { id: string; key: string };
    made.revoked = created;
    const r = await runCli(['keys', 'revoke', created.id, '--db', db.location]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`revoked ${created.id}`);
    const rows = JSON.parse((await runCli(['keys', 'list', '--json', '--db', db.location])).stdout) as Array<{ id: string; revokedAt: string | null }>;
    expect(rows.find((k) => k.id === created.id)?.revokedAt).toEqual(expect.any(String));
    const unknown = await runCli(['keys', 'revoke', 'ffffffffffffffff', '--db', db.location]);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('[NOT_FOUND]');
  });

  it('usage errors exit 2: no action, an unknown action, no or a bad --scope, revoke without an id', async () => {
    for (const args of [['keys'], ['keys', 'rotate'], ['keys', 'create'], ['keys', 'create', '--scope', 'root'], ['keys', 'revoke']]) {
      const r = await runCli([...args, '--db', db.location]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('[INVALID_ARGUMENT]');
    }
  });

  it.runIf(isPglite)('list on a directory without an index exits 5 and creates nothing', async () => {
    const r = await runCli(['keys', 'list', '--db', dir.file('nothing-here')]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('[DB_NOT_FOUND]');
  });

  it('serve on 127.0.0.1 then requires the keys made by the CLI, answers --allowed-host names only; SIGTERM stops it with 0', async () => {
    const serve = await startServe(['--host', '127.0.0.1', '--allowed-host', 'retrace.test', '--db', db.location]);
    const { url } = serve;
    try {
      const jobs = new URL('api/jobs', url);
      expect((await fetch(jobs)).status).toBe(401);
      expect((await fetch(jobs, { headers: { authorization: `Bearer ${made.search.key}` } })).status).toBe(200);
      expect((await fetch(jobs, { headers: { authorization: `Bearer ${made.revoked.key}` } })).status).toBe(401);
      expect((await fetch(new URL('api/videos', url), { headers: { authorization: `Bearer ${made.search.key}` } })).status).toBe(403);
      expect((await fetch(new URL('api/health', url))).status).toBe(200);
      const health = new URL('api/health', url);
      expect(await statusWithHost(health, 'retrace.test')).toBe(200);
      expect(await statusWithHost(health, 'rebound.example')).toBe(421);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});

describe('retrace serve --public-search --rate-limit', () => {
  it('lets anonymous clients search, nothing else, under the rate limit; keeps files beside the database', async () => {
    await runCli(['keys', 'create', '--scope', 'admin', '--db', db.location]);
    const serve = await startServe(['--public-search', '--rate-limit', '5', '--db', db.location]);
    const { line, url } = serve;
    try {
      expect(line).toContain('anyone may search');
      if (isPglite) expect(line).toContain(`files: ${db.location}-server`);
      // A tus 1.0 creation, as the page's uploader sends it.
      const create = await fetch(new URL('api/uploads', url), {
        method: 'POST',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-length': '100',
          'upload-metadata': `filename ${Buffer.from('q.jpg').toString('base64')},purpose ${Buffer.from('search').toString('base64')}`,
        },
      });
      expect(create.status).toBe(201);
      expect((await fetch(new URL('api/videos', url))).status).toBe(401);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(new URL('api/jobs/00000000-0000-4000-8000-000000000000', url))).status);
      // Five requests are allowed a minute; the sixth is refused.
      expect(statuses).toEqual([404, 404, 404, 429]);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    // The server's files beside the test database go with it.
    if (isPglite) await rm(`${db.location}-server`, { recursive: true, force: true });
  });

  it('refuses a --rate-limit that is not a whole number (exit 2)', async () => {
    const r = await runCli(['serve', '--rate-limit', 'lots', '--db', db.location]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rate-limit must be a whole number');
  });
});

describe('retrace serve on a public address', () => {
  it('refuses to start without keys: exit 8, INSECURE_SERVER, naming the ways out', async () => {
    const fresh = await createTestDatabase();
    try {
      const r = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--db', fresh.location], { cwd: dir.path });
      expect(r.code).toBe(8);
      expect(r.stdout).not.toContain('serving');
      expect(r.stderr).toContain('[INSECURE_SERVER]');
      expect(r.stderr).toContain('--insecure-no-auth');
      expect(r.stderr).toContain('retrace keys create');
    } finally {
      await fresh.dispose();
    }
  });

  it('--help documents keys, the new flags and exit code 8', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toContain('retrace keys create --scope search|index|admin');
    expect(r.stdout).toContain('--insecure-no-auth');
    expect(r.stdout).toContain('--allowed-host');
    for (const flag of ['--rate-limit N', '--public-search', '--keep-queries', '--data-dir DIR', '--trust-proxy N']) expect(r.stdout).toContain(flag);
    expect(r.stdout).toMatch(/8 refused/);
  });
});

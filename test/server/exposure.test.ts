/**
 * What a server exposes to the network: it answers only to allowed Host names (DNS
 * rebinding), and it will not listen on a non-loopback address while no API key exists.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import { isLoopbackAddress, startServer, type RunningServer } from '../../src/server/index.js';
import { expectRetraceError } from '../helpers/expect-error.js';
import { makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { openTestEngine, startTestServer, type TestEngine } from './server-helpers.js';

let te: TestEngine;
let tmp: TempDir;

/** GET `path` from 127.0.0.1:`port` with a Host header of our choosing (fetch forbids setting it). */
function getWithHost(port: number, path: string, host: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: '127.0.0.1', port, path, method: 'GET', headers: { host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* the page */
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = await makeTempDir('retrace-exposure-');
  te = await openTestEngine();
});

afterAll(async () => {
  await te?.close();
  await tmp?.cleanup();
});

describe('Host check', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startTestServer(te.engine, join(tmp.path, 'hosts'), { allowedHosts: ['retrace.example.org'] });
  });
  afterAll(() => srv?.close());

  it('answers the loopback names and the allowed ones, with or without a port', async () => {
    for (const host of [
      `127.0.0.1:${srv.port}`,
      `localhost:${srv.port}`,
      'localhost',
      `[::1]:${srv.port}`,
      `app.localhost:${srv.port}`,
      'LOCALHOST.',
      'retrace.example.org',
      `Retrace.Example.org:${srv.port}`,
    ]) {
      const r = await getWithHost(srv.port, '/api/health', host);
      expect(r.status, host).toBe(200);
    }
  });

  it('answers any other host with 421 HOST_NOT_ALLOWED, on the API and the page', async () => {
    for (const host of ['evil.example', `evil.example:${srv.port}`, 'retrace.example.org.evil.example', '127.0.0.1.nip.io', 'localhost.evil.example']) {
      for (const path of ['/api/health', '/', '/metrics']) {
        const r = await getWithHost(srv.port, path, host);
        expect(r.status, `${host} ${path}`).toBe(421);
        expect(r.body.error.code).toBe('HOST_NOT_ALLOWED');
        expect(r.body.error.message).toContain('--allowed-host');
      }
    }
  });
});

describe('refusing to serve on a public address without keys', () => {
  it('knows loopback addresses from the others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackAddress(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.org', '::ffff:10.0.0.1']) expect(isLoopbackAddress(h), h).toBe(false);
  });

  it('refuses 0.0.0.0 and a LAN address with INSECURE_SERVER while no key exists, before listening', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      const err = await expectRetraceError(
        startServer({ engine: te.engine, host, port: 0, dataDir: join(tmp.path, 'refused'), log: () => {} }),
        'INSECURE_SERVER',
      );
      expect(err.message).toContain('--insecure-no-auth');
    }
  });

  it('serves on loopback without keys, as before', async () => {
    const srv = await startTestServer(te.engine, join(tmp.path, 'open'));
    try {
      const r = await fetch(new URL('/api/jobs', srv.url));
      expect(r.status).toBe(200);
    } finally {
      await srv.close();
    }
  });

  it('serves on 0.0.0.0 once a key exists, and then requires it', async () => {
    const key = await new ApiKeyStore(te.engine.sql).create({ scope: 'search' });
    const srv = await startServer({ engine: te.engine, host: '0.0.0.0', port: 0, dataDir: join(tmp.path, 'keyed'), log: () => {} });
    try {
      const url = `http://127.0.0.1:${srv.port}/api/jobs`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${key.key}` } })).status).toBe(200);
    } finally {
      await srv.close();
    }
  });
});

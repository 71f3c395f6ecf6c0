/**
 * Structured logs: one JSON line per request with its id (sent back as X-Request-Id), failures
 * with the id of the request that failed, and a client hanging up logged as information only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Retrace } from '../../src/core/engine/retrace.js';
import { makeStill, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { dropTusPatch, openTestEngine, startTestServer, tusRequest, type TestEngine } from './server-helpers.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  status?: number;
  route?: string;
  aborted?: boolean;
  err?: { message: string };
}

let te: TestEngine;
let tmp: TempDir;

beforeAll(async () => {
  tmp = await makeTempDir('retrace-logging-');
  te = await openTestEngine();
});
afterAll(async () => {
  await te?.close();
  await tmp?.cleanup();
});

describe('JSON logs with request ids', () => {
  it('logs each request with its id, failures with theirs, and hang-ups below error level', async () => {
    const lines: Line[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Line);
        done();
      },
    });
    // The real engine, except that stats fails as an unexpected bug would.
    const engine = Object.create(te.engine) as Retrace;
    engine.stats = () => Promise.reject(new Error('boom'));
    const srv = await startTestServer(engine, join(tmp.path, 'data'), { logger: pino(sink), log: undefined });
    try {
      const given = await fetch(new URL('/api/health', srv.url), { headers: { 'x-request-id': 'lb-7f3a.1' } });
      await given.arrayBuffer();
      expect(given.headers.get('x-request-id')).toBe('lb-7f3a.1');
      const made = await fetch(new URL('/api/jobs', srv.url), { headers: { 'x-request-id': 'not a token\u00e9' } });
      await made.arrayBuffer();
      const madeId = made.headers.get('x-request-id')!;
      expect(madeId).toMatch(/^[0-9a-f-]{36}$/);
      const failed = await fetch(new URL('/api/stats', srv.url));
      expect(failed.status).toBe(500);
      await failed.arrayBuffer();
      const failedId = failed.headers.get('x-request-id')!;
      const bytes = await readFile(await makeStill(tmp, 'q.jpg'));
      const created = await tusRequest(srv.url, '/api/uploads', 'POST', {
        'upload-length': String(bytes.length),
        'upload-metadata': `filename ${Buffer.from('q.jpg').toString('base64')},purpose ${Buffer.from('search').toString('base64')}`,
      });
      const uploadUrl = new URL(created.headers.get('location')!, srv.url).href;
      await dropTusPatch(uploadUrl, 0, bytes, 100);
      // Once the server answers about the upload, it has dealt with the cut request.
      await fetch(uploadUrl).then((r) => r.arrayBuffer());

      expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'request', reqId: 'lb-7f3a.1', route: '/api/health', status: 200 }));
      expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'request', reqId: madeId, route: '/api/jobs', status: 200 }));
      const errors = lines.filter((l) => l.level >= 50);
      expect(errors).toEqual([expect.objectContaining({ msg: 'request failed', reqId: failedId, err: expect.objectContaining({ message: 'boom' }) })]);
      expect(lines).toContainEqual(expect.objectContaining({ level: 30, aborted: true, method: 'PATCH', route: '/api/uploads/:id' }));
    } finally {
      await srv.close();
    }
  });
});

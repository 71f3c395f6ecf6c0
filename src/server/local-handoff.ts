/**
 * How a command-line search reaches a `retrace serve` that holds the same embedded index.
 *
 * An embedded (PGlite) index can be open in one process only, and opening it costs a second or
 * more of start-up (PGlite's WebAssembly Postgres boots; bench/RESULTS.md, session 11). While a
 * server holds it, the server answers instead: on start it writes `retrace-serve.json` into the
 * index directory with its loopback URL and a random token, readable by the index's owner only
 * (mode 0600), and removes it on shutdown. The CLI sends the path of the file to search with
 * that token; the server searches the file itself, so the answer is the engine's own, the same
 * as an embedded search. No media crosses the socket and nothing is stored.
 *
 * This module has no HTTP server dependencies: the CLI loads it before deciding how to search.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';

export const HANDOFF_FILE = 'retrace-serve.json';

export interface Handoff {
  pid: number;
  /** The server's base URL, always a loopback address. */
  url: string;
  token: string;
}

export function newLocalToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether `header` is `Bearer <token>`, compared in constant time. */
export function isLocalToken(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Write the handoff file into an embedded index directory; returns its remover. */
export async function writeHandoff(indexDir: string, handoff: Omit<Handoff, 'pid'>): Promise<() => Promise<void>> {
  const path = join(indexDir, HANDOFF_FILE);
  await writeFile(path, JSON.stringify({ pid: process.pid, ...handoff }), { mode: 0o600 });
  // writeFile's mode applies only when it creates the file: a stale one keeps its own.
  await chmod(path, 0o600);
  return () => rm(path, { force: true });
}

/**
 * The handoff of a live server on this index, or null: no file, a file left by a server that
 * is gone (its pid is dead), or a URL that is not on this machine.
 */
export async function readHandoff(indexDir: string): Promise<Handoff | null> {
  let h: Partial<Handoff>;
  try {
    h = JSON.parse(await readFile(join(indexDir, HANDOFF_FILE), 'utf8')) as Partial<Handoff>;
  } catch {
    return null;
  }
  if (typeof h.pid !== 'number' || typeof h.url !== 'string' || typeof h.token !== 'string') return null;
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+\/$/.test(h.url)) return null;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    // EPERM: alive, another user's (the file was readable, so the token is ours to use).
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return { pid: h.pid, url: h.url, token: h.token };
}

/**
 * For the tests that kill the real `retrace` command mid-ingest (test/cli/index-killed,
 * test/server/serve-killed): the command spawned, killed with SIGKILL so it has no chance to
 * clean up, and what it left in the database, read below the engine (which would clean it up).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { openDatabase } from '../../src/db/open-database.js';
import { BIN } from '../cli/run-cli.js';

export interface RetraceChild {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves once the process is gone, with the signal that ended it (null when it exited). */
  exited: Promise<NodeJS.Signals | null>;
}

/** `retrace <args>` as a child process, its output on pipes. */
export function spawnRetrace(args: readonly string[]): RetraceChild {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  return { child, exited };
}

/** Kill the child with SIGKILL; resolves once it is gone, with the signal that ended it. */
export function killHard({ child, exited }: RetraceChild): Promise<NodeJS.Signals | null> {
  child.kill('SIGKILL');
  return exited;
}

/** Videos not ready and frames of any video in the database at `location`. */
export async function leftovers(location: string): Promise<{ unfinished: number; frames: number }> {
  const sql = await openDatabase(location);
  try {
    const v = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM videos WHERE status <> 'ready'`);
    const f = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM frames`);
    return { unfinished: Number(v.rows[0].n), frames: Number(f.rows[0].n) };
  } finally {
    await sql.close();
  }
}

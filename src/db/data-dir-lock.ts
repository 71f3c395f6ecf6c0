import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { DatabaseLockedError } from '../core/errors/retrace-error.js';

const LOCK_NAME = 'retrace.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on an embedded data directory. PGlite has no lock of its own and two
 * writers corrupt its files, so the first opener writes its pid with O_EXCL; a later opener
 * fails with DB_LOCKED unless that pid is dead (a crash), in which case the lock is taken over.
 */
export class DataDirLock {
  private released = false;
  private readonly onExit = () => this.releaseSync();

  private constructor(readonly path: string) {
    process.once('exit', this.onExit);
  }

  static acquire(dir: string): DataDirLock {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, LOCK_NAME);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
        closeSync(fd);
        return new DataDirLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let holder: { pid?: number; host?: string } = {};
        try {
          holder = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number; host?: string };
        } catch {
          // Unreadable lock file: a writer died between create and write. Treat as stale.
        }
        const sameHost = !holder.host || holder.host === hostname();
        if (holder.pid && sameHost && isAlive(holder.pid)) throw new DatabaseLockedError(dir, holder.pid);
        if (holder.pid && !sameHost) throw new DatabaseLockedError(dir, holder.pid);
        try {
          unlinkSync(path);
        } catch {
          /* another opener removed it first */
        }
      }
    }
    throw new DatabaseLockedError(dir, undefined);
  }

  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener('exit', this.onExit);
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}

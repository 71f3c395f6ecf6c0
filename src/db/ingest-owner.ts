import { hostname } from 'node:os';

/**
 * Who is ingesting a video that is not ready yet, and whether that process is gone. Owners are
 * `host:pid`; as for jobs (see `ownerIsGone` in core/jobs/job-queue.ts), a pid on this host is
 * checked directly and an owner on another host is trusted while its heartbeat is fresh.
 */

/**
 * An ingest on another host (or of unknown owner) is abandoned once its row has not been touched
 * for this long. Rows are touched with every stored batch of frames, seconds apart; 10 minutes
 * leaves room for a slow probe or hash of a huge file before the first batch.
 */
export const INGEST_STALE_MS = 10 * 60 * 1000;

/** This process's identity in `videos.ingest_owner`. */
export function ingestOwner(): string {
  return `${hostname()}:${process.pid}`;
}

export function ingestOwnerIsGone(owner: string | null, idleMs: number, staleMs = INGEST_STALE_MS): boolean {
  if (!owner) return idleMs > staleMs;
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return idleMs > staleMs;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

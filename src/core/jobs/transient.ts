import { RetraceError } from '../errors/retrace-error.js';

/**
 * Whether a job's failure may pass if the job runs again: the database connection was lost, or
 * a child process (ffmpeg) was killed by a signal from outside. Bad media, limits, missing files
 * and cancellations fail the same way every time and are not retried.
 */

/** Node socket errors of a connection that went away. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** PostgreSQL SQLSTATEs of a server going away: class 08 (connection exception), and shutdowns (57P01–57P03). */
function isConnectionSqlState(code: string): boolean {
  return /^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03';
}

export function isTransientError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RetraceError) {
      if (e.code === 'DECODER_KILLED') return true;
      if (e.code !== 'DB_ERROR') return false; // a RetraceError says what it is; only a DB error may hide a lost connection
      continue;
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || isConnectionSqlState(code))) return true;
    if (e instanceof Error && /Connection terminated|connection .*(closed|lost)/i.test(e.message)) return true;
  }
  return false;
}

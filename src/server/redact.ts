import { basename } from 'node:path';

/**
 * Nothing the server sends names a place on its disk: where its data directory is, or where
 * the CLI indexed a video from, tells an attacker about the machine and a user about other
 * users. Stored records keep their paths; only what goes over HTTP is redacted here.
 */

/** An absolute POSIX path of two or more parts, not inside a URL (`http://host/a/b`). */
const ABSOLUTE_PATH = /(?<![\w.:/~-])\/(?:[^\s/'"`<>|:;,()[\]{}]+\/)+([^\s/'"`<>|:;,()[\]{}]*)/g;

/** `message` with every absolute path replaced by its last part (the file name says enough). */
export function scrubPaths(message: string): string {
  return message.replace(ABSOLUTE_PATH, (_m, base: string) => base || '…');
}

/**
 * A copy of a JSON value for HTTP: fields named `path` keep only their file name, `location`
 * (a database directory or URL) is dropped, and strings named `message` are scrubbed.
 */
export function redactPaths<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactPaths(v)) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'location') continue;
    if (k === 'path' && typeof v === 'string') out[k] = basename(v);
    else if (k === 'message' && typeof v === 'string') out[k] = scrubPaths(v);
    else out[k] = redactPaths(v);
  }
  return out as T;
}

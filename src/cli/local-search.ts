import type { SearchOptions, SearchResult } from '../core/engine/types.js';
import { RetraceError, type RetraceErrorCode } from '../core/errors/retrace-error.js';
import { readHandoff } from '../server/local-handoff.js';

/**
 * A `retrace search` answered by the `retrace serve` that holds the same embedded index (see
 * server/local-handoff.ts): null when there is none, or it cannot be reached, and the search is
 * run here. An error the server reports (a missing file, bad media) is the search's own.
 */
export async function searchViaServer(
  indexDir: string,
  absolutePath: string,
  options: Pick<SearchOptions, 'limit' | 'top' | 'where' | 'folder' | 'ignoreRecurring'>,
): Promise<{ result: SearchResult; pid: number } | null> {
  const handoff = await readHandoff(indexDir);
  if (!handoff) return null;
  let res: Response;
  try {
    res = await fetch(new URL('api/local/search', handoff.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${handoff.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: absolutePath, options: { ...options, referenceBaseDir: process.cwd() } }),
    });
  } catch {
    return null; // not listening (yet, or any more): search here
  }
  const body = (await res.json().catch(() => null)) as (SearchResult & { error?: { code: string; message: string } }) | null;
  if (res.ok && body && !body.error) return { result: body, pid: handoff.pid };
  // A server from before this route, or one whose token changed: search here.
  if ((res.status === 404 && body?.error?.code === 'NOT_FOUND') || res.status === 401) return null;
  throw new RetraceError((body?.error?.code ?? 'INTERNAL') as RetraceErrorCode, body?.error?.message ?? `the running server answered ${res.status}`);
}

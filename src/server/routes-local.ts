import { Router, type Request } from 'express';
import { isAbsolute } from 'node:path';
import { InvalidArgumentError, UnauthorizedError } from '../core/errors/retrace-error.js';
import type { SearchOptions } from '../core/engine/types.js';
import { isLocalToken } from './local-handoff.js';
import { isLoopbackAddress } from './start.js';
import type { ServerEngine } from './types.js';

/**
 * `POST /api/local/search` — a `retrace search` on this machine hands its query to the running
 * server (see local-handoff.ts). Only from a loopback address, with the token of the handoff
 * file, which only the index's owner can read; API keys are not involved. The body names a file
 * on this machine; the answer is the engine's SearchResult as an embedded search returns it.
 */
export function localRouter(engine: ServerEngine, token: string): Router {
  const router = Router();
  router.post('/local/search', async (req: Request, res) => {
    if (!isLoopbackAddress(req.socket.remoteAddress ?? '') || !isLocalToken(req.get('authorization'), token))
      throw new UnauthorizedError('Local searches need the token of the running server, from this machine');
    const body = (req.body ?? {}) as { path?: unknown; options?: unknown };
    if (typeof body.path !== 'string' || !isAbsolute(body.path)) throw new InvalidArgumentError('path must be an absolute path on this machine');
    const o = (body.options ?? {}) as Record<string, unknown>;
    const options: SearchOptions = {
      ...(typeof o.limit === 'number' ? { limit: o.limit } : {}),
      ...(typeof o.top === 'number' ? { top: o.top } : {}),
      ...(typeof o.folder === 'string' ? { folder: o.folder } : {}),
      ...(o.where && typeof o.where === 'object' ? { where: o.where as Record<string, string[]> } : {}),
      ...(o.ignoreRecurring === true ? { ignoreRecurring: true } : {}),
      // References indexed by `retrace index` with relative paths are found as that shell finds them.
      ...(typeof o.referenceBaseDir === 'string' && isAbsolute(o.referenceBaseDir) ? { referenceBaseDir: o.referenceBaseDir } : {}),
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(await engine.search(body.path, options));
  });
  return router;
}

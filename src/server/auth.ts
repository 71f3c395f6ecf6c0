import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { canSee, requireScope, type ApiKeyStore, type Principal, type Scope } from '../core/auth/api-keys.js';
import { HostNotAllowedError, NotFoundError } from '../core/errors/retrace-error.js';

/**
 * The HTTP side of API keys: read the Authorization header into a Principal (the logic is in
 * core/auth/api-keys.ts), require a scope per route, hide other keys' things, check Host.
 */

/** The principal `authenticate` put on the response; a route that forgot it fails closed. */
export function principal(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new Error('route reached without authentication');
  return p;
}

export function authenticate(keys: ApiKeyStore): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals.principal = await keys.authenticate(req.get('authorization'));
    next();
  };
}

/** Route guard: the caller's key must have `scope` (or a higher one). */
export function needs(scope: Scope, action: string): RequestHandler {
  return (_req, res, next) => {
    requireScope(principal(res), scope, action);
    next();
  };
}

/**
 * NotFoundError unless the caller may see something owned by `ownerKeyId`: a 404, not a 403,
 * so another key's ids cannot even be confirmed to exist.
 */
export function assertVisible(res: Response, ownerKeyId: string | null, what: string, id: string): void {
  if (!canSee(principal(res), ownerKeyId)) throw new NotFoundError(what, id);
}

/** Names that always reach this machine only (RFC 6761 reserves `localhost` and `*.localhost`). */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** `Host` header value → lower-case name without port or trailing dot (`[::1]` keeps its brackets). */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

/**
 * Answer only to allowed Host names. A web page on an attacker's domain that re-resolves its
 * name to 127.0.0.1 (DNS rebinding) reaches the server as same-origin, but its requests carry
 * the attacker's host name, so they stop here. `*` in `allowed` turns the check off (behind a
 * proxy that checks hosts itself).
 */
export function hostCheck(allowed: readonly string[]): RequestHandler {
  const names = new Set([...LOOPBACK_HOSTS, ...allowed].map(hostName));
  const any = names.has('*');
  return (req, _res, next) => {
    const header = req.headers.host ?? '';
    const name = hostName(header);
    if (any || names.has(name) || name.endsWith('.localhost')) {
      next();
      return;
    }
    throw new HostNotAllowedError(header);
  };
}

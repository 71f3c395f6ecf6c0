import { createHash, randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { canSee, requireScope, type ApiKeyStore, type Owner, type Principal, type Scope } from '../core/auth/api-keys.js';
import { HostNotAllowedError, NotFoundError, UnauthorizedError } from '../core/errors/retrace-error.js';

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

/**
 * The cookie that identifies an anonymous client of a public-search server. Ownership of its
 * uploads and jobs goes by this session, not by IP address: behind one carrier or office NAT
 * many people share an address and must not see each other's queries, and a phone changes
 * address mid-search. A cookie, not a header, because the page's <img> thumbnails and
 * EventSource progress cannot send headers. HttpOnly (scripts cannot read it) and
 * SameSite=Strict (another site's form cannot ride on it). Limits go by IP instead (see
 * `clientId`): sessions cost nothing to make.
 */
export const SESSION_COOKIE = 'retrace_session';
const SESSION_RE = /^[A-Za-z0-9_-]{43}$/;

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The hash of the client's session token, issuing a new token (as a cookie) when it has none. */
function anonymousSession(req: Request, res: Response): string {
  let token = readCookie(req, SESSION_COOKIE);
  if (!token || !SESSION_RE.test(token)) {
    token = randomBytes(32).toString('base64url');
    // A day: longer than any search and its result are kept for an anonymous client to read.
    res.append('Set-Cookie', `${SESSION_COOKIE}=${token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict${req.secure ? '; Secure' : ''}`);
  }
  // Only the hash is stored with uploads and jobs: a database dump does not hand out sessions.
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Who makes the request. With `publicSearch`, a request without an Authorization header on a
 * server that has keys is an anonymous client with a session (see `needs` for what it may do).
 */
export function authenticate(
  keys: ApiKeyStore,
  options: { publicSearch?: boolean; onRefused?: (req: Request, res: Response) => Promise<void> } = {},
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (options.publicSearch && header === undefined && (await keys.anyExist())) {
      res.locals.principal = { keyId: null, scope: 'search', session: anonymousSession(req, res) } satisfies Principal;
    } else {
      try {
        res.locals.principal = await keys.authenticate(header);
      } catch (err) {
        // May answer 429 instead, for a client refused too often.
        if (err instanceof UnauthorizedError) await options.onRefused?.(req, res);
        throw err;
      }
    }
    next();
  };
}

/**
 * Route guard: the caller's key must have `scope` (or a higher one). Anonymous public-search
 * clients are refused (401) unless the route says `anonymous: true`: closed unless opened.
 */
export function needs(scope: Scope, action: string, options: { anonymous?: boolean } = {}): RequestHandler {
  return (_req, res, next) => {
    const who = principal(res);
    if (who.session !== undefined && !options.anonymous) throw new UnauthorizedError(`${action} needs an API key; anonymous clients may only search`);
    requireScope(who, scope, action);
    next();
  };
}

/** The owner to record on something the caller makes. */
export function ownerOf(res: Response): Owner {
  const who = principal(res);
  return { keyId: who.keyId, session: who.session ?? null };
}

/**
 * Whom limits and quotas count against: the API key, else the IP address (anonymous clients,
 * and everyone on a server without keys). IPv6 addresses count per /56, as one household or
 * customer usually gets a whole prefix. Behind a reverse proxy set `trustProxy` so `req.ip` is the client's.
 */
export function clientId(req: Request, res: Response): string {
  const who = principal(res);
  return who.keyId !== null ? `key:${who.keyId}` : `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;
}

/**
 * NotFoundError unless the caller may see something made by `owner`: a 404, not a 403, so
 * another client's ids cannot even be confirmed to exist.
 */
export function assertVisible(res: Response, owner: Owner, what: string, id: string): void {
  if (!canSee(principal(res), owner)) throw new NotFoundError(what, id);
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

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SqlExecutor } from '../../db/sql-client.js';
import { ForbiddenError, InvalidArgumentError, NotFoundError, UnauthorizedError } from '../errors/retrace-error.js';

/**
 * API keys for the server: create, list, revoke, verify, and what each scope may do. Stored in
 * `api_keys` (migration 006) over the SQL seam, so it runs unchanged on PGlite and PostgreSQL.
 * The server and the CLI only call this module.
 *
 * A key reads `rtk_<id>_<secret>`: `id` (16 hex characters) is public — it names the key in
 * `retrace keys list`, in `revoke` and as the owner of jobs — and finds the row in one look-up;
 * `secret` is 256 random bits (43 base64url characters).
 *
 * Stored is HMAC-SHA256(`retrace-api-key-v1`, whole key), not scrypt: a slow hash only helps
 * against guessing low-entropy secrets such as passwords, and nobody guesses 256 random bits,
 * so scrypt would buy nothing while costing tens of milliseconds of CPU on every request (and
 * handing anyone who sends made-up keys a cheap way to load the server). The fixed HMAC key
 * separates these hashes from any other SHA-256 of the same bytes.
 */

export type Scope = 'search' | 'index' | 'admin';
export const SCOPES: readonly Scope[] = ['search', 'index', 'admin'];

/** search ⊂ index ⊂ admin: a scope allows everything a lower one does. */
const RANK: Record<Scope, number> = { search: 0, index: 1, admin: 2 };

export function isScope(v: unknown): v is Scope {
  return typeof v === 'string' && (SCOPES as readonly string[]).includes(v);
}

export function scopeAllows(have: Scope, needed: Scope): boolean {
  return RANK[have] >= RANK[needed];
}

/** What a key is, without its secret. */
export interface ApiKeyInfo {
  id: string;
  name: string | null;
  scope: Scope;
  createdAt: string;
  revokedAt: string | null;
}

/** A new key: the only time its secret exists outside the client. */
export interface CreatedApiKey extends ApiKeyInfo {
  key: string;
}

export interface CreateApiKeyInput {
  scope: Scope;
  name?: string | null;
}

/**
 * Who makes a request. `keyId` null: no key, which is only allowed while the database has no
 * keys at all (then everyone acts with scope admin, as before keys existed).
 */
export interface Principal {
  keyId: string | null;
  scope: Scope;
  /**
   * Set for an anonymous client of a public-search server (`retrace serve --public-search`):
   * the hash of its session token. Such a client may search and see what its session made, nothing else.
   */
  session?: string;
}

/** Who made an upload or job: the key, or (anonymous public search) the session. */
export interface Owner {
  keyId: string | null;
  session?: string | null;
}

/** The principal of every request while no key exists. */
export const OPEN_ACCESS: Principal = Object.freeze({ keyId: null, scope: 'admin' });

const KEY_RE = /^rtk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const HMAC_KEY = 'retrace-api-key-v1';

function hashKey(key: string): Buffer {
  return createHmac('sha256', HMAC_KEY).update(key, 'utf8').digest();
}

interface KeyRow {
  id: string;
  name: string | null;
  scope: string;
  key_hash: string;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

function iso(v: Date | string | null): string | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

function info(r: KeyRow): ApiKeyInfo {
  return { id: r.id, name: r.name, scope: r.scope as Scope, createdAt: iso(r.created_at)!, revokedAt: iso(r.revoked_at) };
}

/** Compared against when a key id is unknown, so both paths do the same work. */
const DUMMY_HASH = hashKey('rtk_0000000000000000_' + 'A'.repeat(43));

export class ApiKeyStore {
  /** Keys are never deleted, so once one exists the answer stays true: cache only that. */
  private keysSeen = false;

  constructor(private readonly sql: SqlExecutor) {}

  async create(input: CreateApiKeyInput): Promise<CreatedApiKey> {
    if (!isScope(input.scope)) throw new InvalidArgumentError(`scope must be one of ${SCOPES.join(', ')}`);
    const name = input.name?.trim() || null;
    if (name !== null && (name.length > 200 || /[\u0000-\u001f]/.test(name))) {
      throw new InvalidArgumentError('name must be at most 200 characters without control characters');
    }
    const id = randomBytes(8).toString('hex');
    const key = `rtk_${id}_${randomBytes(32).toString('base64url')}`;
    const { rows } = await this.sql.query<KeyRow>(
      `INSERT INTO api_keys (id, name, scope, key_hash) VALUES ($1, $2, $3, $4)
       RETURNING id, name, scope, key_hash, created_at, revoked_at`,
      [id, name, input.scope, hashKey(key).toString('hex')],
    );
    this.keysSeen = true;
    return { ...info(rows[0]), key };
  }

  /** Every key, revoked ones included, oldest first. Never the secrets (they are not stored). */
  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.sql.query<KeyRow>(`SELECT id, name, scope, key_hash, created_at, revoked_at FROM api_keys ORDER BY created_at, id`);
    return rows.map(info);
  }

  /** Revoke a key (NotFoundError if unknown). Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiKeyInfo> {
    const { rows } = await this.sql.query<KeyRow>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
       RETURNING id, name, scope, key_hash, created_at, revoked_at`,
      [id],
    );
    if (!rows[0]) throw new NotFoundError('API key', id);
    return info(rows[0]);
  }

  /** Whether any key was ever created (revoked ones count: see migration 006). */
  async anyExist(): Promise<boolean> {
    if (this.keysSeen) return true;
    const { rows } = await this.sql.query<{ n: boolean }>('SELECT EXISTS (SELECT 1 FROM api_keys) AS n');
    this.keysSeen = rows[0]?.n === true;
    return this.keysSeen;
  }

  /** The key's info if `key` is a live key, else null (malformed, unknown or revoked). */
  async verify(key: string): Promise<ApiKeyInfo | null> {
    const m = KEY_RE.exec(key);
    if (!m) return null;
    const { rows } = await this.sql.query<KeyRow>(`SELECT id, name, scope, key_hash, created_at, revoked_at FROM api_keys WHERE id = $1`, [m[1]]);
    const row = rows[0];
    const stored = row && /^[0-9a-f]{64}$/.test(row.key_hash) ? Buffer.from(row.key_hash, 'hex') : DUMMY_HASH;
    // Constant time in the secret: an attacker learns nothing from how long a wrong key takes.
    const same = timingSafeEqual(hashKey(key), stored);
    if (!row || !same || row.revoked_at !== null || !isScope(row.scope)) return null;
    return info(row);
  }

  /**
   * Who sends `authorization` (an HTTP Authorization header value, or undefined). While no key
   * exists everyone gets OPEN_ACCESS; afterwards a live key is required (UnauthorizedError).
   */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!(await this.anyExist())) return OPEN_ACCESS;
    if (!authorization) throw new UnauthorizedError();
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!m) throw new UnauthorizedError('Send the API key as "Authorization: Bearer <key>"');
    const key = await this.verify(m[1]);
    if (!key) throw new UnauthorizedError('The API key is unknown or revoked');
    return { keyId: key.id, scope: key.scope };
  }
}

/** Throw ForbiddenError unless `who` has `needed` (or a higher scope). */
export function requireScope(who: Principal, needed: Scope, action: string): void {
  // An anonymous client has no key, so the answer is "send one" (401), not "a better one" (403).
  if (who.session !== undefined && needed !== 'search') throw new UnauthorizedError(`${action} needs an API key; anonymous clients may only search`);
  if (!scopeAllows(who.scope, needed)) throw new ForbiddenError(action, needed, who.scope);
}

/**
 * Whether `who` may see something made by `owner` (keyId null: made while there were no keys,
 * or anonymously). Admins see everything; keys only what they made; an anonymous public-search
 * client only what its own session made.
 */
export function canSee(who: Principal, owner: Owner): boolean {
  if (who.scope === 'admin' && who.session === undefined) return true;
  if (who.keyId !== null) return owner.keyId === who.keyId;
  return who.session !== undefined && owner.keyId === null && !!owner.session && owner.session === who.session;
}

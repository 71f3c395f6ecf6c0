import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { SqlExecutor } from '../db/sql-client.js';

/**
 * express-rate-limit's Store on the database seam (table `rate_limit_hits`, migration 007), so
 * the counters are shared by every server on one PostgreSQL and survive a restart; PGlite runs
 * the same SQL. A fixed window per client: the first hit opens it, hits count up until
 * `reset_at`, then the next hit opens a new one. Each hit is one atomic upsert; the database's
 * clock decides windows, so servers with skewed clocks still agree.
 */
export class SqlRateLimitStore implements Store {
  /** Counters are not local to this process (express-rate-limit's double-count check). */
  readonly localKeys = false;
  constructor(
    private readonly sql: SqlExecutor,
    /** Kept apart from other limiters' keys in the same table. */
    readonly prefix = 'rl:',
    /** Length of a window; express-rate-limit sets it through `init`. */
    private windowMs = 60_000,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const { rows } = await this.sql.query<{ hits: number; reset_at: Date | string }>(
      `SELECT hits, reset_at FROM rate_limit_hits WHERE key = $1 AND reset_at > now()`,
      [this.prefix + key],
    );
    return rows[0] ? { totalHits: Number(rows[0].hits), resetTime: new Date(rows[0].reset_at) } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { rows } = await this.sql.query<{ hits: number; reset_at: Date | string }>(
      `INSERT INTO rate_limit_hits AS r (key, hits, reset_at) VALUES ($1, 1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.reset_at <= now() THEN 1 ELSE r.hits + 1 END,
         reset_at = CASE WHEN r.reset_at <= now() THEN EXCLUDED.reset_at ELSE r.reset_at END
       RETURNING hits, reset_at`,
      [this.prefix + key, this.windowMs],
    );
    return { totalHits: Number(rows[0].hits), resetTime: new Date(rows[0].reset_at) };
  }

  async decrement(key: string): Promise<void> {
    await this.sql.query(`UPDATE rate_limit_hits SET hits = GREATEST(hits - 1, 0) WHERE key = $1 AND reset_at > now()`, [this.prefix + key]);
  }

  async resetKey(key: string): Promise<void> {
    await this.sql.query(`DELETE FROM rate_limit_hits WHERE key = $1`, [this.prefix + key]);
  }

  async resetAll(): Promise<void> {
    await this.sql.query(`DELETE FROM rate_limit_hits WHERE starts_with(key, $1)`, [this.prefix]);
  }

  /** Delete windows that ended a while ago (any prefix: every server sweeps the same table). */
  async prune(olderThanMs = 60_000): Promise<number> {
    const { rows } = await this.sql.query<{ key: string }>(`DELETE FROM rate_limit_hits WHERE reset_at < now() - $1 * interval '1 millisecond' RETURNING key`, [
      olderThanMs,
    ]);
    return rows.length;
  }
}

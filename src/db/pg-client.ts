import pg from 'pg';
import type { SqlClient, SqlExecutor } from './sql-client.js';

/**
 * A PostgreSQL server (with pgvector installed) reached through a `pg` pool. Suited to
 * several processes sharing one index, and to indexes too large for the embedded store.
 */
export class PgClient implements SqlClient {
  readonly dialect = 'postgres' as const;
  readonly location: string;

  private constructor(
    private readonly pool: pg.Pool,
    url: string,
  ) {
    this.location = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  }

  /**
   * `maxConnections`: the pool's size (default 4). `statementTimeoutMs`: the server cancels a
   * statement running longer (default none); 0 turns it off.
   */
  static async open(url: string, options: { maxConnections?: number; statementTimeoutMs?: number } = {}): Promise<PgClient> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 4,
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    });
    // An idle pooled connection the server ends (restart, failover, an administrator's
    // pg_terminate_backend) is reported as a pool 'error' event; unheard, it would crash the
    // process. The pool has already discarded that client and opens a new one on demand.
    pool.on('error', () => undefined);
    // Fail at open, not at first use, when the server is unreachable.
    const c = await pool.connect();
    c.release();
    return new PgClient(pool, url);
  }

  async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]) {
    const r = await this.pool.query(text, params ? [...params] : undefined);
    return { rows: r.rows as R[] };
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: SqlExecutor = {
      async query<R>(text: string, params?: readonly unknown[]) {
        const r = await client.query(text, params ? [...params] : undefined);
        return { rows: r.rows as R[] };
      },
      async exec(sql: string) {
        await client.query(sql);
      },
    };
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** LISTEN on a connection of its own (a pooled one would be handed to other queries). */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const client = await this.pool.connect();
    // A connection lost while listening: the caller's polling carries on without it.
    client.on('error', () => undefined);
    client.on('notification', (n) => {
      if (n.channel === channel) onNotify(n.payload ?? '');
    });
    await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    return async () => {
      try {
        await client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`);
        client.release();
      } catch (e) {
        client.release(e as Error);
      }
    };
  }

  async databaseBytes(): Promise<number> {
    const r = await this.query<{ n: string | null }>(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS n FROM pg_class c
       JOIN pg_namespace ns ON ns.oid = c.relnamespace
       WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'm')`,
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

import { PGlite } from '@electric-sql/pglite';
import type { Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SqlClient, SqlExecutor } from './sql-client.js';
import { DataDirLock } from './data-dir-lock.js';
import { findTemplate, unpackTemplate } from './pglite-template.js';

/** The SqlExecutor view of a PGlite instance or of one of its transactions. */
export function pgliteExecutor(q: PGlite | Transaction): SqlExecutor {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      const r = await q.query<R>(text, params ? [...params] : undefined);
      return { rows: r.rows };
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  };
}

/** PGlite's start parameters with the buffer pool size set (e.g. '128MB'). */
function startParams(sharedBuffers: string): string[] {
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers)) throw new RangeError(`shared_buffers must look like 128MB, got ${sharedBuffers}`);
  return [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`];
}

export interface PGliteOpenOptions {
  /**
   * PostgreSQL shared_buffers inside the WASM heap, which the process keeps. Default 128MB
   * (PGlite's own): at 100k frames 32MB made video queries about 1.4× slower, while a 2-hour
   * ingest into an existing index peaked at 276 MB RSS instead of 378 MB at the same speed.
   */
  sharedBuffers?: string;
  /**
   * What a new data directory starts from: by default the build's initdb template for the
   * installed PGlite when there is one (pglite-template.ts; 764–813 MB peak RSS creating an index
   * with PGlite's own initdb in the process, 275 MB for a whole first `retrace index` of a short
   * clip from the template); a path names a template; false runs PGlite's initdb.
   */
  template?: string | false;
}

export const DEFAULT_PGLITE_SHARED_BUFFERS = '128MB';

/**
 * Embedded PostgreSQL (PGlite, in WASM) with pgvector, stored in a directory on disk.
 * Single connection: PGlite serialises queries itself; a transaction holds it exclusively.
 */
export class PGliteClient implements SqlClient {
  readonly dialect = 'pglite' as const;
  private readonly exec_: SqlExecutor;

  private constructor(
    private readonly db: PGlite,
    private readonly lock: DataDirLock | null,
    readonly location: string,
  ) {
    this.exec_ = pgliteExecutor(db);
  }

  /** Open (creating if needed) a data directory, or an in-memory database for `memory://`. */
  static async open(dir: string, options: PGliteOpenOptions = {}): Promise<PGliteClient> {
    const params = startParams(options.sharedBuffers ?? DEFAULT_PGLITE_SHARED_BUFFERS);
    if (dir === 'memory://') {
      // The template, as a tarball PGlite loads itself, spares initdb here too (about 2 s, not 6–10).
      const template = options.template === false ? null : (options.template ?? findTemplate());
      const loadDataDir = template ? new Blob([readFileSync(template)]) : undefined;
      const db = await PGlite.create({ extensions: { vector }, startParams: params, ...(loadDataDir ? { loadDataDir } : {}) });
      return new PGliteClient(db, null, 'memory://');
    }
    const abs = resolve(dir);
    const lock = DataDirLock.acquire(abs);
    try {
      const template = options.template === false || existsSync(join(abs, 'PG_VERSION')) ? null : (options.template ?? findTemplate());
      if (template) unpackTemplate(template, abs);
      const db = await PGlite.create(abs, { extensions: { vector }, startParams: params });
      return new PGliteClient(db, lock, abs);
    } catch (e) {
      lock.releaseSync();
      throw e;
    }
  }

  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]) {
    return this.exec_.query<R>(text, params);
  }

  exec(sql: string) {
    return this.exec_.exec(sql);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(pgliteExecutor(tx)));
  }

  async databaseBytes(): Promise<number> {
    const r = await this.query<{ n: string | number | null }>(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS n FROM pg_class c
       JOIN pg_namespace ns ON ns.oid = c.relnamespace
       WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'm')`,
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      this.lock?.releaseSync();
    }
  }
}

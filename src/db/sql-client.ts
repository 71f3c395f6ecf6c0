/**
 * The database seam: the one narrow interface both stores implement (embedded PGlite and a
 * PostgreSQL server through `pg`). Everything above it is plain SQL that runs unchanged on both.
 */
export interface SqlExecutor {
  /** Run one parameterised statement ($1, $2, …) and return its rows. */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
  /** Run a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlClient extends SqlExecutor {
  readonly dialect: 'pglite' | 'postgres';
  /** Human-readable location (directory or URL without password) for messages. */
  readonly location: string;
  /** Run `fn` in one transaction on one connection; commit if it resolves, roll back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Bytes used by the database (relations and indexes), for stats. */
  databaseBytes(): Promise<number>;
  close(): Promise<void>;
  /**
   * Call `onNotify` with the payload of every NOTIFY on `channel` until the returned function is
   * called. Only a server has it: an embedded database has no other process to hear from.
   */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
}

/**
 * A Postgres array literal (`{"a","b"}`) for an array parameter. Both drivers accept it for any
 * element type, whereas PGlite cannot serialise JS arrays of extension types such as `vector`.
 */
export function pgArray(values: readonly (string | number | boolean | null)[]): string {
  return (
    '{' + values.map((v) => (v === null ? 'NULL' : typeof v === 'string' ? `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : String(v))).join(',') + '}'
  );
}

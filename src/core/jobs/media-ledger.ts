import type { SqlExecutor } from '../../db/sql-client.js';

/**
 * Who stored which indexed upload, and how many bytes (table `server_media`, migration 008), so
 * a client's stored bytes can be limited. Rows are deleted with their video (foreign key), so a
 * removal through the CLI or the API frees the client's quota alike.
 */
export class MediaLedger {
  constructor(private readonly sql: SqlExecutor) {}

  /** Record a video stored for `client` (once: a repeated record changes nothing). */
  async record(videoId: string, client: string, bytes: number): Promise<void> {
    await this.sql.query(`INSERT INTO server_media (video_id, client, bytes) VALUES ($1, $2, $3) ON CONFLICT (video_id) DO NOTHING`, [videoId, client, bytes]);
  }

  /** Bytes of the videos the server keeps for `client`. */
  async bytesOf(client: string): Promise<number> {
    const { rows } = await this.sql.query<{ n: string | number | null }>(`SELECT COALESCE(sum(bytes), 0) AS n FROM server_media WHERE client = $1`, [client]);
    return Number(rows[0]?.n ?? 0);
  }
}

import type { SqlClient } from './sql-client.js';
import { pgArray } from './sql-client.js';

/** A shared segment as one direction's search found it: query (searched video) time ↔ reference time. */
export interface StoredSharedSegment {
  queryStart: number;
  queryEnd: number;
  refStart: number;
  refEnd: number;
  score: number;
  /** Verification status of the segment (`SegmentVerification.status`). */
  verification: string;
}

/** What the search of one video (`queryId`) found in another (`refId`). */
export interface DedupFinding {
  queryId: string;
  refId: string;
  score: number;
  segments: StoredSharedSegment[];
}

/** The tables of duplicate clusters (migrations/012): which videos were searched, and what each search found. */
export class DedupStore {
  constructor(private readonly sql: SqlClient) {}

  /** Ready videos not searched against the library yet, oldest first. */
  async uncompared(): Promise<string[]> {
    const r = await this.sql.query<{ id: string }>(
      `SELECT v.id FROM videos v WHERE v.status = 'ready' AND NOT EXISTS (SELECT 1 FROM dedup_compared c WHERE c.video_id = v.id) ORDER BY v.created_at, v.id`,
    );
    return r.rows.map((x) => x.id);
  }

  /** Replace what the search of `queryId` found, and record it as searched, atomically. */
  async record(queryId: string, findings: readonly DedupFinding[]): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query(`DELETE FROM dedup_matches WHERE query_id = $1`, [queryId]);
      if (findings.length)
        await tx.query(
          `INSERT INTO dedup_matches (query_id, ref_id, score, segments)
           SELECT $1::uuid, * FROM unnest($2::uuid[], $3::float8[], $4::jsonb[])
           ON CONFLICT DO NOTHING`,
          [queryId, pgArray(findings.map((f) => f.refId)), pgArray(findings.map((f) => f.score)), pgArray(findings.map((f) => JSON.stringify(f.segments)))],
        );
      await tx.query(`INSERT INTO dedup_compared (video_id) VALUES ($1) ON CONFLICT (video_id) DO UPDATE SET compared_at = now()`, [queryId]);
    });
  }

  /** Add or replace one finding (a video searched against one other), leaving the rest of its search as it was. */
  async recordPair(f: DedupFinding): Promise<void> {
    await this.sql.query(
      `INSERT INTO dedup_matches (query_id, ref_id, score, segments) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (query_id, ref_id) DO UPDATE SET score = EXCLUDED.score, segments = EXCLUDED.segments`,
      [f.queryId, f.refId, f.score, JSON.stringify(f.segments)],
    );
  }

  /** What the searches of other videos found of this one. */
  async findingsOn(refId: string): Promise<DedupFinding[]> {
    const r = await this.sql.query<{ query_id: string; ref_id: string; score: number; segments: StoredSharedSegment[] | string }>(
      `SELECT query_id, ref_id, score, segments FROM dedup_matches WHERE ref_id = $1`,
      [refId],
    );
    return r.rows.map(toFinding);
  }

  /** Every finding between ready videos. */
  async findings(): Promise<DedupFinding[]> {
    const r = await this.sql.query<{ query_id: string; ref_id: string; score: number; segments: StoredSharedSegment[] | string }>(
      `SELECT m.query_id, m.ref_id, m.score, m.segments FROM dedup_matches m
         JOIN videos q ON q.id = m.query_id AND q.status = 'ready'
         JOIN videos r ON r.id = m.ref_id AND r.status = 'ready'
        ORDER BY m.query_id, m.ref_id`,
    );
    return r.rows.map(toFinding);
  }

  /** Forget every comparison: the next run searches the whole library again. */
  async reset(): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query(`DELETE FROM dedup_matches`);
      await tx.query(`DELETE FROM dedup_compared`);
    });
  }
}

function toFinding(x: { query_id: string; ref_id: string; score: number; segments: StoredSharedSegment[] | string }): DedupFinding {
  return {
    queryId: x.query_id,
    refId: x.ref_id,
    score: Number(x.score),
    segments: typeof x.segments === 'string' ? (JSON.parse(x.segments) as StoredSharedSegment[]) : x.segments,
  };
}

import type { Retrace } from '../../core/engine/retrace.js';
import type { SearchResult } from '../../core/engine/types.js';
import { clock, table } from '../format.js';
import { EXIT } from '../exit-codes.js';

/** `retrace search`: one JSON object with `--json`, else a readable table. */
export interface SearchCommandOptions {
  json: boolean;
  limit?: number;
  top?: number;
  where?: Record<string, string[]>;
  folder?: string;
  ignoreRecurring?: boolean;
}

export async function searchCommand(engine: Retrace, file: string, options: SearchCommandOptions): Promise<number> {
  const r = await engine.search(file, {
    limit: options.limit,
    top: options.top,
    where: options.where,
    folder: options.folder,
    ignoreRecurring: options.ignoreRecurring,
  });
  return printSearchResult(r, options);
}

/** Print a search's result: one JSON object with `--json`, else a readable table. */
export function printSearchResult(r: SearchResult, options: Pick<SearchCommandOptions, 'json' | 'top'>): number {
  if (options.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return EXIT.ok;
  }
  const q = r.query;
  process.stdout.write(
    `query: ${q.path} (${q.media === false ? 'signature' : q.kind}${q.kind === 'video' ? `, ${q.durationSec.toFixed(1)} s` : ''}, ${q.frames} frames) in ${r.timingsMs.total} ms\n\n`,
  );
  if (!r.matches.length) {
    process.stdout.write(options.top ? 'Nothing in the index resembles it.\n' : 'No copy found.\n');
    return EXIT.ok;
  }
  const rows: string[][] = [];
  for (const m of r.matches) {
    m.segments.forEach((s, i) => {
      const where =
        q.kind === 'image'
          ? `picture ↔ ${clock(s.refStart)}–${clock(s.refEnd)}`
          : `${clock(s.queryStart)}–${clock(s.queryEnd)} ↔ ${clock(s.refStart)}–${clock(s.refEnd)}`;
      const how =
        s.verified && s.transform
          ? `verified: ${s.transform.summary}`
          : s.verification.status === 'unconfirmed'
            ? `unconfirmed (${s.verification.reason ?? 'geometry'})`
            : s.verification.status === 'no-media'
              ? 'not verified: no media (signature)'
              : 'not verified';
      rows.push([
        i === 0 ? (m.title ?? m.path) : '',
        i === 0 ? m.score.toFixed(2) : '',
        where,
        s.score.toFixed(2),
        String(s.matchedFrames),
        s.belowThreshold ? `below threshold${s.verification.status === 'unconfirmed' ? ` (unconfirmed: ${s.verification.reason ?? 'geometry'})` : ''}` : how,
      ]);
    });
  }
  process.stdout.write(table(['video', 'score', 'query ↔ reference', 'segment', 'frames', 'copy'], rows) + '\n');
  return EXIT.ok;
}

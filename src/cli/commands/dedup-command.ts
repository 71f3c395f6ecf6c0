import { writeFile } from 'node:fs/promises';
import type { Retrace } from '../../core/engine/retrace.js';
import type { DedupRelation } from '../../core/library/dedup.js';
import { clock, table } from '../format.js';
import { EXIT } from '../exit-codes.js';

/** `retrace dedup`: one JSON object with `--json`, a CSV of relations with `--csv FILE`, else readable clusters. */
export interface DedupCommandOptions {
  json: boolean;
  csv?: string;
  full: boolean;
  recurring: boolean;
}

export async function dedupCommand(engine: Retrace, options: DedupCommandOptions): Promise<number> {
  const progress = !options.json && process.stderr.isTTY;
  const report = await engine.dedup({
    full: options.full,
    onProgress: progress ? (done, total) => process.stderr.write(`\rsearching ${done}/${total} videos`) : undefined,
  });
  if (progress && report.compared) process.stderr.write('\n');
  const recurring = options.recurring ? await engine.recurring() : undefined;
  if (options.csv) await writeFile(options.csv, relationsCsv(report.relations));
  if (options.json) {
    process.stdout.write(JSON.stringify(recurring ? { ...report, recurring } : report) + '\n');
    return EXIT.ok;
  }
  process.stdout.write(
    `${report.videos} videos, ${report.compared} searched now in ${(report.timingsMs.total / 1000).toFixed(1)} s` +
      `${report.withoutMedia ? ` (${report.withoutMedia} without their file: not verified)` : ''}; ` +
      `${report.relations.length} relations in ${report.clusters.length} clusters\n`,
  );
  report.clusters.forEach((c, i) => {
    process.stdout.write(`\ncluster ${i + 1}: ${c.videos.length} videos\n`);
    const rows = c.relations.map((ri) => {
      const r = report.relations[ri];
      const segs = r.segments
        .slice(0, 3)
        .map((s) => `${clock(s.aStart)}–${clock(s.aEnd)} ↔ ${clock(s.bStart)}–${clock(s.bEnd)}`)
        .join(', ');
      return [name(r.a), r.type, name(r.b), r.score.toFixed(2), segs + (r.segments.length > 3 ? ', …' : ''), r.segments[0]?.verification ?? ''];
    });
    process.stdout.write(table(['video', 'relation', 'video', 'score', 'shared (first ↔ second)', 'verification'], rows) + '\n');
  });
  if (recurring) {
    process.stdout.write(`\nrecurring segments (in 3 or more videos): ${recurring.length}\n`);
    for (const r of recurring) {
      process.stdout.write(`\n${r.videos} videos, about ${r.durationSec.toFixed(1)} s\n`);
      process.stdout.write(
        table(
          ['video', 'where'],
          r.occurrences.map((o) => [o.video.title ?? o.video.path, `${clock(o.start)}–${clock(o.end)}`]),
        ) + '\n',
      );
    }
  }
  return EXIT.ok;
}

function name(v: DedupRelation['a']): string {
  return (v.title ?? v.path) + (v.media ? '' : ' (signature)');
}

/** One row per relation; segments as `aStart-aEnd>bStart-bEnd` joined by spaces. */
export function relationsCsv(relations: readonly DedupRelation[]): string {
  const cell = (s: string | number) => {
    const t = String(s);
    return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  const lines = [['a_id', 'a_path', 'relation', 'b_id', 'b_path', 'score', 'coverage_a', 'coverage_b', 'segments', 'verification'].join(',')];
  for (const r of relations)
    lines.push(
      [
        r.a.id,
        r.a.path,
        r.type,
        r.b.id,
        r.b.path,
        r.score,
        r.coverage.a,
        r.coverage.b,
        r.segments.map((s) => `${s.aStart}-${s.aEnd}>${s.bStart}-${s.bEnd}`).join(' '),
        r.segments[0]?.verification ?? '',
      ]
        .map(cell)
        .join(','),
    );
  return lines.join('\n') + '\n';
}

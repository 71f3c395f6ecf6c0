import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Write a report as pretty JSON, creating the parent folder; NaN/Infinity become null. */
export async function writeJsonReport(file: string, report: unknown): Promise<string> {
  const abs = resolve(file);
  await mkdir(dirname(abs), { recursive: true });
  await writeFile(abs, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  return abs;
}

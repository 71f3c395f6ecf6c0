import type { Retrace } from '../../core/engine/retrace.js';
import { bytes, clock, table } from '../format.js';
import { EXIT } from '../exit-codes.js';

/** `retrace list`. */
export async function listCommand(engine: Retrace, json: boolean): Promise<number> {
  const videos = await engine.list({ limit: 100_000 });
  if (json) {
    process.stdout.write(JSON.stringify(videos) + '\n');
    return EXIT.ok;
  }
  if (!videos.length) {
    process.stdout.write('The index is empty.\n');
    return EXIT.ok;
  }
  process.stdout.write(
    table(
      ['id', 'status', 'duration', 'frames', 'title / path'],
      videos.map((v) => [v.id, v.status, clock(v.durationSec), String(v.frameCount), v.title ?? v.path]),
    ) + '\n',
  );
  return EXIT.ok;
}

/** `retrace remove <id...>`. */
export async function removeCommand(engine: Retrace, ids: readonly string[]): Promise<number> {
  for (const id of ids) {
    await engine.remove(id);
    process.stdout.write(`removed ${id}\n`);
  }
  return EXIT.ok;
}

/** `retrace stats`. */
export async function statsCommand(engine: Retrace, json: boolean): Promise<number> {
  const s = await engine.stats();
  if (json) {
    process.stdout.write(JSON.stringify(s) + '\n');
    return EXIT.ok;
  }
  process.stdout.write(
    [
      `store        ${s.store} (${s.location})`,
      `descriptor   ${s.descriptor}`,
      `windows      ${s.storedWindows ? 'stored (strips and quadrants: vertical reframes, heavy crops)' : 'not stored'}`,
      `videos       ${s.readyVideos} ready of ${s.videos}`,
      `duration     ${clock(s.totalDurationSec)}`,
      `frames       ${s.frames} (${s.vectors} vectors)`,
      `database     ${bytes(s.databaseBytes)} (${s.bytesPerFrame} B per frame)`,
    ].join('\n') + '\n',
  );
  return EXIT.ok;
}
